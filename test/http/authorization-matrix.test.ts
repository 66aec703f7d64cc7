// The authorization matrix (issue 10), generated from the route table: every route family is tried
// as {a member of the owning project, a member of another project, an admin, no token, a malformed
// token, an expired token, a revoked token}, and each answer is checked against the expectation of
// Nova's, Keystone's and Glance's default policies (legacy defaults, enforce_scope off).
//
// A route registered without an entry below fails the test with the line to add. To declare a
// family for a new route, add one line to FAMILIES: `'METHOD /path/:param': expectation`, where
// the expectation is one of
//   open()            no token needed (version documents, token issue)
//   anyMember()       any project member and an admin may call it (lists, creates, self-service)
//   owned(other?)     a resource of the owning project: its members and admins may, another
//                     project's member gets `other` (default 404: the resource does not exist for them)
//   adminOnly()       admins only; members get 403 (adminOnlyAfterLookup(): 404 for another project's
//                     member, when the resource is looked up before the policy check)
//   gone()            a removed API: 410 for every caller
// optionally `.with({ body, mv, absent })`: a body that passes validation (so the policy decides, not
// the schema), a compute microversion, or `absent: true` when no fixture for the path exists (then
// 404 counts as allowed for the owner and admin). Unknown path parameters get a random id and
// `absent`. Every protected family answers 401 with Keystone's body to the four bad tokens.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { defaultConfig } from '../../src/config.ts';
import { systemClock, type Clock } from '../../src/engine/clock.ts';
import type { Novabox } from '../../src/novabox.ts';
import { createTestNovabox } from '../helpers/novabox.ts';
import { SEED_IDS } from '../../src/api/network/service.ts';

type Who = 'owner' | 'other' | 'admin';
type Expect = 'ok' | number;
interface Family {
  open?: boolean;
  owner: Expect;
  other: Expect;
  admin: Expect;
  body?: (fx: Fixtures) => unknown;
  /** X-Subject-Token: a fresh token of the caller's own user. */
  subject?: boolean;
  contentType?: string;
  mv?: string;
  absent?: boolean;
  /** Extra request headers (a volume microversion). */
  headers?: Record<string, string>;
  /** The answer streams (server-sent events) or the call resets the cloud: only the refusals are tried. */
  stream?: boolean;
  with(o: Partial<Omit<Family, 'with'>>): Family;
}

function family(f: Omit<Family, 'with'>): Family {
  return { ...f, with: (o) => family({ ...f, ...o }) };
}
const open = (): Family => family({ open: true, owner: 'ok', other: 'ok', admin: 'ok' });
const anyMember = (): Family => family({ owner: 'ok', other: 'ok', admin: 'ok' });
const owned = (other: Expect = 404): Family => family({ owner: 'ok', other, admin: 'ok' });
const adminOnly = (): Family => family({ owner: 403, other: 403, admin: 'ok' });
/** Admin-only calls on a resource looked up first (a server, an image): another project's member gets 404. */
const adminOnlyAfterLookup = (): Family => family({ owner: 403, other: 404, admin: 'ok' });
/** Removed APIs (nova-network): 410 for everyone. */
const gone = (): Family => family({ owner: 410, other: 410, admin: 410 });

const server = (fx: Fixtures) => ({ server: { name: 'm', imageRef: fx.imageRef, flavorRef: '1' } });
const patch = 'application/openstack-images-v2.1-json-patch';
const V327 = { 'openstack-api-version': 'volume 3.27' };

