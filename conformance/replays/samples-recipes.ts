// Nova's API samples (../shared/reference/nova-api-samples) mapped to requests novabox answers.
// One row per kind of response sample: which files it matches and how to produce the equivalent
// request (prerequisites created first, ids substituted). Shared by conformance/replays/samples.test.ts
// and scripts/samples-coverage.ts.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { MAX_VERSION } from '../../src/api/microversion.ts';

import { referencePath } from '../lib/reference.ts';

/** $NOVA_API_SAMPLES, else shared/reference/nova-api-samples; throws saying where it looked when missing. */
export const SAMPLES_DIR = referencePath('reference/nova-api-samples', process.env.NOVA_API_SAMPLES);

export interface Sample {
  /** Path under SAMPLES_DIR, e.g. `flavors/v2.55/flavor-get-resp.json`. */
  file: string;
  dir: string;
  name: string;
  /** Microversion from a `v2.NN` folder, else 2.1. */
  minor: number;
}

/** What a recipe can use: tokens, a booted server per user and helpers to create things. */
export interface Ctx {
  mv: string;
  admin: string;
  demo: string;
  /** An ACTIVE server owned by the admin project (samples are recorded as admin). */
  server: string;
  /** An ACTIVE server owned by the demo project (non-admin samples). */
  demoServer: string;
  /** Creates something fresh and returns its id or name. */
  keypair(): Promise<string>;
  serverGroup(): Promise<string>;
  privateFlavor(): Promise<string>;
  /** An in-progress or finished migration exists; returns the server id. */
  migrated(): Promise<string>;
  /** A fresh ACTIVE server of the admin (default) or demo project, for actions that leave it changed. */
  fresh(owner?: 'admin' | 'demo'): Promise<string>;
  /** Runs a server action as the server's owner and waits for its steps. */
  action(server: string, body: unknown, owner?: 'admin' | 'demo'): Promise<void>;
  /** A fresh admin server whose compute host is down (so it can be evacuated); hosts come back after the sample. */
  hostDown(): Promise<{ server: string; spareHost: string }>;
  /** A live migration still running (the simulated hypervisor slowed to real time for it). */
  liveMigration(): Promise<{ server: string; migration: number }>;
  /** A fresh active image of the admin project (through Glance) with these properties. */
  image(properties: Record<string, string>): Promise<string>;
  projectId: string;
  userId: string;
  imageId: string;
  /** The request body of the sample's sibling `-req.json`, if any. */
  reqBody(file: string): unknown;
  unique(prefix: string): string;
}

export interface Request {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  token?: 'admin' | 'demo';
  body?: unknown;
}

export interface Recipe {
  dir: string;
  file: RegExp;
  request(ctx: Ctx, s: Sample): Promise<Request> | Request;
  /** JSON paths (dot-joined, `[]` for array items) whose keys are data, compared only by type. */
  free?: string[];
  /** Keys that may be present on one side only (Nova shows them conditionally, e.g. links of in-progress live migrations). */
  optional?: string[];
  /** The response is a bare map (extra spec item, ips by network): compare only value types. */
  bareMap?: boolean;
}

const uniq = (c: Ctx) => c.unique('s');