/** Route families: the compute ones without the optional `/{project_id}` segment (same handlers). */
export const FAMILIES: Record<string, Family> = {
  // ---- identity (Keystone v3, legacy default policy: admin, or the token's own user/project)
  'GET /identity': open(), 'GET /identity/v3': open(),
  'POST /identity/v3/auth/tokens': open().with({ body: () => ({ auth: { identity: { methods: ['password'], password: { user: { name: 'demo', domain: { id: 'default' }, password: 'secret' } } } } }) }),
  'GET /identity/v3/auth/tokens': anyMember().with({ subject: true }), 'DELETE /identity/v3/auth/tokens': anyMember().with({ subject: true }),
  'GET /identity/v3/auth/catalog': anyMember(), 'GET /identity/v3/auth/projects': anyMember(), 'GET /identity/v3/auth/domains': anyMember(),
  'GET /identity/v3/services': adminOnly(), 'GET /identity/v3/endpoints': adminOnly(), 'GET /identity/v3/regions': anyMember(),
  'GET /identity/v3/roles': adminOnly(), 'GET /identity/v3/roles/:id': adminOnly(), 'GET /identity/v3/role_assignments': adminOnly(),
  // A project's domain is readable by its members (token.project.domain.id).
  'GET /identity/v3/domains': adminOnly(), 'GET /identity/v3/domains/:id': anyMember(),
  'GET /identity/v3/domains/:tid/users/:uid/roles': adminOnly(), 'GET /identity/v3/domains/:tid/users/:uid/roles/:rid': adminOnly().with({ absent: true }),
  'PUT /identity/v3/domains/:tid/users/:uid/roles/:rid': adminOnly(), 'DELETE /identity/v3/domains/:tid/users/:uid/roles/:rid': adminOnly().with({ absent: true }),
  'GET /identity/v3/projects': adminOnly(), 'POST /identity/v3/projects': adminOnly().with({ body: () => ({ project: { name: `p-${randomUUID()}` } }) }),
  'GET /identity/v3/projects/:id': owned(403), 'PATCH /identity/v3/projects/:id': adminOnly().with({ body: () => ({ project: { description: 'd' } }) }),
  'DELETE /identity/v3/projects/:id': adminOnly(),
  'GET /identity/v3/projects/:tid/users/:uid/roles': adminOnly(), 'GET /identity/v3/projects/:tid/users/:uid/roles/:rid': adminOnly(),
  'PUT /identity/v3/projects/:tid/users/:uid/roles/:rid': adminOnly(), 'DELETE /identity/v3/projects/:tid/users/:uid/roles/:rid': adminOnly(),
  'GET /identity/v3/users': adminOnly(), 'POST /identity/v3/users': adminOnly().with({ body: () => ({ user: { name: `u-${randomUUID()}` } }) }),
  'GET /identity/v3/users/:id': owned(403), 'PATCH /identity/v3/users/:id': adminOnly().with({ body: () => ({ user: { description: 'd' } }) }),
  'DELETE /identity/v3/users/:id': adminOnly(),
  // Keystone's password change needs no token: the original password authenticates it (a token, bad
  // or another user's, is ignored), so whoever knows it may. Setting it to itself keeps it repeatable.
  'POST /identity/v3/users/:id/password': open().with({ body: () => ({ user: { password: 'secret', original_password: 'secret' } }) }),
  'GET /identity/v3/users/:id/projects': owned(403), 'GET /identity/v3/users/:id/groups': owned(403),
  'GET /identity/v3/auth/system': anyMember(), 'GET /identity/v3/regions/:id': anyMember(),
  'POST /identity/v3/regions': adminOnly().with({ body: () => ({ region: {} }) }), 'PUT /identity/v3/regions/:id': adminOnly().with({ body: () => ({ region: {} }) }),
  'PATCH /identity/v3/regions/:id': adminOnly().with({ body: () => ({ region: { description: 'd' } }) }), 'DELETE /identity/v3/regions/:id': adminOnly(),
  'GET /identity/v3/services/:id': adminOnly(), 'POST /identity/v3/services': adminOnly().with({ body: () => ({ service: { type: 'x' } }) }),
  'PATCH /identity/v3/services/:id': adminOnly().with({ body: () => ({ service: { name: 'n' } }) }), 'DELETE /identity/v3/services/:id': adminOnly(),
  'GET /identity/v3/endpoints/:id': adminOnly(), 'POST /identity/v3/endpoints': adminOnly().with({ absent: true, body: () => ({ endpoint: { interface: 'public', url: 'http://x', service_id: 'nope' } }) }),
  'PATCH /identity/v3/endpoints/:id': adminOnly().with({ body: () => ({ endpoint: { url: 'http://y' } }) }), 'DELETE /identity/v3/endpoints/:id': adminOnly(),
  'POST /identity/v3/domains': adminOnly().with({ body: () => ({ domain: { name: `d-${randomUUID()}` } }) }),
  'PATCH /identity/v3/domains/:id': adminOnly().with({ body: () => ({ domain: { description: 'd' } }) }), 'DELETE /identity/v3/domains/:id': adminOnly(),
  'GET /identity/v3/projects/:id/tags': owned(403), 'PUT /identity/v3/projects/:id/tags': adminOnly().with({ body: () => ({ tags: ['a'] }) }),
  'DELETE /identity/v3/projects/:id/tags': adminOnly(), 'GET /identity/v3/projects/:id/tags/:tag': owned(403),
  'PUT /identity/v3/projects/:id/tags/:tag': adminOnly(), 'DELETE /identity/v3/projects/:id/tags/:tag': adminOnly(),
  // Application credentials are their user's own: an admin lists and deletes them, only the user creates one.
  'GET /identity/v3/users/:id/application_credentials': owned(403), 'GET /identity/v3/users/:id/application_credentials/:cid': owned(403),
  'POST /identity/v3/users/:id/application_credentials': owned(403).with({ owner: 403, admin: 403, body: () => ({ application_credential: { name: `ac-${randomUUID()}` } }) }),
  'DELETE /identity/v3/users/:id/application_credentials/:cid': adminOnly(),
  'GET /identity/v3/groups': adminOnly(), 'POST /identity/v3/groups': adminOnly().with({ body: () => ({ group: { name: `g-${randomUUID()}` } }) }),
  'GET /identity/v3/groups/:id': adminOnly(), 'PATCH /identity/v3/groups/:id': adminOnly().with({ body: () => ({ group: { description: 'd' } }) }),
  'DELETE /identity/v3/groups/:id': adminOnly(), 'GET /identity/v3/groups/:id/users': adminOnly(),
  'PUT /identity/v3/groups/:id/users/:uid': adminOnly(), 'GET /identity/v3/groups/:id/users/:uid': adminOnly(), 'DELETE /identity/v3/groups/:id/users/:uid': adminOnly(),
  'POST /identity/v3/roles': adminOnly().with({ body: () => ({ role: { name: `r-${randomUUID()}` } }) }),
  'PATCH /identity/v3/roles/:id': adminOnly().with({ body: () => ({ role: { description: 'd' } }) }), 'DELETE /identity/v3/roles/:id': adminOnly(),
  'GET /identity/v3/roles/:id/implies': adminOnly(), 'GET /identity/v3/roles/:id/implies/:iid': adminOnly(),
  'PUT /identity/v3/roles/:id/implies/:iid': adminOnly(), 'DELETE /identity/v3/roles/:id/implies/:iid': adminOnly(), 'GET /identity/v3/role_inferences': adminOnly(),
  'GET /identity/v3/projects/:tid/groups/:gid/roles': adminOnly(), 'GET /identity/v3/projects/:tid/groups/:gid/roles/:rid': adminOnly(),
  'PUT /identity/v3/projects/:tid/groups/:gid/roles/:rid': adminOnly(), 'DELETE /identity/v3/projects/:tid/groups/:gid/roles/:rid': adminOnly(),
  'GET /identity/v3/domains/:tid/groups/:gid/roles': adminOnly(), 'GET /identity/v3/domains/:tid/groups/:gid/roles/:rid': adminOnly(),
  'PUT /identity/v3/domains/:tid/groups/:gid/roles/:rid': adminOnly(), 'DELETE /identity/v3/domains/:tid/groups/:gid/roles/:rid': adminOnly(),
  'GET /identity/v3/system/users/:uid/roles': adminOnly(), 'GET /identity/v3/system/users/:uid/roles/:rid': adminOnly().with({ absent: true }),
  'PUT /identity/v3/system/users/:uid/roles/:rid': adminOnly(), 'DELETE /identity/v3/system/users/:uid/roles/:rid': adminOnly().with({ absent: true }),
  'GET /identity/v3/system/groups/:gid/roles': adminOnly(), 'GET /identity/v3/system/groups/:gid/roles/:rid': adminOnly(),
  'PUT /identity/v3/system/groups/:gid/roles/:rid': adminOnly(), 'DELETE /identity/v3/system/groups/:gid/roles/:rid': adminOnly(),

  // ---- image (Glance v2: images of the project, public ones to all; admin for everything)
  'GET /image': open(), 'GET /image/versions': open(),
  'GET /image/v2/schemas/image': anyMember(), 'GET /image/v2/schemas/images': anyMember(), 'GET /image/v2/schemas/member': anyMember(),
  'GET /image/v2/schemas/members': anyMember(), 'GET /image/v2/schemas/task': anyMember(), 'GET /image/v2/schemas/tasks': anyMember(),
  'GET /image/v2/info/import': anyMember(), 'GET /image/v2/info/stores': anyMember(),
  // Glance's metadefs: everyone reads (a public namespace made by the admin), only an admin writes.
  'GET /image/v2/schemas/metadefs/:name': anyMember(), 'GET /image/v2/metadefs/resource_types': anyMember(),
  'GET /image/v2/metadefs/namespaces': anyMember(), 'POST /image/v2/metadefs/namespaces': adminOnly().with({ body: () => ({ namespace: `ns-${randomUUID()}` }) }),
  'GET /image/v2/metadefs/namespaces/:ns': anyMember(), 'DELETE /image/v2/metadefs/namespaces/:ns': adminOnly(),
  'PUT /image/v2/metadefs/namespaces/:ns': adminOnly().with({ body: async (fx) => ({ namespace: await fx.value('namespace'), visibility: 'public' }) }),
  'GET /image/v2/metadefs/namespaces/:ns/resource_types': anyMember(), 'POST /image/v2/metadefs/namespaces/:ns/resource_types': adminOnly().with({ body: () => ({ name: 'OS::Nova::Flavor' }) }),
  'DELETE /image/v2/metadefs/namespaces/:ns/resource_types/:name': adminOnly(),
  'GET /image/v2/metadefs/namespaces/:ns/objects': anyMember(), 'POST /image/v2/metadefs/namespaces/:ns/objects': adminOnly().with({ body: () => ({ name: `o-${randomUUID()}` }) }),
  'DELETE /image/v2/metadefs/namespaces/:ns/objects': adminOnly(), 'GET /image/v2/metadefs/namespaces/:ns/objects/:name': anyMember(),
  'PUT /image/v2/metadefs/namespaces/:ns/objects/:name': adminOnly().with({ body: () => ({ name: 'o', description: 'd' }) }), 'DELETE /image/v2/metadefs/namespaces/:ns/objects/:name': adminOnly(),
  'GET /image/v2/metadefs/namespaces/:ns/properties': anyMember(),
  'POST /image/v2/metadefs/namespaces/:ns/properties': adminOnly().with({ body: () => ({ name: `p-${randomUUID()}`, title: 't', type: 'string' }) }),
  'DELETE /image/v2/metadefs/namespaces/:ns/properties': adminOnly(), 'GET /image/v2/metadefs/namespaces/:ns/properties/:name': anyMember(),
  'PUT /image/v2/metadefs/namespaces/:ns/properties/:name': adminOnly().with({ body: () => ({ title: 't2', type: 'string' }) }), 'DELETE /image/v2/metadefs/namespaces/:ns/properties/:name': adminOnly(),
  'GET /image/v2/metadefs/namespaces/:ns/tags': anyMember(), 'POST /image/v2/metadefs/namespaces/:ns/tags': adminOnly().with({ body: () => ({ tags: [{ name: 'x' }] }) }),
  'DELETE /image/v2/metadefs/namespaces/:ns/tags': adminOnly(), 'GET /image/v2/metadefs/namespaces/:ns/tags/:name': anyMember(),
  'POST /image/v2/metadefs/namespaces/:ns/tags/:name': adminOnly(), 'PUT /image/v2/metadefs/namespaces/:ns/tags/:name': adminOnly().with({ body: () => ({ name: 't' }) }),
  'DELETE /image/v2/metadefs/namespaces/:ns/tags/:name': adminOnly(),
  'PUT /image/v2/images/:id/stage': owned().with({ contentType: 'application/octet-stream', body: () => Buffer.from('bytes') }),
  'POST /image/v2/images/:id/import': owned().with({ body: () => ({ method: { name: 'glance-direct' } }) }),
  'GET /image/v2/images/:id/tasks': owned(), 'GET /image/v2/tasks/:id': owned(),
  'GET /image/v2/images': anyMember(), 'POST /image/v2/images': anyMember().with({ body: () => ({ name: 'new' }) }),
  'GET /image/v2/images/:id': owned(), 'PATCH /image/v2/images/:id': owned().with({ contentType: patch, body: () => [{ op: 'replace', path: '/name', value: 'n' }] }),
  'DELETE /image/v2/images/:id': owned(),
  'PUT /image/v2/images/:id/file': owned().with({ contentType: 'application/octet-stream', body: () => Buffer.from('bytes') }),
  'GET /image/v2/images/:id/file': owned().with({ absent: true }),
  // Glance's default for deactivate/reactivate: an admin or a member of the owning project.
  'POST /image/v2/images/:id/actions/:action': owned(),
  'PUT /image/v2/images/:id/tags/:tag': owned(), 'DELETE /image/v2/images/:id/tags/:tag': owned(),
  'GET /image/v2/images/:id/members': owned(), 'POST /image/v2/images/:id/members': owned().with({ body: (fx) => ({ member: fx.projects.alt_demo }) }),
  // The other project is the member here: it sees its own membership, and only it answers the share.
  'GET /image/v2/images/:id/members/:member': owned('ok'), 'DELETE /image/v2/images/:id/members/:member': owned(403),
  'PUT /image/v2/images/:id/members/:member': owned('ok').with({ owner: 403, admin: 403, body: () => ({ status: 'accepted' }) }),

  // ---- compute (Nova, legacy default policy)
  'GET /compute': open(), 'GET /compute/v2.1': open(),
  'GET /compute/v2.1/:project_id': anyMember(),
  'POST /compute/v2.1/servers': anyMember().with({ body: server }), 'GET /compute/v2.1/servers': anyMember(), 'GET /compute/v2.1/servers/detail': anyMember(),
  'GET /compute/v2.1/servers/:id': owned(), 'PUT /compute/v2.1/servers/:id': owned().with({ body: () => ({ server: { name: 'n' } }) }),
  'DELETE /compute/v2.1/servers/:id': owned(),
  'POST /compute/v2.1/servers/:id/action': owned().with({ body: () => ({ reboot: { type: 'SOFT' } }) }),
  'GET /compute/v2.1/servers/:server_id/os-instance-actions': owned(), 'GET /compute/v2.1/servers/:server_id/os-instance-actions/:request_id': owned(),
  'GET /compute/v2.1/servers/:server_id/os-server-password': owned(), 'DELETE /compute/v2.1/servers/:server_id/os-server-password': owned(),
  'GET /compute/v2.1/servers/:server_id/os-security-groups': owned(),
  'GET /compute/v2.1/servers/:server_id/metadata': owned(),
  'PUT /compute/v2.1/servers/:server_id/metadata': owned().with({ body: () => ({ metadata: { a: 'b' } }) }),
  'POST /compute/v2.1/servers/:server_id/metadata': owned().with({ body: () => ({ metadata: { a: 'b' } }) }),
  'GET /compute/v2.1/servers/:server_id/metadata/:key': owned(), 'PUT /compute/v2.1/servers/:server_id/metadata/:key': owned().with({ body: () => ({ meta: { k: 'v2' } }) }),
  'DELETE /compute/v2.1/servers/:server_id/metadata/:key': owned(),
  'GET /compute/v2.1/servers/:server_id/migrations': adminOnlyAfterLookup().with({ mv: '2.23' }),
  'GET /compute/v2.1/servers/:server_id/migrations/:migration_id': adminOnlyAfterLookup().with({ absent: true, mv: '2.23' }),
  'DELETE /compute/v2.1/servers/:server_id/migrations/:migration_id': adminOnlyAfterLookup().with({ absent: true, mv: '2.24' }),
  'POST /compute/v2.1/servers/:server_id/migrations/:migration_id/action': adminOnlyAfterLookup().with({ absent: true, mv: '2.22', body: () => ({ force_complete: null }) }),
  'GET /compute/v2.1/servers/:server_id/tags': owned().with({ mv: '2.26' }), 'PUT /compute/v2.1/servers/:server_id/tags': owned().with({ mv: '2.26', body: () => ({ tags: ['a'] }) }),
  'DELETE /compute/v2.1/servers/:server_id/tags': owned().with({ mv: '2.26' }),
  'GET /compute/v2.1/servers/:server_id/tags/:tag': owned().with({ mv: '2.26' }), 'PUT /compute/v2.1/servers/:server_id/tags/:tag': owned().with({ mv: '2.26' }),
  'DELETE /compute/v2.1/servers/:server_id/tags/:tag': owned().with({ mv: '2.26' }),
  'GET /compute/v2.1/servers/:server_id/ips': owned(), 'GET /compute/v2.1/servers/:server_id/ips/:network': owned(),
  'POST /compute/v2.1/servers/:server_id/remote-consoles': owned().with({ mv: '2.6', body: () => ({ remote_console: { protocol: 'vnc', type: 'novnc' } }) }),
  'GET /compute/v2.1/servers/:server_id/diagnostics': adminOnlyAfterLookup(),
  'POST /compute/v2.1/os-volumes_boot': anyMember().with({ body: server }), 'GET /compute/v2.1/os-volumes_boot': anyMember(), 'GET /compute/v2.1/os-volumes_boot/detail': anyMember(),
  'GET /compute/v2.1/os-volumes_boot/:id': owned(), 'PUT /compute/v2.1/os-volumes_boot/:id': owned().with({ body: () => ({ server: { name: 'n' } }) }),
  'DELETE /compute/v2.1/os-volumes_boot/:id': owned(),
  'POST /compute/v2.1/os-keypairs': anyMember().with({ body: () => ({ keypair: { name: `k-${randomUUID()}` } }) }), 'GET /compute/v2.1/os-keypairs': anyMember(),
  // Keypairs belong to a user: an admin names another user's with ?user_id= (without it, their own).
  'GET /compute/v2.1/os-keypairs/:name': owned().with({ admin: 404 }), 'DELETE /compute/v2.1/os-keypairs/:name': owned().with({ admin: 404 }),
  'GET /compute/v2.1/os-quota-sets/:tenant_id': owned(403), 'GET /compute/v2.1/os-quota-sets/:tenant_id/detail': owned(403),
  'GET /compute/v2.1/os-quota-sets/:tenant_id/defaults': anyMember(),
  'PUT /compute/v2.1/os-quota-sets/:tenant_id': adminOnly().with({ body: () => ({ quota_set: { instances: -1 } }) }), 'DELETE /compute/v2.1/os-quota-sets/:tenant_id': adminOnly(),
  'POST /compute/v2.1/os-server-groups': anyMember().with({ body: () => ({ server_group: { name: 'g', policies: ['affinity'] } }) }),
  'GET /compute/v2.1/os-server-groups': anyMember(), 'GET /compute/v2.1/os-server-groups/:id': owned(), 'DELETE /compute/v2.1/os-server-groups/:id': owned(),
  'GET /compute/v2.1/os-services': adminOnly(), 'PUT /compute/v2.1/os-services/:action': adminOnly().with({ body: () => ({ host: 'compute-0', binary: 'nova-compute' }) }),
  'GET /compute/v2.1/os-security-groups': anyMember(), 'POST /compute/v2.1/os-security-groups': anyMember().with({ body: () => ({ security_group: { name: `sg-${randomUUID()}`, description: 'd' } }) }),
  'GET /compute/v2.1/os-security-groups/:id': owned(), 'PUT /compute/v2.1/os-security-groups/:id': owned().with({ body: () => ({ security_group: { name: `sg-${randomUUID()}`, description: 'd' } }) }),
  'DELETE /compute/v2.1/os-security-groups/:id': owned(),
  'POST /compute/v2.1/os-security-group-rules': owned().with({ body: async (fx) => ({ security_group_rule: { parent_group_id: await fx.value('secgroup'), ip_protocol: 'tcp', from_port: 22, to_port: 22, cidr: '0.0.0.0/0' } }) }),
  'DELETE /compute/v2.1/os-security-group-rules/:id': owned(),
  'GET /compute/v2.1/os-availability-zone': anyMember(), 'GET /compute/v2.1/os-availability-zone/detail': adminOnly(),
  'GET /compute/v2.1/os-hypervisors': adminOnly(), 'GET /compute/v2.1/os-hypervisors/detail': adminOnly(), 'GET /compute/v2.1/os-hypervisors/statistics': adminOnly(),
  'GET /compute/v2.1/os-hypervisors/:id': adminOnly(), 'GET /compute/v2.1/os-hypervisors/:id/uptime': adminOnly(),
  'GET /compute/v2.1/os-hypervisors/:id/search': adminOnly(), 'GET /compute/v2.1/os-hypervisors/:id/servers': adminOnly(),
  'GET /compute/v2.1/os-migrations': adminOnly(),
  // ---- issue 13: aggregates, hosts, usage, audit log, quota classes, external events, extensions, removed APIs
  'GET /compute/v2': open(),
  'GET /compute/v2.1/extensions': anyMember(), 'GET /compute/v2.1/extensions/:alias': anyMember(),
  'GET /compute/v2.1/os-aggregates': adminOnly(), 'POST /compute/v2.1/os-aggregates': adminOnly().with({ body: () => ({ aggregate: { name: `a-${randomUUID()}` } }) }),
  'GET /compute/v2.1/os-aggregates/:id': adminOnly(), 'DELETE /compute/v2.1/os-aggregates/:id': adminOnly(),
  'PUT /compute/v2.1/os-aggregates/:id': adminOnly().with({ body: () => ({ aggregate: { name: `a-${randomUUID()}` } }) }),
  'POST /compute/v2.1/os-aggregates/:id/action': adminOnly().with({ body: () => ({ set_metadata: { metadata: { k: 'v' } } }) }),
  'POST /compute/v2.1/os-aggregates/:id/images': adminOnly().with({ mv: '2.81', body: () => ({ cache: [{ id: randomUUID() }] }) }),
  'GET /compute/v2.1/os-hosts': adminOnly(), 'GET /compute/v2.1/os-hosts/:host': adminOnly(),
  'PUT /compute/v2.1/os-hosts/:host': adminOnly().with({ body: () => ({ status: 'enable' }) }),
  'GET /compute/v2.1/os-hosts/:host/reboot': adminOnly(), 'GET /compute/v2.1/os-hosts/:host/shutdown': adminOnly(), 'GET /compute/v2.1/os-hosts/:host/startup': adminOnly(),
  'GET /compute/v2.1/os-simple-tenant-usage': adminOnly(), 'GET /compute/v2.1/os-simple-tenant-usage/:tenant_id': owned(403),
  'GET /compute/v2.1/os-instance_usage_audit_log': adminOnly(), 'GET /compute/v2.1/os-instance_usage_audit_log/:before': adminOnly(),
  'GET /compute/v2.1/os-quota-class-sets/:id': adminOnly(), 'PUT /compute/v2.1/os-quota-class-sets/:id': adminOnly().with({ body: () => ({ quota_class_set: { instances: -1 } }) }),
  'POST /compute/v2.1/os-server-external-events': adminOnly().with({ body: () => ({ events: [{ name: 'network-changed', server_uuid: randomUUID() }] }), absent: true }),
  'DELETE /compute/v2.1/os-agents/:id': gone(), 'DELETE /compute/v2.1/os-cells/:id': gone(),
  'DELETE /compute/v2.1/os-floating-ip-dns/:domain': gone(), 'DELETE /compute/v2.1/os-floating-ip-dns/:domain/entries/:entry': gone(),
  'DELETE /compute/v2.1/os-security-group-default-rules/:id': gone(), 'DELETE /compute/v2.1/servers/:server_id/consoles/:id': gone(),
  'GET /compute/v2.1/os-agents': gone(), 'GET /compute/v2.1/os-cells': gone(), 'GET /compute/v2.1/os-cells/:id': gone(),
  'GET /compute/v2.1/os-cells/:id/capacities': gone(), 'GET /compute/v2.1/os-cells/capacities': gone(), 'GET /compute/v2.1/os-cells/detail': gone(),
  'GET /compute/v2.1/os-cells/info': gone(), 'GET /compute/v2.1/os-certificates/:id': gone(), 'GET /compute/v2.1/os-cloudpipe': gone(),
  'GET /compute/v2.1/os-fixed-ips/:id': gone(), 'GET /compute/v2.1/os-floating-ip-dns': gone(),
  'GET /compute/v2.1/os-floating-ip-dns/:domain/entries/:entry': gone(), 'GET /compute/v2.1/os-floating-ips-bulk': gone(),
  'GET /compute/v2.1/os-floating-ips-bulk/:id': gone(), 'GET /compute/v2.1/os-fping': gone(), 'GET /compute/v2.1/os-fping/:id': gone(),
  'GET /compute/v2.1/os-security-group-default-rules': gone(), 'GET /compute/v2.1/os-security-group-default-rules/:id': gone(),
  'GET /compute/v2.1/servers/:server_id/consoles': gone(), 'GET /compute/v2.1/servers/:server_id/consoles/:id': gone(),
  'POST /compute/v2.1/os-agents': gone(), 'POST /compute/v2.1/os-cells': gone(), 'POST /compute/v2.1/os-cells/sync_instances': gone(),
  'POST /compute/v2.1/os-certificates': gone(), 'POST /compute/v2.1/os-cloudpipe': gone(), 'POST /compute/v2.1/os-fixed-ips/:id/action': gone(),
  'POST /compute/v2.1/os-floating-ips-bulk': gone(), 'POST /compute/v2.1/os-security-group-default-rules': gone(),
  'POST /compute/v2.1/servers/:server_id/consoles': gone(), 'PUT /compute/v2.1/os-agents/:id': gone(), 'PUT /compute/v2.1/os-cells/:id': gone(),
  'PUT /compute/v2.1/os-cloudpipe/configure-project': gone(), 'PUT /compute/v2.1/os-floating-ip-dns/:domain': gone(),
  'PUT /compute/v2.1/os-floating-ip-dns/:domain/entries/:entry': gone(), 'PUT /compute/v2.1/os-floating-ips-bulk/:id': gone(),
  'GET /compute/v2.1/os-tenant-networks': anyMember(), 'GET /compute/v2.1/os-tenant-networks/:network_id': anyMember(),
  'GET /compute/v2.1/os-networks': anyMember(), 'GET /compute/v2.1/os-networks/:id': anyMember(),
  'POST /compute/v2.1/os-networks': gone(), 'POST /compute/v2.1/os-networks/add': gone(),
  'DELETE /compute/v2.1/os-networks/:id': gone(), 'POST /compute/v2.1/os-networks/:id/action': gone(),
  'GET /compute/v2.1/flavors': anyMember(), 'GET /compute/v2.1/flavors/detail': anyMember(),
  'POST /compute/v2.1/flavors': adminOnly().with({ body: () => ({ flavor: { name: `f-${randomUUID()}`, ram: 64, vcpus: 1, disk: 1 } }) }),
  'GET /compute/v2.1/flavors/:flavor_id': anyMember(), 'PUT /compute/v2.1/flavors/:flavor_id': adminOnly().with({ mv: '2.55', body: () => ({ flavor: { description: 'd' } }) }),
  'DELETE /compute/v2.1/flavors/:flavor_id': adminOnly(),
  'GET /compute/v2.1/flavors/:flavor_id/os-extra_specs': anyMember(), 'POST /compute/v2.1/flavors/:flavor_id/os-extra_specs': adminOnly().with({ body: () => ({ extra_specs: { a: 'b' } }) }),
  'GET /compute/v2.1/flavors/:flavor_id/os-extra_specs/:key': anyMember(), 'PUT /compute/v2.1/flavors/:flavor_id/os-extra_specs/:key': adminOnly().with({ body: () => ({ 'hw:spec': 'v' }) }),
  'DELETE /compute/v2.1/flavors/:flavor_id/os-extra_specs/:key': adminOnly(),
  'GET /compute/v2.1/flavors/:flavor_id/os-flavor-access': adminOnly(), 'POST /compute/v2.1/flavors/:flavor_id/action': adminOnly().with({ body: (fx) => ({ addTenantAccess: { tenant: fx.projects.alt_demo } }) }),
  'GET /compute/v2.1/limits': anyMember(),
  'GET /compute/v2.1/images': anyMember(), 'GET /compute/v2.1/images/detail': anyMember(),
  'GET /compute/v2.1/images/:image_id': owned(), 'DELETE /compute/v2.1/images/:image_id': owned(),
  'GET /compute/v2.1/images/:image_id/metadata': owned(), 'POST /compute/v2.1/images/:image_id/metadata': owned().with({ body: () => ({ metadata: { a: 'b' } }) }),
  'PUT /compute/v2.1/images/:image_id/metadata': owned().with({ body: () => ({ metadata: { a: 'b' } }) }),
  'GET /compute/v2.1/images/:image_id/metadata/:key': owned(), 'PUT /compute/v2.1/images/:image_id/metadata/:key': owned().with({ body: () => ({ meta: { prop: 'v2' } }) }),
  'DELETE /compute/v2.1/images/:image_id/metadata/:key': owned(),

  // ---- novabox control API: admins only
  'GET /novabox/v1/faults': adminOnly(), 'POST /novabox/v1/faults': adminOnly().with({ body: () => ({ action: '*', op: '*', times: 1 }) }),
  'DELETE /novabox/v1/faults': adminOnly(), 'POST /novabox/v1/servers/:id/guest': adminOnly().with({ body: () => ({ event: 'shutdown' }) }),
  'GET /novabox/v1/hosts': adminOnly(), 'PUT /novabox/v1/hosts/:name': adminOnly().with({ body: () => ({ up: true }) }),
  'PUT /novabox/v1/time-scale': adminOnly().with({ body: () => ({ time_scale: 0 }) }),
  'GET /novabox/v1/time-scale': adminOnly(), 'GET /novabox/v1/hosts/:name': adminOnly().with({ absent: true }),
  'GET /novabox/v1/timings': adminOnly(), 'PUT /novabox/v1/timings': adminOnly().with({ body: () => ({ timings: 'instant' }) }),
  // Only the refusals: an admin's reset would revoke every token this matrix holds (test/http/control-api.test.ts resets).
  'POST /novabox/v1/reset': adminOnly().with({ stream: true }),
  'GET /novabox/v1': open(), 'GET /': open(), 'GET /healthz': open(),
  'GET /novabox/v1/clock': adminOnly(), 'POST /novabox/v1/clock': adminOnly().with({ body: () => ({ advance: 0 }) }),
  'GET /novabox/v1/events': adminOnly().with({ stream: true }),
};

// ---- networking (Neutron) and volume (Cinder): no fixtures yet, so owned paths use an id that does
// not exist (`absent`): the refusals are checked exactly, the owner's and admin's answers as not-refused.
const neutronResource = (plural: string): Record<string, Family> => {
  const base = `/networking/v2.0/${plural}`;
  const out: Record<string, Family> = { [`GET ${base}`]: anyMember(), [`POST ${base}`]: anyMember() };
  for (const m of ['GET', 'PUT', 'DELETE']) {
    out[`${m} ${base}/:id`] = owned().with({ absent: true });
    out[`${m} ${base}/:id/tags`] = owned().with({ absent: true });
    out[`${m} ${base}/:id/tags/:tag`] = owned().with({ absent: true });
  }
  return out;
};
Object.assign(FAMILIES, {
  'GET /networking': open(), 'GET /networking/v2.0': anyMember(),
  'GET /networking/v2.0/extensions': anyMember(), 'GET /networking/v2.0/extensions/:alias': anyMember().with({ absent: true }),
  ...Object.assign({}, ...['networks', 'subnets', 'ports', 'security-groups', 'routers', 'floatingips', 'trunks'].map(neutronResource)),
  'PUT /networking/v2.0/trunks/:id/add_subports': owned().with({ absent: true }), 'PUT /networking/v2.0/trunks/:id/remove_subports': owned().with({ absent: true }),
  'GET /networking/v2.0/trunks/:id/get_subports': owned().with({ absent: true }),
  'GET /networking/v2.0/security-group-rules': anyMember(), 'POST /networking/v2.0/security-group-rules': anyMember(),
  'GET /networking/v2.0/security-group-rules/:id': owned().with({ absent: true }), 'PUT /networking/v2.0/security-group-rules/:id': owned().with({ absent: true }),
  'DELETE /networking/v2.0/security-group-rules/:id': owned().with({ absent: true }),
  'PUT /networking/v2.0/routers/:id/add_router_interface': owned().with({ absent: true }), 'PUT /networking/v2.0/routers/:id/remove_router_interface': owned().with({ absent: true }),
  'GET /networking/v2.0/quotas': adminOnly(), 'GET /networking/v2.0/quotas/tenant': anyMember(), 'GET /networking/v2.0/quotas/project': anyMember(),
  'GET /networking/v2.0/quotas/:project_id': owned(403), 'GET /networking/v2.0/quotas/:project_id/default': owned(403),
  'GET /networking/v2.0/quotas/:project_id/details': owned(403), 'GET /networking/v2.0/quotas/:project_id/details.json': owned(403),
  'PUT /networking/v2.0/quotas/:project_id': adminOnly(), 'DELETE /networking/v2.0/quotas/:project_id': adminOnly(),
  'GET /networking/v2.0/network-ip-availabilities': adminOnly(), 'GET /networking/v2.0/network-ip-availabilities/:id': adminOnly().with({ absent: true }),
  'GET /networking/v2.0/auto-allocated-topology/:project_id': owned(403), 'DELETE /networking/v2.0/auto-allocated-topology/:project_id': owned(403),

  'GET /volume': open(), 'GET /volume/v3': open(),
  'GET /volume/v3/volumes': anyMember(), 'GET /volume/v3/volumes/detail': anyMember(), 'POST /volume/v3/volumes': anyMember(),
  'GET /volume/v3/volumes/summary': anyMember().with({ headers: { 'openstack-api-version': 'volume 3.12' } }),
  'GET /volume/v3/snapshots': anyMember(), 'GET /volume/v3/snapshots/detail': anyMember(), 'POST /volume/v3/snapshots': anyMember(),
  'GET /volume/v3/attachments': anyMember().with({ headers: V327 }), 'GET /volume/v3/attachments/detail': anyMember().with({ headers: V327 }),
  'POST /volume/v3/attachments': anyMember().with({ headers: V327 }),
  'GET /volume/v3/types': anyMember(), 'GET /volume/v3/types/default': anyMember(), 'GET /volume/v3/types/:id': anyMember().with({ absent: true }),
  'POST /volume/v3/types': adminOnly(), 'PUT /volume/v3/types/:id': adminOnly().with({ absent: true }), 'DELETE /volume/v3/types/:id': adminOnly().with({ absent: true }),
  // Extra specs are read by admins only in this Cinder (its *_system_admin_or_project_reader defaults differ by release).
  'GET /volume/v3/types/:id/extra_specs': adminOnly().with({ absent: true }), 'GET /volume/v3/types/:id/extra_specs/:key': adminOnly().with({ absent: true }),
  'POST /volume/v3/types/:id/extra_specs': adminOnly().with({ absent: true }), 'PUT /volume/v3/types/:id/extra_specs/:key': adminOnly().with({ absent: true }),
  'DELETE /volume/v3/types/:id/extra_specs/:key': adminOnly().with({ absent: true }),
  'GET /volume/v3/types/:id/os-volume-type-access': adminOnly().with({ absent: true }), 'POST /volume/v3/types/:id/action': family({ owner: 404, other: 404, admin: 'ok', absent: true }),
  'GET /volume/v3/os-quota-sets/:target': owned(403), 'GET /volume/v3/os-quota-sets/:target/defaults': anyMember(),
  'PUT /volume/v3/os-quota-sets/:target': adminOnly(), 'DELETE /volume/v3/os-quota-sets/:target': adminOnly(),
  'GET /volume/v3/limits': anyMember(), 'GET /volume/v3/os-availability-zone': anyMember(), 'GET /volume/v3/extensions': anyMember(),
});
for (const [kind, member] of [['volumes', 'volume'], ['snapshots', 'snapshot']] as const) {
  const b = `/volume/v3/${kind}/:id`;
  const absent = (body?: unknown) => owned().with({ absent: true, ...(body ? { body: () => body } : {}) });
  Object.assign(FAMILIES, {
    [`GET ${b}`]: absent(), [`PUT ${b}`]: absent({ [member]: { name: 'n' } }), [`DELETE ${b}`]: absent(),
    [`POST ${b}/action`]: kind === 'volumes' ? absent({ 'os-extend': { new_size: 2 } }) : adminOnly().with({ absent: true, body: () => ({ 'os-reset_status': { status: 'available' } }) }),
    [`GET ${b}/metadata`]: absent(), [`POST ${b}/metadata`]: absent({ metadata: { a: 'b' } }), [`PUT ${b}/metadata`]: absent({ metadata: { a: 'b' } }),
  });
}
Object.assign(FAMILIES, {
  'GET /volume/v3/volumes/:id/metadata/:key': owned().with({ absent: true }), 'DELETE /volume/v3/volumes/:id/metadata/:key': owned().with({ absent: true }),
  'PUT /volume/v3/volumes/:id/metadata/:key': owned().with({ absent: true, body: () => ({ meta: { key: 'v' } }) }),
  'GET /volume/v3/attachments/:id': owned().with({ absent: true, headers: V327 }), 'PUT /volume/v3/attachments/:id': owned().with({ absent: true, headers: V327, body: () => ({ attachment: { connector: {} } }) }),
  'DELETE /volume/v3/attachments/:id': owned().with({ absent: true, headers: V327 }),
  'POST /volume/v3/attachments/:id/action': owned().with({ absent: true, headers: { 'openstack-api-version': 'volume 3.44' }, body: () => ({ 'os-complete': null }) }),
});