export const RECIPES: Recipe[] = [
  // flavors
  { dir: 'flavors', file: /^flavor-get-resp/, request: () => ({ url: '/flavors/1' }), free: ['flavor.extra_specs'] },
  { dir: 'flavors', file: /^flavors-list-resp/, request: () => ({ url: '/flavors' }) },
  { dir: 'flavors', file: /^flavors-detail-resp/, request: () => ({ url: '/flavors/detail' }), free: ['flavors[].extra_specs'] },
  {
    dir: 'flavor-manage', file: /^flavor-create-post-resp/, free: ['flavor.extra_specs'],
    request: (c, s) => {
      const body = structuredClone(c.reqBody(s.file)) as { flavor: Record<string, unknown> };
      body.flavor.name = uniq(c);
      body.flavor.id = uniq(c);
      return { method: 'POST', url: '/flavors', token: 'admin', body };
    },
  },
  {
    dir: 'flavor-manage', file: /^flavor-update-resp/, free: ['flavor.extra_specs'],
    request: (c, s) => ({ method: 'PUT', url: '/flavors/1', token: 'admin', body: c.reqBody(s.file) }),
  },
  { dir: 'flavor-access', file: /^flavor-access-list-resp/, request: async (c) => ({ url: `/flavors/${await c.privateFlavor()}/os-flavor-access`, token: 'admin' }) },
  {
    dir: 'flavor-access', file: /^flavor-access-add-tenant-resp/,
    request: async (c) => ({ method: 'POST', url: `/flavors/${await c.privateFlavor()}/action`, token: 'admin', body: { addTenantAccess: { tenant: uniq(c) } } }),
  },
  {
    dir: 'flavor-access', file: /^flavor-access-remove-tenant-resp/,
    request: async (c) => ({ method: 'POST', url: `/flavors/${await c.privateFlavor()}/action`, token: 'admin', body: { removeTenantAccess: { tenant: c.projectId } } }),
  },
  { dir: 'flavor-extra-specs', file: /^flavor-extra-specs-(create|list)-resp/, free: ['extra_specs'], request: (c) => ({ method: 'POST', url: '/flavors/3/os-extra_specs', token: 'admin', body: c.reqBody('flavor-extra-specs/flavor-extra-specs-create-req.json') }) },
  { dir: 'flavor-extra-specs', file: /^flavor-extra-specs-get-resp/, bareMap: true, request: () => ({ url: '/flavors/3/os-extra_specs/hw:numa_nodes' }) },
  { dir: 'flavor-extra-specs', file: /^flavor-extra-specs-update-resp/, bareMap: true, request: (c) => ({ method: 'PUT', url: '/flavors/3/os-extra_specs/hw:numa_nodes', token: 'admin', body: c.reqBody('flavor-extra-specs/flavor-extra-specs-update-req.json') }) },
  // keypairs
  {
    dir: 'os-keypairs', file: /^keypairs-(import-)?post-resp/,
    request: (c, s) => {
      const body = structuredClone(c.reqBody(s.file)) as { keypair: Record<string, unknown> };
      body.keypair.name = uniq(c);
      if ('user_id' in body.keypair) body.keypair.user_id = c.userId;
      return { method: 'POST', url: '/os-keypairs', token: 'admin', body };
    },
  },
  { dir: 'os-keypairs', file: /^keypairs-get-resp/, request: async (c) => ({ url: `/os-keypairs/${await c.keypair()}`, token: 'admin' }) },
  { dir: 'os-keypairs', file: /^keypairs-list-resp/, request: async (c) => (await c.keypair(), await c.keypair(), { url: Number(c.mv.slice(2)) >= 35 ? '/os-keypairs?limit=1' : '/os-keypairs', token: 'admin' }) },
  { dir: 'os-keypairs', file: /^keypairs-list-user[12]-resp/, request: async (c, s) => (await c.keypair(), await c.keypair(), { url: `/os-keypairs?user_id=${c.userId}${s.name.includes('user2') ? '&limit=1' : ''}`, token: 'admin' }) },
  // limits and quotas
  { dir: 'limits', file: /^limit-get-resp/, request: () => ({ url: '/limits' }) },
  { dir: 'os-quota-sets', file: /^quotas-show-get-resp/, request: (c) => ({ url: `/os-quota-sets/${c.projectId}`, token: 'admin' }) },
  { dir: 'os-quota-sets', file: /^quotas-show-detail-get-resp/, request: (c) => ({ url: `/os-quota-sets/${c.projectId}/detail`, token: 'admin' }) },
  { dir: 'os-quota-sets', file: /^quotas-show-defaults-get-resp/, request: (c) => ({ url: `/os-quota-sets/${c.projectId}/defaults`, token: 'admin' }) },
  { dir: 'os-quota-sets', file: /^user-quotas-show-get-resp/, request: (c) => ({ url: `/os-quota-sets/${c.projectId}?user_id=${c.userId}`, token: 'admin' }) },
  {
    dir: 'os-quota-sets', file: /^(user-)?quotas-update(-force)?-post-resp/,
    request: (c, s) => ({ method: 'PUT', url: `/os-quota-sets/${c.projectId}${s.name.startsWith('user-') ? `?user_id=${c.userId}` : ''}`, token: 'admin', body: c.reqBody(s.file) }),
  },
  // availability zones, server groups
  { dir: 'os-availability-zone', file: /^availability-zone-list-resp/, request: () => ({ url: '/os-availability-zone' }) },
  { dir: 'os-availability-zone', file: /^availability-zone-detail-resp/, free: ['availabilityZoneInfo[].hosts'], request: () => ({ url: '/os-availability-zone/detail', token: 'admin' }) },
  { dir: 'os-server-groups', file: /^server-groups-post-resp/, free: ['server_group.rules'], request: (c, s) => ({ method: 'POST', url: '/os-server-groups', token: 'admin', body: c.reqBody(s.file) }) },
  { dir: 'os-server-groups', file: /^server-groups-get-resp/, free: ['server_group.rules'], request: async (c) => ({ url: `/os-server-groups/${await c.serverGroup()}`, token: 'admin' }) },
  { dir: 'os-server-groups', file: /^server-groups-list-resp/, free: ['server_groups[].rules'], request: async (c) => (await c.serverGroup(), { url: '/os-server-groups?limit=1', token: 'admin' }) },
  // services
  { dir: 'os-services', file: /^services-list-get-resp/, request: () => ({ url: '/os-services', token: 'admin' }) },
  {
    dir: 'os-services', file: /^service-(disable|enable|disable-log|force-down)-put-resp/,
    request: async (c, s) => {
      const body = c.reqBody(s.file) as Record<string, unknown>;
      if (c.mv.startsWith('2.') && Number(c.mv.slice(2)) >= 53) {
        const list = (await listServices(c)) as { id: string; binary: string }[];
        return { method: 'PUT', url: `/os-services/${list.find((x) => x.binary === 'nova-compute')!.id}`, token: 'admin', body };
      }
      const action = s.name.replace(/^service-/, '').replace(/-put-resp.*$/, '').replace('disable-log', 'disable-log-reason');
      return { method: 'PUT', url: `/os-services/${action}`, token: 'admin', body: { ...body, host: 'compute-1', binary: 'nova-compute' } };
    },
  },
  // hypervisors
  { dir: 'os-hypervisors', file: /^hypervisors-list-resp/, request: (c) => ({ url: Number(c.mv.slice(2)) >= 33 ? '/os-hypervisors?limit=1' : '/os-hypervisors', token: 'admin' }) },
  { dir: 'os-hypervisors', file: /^hypervisors-detail-resp/, free: ['hypervisors[].cpu_info'], request: (c) => ({ url: Number(c.mv.slice(2)) >= 33 ? '/os-hypervisors/detail?limit=1' : '/os-hypervisors/detail', token: 'admin' }) },
  { dir: 'os-hypervisors', file: /^hypervisors-detail-with-servers-resp/, free: ['hypervisors[].cpu_info'], request: () => ({ url: '/os-hypervisors/detail?with_servers=true', token: 'admin' }) },
  { dir: 'os-hypervisors', file: /^hypervisors-with-servers-resp/, request: (c) => ({ url: Number(c.mv.slice(2)) >= 53 ? '/os-hypervisors?with_servers=true' : '/os-hypervisors/compute/servers', token: 'admin' }) },
  { dir: 'os-hypervisors', file: /^hypervisors-without-servers-resp/, optional: ['hypervisors[].servers'], request: (c) => ({ url: Number(c.mv.slice(2)) >= 53 ? '/os-hypervisors?with_servers=false' : '/os-hypervisors/compute-1/servers', token: 'admin' }) },
  { dir: 'os-hypervisors', file: /^hypervisors-search-resp/, request: (c) => ({ url: Number(c.mv.slice(2)) >= 53 ? '/os-hypervisors?hypervisor_hostname_pattern=compute' : '/os-hypervisors/compute/search', token: 'admin' }) },
  { dir: 'os-hypervisors', file: /^hypervisors-show-resp/, free: ['hypervisor.cpu_info'], request: async (c) => ({ url: `/os-hypervisors/${await hyperId(c)}`, token: 'admin' }) },
  { dir: 'os-hypervisors', file: /^hypervisors-show-with-servers-resp/, free: ['hypervisor.cpu_info'], request: async (c) => ({ url: `/os-hypervisors/${await hyperId(c)}?with_servers=true`, token: 'admin' }) },
  { dir: 'os-hypervisors', file: /^hypervisors-statistics-resp/, request: () => ({ url: '/os-hypervisors/statistics', token: 'admin' }) },
  { dir: 'os-hypervisors', file: /^hypervisors-uptime-resp/, request: async (c) => ({ url: `/os-hypervisors/${await hyperId(c)}/uptime`, token: 'admin' }) },
  // instance actions
  { dir: 'os-instance-actions', file: /^instance-actions-list(-with-(changes-since|changes-before))?(-resp)?\.json$/, request: (c) => ({ url: `/servers/${c.server}/os-instance-actions`, token: 'admin' }) },
  { dir: 'os-instance-actions', file: /^instance-actions-list-with-limit-resp/, request: (c) => ({ url: `/servers/${c.server}/os-instance-actions?limit=1`, token: 'admin' }) },
  { dir: 'os-instance-actions', file: /^instance-actions-list-with-marker-resp/, request: async (c) => ({ url: `/servers/${c.server}/os-instance-actions?marker=${await stopRequest(c)}`, token: 'admin' }) },
  { dir: 'os-instance-actions', file: /^instance-action-get-resp/, request: async (c) => ({ url: `/servers/${c.server}/os-instance-actions/${await stopRequest(c)}`, token: 'admin' }) },
  { dir: 'os-instance-actions', file: /^instance-action-get-non-admin-resp/, request: async (c) => ({ url: `/servers/${c.demoServer}/os-instance-actions/${await stopRequest(c, c.demoServer, c.demo)}`, token: 'demo' }) },
  // migrations
  { dir: 'os-migrations', file: /^migrations-get(-with-[a-z-]+)?\.json$/, optional: ['migrations[].links'], request: async (c, s) => (await c.migrated(), { url: s.name.includes('with-limit') ? '/os-migrations?limit=1' : '/os-migrations', token: 'admin' }) },
  // tenant networks
  { dir: 'os-tenant-networks', file: /^networks-list-res/, request: () => ({ url: '/os-tenant-networks', token: 'admin' }) },
  // network proxy: the shared private network
  { dir: 'os-networks', file: /^networks-list-resp/, request: () => ({ url: '/os-networks', token: 'admin' }) },
  { dir: 'os-networks', file: /^network-show-resp/, request: async (c) => ({ url: `/os-networks/${await networkId(c)}`, token: 'admin' }) },
  // security groups
  { dir: 'os-security-groups', file: /^security-groups-list-get-resp/, request: () => ({ url: '/os-security-groups', token: 'admin' }) },
  { dir: 'os-security-groups', file: /^security-groups-get-resp/, request: async (c) => ({ url: `/os-security-groups/${await defaultGroupId(c)}`, token: 'admin' }) },
  {
    dir: 'os-security-groups', file: /^security-groups-create-resp/,
    request: (c) => ({ method: 'POST', url: '/os-security-groups', token: 'admin', body: { security_group: { name: uniq(c), description: 'description' } } }),
  },
  {
    dir: 'os-security-groups', file: /^security-group-rules-post-resp/,
    request: async (c) => {
      const body = structuredClone(c.reqBody('os-security-groups/security-group-rules-post-req.json')) as { security_group_rule: Record<string, unknown> };
      const port = 1000 + Number(c.unique('').replace(/\D/g, '').slice(-4) || 0);
      Object.assign(body.security_group_rule, { parent_group_id: await defaultGroupId(c), from_port: port, to_port: port });
      return { method: 'POST', url: '/os-security-group-rules', token: 'admin', body };
    },
  },
  { dir: 'os-security-groups', file: /^server-security-groups-list-resp/, request: (c) => ({ url: `/servers/${c.server}/os-security-groups`, token: 'admin' }) },
  // server sub-resources
  { dir: 'server-ips', file: /^server-ips-resp/, free: ['addresses'], request: (c) => ({ url: `/servers/${c.server}/ips`, token: 'admin' }) },
  { dir: 'server-ips', file: /^server-ips-network-resp/, bareMap: true, request: (c) => ({ url: `/servers/${c.server}/ips/private`, token: 'admin' }) },
  { dir: 'server-metadata', file: /^server-metadata-all-resp/, free: ['metadata'], request: (c) => ({ method: 'PUT', url: `/servers/${c.server}/metadata`, token: 'admin', body: c.reqBody('server-metadata/server-metadata-all-req.json') }) },
  { dir: 'server-metadata', file: /^server-metadata-resp/, free: ['meta'], request: (c) => ({ method: 'PUT', url: `/servers/${c.server}/metadata/foo`, token: 'admin', body: c.reqBody('server-metadata/server-metadata-req.json') }) },
  { dir: 'os-server-tags', file: /^server-tags-(index|put-all)-resp/, request: (c) => ({ method: 'PUT', url: `/servers/${c.server}/tags`, token: 'admin', body: { tags: ['tag1', 'tag2'] } }) },
  { dir: 'os-server-password', file: /^get-password-resp/, request: (c) => ({ url: `/servers/${c.server}/os-server-password`, token: 'admin' }) },
  { dir: 'os-remote-consoles', file: /^create-(vnc|mks)-console-resp/, request: (c, s) => ({ method: 'POST', url: `/servers/${c.server}/remote-consoles`, token: 'admin', body: s.name.includes('mks') ? { remote_console: { protocol: 'vnc', type: 'novnc' } } : c.reqBody(s.file) }) },
  { dir: 'os-remote-consoles', file: /^get-(vnc|spice|serial)-console-post-resp/, request: (c, s) => ({ method: 'POST', url: `/servers/${c.server}/action`, token: 'admin', body: c.reqBody(s.file) }) },
  { dir: 'os-server-diagnostics', file: /^server-diagnostics-get-resp/, free: ['.'], request: (c) => ({ url: `/servers/${c.server}/diagnostics`, token: 'admin' }) },
  // servers (the servers engineer's routes)
  { dir: 'servers', file: /^server-get-resp\.json$/, free: ['server.metadata', 'server.addresses', 'server.flavor.extra_specs', 'server.image.properties', 'server.scheduler_hints'], request: (c, s) => (asAdmin(s) ? { url: `/servers/${c.server}`, token: 'admin' } : { url: `/servers/${c.demoServer}`, token: 'demo' }) },
  { dir: 'servers', file: /^servers-details-resp\.json$/, free: ['servers[].metadata', 'servers[].addresses', 'servers[].flavor.extra_specs', 'servers[].image.properties', 'servers[].scheduler_hints'], request: (_c, s) => ({ url: `/servers/detail${pageOf(s)}`, token: asAdmin(s) ? 'admin' : 'demo' }) },
  { dir: 'servers', file: /^servers-list-resp\.json$/, request: (_c, s) => ({ url: `/servers${pageOf(s)}`, token: asAdmin(s) ? 'admin' : 'demo' }) },
  { dir: 'servers', file: /^server-(update|put)-resp\.json$/, free: ['server.metadata', 'server.addresses', 'server.flavor.extra_specs', 'server.image.properties', 'server.scheduler_hints'], request: (c, s) => (asAdmin(s) ? { method: 'PUT', url: `/servers/${c.server}`, token: 'admin', body: { server: { name: 'renamed' } } } : { method: 'PUT', url: `/servers/${c.demoServer}`, token: 'demo', body: { server: { name: 'renamed' } } }) },
  {
    dir: 'servers', file: /^server-create-resp\.json$/,
    request: (c) => ({ method: 'POST', url: '/servers', token: 'admin', body: { server: { name: 'sample-new', imageRef: c.imageId, flavorRef: '1', ...(Number(c.mv.slice(2)) >= 37 ? { networks: 'auto' } : {}) } } }),
  },
  {
    dir: 'servers', file: /^server-action-rebuild-resp\.json$/, free: ['server.metadata', 'server.addresses', 'server.flavor.extra_specs', 'server.image.properties', 'server.scheduler_hints'],
    request: (c, s) => ({ method: 'POST', url: `/servers/${asAdmin(s) ? c.server : c.demoServer}/action`, token: asAdmin(s) ? 'admin' : 'demo', body: { rebuild: { imageRef: c.imageId } } }),
  },
  { dir: 'servers', file: /^servers-list-status-resp\.json$/, request: () => ({ url: '/servers?status=ACTIVE&limit=1', token: 'admin' }) },
  // changes-before also lists the servers other samples deleted (DELETED shows a fault, no progress,
  // and no security_groups: Nova reads a server's groups from its Neutron ports, which went with it).
  { dir: 'servers', file: /^servers-(list|details)-with-changes-before\.json$/, optional: ['servers[].progress', 'servers[].fault', 'servers[].security_groups'], free: ['servers[].metadata', 'servers[].addresses', 'servers[].flavor.extra_specs', 'servers[].image.properties', 'servers[].scheduler_hints'], request: (_c, s) => ({ url: `/servers${s.name.includes('details') ? '/detail' : ''}?changes-before=2100-01-01T00:00:00Z`, token: 'admin' }) },
  { dir: 'os-server-tags', file: /^server-tags-show-details-resp/, request: (c, s) => (asAdmin(s) ? { url: `/servers/${c.server}`, token: 'admin' } : { url: `/servers/${c.demoServer}`, token: 'demo' }), free: ['server.metadata', 'server.addresses', 'server.flavor.extra_specs', 'server.image.properties', 'server.scheduler_hints']},
  { dir: 'os-server-tags', file: /^servers-tags-details-resp/, free: ['servers[].metadata', 'servers[].addresses', 'servers[].flavor.extra_specs', 'servers[].image.properties', 'servers[].scheduler_hints'], request: (_c, s) => ({ url: '/servers/detail', token: asAdmin(s) ? 'admin' : 'demo' }) },
  { dir: 'os-console-output', file: /^console-output-post-resp/, request: (c) => ({ method: 'POST', url: `/servers/${c.server}/action`, token: 'admin', body: { 'os-getConsoleOutput': { length: 50 } } }) },
  // server actions with a response body, and the servers they leave behind
  { dir: 'os-rescue', file: /^server-rescue\.json$/, request: async (c) => ({ method: 'POST', url: `/servers/${await c.fresh()}/action`, token: 'admin', body: { rescue: { adminPass: 'MySecretPass' } } }) },
  {
    dir: 'os-rescue', file: /^server-get-resp-(rescue|unrescue)\.json$/, free: ['server.metadata', 'server.addresses', 'server.flavor.extra_specs', 'server.image.properties', 'server.scheduler_hints'],
    request: async (c, s) => {
      const owner = asAdmin(s) ? 'admin' : 'demo';
      const id = await c.fresh(owner);
      await c.action(id, { rescue: null }, owner);
      if (s.name.includes('unrescue')) await c.action(id, { unrescue: null }, owner);
      return { url: `/servers/${id}`, token: owner };
    },
  },
  {
    dir: 'os-evacuate', file: /^server-evacuate(-find-host)?-resp\.json$/,
    request: async (c, s) => {
      const { server, spareHost } = await c.hostDown();
      const body = structuredClone(c.reqBody(s.file.replace('-resp', '-req'))) as { evacuate: Record<string, unknown> };
      if ('host' in body.evacuate) body.evacuate.host = spareHost;
      return { method: 'POST', url: `/servers/${server}/action`, token: 'admin', body };
    },
  },
  {
    dir: 'os-multiple-create', file: /^multiple-create(-no-resv)?-post-resp/,
    request: (c, s) => {
      const body = structuredClone(c.reqBody(s.file)) as { server: Record<string, unknown> };
      Object.assign(body.server, { name: uniq(c), imageRef: c.imageId });
      return { method: 'POST', url: '/servers', token: 'admin', body };
    },
  },
  { dir: 'os-create-backup', file: /^create-backup-resp/, request: (c) => ({ method: 'POST', url: `/servers/${c.server}/action`, token: 'admin', body: { createBackup: { name: uniq(c), backup_type: 'weekly', rotation: 1 } } }) },
  { dir: 'servers', file: /^server-action-create-image-resp/, request: (c) => ({ method: 'POST', url: `/servers/${c.server}/action`, token: 'admin', body: { createImage: { name: uniq(c), metadata: { meta_var: 'meta_val' } } } }) },
  { dir: 'servers', file: /^server-groups-post-resp/, free: ['server_group.rules'], request: (c, s) => ({ method: 'POST', url: '/os-server-groups', token: 'admin', body: c.reqBody(s.file) }) },
  {
    dir: 'os-preserve-ephemeral-rebuild', file: /^server-action-rebuild-preserve-ephemeral-resp/, free: ['server.metadata', 'server.addresses', 'server.flavor.extra_specs', 'server.image.properties', 'server.scheduler_hints'],
    request: (c) => ({ method: 'POST', url: `/servers/${c.server}/action`, token: 'admin', body: { rebuild: { imageRef: c.imageId, name: 'foobar', adminPass: 'seekr3t', metadata: { meta_var: 'meta_val' }, preserve_ephemeral: false } } }),
  },
  // in-progress live migrations of one server
  {
    dir: 'server-migrations', file: /^migrations-(index|get)\.json$/,
    request: async (c, s) => {
      const { server, migration } = await c.liveMigration();
      return { url: `/servers/${server}/migrations${s.name.includes('get') ? `/${migration}` : ''}`, token: 'admin' };
    },
  },
  // the compute image proxy (2.1 to 2.35): images with the samples' properties, made through Glance
  { dir: 'images', file: /^images-list-get-resp/, optional: ['images[].links[].type'], request: async (c) => (await c.image(SAMPLE_IMAGE_PROPS), { url: '/images', token: 'admin' }) },
  {
    dir: 'images', file: /^images-details-get-resp/, free: ['images[].metadata'], optional: ['images[].links[].type', 'images[].OS-DCF:diskConfig', 'images[].server'],
    request: async (c) => (await c.image(SAMPLE_IMAGE_PROPS), { url: '/images/detail', token: 'admin' }),
  },
  { dir: 'images', file: /^image-get-resp/, optional: ['image.links[].type'], request: async (c) => ({ url: `/images/${await c.image(SAMPLE_IMAGE_PROPS)}`, token: 'admin' }) },
  { dir: 'images', file: /^image-metadata-get-resp/, request: async (c) => ({ url: `/images/${await c.image(SAMPLE_IMAGE_PROPS)}/metadata`, token: 'admin' }) },
  { dir: 'images', file: /^image-meta-key-get/, request: async (c) => ({ url: `/images/${await c.image(SAMPLE_IMAGE_PROPS)}/metadata/kernel_id`, token: 'admin' }) },
  {
    dir: 'images', file: /^image-meta-key-put-resp/,
    request: async (c, s) => ({ method: 'PUT', url: `/images/${await c.image(SAMPLE_IMAGE_PROPS)}/metadata/auto_disk_config`, token: 'admin', body: c.reqBody(s.file) }),
  },
  {
    dir: 'images', file: /^image-metadata-(post|put)-resp/,
    request: async (c, s) => ({ method: s.name.includes('post') ? 'POST' : 'PUT', url: `/images/${await c.image(SAMPLE_IMAGE_PROPS)}/metadata`, token: 'admin', body: c.reqBody(s.file) }),
  },
  { dir: 'versions', file: /^versions-get-resp/, request: () => ({ url: '/compute/' }) },
  { dir: 'versions', file: /^v21-version-get-resp/, optional: ['version.links[].type'], request: () => ({ url: '/compute/v2.1/' }) },
];