// Removed compute APIs (nova-network, cells v1, agents, certificates, …): 410 for every caller.
for (const k of [
  'GET /os-agents', 'POST /os-agents', 'PUT /os-agents/:id', 'DELETE /os-agents/:id', 'GET /os-cells', 'POST /os-cells', 'GET /os-cells/capacities',
  'GET /os-cells/detail', 'GET /os-cells/info', 'POST /os-cells/sync_instances', 'GET /os-cells/:id', 'PUT /os-cells/:id', 'DELETE /os-cells/:id',
  'GET /os-cells/:id/capacities', 'POST /os-certificates', 'GET /os-certificates/:id', 'GET /os-cloudpipe', 'POST /os-cloudpipe',
  'PUT /os-cloudpipe/configure-project', 'GET /os-fping', 'GET /os-fping/:id', 'GET /os-fixed-ips/:id', 'POST /os-fixed-ips/:id/action',
  'GET /os-floating-ip-dns', 'PUT /os-floating-ip-dns/:domain', 'DELETE /os-floating-ip-dns/:domain', 'GET /os-floating-ip-dns/:domain/entries/:entry',
  'PUT /os-floating-ip-dns/:domain/entries/:entry', 'DELETE /os-floating-ip-dns/:domain/entries/:entry', 'GET /os-floating-ips-bulk',
  'POST /os-floating-ips-bulk', 'GET /os-floating-ips-bulk/:id', 'PUT /os-floating-ips-bulk/:id', 'GET /os-security-group-default-rules',
  'POST /os-security-group-default-rules', 'GET /os-security-group-default-rules/:id', 'DELETE /os-security-group-default-rules/:id',
  'GET /servers/:server_id/consoles', 'POST /servers/:server_id/consoles', 'GET /servers/:server_id/consoles/:id', 'DELETE /servers/:server_id/consoles/:id',
]) FAMILIES[k.replace(' ', ' /compute/v2.1')] = gone();
Object.assign(FAMILIES, {
  'GET /compute/v2': open(), 'GET /compute/v2.1/extensions': anyMember(), 'GET /compute/v2.1/extensions/:alias': anyMember().with({ absent: true }),
  'GET /compute/v2.1/os-aggregates': adminOnly(), 'POST /compute/v2.1/os-aggregates': adminOnly().with({ body: () => ({ aggregate: { name: `a-${randomUUID()}` } }) }),
  'GET /compute/v2.1/os-aggregates/:id': adminOnly().with({ absent: true }), 'PUT /compute/v2.1/os-aggregates/:id': adminOnly().with({ absent: true, body: () => ({ aggregate: { name: 'n' } }) }),
  'DELETE /compute/v2.1/os-aggregates/:id': adminOnly().with({ absent: true }),
  'POST /compute/v2.1/os-aggregates/:id/action': adminOnly().with({ absent: true, body: () => ({ add_host: { host: 'compute-0' } }) }),
  'POST /compute/v2.1/os-aggregates/:id/images': adminOnly().with({ absent: true, mv: '2.81', body: () => ({ cache: [{ id: randomUUID() }] }) }),
  'GET /compute/v2.1/os-hosts': adminOnly(), 'GET /compute/v2.1/os-hosts/:host': adminOnly(), 'PUT /compute/v2.1/os-hosts/:host': adminOnly().with({ body: () => ({ status: 'enable' }) }),
  'GET /compute/v2.1/os-hosts/:host/reboot': adminOnly().with({ absent: true }), 'GET /compute/v2.1/os-hosts/:host/shutdown': adminOnly().with({ absent: true }),
  'GET /compute/v2.1/os-hosts/:host/startup': adminOnly().with({ absent: true }),
  'GET /compute/v2.1/os-simple-tenant-usage': adminOnly(), 'GET /compute/v2.1/os-simple-tenant-usage/:tenant_id': owned(403),
  'GET /compute/v2.1/os-instance_usage_audit_log': adminOnly(), 'GET /compute/v2.1/os-instance_usage_audit_log/:before': adminOnly().with({ absent: true }),
  'GET /compute/v2.1/os-quota-class-sets/:id': adminOnly(), 'PUT /compute/v2.1/os-quota-class-sets/:id': adminOnly().with({ body: () => ({ quota_class_set: { instances: -1 } }) }),
  'POST /compute/v2.1/os-server-external-events': adminOnly().with({ absent: true, body: () => ({ events: [{ name: 'network-changed', server_uuid: randomUUID() }] }) }),
  'GET /compute/v2.1/servers/:server_id/os-volume_attachments': owned(),
  'GET /compute/v2.1/servers/:server_id/os-volume_attachments/:volume_id': owned().with({ absent: true }),
  'POST /compute/v2.1/servers/:server_id/os-volume_attachments': owned().with({ absent: true, body: () => ({ volumeAttachment: { volumeId: randomUUID() } }) }),
  // Swapping a volume is an admin's (and Cinder's) call; the server is looked up first.
  'PUT /compute/v2.1/servers/:server_id/os-volume_attachments/:volume_id': adminOnlyAfterLookup().with({ absent: true, body: () => ({ volumeAttachment: { volumeId: randomUUID() } }) }),
  'DELETE /compute/v2.1/servers/:server_id/os-volume_attachments/:volume_id': owned().with({ absent: true }),
  // The deprecated volume and snapshot proxies (to 2.35).
  'GET /compute/v2.1/os-volumes': anyMember(), 'GET /compute/v2.1/os-volumes/detail': anyMember(), 'POST /compute/v2.1/os-volumes': anyMember(),
  'GET /compute/v2.1/os-volumes/:id': owned().with({ absent: true }), 'DELETE /compute/v2.1/os-volumes/:id': owned().with({ absent: true }),
  'GET /compute/v2.1/os-snapshots': anyMember(), 'GET /compute/v2.1/os-snapshots/detail': anyMember(), 'POST /compute/v2.1/os-snapshots': anyMember(),
  'GET /compute/v2.1/os-snapshots/:id': owned().with({ absent: true }), 'DELETE /compute/v2.1/os-snapshots/:id': owned().with({ absent: true }),
  'GET /compute/v2.1/servers/:server_id/os-interface': owned(), 'GET /compute/v2.1/servers/:server_id/os-interface/:port_id': owned().with({ absent: true }),
  'POST /compute/v2.1/servers/:server_id/os-interface': owned().with({ absent: true, body: () => ({ interfaceAttachment: { net_id: randomUUID() } }) }),
  'DELETE /compute/v2.1/servers/:server_id/os-interface/:port_id': owned().with({ absent: true }),
  'GET /compute/v2.1/os-floating-ip-pools': anyMember(), 'GET /compute/v2.1/os-floating-ips': anyMember(), 'POST /compute/v2.1/os-floating-ips': anyMember(),
  'GET /compute/v2.1/os-floating-ips/:id': owned().with({ absent: true }), 'DELETE /compute/v2.1/os-floating-ips/:id': owned().with({ absent: true }),
  'GET /healthz': open(), 'GET /novabox/v1': open(), 'GET /novabox/v1/hosts/:name': adminOnly(), 'GET /novabox/v1/time-scale': adminOnly(),
  'GET /novabox/v1/timings': adminOnly(), 'PUT /novabox/v1/timings': adminOnly().with({ body: () => ({}) }),
  // Resetting the cloud would take the fixtures with it: only the refusals are tried.
  'POST /novabox/v1/reset': adminOnly().with({ stream: true }),
  // Prometheus metrics and the dashboard: open on loopback (app.inject comes from 127.0.0.1).
  'GET /metrics': open(), 'GET /dashboard/': open(), 'GET /dashboard/*': open().with({ stream: true }),
  'GET /dashboard/api/summary': open(), 'GET /dashboard/api/servers': open(), 'GET /dashboard/api/servers/:id/timeline': open().with({ absent: true }),
  'GET /dashboard/api/events': open().with({ stream: true }),
});