/** The properties of the samples' image (image-metadata-get-resp.json). */
const SAMPLE_IMAGE_PROPS = { architecture: 'x86_64', auto_disk_config: 'True', kernel_id: 'nokernel', ramdisk_id: 'nokernel' };

/** Samples recorded with admin credentials show OS-EXT-SRV-ATTR:host; the others are a member's view. */
function asAdmin(s: Sample): boolean {
  return JSON.stringify(readSample(s.file)).includes('"OS-EXT-SRV-ATTR:host"');
}

/** `?limit=1` when the sample shows a next link. */
function pageOf(s: Sample): string {
  return JSON.stringify(readSample(s.file)).includes('_links"') ? '?limit=1' : '';
}

async function listServices(c: Ctx): Promise<unknown[]> {
  return (await HOOKS.get!(`/compute/v2.1/os-services`, c.admin, c.mv)).services as unknown[];
}
async function networkId(c: Ctx): Promise<string> {
  return ((await HOOKS.get!('/compute/v2.1/os-networks', c.admin, c.mv)).networks as { id: string }[])[0].id;
}
async function defaultGroupId(c: Ctx): Promise<string> {
  return ((await HOOKS.get!('/compute/v2.1/os-security-groups', c.admin, c.mv)).security_groups as { id: string; name: string }[]).find((g) => g.name === 'default')!.id;
}
async function hyperId(c: Ctx): Promise<string> {
  const r = (await HOOKS.get!(`/compute/v2.1/os-hypervisors`, c.admin, c.mv)).hypervisors as { id: string | number }[];
  return String(r[0].id);
}
async function stopRequest(c: Ctx, server = c.server, token = c.admin): Promise<string> {
  const r = (await HOOKS.get!(`/compute/v2.1/servers/${server}/os-instance-actions`, token, c.mv)).instanceActions as { request_id: string }[];
  return r[0].request_id;
}