/** A route's family key: compute routes without their `/{project_id}` segment. */
export function familyKey(method: string, url: string): string {
  return `${method} ${url.replace(/\/:project_id\(\^\[0-9a-f-\]\+\$\)(?=\/|$)/, (m, off: number, s: string) => (off + m.length === s.length ? '/:project_id' : ''))}`;
}

interface Fixtures {
  imageRef: string;
  projects: Record<string, string>;
  /** The value of a fixture by kind, made on first use for this set (owned by demo/demo). */
  value(kind: string): Promise<string>;
}

describe('authorization matrix', () => {
  let nb: Novabox;
  let offset = 0;
  const clock: Clock = { ...systemClock, now: () => Date.now() + offset };
  const tokens: Record<string, string> = {};
  const projects: Record<string, string> = {};
  let imageRef = '';
  let roleId = '';
  let userIds: Record<string, string> = {};

  const inject = (o: { method: string; url: string; token?: string; body?: unknown; contentType?: string; mv?: string; headers?: Record<string, string> }): Promise<LightMyRequestResponse> => {
    const headers: Record<string, string> = { ...o.headers };
    if (o.token !== undefined) headers['x-auth-token'] = o.token;
    if (o.mv) headers['openstack-api-version'] = `compute ${o.mv}`;
    let payload: string | Buffer | undefined;
    if (o.body !== undefined) {
      headers['content-type'] = o.contentType ?? 'application/json';
      payload = Buffer.isBuffer(o.body) ? o.body : JSON.stringify(o.body);
    }
    return nb.app.inject({ method: o.method as 'GET', url: o.url, headers, payload });
  };
  const issue = async (user: string, project: string): Promise<string> => {
    const r = await inject({ method: 'POST', url: '/identity/v3/auth/tokens', body: { auth: { identity: { methods: ['password'], password: { user: { name: user, domain: { id: 'default' }, password: 'secret' } } }, scope: { project: { name: project, domain: { id: 'default' } } } } } });
    assert.equal(r.statusCode, 201, r.body);
    return String(r.headers['x-subject-token']);
  };
  const ok = (r: LightMyRequestResponse, what: string): any => {
    assert.ok(r.statusCode < 300, `${what}: ${r.statusCode} ${r.body}`);
    return r.body ? r.json() : undefined;
  };

  before(async () => {
    nb = await createTestNovabox({ timings: 'libvirt', quota_defaults: { ...defaultConfig().quota_defaults, instances: -1, cores: -1, ram: -1, server_groups: -1, key_pairs: -1 } }, { clock });
    tokens.owner = await issue('demo', 'demo');
    tokens.other = await issue('alt_demo', 'alt_demo');
    tokens.admin = await issue('admin', 'admin');
    offset = -2 * nb.services.config.token_ttl * 1000;
    tokens.expired = await issue('demo', 'demo');
    offset = 0;
    tokens.revoked = await issue('demo', 'demo');
    assert.equal((await nb.app.inject({ method: 'DELETE', url: '/identity/v3/auth/tokens', headers: { 'x-auth-token': tokens.admin, 'x-subject-token': tokens.revoked } })).statusCode, 204);
    tokens.malformed = 'gAAAAABm-not-a-real-token_%00';
    for (const p of ['admin', 'demo', 'alt_demo']) projects[p] = (await nb.services.identity.store.projectByName('default', p))!.id;
    // The matrix makes many security groups and rules: Neutron's quotas (10 and 100) would end it early.
    for (const p of Object.values(projects)) {
      ok(await inject({ method: 'PUT', url: `/networking/v2.0/quotas/${p}`, token: tokens.admin, body: { quota: { security_group: -1, security_group_rule: -1 } } }), 'neutron quota');
    }
    const imgs = ok(await inject({ method: 'GET', url: '/image/v2/images', token: tokens.owner }), 'images');
    imageRef = imgs.images.find((i: { status: string }) => i.status === 'active').id;
    const roles = ok(await inject({ method: 'GET', url: '/identity/v3/roles', token: tokens.admin }), 'roles');
    roleId = roles.roles.find((r: { name: string }) => r.name === 'member').id;
    const users = ok(await inject({ method: 'GET', url: '/identity/v3/users', token: tokens.admin }), 'users');
    userIds = Object.fromEntries(users.users.map((u: { name: string; id: string }) => [u.name, u.id]));
  });
  after(() => nb.close());

  /** A fresh set of lazily made fixtures, all owned by demo in project demo. */
  function fixtures(): Fixtures {
    const made = new Map<string, Promise<string>>();
    const t = () => tokens.owner;
    const make: Record<string, () => Promise<string>> = {
      server: async () => {
        const id = ok(await inject({ method: 'POST', url: '/compute/v2.1/servers', token: t(), body: server({ imageRef } as Fixtures) }), 'server').server.id;
        await nb.services.engine.settle();
        ok(await inject({ method: 'PUT', url: `/compute/v2.1/servers/${id}/metadata/k`, token: t(), body: { meta: { k: 'v' } } }), 'meta');
        ok(await inject({ method: 'PUT', url: `/compute/v2.1/servers/${id}/tags/t`, token: t(), mv: '2.26' }), 'tag');
        return id;
      },
      request_id: async () => ok(await inject({ method: 'GET', url: `/compute/v2.1/servers/${await fx.value('server')}/os-instance-actions`, token: t() }), 'actions').instanceActions[0].request_id,
      keypair: async () => ok(await inject({ method: 'POST', url: '/compute/v2.1/os-keypairs', token: t(), body: { keypair: { name: `k-${randomUUID()}` } } }), 'keypair').keypair.name,
      group: async () => ok(await inject({ method: 'POST', url: '/compute/v2.1/os-server-groups', token: t(), body: { server_group: { name: 'g', policies: ['affinity'] } } }), 'group').server_group.id,
      secgroup: async () => String(ok(await inject({ method: 'POST', url: '/compute/v2.1/os-security-groups', token: t(), body: { security_group: { name: `sg-${randomUUID()}`, description: 'd' } } }), 'sg').security_group.id),
      rule: async () => String(ok(await inject({ method: 'POST', url: '/compute/v2.1/os-security-group-rules', token: t(), body: { security_group_rule: { parent_group_id: await fx.value('secgroup'), ip_protocol: 'tcp', from_port: 80, to_port: 80, cidr: '0.0.0.0/0' } } }), 'rule').security_group_rule.id),
      hypervisor: async () => String(ok(await inject({ method: 'GET', url: '/compute/v2.1/os-hypervisors', token: tokens.admin }), 'hv').hypervisors[0].id),
      flavor: async () => {
        const f = ok(await inject({ method: 'POST', url: '/compute/v2.1/flavors', token: tokens.admin, body: { flavor: { name: `f-${randomUUID()}`, ram: 64, vcpus: 1, disk: 1 } } }), 'flavor').flavor.id;
        ok(await inject({ method: 'POST', url: `/compute/v2.1/flavors/${f}/os-extra_specs`, token: tokens.admin, body: { extra_specs: { 'hw:spec': 'x' } } }), 'spec');
        return f;
      },
      privateFlavor: async () => ok(await inject({ method: 'POST', url: '/compute/v2.1/flavors', token: tokens.admin, body: { flavor: { name: `f-${randomUUID()}`, ram: 64, vcpus: 1, disk: 1, 'os-flavor-access:is_public': false } } }), 'flavor').flavor.id,
      image: async () => {
        const id = ok(await inject({ method: 'POST', url: '/image/v2/images', token: t(), body: { name: 'mine', prop: 'v', disk_format: 'raw', container_format: 'bare' } }), 'image').id;
        ok(await inject({ method: 'PUT', url: `/image/v2/images/${id}/tags/t`, token: t() }), 'image tag');
        return id;
      },
      sharedImage: async () => {
        const id = ok(await inject({ method: 'POST', url: '/image/v2/images', token: t(), body: { name: 'shared', visibility: 'shared' } }), 'image').id;
        ok(await inject({ method: 'POST', url: `/image/v2/images/${id}/members`, token: t(), body: { member: projects.alt_demo } }), 'member');
        return id;
      },
      activeImage: async () => {
        const id = await fx.value('image');
        const r = await nb.app.inject({ method: 'PUT', url: `/image/v2/images/${id}/file`, headers: { 'x-auth-token': t(), 'content-type': 'application/octet-stream' }, payload: Buffer.from('x') });
        assert.equal(r.statusCode, 204, r.body);
        return id;
      },
      // A public metadefs namespace of the admin's, with an association, an object, a property and a tag.
      namespace: async () => ok(await inject({ method: 'POST', url: '/image/v2/metadefs/namespaces', token: tokens.admin, body: {
        namespace: `ns-${randomUUID()}`, visibility: 'public', resource_type_associations: [{ name: 'OS::Glance::Image' }],
        objects: [{ name: 'o' }], properties: { p: { title: 'p', type: 'string' } }, tags: [{ name: 't' }],
      } }), 'namespace').namespace,
      project: async () => ok(await inject({ method: 'POST', url: '/identity/v3/projects', token: tokens.admin, body: { project: { name: `p-${randomUUID()}` } } }), 'project').project.id,
      user: async () => {
        const name = `u-${randomUUID()}`;
        const u = ok(await inject({ method: 'POST', url: '/identity/v3/users', token: tokens.admin, body: { user: { name, password: 'secret', default_project_id: projects.demo } } }), 'user').user.id;
        ok(await inject({ method: 'PUT', url: `/identity/v3/projects/${projects.demo}/users/${u}/roles/${roleId}`, token: tokens.admin }), 'grant');
        return u;
      },
    };
    const fx: Fixtures = {
      imageRef, projects,
      value(kind) {
        let p = made.get(kind);
        if (!p) {
          p = make[kind]();
          made.set(kind, p);
        }
        return p;
      },
    };
    return fx;
  }

  /** The value for a path parameter of a family's path, or undefined when there is no fixture. */
  async function param(key: string, name: string, fx: Fixtures): Promise<string | undefined> {
    const path = key.slice(key.indexOf(' ') + 1);
    const mutating = !key.startsWith('GET ');
    if (path.startsWith('/identity/')) {
      // No fixture (absent): groups, regions, services, endpoints, credentials, implied roles, tags, a
      // domain or role to change (the seeded ones are not to be deleted).
      if (['gid', 'cid', 'iid', 'tag'].includes(name) || /^\/identity\/v3\/(groups|regions|services|endpoints)\//.test(path)) return undefined;
      if (mutating && name === 'id' && /^\/identity\/v3\/(domains|roles)\/:id$/.test(path)) return undefined;
      // What a call may change or delete is made for it; reads look at demo's own user and project.
      if (name === 'uid') return mutating ? fx.value('user') : userIds.demo;
      if (name === 'rid' || (path.includes('/roles/') && name === 'id')) return roleId;
      if (path.includes('/domains/')) return 'default';
      if (path.includes('/projects/')) return mutating && name === 'id' ? fx.value('project') : projects.demo;
      if (path.includes('/users/')) return mutating ? fx.value('user') : userIds.demo;
    }
    if (path.startsWith('/image/v2/schemas/metadefs/')) return 'namespace';
    if (path.startsWith('/image/v2/metadefs/')) {
      if (name === 'ns') return fx.value('namespace');
      return path.includes('/resource_types/') ? 'OS::Glance::Image' : path.includes('/objects/') ? 'o' : path.includes('/properties/') ? 'p' : 't';
    }
    if (path.startsWith('/image/')) {
      if (path.startsWith('/image/v2/tasks/')) return undefined;
      if (name === 'id') return fx.value(path.includes('/members/') ? 'sharedImage' : 'image');
      if (name === 'action') return 'deactivate';
      if (name === 'tag') return 't';
      if (name === 'member') return projects.alt_demo;
    }
    if (path.startsWith('/novabox/')) return name === 'name' ? 'compute-0' : fx.value('server');
    if (name === 'project_id' || name === 'target' || name === 'tenant_id') return projects.demo;
    if (name === 'host') return 'compute-0';
    if (path.includes('/os-quota-class-sets/')) return 'default';
    if (path.startsWith('/volume/') && name === 'key') return 'key';
    if (path.includes('/servers/') || path.includes('/os-volumes_boot/')) {
      if (name === 'id' || name === 'server_id') return fx.value('server');
      if (name === 'request_id') return fx.value('request_id');
      if (name === 'key') return 'k';
      if (name === 'tag') return 't';
      if (name === 'network') return 'private';
      if (name === 'migration_id') return undefined;
    }
    if (path.includes('/os-keypairs/')) return fx.value('keypair');
    if (path.includes('/os-quota-sets/') || path.includes('/os-simple-tenant-usage/')) return projects.demo;
    if (path.includes('/os-hosts/')) return 'compute-0';
    if (path.includes('/os-instance_usage_audit_log/')) return '2012-07-05 10:00:00';
    if (path.includes('/os-quota-class-sets/')) return 'default';
    if (path.includes('/extensions/')) return 'os-consoles';
    if (path.includes('/os-server-groups/')) return fx.value('group');
    if (path.includes('/os-services/')) return 'disable';
    if (path.includes('/os-security-groups/')) return fx.value('secgroup');
    if (path.includes('/os-security-group-rules/')) return fx.value('rule');
    if (path.includes('/os-hypervisors/')) return fx.value('hypervisor');
    // devstack's external `public`: every project sees it (the seeded `private` is demo's alone).
    if (path.includes('/os-tenant-networks/') || path.includes('/os-networks/')) return SEED_IDS.public;
    if (path.includes('/flavors/')) {
      if (name === 'key') return 'hw:spec';
      return fx.value(path.endsWith('/action') || path.endsWith('/os-flavor-access') ? 'privateFlavor' : 'flavor');
    }
    if (path.includes('/images/')) return name === 'key' ? 'prop' : fx.value('image');
    return undefined;
  }
  async function urlFor(key: string, fx: Fixtures, who: string): Promise<{ url: string; absent: boolean }> {
    let path = key.slice(key.indexOf(' ') + 1);
    // Cinder's paths name the caller's project (before 3.67 they must).
    if (path.startsWith('/volume/v3/')) path = path.replace('/volume/v3/', `/volume/v3/${projects[(USERS[who as Who] ?? USERS.owner)[1]]}/`);
    let absent = false;
    const parts: string[] = [];
    for (const seg of path.split('/')) {
      const m = /^:(\w+)/.exec(seg);
      if (!m) {
        parts.push(seg);
        continue;
      }
      const v = await param(key, m[1], fx);
      if (v === undefined) absent = true;
      parts.push(encodeURIComponent(v ?? randomUUID()));
    }
    return { url: parts.join('/'), absent };
  }

  test('every route has a family, and every family a route', () => {
    const routes = nb.app.routeTable.filter((r) => r.method !== 'HEAD' || !nb.app.routeTable.some((x) => x.method === 'GET' && x.url === r.url));
    const missing = [...new Set(routes.map((r) => familyKey(r.method, r.url)).filter((k) => !(k in FAMILIES)))];
    assert.deepEqual(missing, [], `Routes without an entry in FAMILIES of test/http/authorization-matrix.test.ts. Add one line per route, e.g.\n${missing.map((k) => `  '${k}': owned(),   // or open(), anyMember(), adminOnly(); .with({ body: () => …, absent: true }) as needed`).join('\n')}`);
    const keys = new Set(routes.map((r) => familyKey(r.method, r.url)));
    assert.deepEqual(Object.keys(FAMILIES).filter((k) => !keys.has(k)), [], 'entries for routes that no longer exist');
  });

  const USERS: Record<Who, [string, string]> = { owner: ['demo', 'demo'], other: ['alt_demo', 'alt_demo'], admin: ['admin', 'admin'] };
  const BAD = ['none', 'malformed', 'expired', 'revoked'] as const;
  const KEYSTONE_401 = { error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' } };

  test('every family answers each caller as the default policies say', async () => {
    const failures: string[] = [];
    for (const [key, f] of Object.entries(FAMILIES)) {
      const method = key.slice(0, key.indexOf(' '));
      const mutating = method !== 'GET';
      let fx = fixtures();
      const attempt = async (who: Who | (typeof BAD)[number]): Promise<void> => {
        const { url, absent } = await urlFor(key, fx, who);
        const token: string | undefined = who === 'none' ? undefined : tokens[who];
        const body = await f.body?.(fx);
        const headers: Record<string, string> = { ...f.headers };
        if (f.subject && token !== undefined) headers['x-subject-token'] = who in USERS ? await issue(...USERS[who as Who]) : token;
        const r = await inject({ method, url, token, body, contentType: f.contentType, mv: f.mv, headers });
        const expect: Expect = (BAD as readonly string[]).includes(who) ? (f.open ? 'ok' : 401) : f[who as Who];
        const allowed = (s: number) => s < 500 && s !== 401 && s !== 403 && (s !== 404 || absent || !!f.absent);
        const pass = expect === 'ok' ? allowed(r.statusCode) : r.statusCode === expect;
        if (!pass) failures.push(`${key} as ${who}: expected ${expect}, got ${r.statusCode} ${r.body.slice(0, 160)}`);
        if (expect === 401 && r.statusCode === 401) assert.deepEqual(r.json(), KEYSTONE_401, `${key} as ${who}`);
        if (r.statusCode >= 500) failures.push(`${key} as ${who}: ${r.statusCode} ${r.body.slice(0, 160)}`);
      };
      // Refusals first (they change nothing), then the callers who may; a mutating call gets
      // fresh fixtures for each caller who may make it.
      if (f.stream && f.open) continue; // an open stream never ends: only its presence is checked
      for (const who of BAD) await attempt(who);
      if (f.stream) continue;
      await attempt('other');
      for (const who of ['admin', 'owner'] as const) {
        if (mutating) fx = fixtures();
        await attempt(who);
      }
    }
    assert.deepEqual(failures, []);
  });
});