/** The test installs a JSON GET here so recipes can look things up. */
export const HOOKS: { get?: (url: string, token: string, mv: string) => Promise<Record<string, unknown>> } = {};

/** Folders of resources novabox does not serve (nova-network, cells, agents, volumes …), with why. */
export const NOT_SERVED: Record<string, string> = {
  consoles: 'XenAPI console proxy API (removed in Nova)', 'extension-info': 'extensions API not implemented',
  'os-agents': 'guest agents API (removed)', 'os-aggregates': 'host aggregates not implemented', 'os-assisted-volume-snapshots': 'no volume service',
  'os-attach-interfaces': 'no network service (ports)', 'os-baremetal-nodes': 'no Ironic', 'os-cells': 'cells v1 (removed)', 'os-certificates': 'removed',
  'os-cloudpipe': 'removed', 'os-console-auth-tokens': 'console auth tokens not implemented', 'os-fixed-ips': 'nova-network (removed)',
  'os-floating-ip-dns': 'nova-network (removed)', 'os-floating-ip-pools': 'nova-network proxy not implemented', 'os-floating-ips': 'nova-network proxy not implemented',
  'os-floating-ips-bulk': 'nova-network (removed)', 'os-fping': 'removed', 'os-hosts': 'os-hosts not implemented', 'os-instance-usage-audit-log': 'not implemented',
  'os-networks-associate': 'nova-network (removed)',
  'os-quota-class-sets': 'quota classes not implemented', 'os-quota-sets-noop': 'noop quota driver samples (novabox enforces quotas)',
  'os-security-group-default-rules': 'nova-network (removed)', 'os-server-external-events': 'not implemented',
  'os-server-shares': 'not implemented (2.97+ shares)', 'os-simple-tenant-usage': 'not implemented', 'os-snapshots': 'no volume service', 'os-virtual-interfaces': 'nova-network (removed)',
  'os-volume_attachments': 'no volume service', 'os-volumes': 'no volume service', 'os-server-topology': 'not implemented', 'servers-sort': 'documentation-only list of sort keys',
};

/** Single samples of served folders that novabox does not serve, with why. */
export const NOT_SERVED_FILES: Record<string, string> = {
  'os-remote-consoles/get-rdp-console-post-resp.json': 'RDP consoles (Hyper-V only; the simulated hypervisor is libvirt-like)',
  'os-remote-consoles/v2.99/create-spice-direct-console-resp.json': 'spice-direct consoles not implemented',
  'os-tenant-networks/networks-post-res.json': 'creating networks (nova-network) not implemented',
  'os-networks/network-create-resp.json': 'creating networks (nova-network, removed in Nova: 410)',
  'versions/v2-version-get-resp.json': 'the legacy /v2 API is not served',
};

export function listSamples(): Sample[] {
  const out: Sample[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d).sort()) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (e.endsWith('.json')) {
        const file = relative(SAMPLES_DIR, p);
        const parts = file.split('/');
        const ver = parts.find((x) => /^v2\.\d+$/.test(x));
        out.push({ file, dir: parts[0], name: parts[parts.length - 1], minor: ver ? Number(ver.slice(3)) : 1 });
      }
    }
  };
  walk(SAMPLES_DIR);
  return out;
}

export type Verdict = { recipe: Recipe } | { reason: string };

/** Which recipe covers a sample, or why none does. */
export function classify(s: Sample): Verdict {
  if (NOT_SERVED[s.dir]) return { reason: NOT_SERVED[s.dir] };
  if (NOT_SERVED_FILES[s.file]) return { reason: NOT_SERVED_FILES[s.file] };
  if (/down-cell/.test(s.name) || ((s.dir === 'os-services' || s.dir === 'servers') && s.minor === 69)) return { reason: 'down-cell view (novabox has one cell)' };
  const recipe = RECIPES.find((r) => r.dir === s.dir && r.file.test(s.name));
  if (s.minor > MAX_VERSION[1] && recipe) return { reason: `microversion 2.${s.minor} is above novabox's maximum 2.${MAX_VERSION[1]}` };
  if (recipe) return { recipe };
  if (/-req(-[a-z0-9-]+)?\.json$/.test(s.name) || !/resp|res\.json|get|index|list/.test(s.name)) return { reason: 'request body (exercised by the matching response sample or action tests)' };
  return { reason: 'no recipe yet' };
}

export function readSample(file: string): unknown {
  return JSON.parse(readFileSync(join(SAMPLES_DIR, file), 'utf8'));
}

// ---------------------------------------------------------------- shape comparison

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** Differences between the sample's shape and the response's: keys, nesting and types (values ignored). */
export function shapeDiff(sample: unknown, actual: unknown, free: string[] = [], path = '', optional: string[] = []): string[] {
  const here = path || '.';
  const ts = typeOf(sample);
  const ta = typeOf(actual);
  // null in either is a value, not a shape (nullable fields).
  if (ts === 'null' || ta === 'null') return [];
  if (ts !== ta) return [`${here}: ${ts} in sample, ${ta} in novabox`];
  if (free.includes(here) || free.includes(path)) return [];
  if (ts === 'array') {
    const a = actual as unknown[];
    const s = sample as unknown[];
    if (s.length === 0 || a.length === 0) return [];
    return a.flatMap((x) => shapeDiff(s[0], x, free, `${path}[]`, optional));
  }
  if (ts === 'object') {
    const s = sample as Record<string, unknown>;
    const a = actual as Record<string, unknown>;
    const out: string[] = [];
    const at = (k: string) => `${path ? path + '.' : ''}${k}`;
    for (const k of Object.keys(s)) if (!(k in a) && !optional.includes(at(k))) out.push(`${at(k)}: missing in novabox`);
    for (const k of Object.keys(a)) if (!(k in s) && !optional.includes(at(k))) out.push(`${at(k)}: not in sample`);
    for (const k of Object.keys(s)) if (k in a) out.push(...shapeDiff(s[k], a[k], free, at(k), optional));
    return out;
  }
  return [];
}
