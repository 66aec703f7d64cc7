// Keystone's administration API as Terraform, Ansible and the openstack CLI drive it: domains,
// projects (tags, parents), users (options, null descriptions), groups and membership, roles and
// implied roles, group grants and effective assignments, services/endpoints/regions in the token
// catalog, system scope, application credentials, and the cascades of deletes; with the policy
// for admin, member, reader and another project's member, and Keystone's faults.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { passwordAuth, startNovabox, type TestNovabox } from '../helpers/novabox.ts';

const V3 = '/identity/v3';

describe('keystone administration', () => {
  let nb: TestNovabox;
  let readerToken: string;
  before(async () => {
    nb = await startNovabox();
    // A reader of the demo project, as devstack seeds the role.
    const admin = await nb.headers('admin');
    const user = (await nb.app.inject({ method: 'POST', url: `${V3}/users`, headers: admin, payload: { user: { name: 'rdr', password: 'pw', description: null } } })).json().user;
    const reader = (await nb.app.inject({ method: 'GET', url: `${V3}/roles?name=reader`, headers: admin })).json().roles[0];
    assert.equal((await nb.app.inject({ method: 'PUT', url: `${V3}/projects/${nb.projectId('demo')}/users/${user.id}/roles/${reader.id}`, headers: admin })).statusCode, 204);
    readerToken = await login('rdr', 'pw', { project: { id: nb.projectId('demo') } });
  });
  after(() => nb.close());

  async function login(user: string, password: string, scope?: unknown, domain = 'Default'): Promise<string> {
    const body = passwordAuth(user, password, scope) as { auth: { identity: { password: { user: { domain: unknown } } } } };
    body.auth.identity.password.user.domain = { name: domain };
    const res = await nb.app.inject({ method: 'POST', url: `${V3}/auth/tokens`, payload: body });
    assert.equal(res.statusCode, 201, res.body);
    return String(res.headers['x-subject-token']);
  }
  async function call(who: string, method: string, url: string, json?: unknown) {
    const headers: Record<string, string> = who.length > 40 ? { 'x-auth-token': who } : await nb.headers(who);
    return nb.app.inject({ method: method as 'GET', url: `${V3}${url}`, headers, payload: json as Record<string, unknown> | undefined });
  }
  const ok = async (who: string, method: string, url: string, json?: unknown, status = 200) => {
    const res = await call(who, method, url, json);
    assert.equal(res.statusCode, status, `${method} ${url}: ${res.body}`);
    return res.body ? res.json() : undefined;
  };
  const tokenBody = async (token: string) => (await nb.app.inject({ method: 'GET', url: `${V3}/auth/tokens`, headers: { 'x-auth-token': token, 'x-subject-token': token } })).json().token;

  test('domains: create, duplicate 409, disable, delete only when disabled, and the delete takes what is in it', async () => {
    const d = (await ok('admin', 'POST', '/domains', { domain: { name: 'acme', description: null } }, 201)).domain;
    assert.equal(d.enabled, true);
    assert.equal(d.description, '');
    const dup = await call('admin', 'POST', '/domains', { domain: { name: 'acme' } });
    assert.equal(dup.statusCode, 409);
    assert.match(dup.json().error.message, /Duplicate entry/);
    const p = (await ok('admin', 'POST', '/projects', { project: { name: 'inside', domain_id: d.id } }, 201)).project;
    const u = (await ok('admin', 'POST', '/users', { user: { name: 'dweller', domain_id: d.id, password: 'pw' } }, 201)).user;
    const del = await call('admin', 'DELETE', `/domains/${d.id}`);
    assert.equal(del.statusCode, 403);
    assert.match(del.json().error.message, /disable it first/);
    for (const who of ['demo', readerToken]) assert.equal((await call(who, 'PATCH', `/domains/${d.id}`, { domain: { enabled: false } })).statusCode, 403);
    assert.equal((await ok('admin', 'PATCH', `/domains/${d.id}`, { domain: { enabled: false } })).domain.enabled, false);
    assert.equal((await call('admin', 'PATCH', '/domains/default', { domain: { enabled: false } })).statusCode, 403);
    await ok('admin', 'DELETE', `/domains/${d.id}`, undefined, 204);
    assert.equal((await call('admin', 'GET', `/projects/${p.id}`)).statusCode, 404);
    assert.equal((await call('admin', 'GET', `/users/${u.id}`)).statusCode, 404);
    assert.equal((await call('admin', 'GET', `/domains/${d.id}`)).statusCode, 404);
  });

  test('projects: null description, tags and tag filters, parents, leaf-only delete, bad input', async () => {
    const parent = (await ok('admin', 'POST', '/projects', { project: { name: 'tp', description: null, tags: ['a', 'b'] } }, 201)).project;
    assert.deepEqual(parent.tags, ['a', 'b']);
    assert.equal(parent.description, '');
    assert.equal(parent.is_domain, false);
    const child = (await ok('admin', 'POST', '/projects', { project: { name: 'tc', parent_id: parent.id, tags: ['b'] } }, 201)).project;
    assert.equal(child.parent_id, parent.id);
    assert.equal(child.domain_id, 'default');
    const names = async (q: string) => (await ok('admin', 'GET', `/projects?${q}`)).projects.map((x: { name: string }) => x.name).sort();
    assert.deepEqual(await names('tags=a,b'), ['tp']);
    assert.deepEqual(await names('tags-any=a,b'), ['tc', 'tp']);
    assert.deepEqual(await names(`parent_id=${parent.id}`), ['tc']);
    assert.ok(!(await names('not-tags-any=b')).includes('tc'));
    await ok('admin', 'PUT', `/projects/${child.id}/tags/new-tag`, undefined, 201);
    await ok('admin', 'GET', `/projects/${child.id}/tags/new-tag`, undefined, 204);
    assert.deepEqual((await ok('admin', 'GET', `/projects/${child.id}/tags`)).tags, ['b', 'new-tag']);
    assert.deepEqual((await ok('admin', 'PUT', `/projects/${child.id}/tags`, { tags: ['x'] })).tags, ['x']);
    assert.equal((await call('admin', 'PUT', `/projects/${child.id}/tags`, { tags: ['a/b'] })).statusCode, 400);
    await ok('admin', 'DELETE', `/projects/${child.id}/tags/x`, undefined, 204);
    assert.equal((await call('admin', 'DELETE', `/projects/${child.id}/tags/x`)).statusCode, 404);
    assert.equal((await call('demo', 'PUT', `/projects/${child.id}/tags/t`)).statusCode, 403);
    const notLeaf = await call('admin', 'DELETE', `/projects/${parent.id}`);
    assert.equal(notLeaf.statusCode, 403);
    assert.match(notLeaf.json().error.message, /not a leaf/);
    assert.equal((await call('admin', 'PATCH', `/projects/${child.id}`, { project: { domain_id: 'x' } })).statusCode, 400);
    assert.equal((await call('admin', 'POST', '/projects', { project: { name: 'z', parent_id: 'nope' } })).statusCode, 404);
    const missing = await call('admin', 'POST', '/projects', { project: { description: 'no name' } });
    assert.equal(missing.statusCode, 400);
    assert.equal(missing.json().error.message, "'name' is a required property");
    await ok('admin', 'DELETE', `/projects/${child.id}`, undefined, 204);
    await ok('admin', 'DELETE', `/projects/${parent.id}`, undefined, 204);
  });

  test('users: null description, options (unknown ones are 400), extra attributes; reader and member may only look at themselves', async () => {
    const u = (await ok('admin', 'POST', '/users', { user: { name: 'opt', description: null, options: { ignore_password_expiry: true }, team: 'blue' } }, 201)).user;
    assert.deepEqual(u.options, { ignore_password_expiry: true });
    assert.equal(u.team, 'blue');
    assert.equal('description' in u, false);
    assert.equal((await call('admin', 'POST', '/users', { user: { name: 'bad', options: { fly: true } } })).statusCode, 400);
    const patched = (await ok('admin', 'PATCH', `/users/${u.id}`, { user: { options: { ignore_password_expiry: null, lock_password: true } } })).user;
    assert.deepEqual(patched.options, { lock_password: true });
    for (const who of ['demo', readerToken]) {
      assert.equal((await call(who, 'GET', '/users')).statusCode, 403);
      assert.equal((await call(who, 'GET', `/users/${u.id}`)).statusCode, 403);
      assert.equal((await call(who, 'POST', '/users', { user: { name: 'x' } })).statusCode, 403);
    }
    assert.equal((await call(readerToken, 'GET', `/projects/${nb.projectId('demo')}`)).statusCode, 200);
    assert.equal((await call(readerToken, 'GET', `/projects/${nb.projectId('alt_demo')}`)).statusCode, 403);
  });

  test('groups: membership, a role granted to the group reaches its users, effective assignments and names', async () => {
    const g = (await ok('admin', 'POST', '/groups', { group: { name: 'ops', description: null } }, 201)).group;
    assert.equal((await call('admin', 'POST', '/groups', { group: { name: 'ops' } })).statusCode, 409);
    const u = (await ok('admin', 'POST', '/users', { user: { name: 'opsuser', password: 'pw' } }, 201)).user;
    await ok('admin', 'PUT', `/groups/${g.id}/users/${u.id}`, undefined, 204);
    await ok('admin', 'GET', `/groups/${g.id}/users/${u.id}`, undefined, 204);
    assert.deepEqual((await ok('admin', 'GET', `/groups/${g.id}/users`)).users.map((x: { id: string }) => x.id), [u.id]);
    assert.deepEqual((await ok('admin', 'GET', `/users/${u.id}/groups`)).groups.map((x: { id: string }) => x.id), [g.id]);
    const member = (await ok('admin', 'GET', '/roles?name=member')).roles[0];
    const project = nb.projectId('alt_demo');
    await ok('admin', 'PUT', `/projects/${project}/groups/${g.id}/roles/${member.id}`, undefined, 204);
    await ok('admin', 'GET', `/projects/${project}/groups/${g.id}/roles/${member.id}`, undefined, 204);
    const tok = await login('opsuser', 'pw', { project: { id: project } });
    const roles = (await tokenBody(tok)).roles.map((r: { name: string }) => r.name).sort();
    assert.deepEqual(roles, ['member', 'reader'], 'the group role and the role it implies');
    assert.deepEqual((await ok(tok, 'GET', '/auth/projects')).projects.map((p: { id: string }) => p.id), [project]);

    const direct = (await ok('admin', 'GET', `/role_assignments?group.id=${g.id}`)).role_assignments;
    assert.deepEqual(direct.map((a: { group: { id: string } }) => a.group.id), [g.id]);
    const eff = (await ok('admin', 'GET', `/role_assignments?effective&user.id=${u.id}&include_names`)).role_assignments;
    assert.deepEqual(eff.map((a: { role: { name: string } }) => a.role.name).sort(), ['member', 'reader']);
    const viaGroup = eff.find((a: { role: { name: string } }) => a.role.name === 'member');
    assert.match(viaGroup.links.membership, new RegExp(`/groups/${g.id}/users/${u.id}$`));
    assert.equal(viaGroup.user.name, 'opsuser');
    assert.equal(viaGroup.scope.project.name, 'alt_demo');
    const implied = eff.find((a: { role: { name: string } }) => a.role.name === 'reader');
    assert.match(implied.links.prior_role, new RegExp(`/roles/${member.id}$`));
    assert.equal((await call('admin', 'GET', `/role_assignments?effective&group.id=${g.id}`)).statusCode, 400);
    // Its own assignments a user may list; anyone else's, not.
    assert.equal((await call(tok, 'GET', `/role_assignments?user.id=${u.id}`)).statusCode, 200);
    assert.equal((await call('demo', 'GET', `/role_assignments?user.id=${u.id}`)).statusCode, 403);

    // Leaving the group takes the role away at once.
    await ok('admin', 'DELETE', `/groups/${g.id}/users/${u.id}`, undefined, 204);
    assert.equal((await call(tok, 'GET', '/auth/projects')).statusCode, 401);
    await ok('admin', 'DELETE', `/groups/${g.id}`, undefined, 204);
    assert.equal((await call('admin', 'GET', `/groups/${g.id}`)).statusCode, 404);
  });

  test('roles: create, rename, implied roles reach tokens, delete revokes the assignments', async () => {
    const a = (await ok('admin', 'POST', '/roles', { role: { name: 'deployer', description: null } }, 201)).role;
    const b = (await ok('admin', 'POST', '/roles', { role: { name: 'viewer' } }, 201)).role;
    assert.equal((await call('admin', 'POST', '/roles', { role: { name: 'deployer' } })).statusCode, 409);
    assert.equal((await call('demo', 'POST', '/roles', { role: { name: 'x' } })).statusCode, 403);
    const inf = (await ok('admin', 'PUT', `/roles/${a.id}/implies/${b.id}`, undefined, 201)).role_inference;
    assert.equal(inf.prior_role.id, a.id);
    assert.equal(inf.implies.id, b.id);
    assert.equal((await call('admin', 'PUT', `/roles/${b.id}/implies/${a.id}`)).statusCode, 403, 'no cycles');
    assert.deepEqual((await ok('admin', 'GET', `/roles/${a.id}/implies`)).role_inference.implies.map((r: { id: string }) => r.id), [b.id]);
    assert.ok((await ok('admin', 'GET', '/role_inferences')).role_inferences.some((r: { prior_role: { id: string } }) => r.prior_role.id === a.id));
    const u = (await ok('admin', 'POST', '/users', { user: { name: 'dep', password: 'pw' } }, 201)).user;
    await ok('admin', 'PUT', `/projects/${nb.projectId('demo')}/users/${u.id}/roles/${a.id}`, undefined, 204);
    const tok = await login('dep', 'pw', { project: { name: 'demo', domain: { id: 'default' } } });
    assert.deepEqual((await tokenBody(tok)).roles.map((r: { name: string }) => r.name).sort(), ['deployer', 'viewer']);
    assert.equal((await ok('admin', 'PATCH', `/roles/${a.id}`, { role: { name: 'deployer2' } })).role.name, 'deployer2');
    await ok('admin', 'DELETE', `/roles/${a.id}`, undefined, 204);
    assert.equal((await call(tok, 'GET', '/auth/projects')).statusCode, 401, 'the only role is gone, and the token with it');
    assert.equal((await ok('admin', 'GET', `/role_assignments?user.id=${u.id}`)).role_assignments.length, 0);
  });

  test('domain-specific roles: names unique per domain, listed by domain, in tokens only through the global roles they imply', async () => {
    const d1 = (await ok('admin', 'POST', '/domains', { domain: { name: 'roles-d1' } }, 201)).domain;
    const d2 = (await ok('admin', 'POST', '/domains', { domain: { name: 'roles-d2' } }, 201)).domain;
    const dr = (await ok('admin', 'POST', '/roles', { role: { name: 'operator', domain_id: d1.id } }, 201)).role;
    assert.equal(dr.domain_id, d1.id);
    // The same name in another domain and as a global role; a duplicate within the domain is 409.
    const other = (await ok('admin', 'POST', '/roles', { role: { name: 'operator', domain_id: d2.id } }, 201)).role;
    const globalOp = (await ok('admin', 'POST', '/roles', { role: { name: 'operator' } }, 201)).role;
    assert.equal(globalOp.domain_id, null);
    const dup = await call('admin', 'POST', '/roles', { role: { name: 'operator', domain_id: d1.id } });
    assert.equal(dup.statusCode, 409);
    assert.match(dup.json().error.message, new RegExp(`at domain ID ${d1.id}`));
    // Bad input and unknown domains change nothing.
    assert.equal((await call('admin', 'POST', '/roles', { role: { name: 'x', domain_id: 5 } })).statusCode, 400);
    assert.equal((await call('admin', 'POST', '/roles', { role: { name: 'x', domain_id: 'no-such-domain' } })).statusCode, 404);
    // Policy: only an admin creates, updates or deletes; readers and members read nothing of it.
    for (const who of ['demo', 'alt_demo', readerToken]) {
      assert.equal((await call(who, 'POST', '/roles', { role: { name: 'y', domain_id: d1.id } })).statusCode, 403);
      assert.equal((await call(who, 'GET', `/roles?domain_id=${d1.id}`)).statusCode, 403);
      assert.equal((await call(who, 'PATCH', `/roles/${dr.id}`, { role: { description: 'z' } })).statusCode, 403);
      assert.equal((await call(who, 'DELETE', `/roles/${dr.id}`)).statusCode, 403);
    }
    // Listing: a domain's roles with domain_id, the global ones without.
    assert.deepEqual((await ok('admin', 'GET', `/roles?domain_id=${d1.id}`)).roles.map((r: { id: string }) => r.id), [dr.id]);
    const global = (await ok('admin', 'GET', '/roles')).roles.map((r: { id: string }) => r.id);
    assert.ok(global.includes(globalOp.id) && !global.includes(dr.id) && !global.includes(other.id));
    assert.deepEqual((await ok('admin', 'GET', '/roles?name=operator')).roles.map((r: { id: string }) => r.id), [globalOp.id]);
    // Renaming stays unique within the domain; the domain never changes.
    const dr2 = (await ok('admin', 'POST', '/roles', { role: { name: 'auditor', domain_id: d1.id } }, 201)).role;
    assert.equal((await call('admin', 'PATCH', `/roles/${dr2.id}`, { role: { name: 'operator' } })).statusCode, 409);
    assert.equal((await call('admin', 'PATCH', `/roles/${dr2.id}`, { role: { domain_id: d2.id } })).statusCode, 400);
    assert.equal((await ok('admin', 'PATCH', `/roles/${dr2.id}`, { role: { domain_id: d1.id, description: 'same domain' } })).role.description, 'same domain');
    // Implied roles: a domain role may imply roles of any domain and global ones; a global role may not
    // imply a domain role, and nothing implies admin.
    const reader = (await ok('admin', 'GET', '/roles?name=reader')).roles[0];
    const adminRole = (await ok('admin', 'GET', '/roles?name=admin')).roles[0];
    await ok('admin', 'PUT', `/roles/${dr.id}/implies/${dr2.id}`, undefined, 201);
    await ok('admin', 'PUT', `/roles/${dr.id}/implies/${other.id}`, undefined, 201);
    await ok('admin', 'PUT', `/roles/${dr2.id}/implies/${reader.id}`, undefined, 201);
    for (const [prior, implied] of [[globalOp.id, dr.id], [dr.id, adminRole.id], [globalOp.id, adminRole.id]]) {
      const r = await call('admin', 'PUT', `/roles/${prior}/implies/${implied}`);
      assert.equal(r.statusCode, 403, `${prior} -> ${implied}`);
      assert.equal(r.json().error.message, `${implied} cannot be an implied roles.`);
    }
    // Grants: on projects of the role's domain only; never on the system.
    const p1 = (await ok('admin', 'POST', '/projects', { project: { name: 'in-d1', domain_id: d1.id } }, 201)).project;
    const u = (await ok('admin', 'POST', '/users', { user: { name: 'op-user', password: 'pw', domain_id: d1.id } }, 201)).user;
    const mismatch = await call('admin', 'PUT', `/projects/${nb.projectId('demo')}/users/${u.id}/roles/${dr.id}`);
    assert.equal(mismatch.statusCode, 403);
    assert.match(mismatch.json().error.message, /must be in the same domain as the role/);
    assert.equal((await call('admin', 'PUT', `/system/users/${u.id}/roles/${dr.id}`)).statusCode, 400);
    assert.equal((await ok('admin', 'GET', `/role_assignments?user.id=${u.id}`)).role_assignments.length, 0, 'refused grants changed nothing');
    await ok('admin', 'PUT', `/projects/${p1.id}/users/${u.id}/roles/${dr.id}`, undefined, 204);
    await ok('admin', 'HEAD', `/projects/${p1.id}/users/${u.id}/roles/${dr.id}`, undefined, 204);
    // The assignment lists as it is; its effective form and the token hold only the implied global role.
    assert.deepEqual((await ok('admin', 'GET', `/role_assignments?user.id=${u.id}`)).role_assignments.map((a: { role: { id: string } }) => a.role.id), [dr.id]);
    const eff = (await ok('admin', 'GET', `/role_assignments?user.id=${u.id}&scope.project.id=${p1.id}&effective`)).role_assignments;
    assert.deepEqual(eff.map((a: { role: { id: string } }) => a.role.id), [reader.id]);
    const tok = await login('op-user', 'pw', { project: { id: p1.id } }, 'roles-d1');
    assert.deepEqual((await tokenBody(tok)).roles.map((r: { name: string }) => r.name), ['reader']);
    // Without an implied global role, a domain role alone gives no token and no effective assignment.
    await ok('admin', 'DELETE', `/roles/${dr2.id}/implies/${reader.id}`, undefined, 204);
    assert.deepEqual((await ok('admin', 'GET', `/role_assignments?user.id=${u.id}&scope.project.id=${p1.id}&effective`)).role_assignments, []);
    const refused = await nb.app.inject({ method: 'POST', url: `${V3}/auth/tokens`, payload: { auth: { identity: { methods: ['password'], password: { user: { id: u.id, password: 'pw' } } }, scope: { project: { id: p1.id } } } } });
    assert.equal(refused.statusCode, 401);
    // Deleting the domain takes its roles.
    await ok('admin', 'PATCH', `/domains/${d1.id}`, { domain: { enabled: false } });
    await ok('admin', 'DELETE', `/domains/${d1.id}`, undefined, 204);
    assert.equal((await call('admin', 'GET', `/roles/${dr.id}`)).statusCode, 404);
    assert.equal((await ok('admin', 'GET', `/roles/${other.id}`)).role.domain_id, d2.id);
  });

  test('services, endpoints and regions: what the admin registers is in the next token catalog', async () => {
    const region = (await ok('admin', 'POST', '/regions', { region: { id: 'RegionTwo', description: 'second' } }, 201)).region;
    assert.equal(region.id, 'RegionTwo');
    assert.equal((await call('admin', 'POST', '/regions', { region: { id: 'RegionTwo' } })).statusCode, 409);
    const svc = (await ok('admin', 'POST', '/services', { service: { type: 'dns', name: 'designate', description: null } }, 201)).service;
    const badIface = await call('admin', 'POST', '/endpoints', { endpoint: { service_id: svc.id, interface: 'private', url: 'http://dns.example/' } });
    assert.equal(badIface.statusCode, 400);
    const ep = (await ok('admin', 'POST', '/endpoints', { endpoint: { service_id: svc.id, interface: 'public', url: 'http://dns.example/v2', region_id: 'RegionTwo' } }, 201)).endpoint;
    assert.equal(ep.region, 'RegionTwo');
    const catalog = (await ok('demo', 'GET', '/auth/catalog')).catalog;
    const dns = catalog.find((s: { type: string }) => s.type === 'dns');
    assert.deepEqual(dns.endpoints.map((e: { url: string; region_id: string }) => [e.url, e.region_id]), [['http://dns.example/v2', 'RegionTwo']]);
    assert.deepEqual((await ok('admin', 'GET', `/endpoints?service_id=${svc.id}`)).endpoints.map((e: { id: string }) => e.id), [ep.id]);
    assert.equal((await call('admin', 'DELETE', '/regions/RegionTwo')).statusCode, 403, 'a region with endpoints stays');
    await ok('admin', 'PATCH', `/services/${svc.id}`, { service: { enabled: false } });
    assert.ok(!(await ok('demo', 'GET', '/auth/catalog')).catalog.some((s: { type: string }) => s.type === 'dns'));
    await ok('admin', 'DELETE', `/services/${svc.id}`, undefined, 204);
    assert.equal((await call('admin', 'GET', `/endpoints/${ep.id}`)).statusCode, 404, 'endpoints go with their service');
    await ok('admin', 'DELETE', '/regions/RegionTwo', undefined, 204);
    // The seeded services answer at the served address.
    const compute = (await ok('admin', 'GET', '/endpoints?interface=public')).endpoints.find((e: { url: string }) => e.url.endsWith('/compute/v2.1'));
    assert.equal(compute.url, 'http://127.0.0.1:0/compute/v2.1');
  });

  test('system scope: the admin gets a system token with the catalog; others are refused', async () => {
    const tok = await login('admin', 'secret', { system: { all: true } });
    const body = await tokenBody(tok);
    assert.deepEqual(body.system, { all: true });
    assert.ok(body.roles.some((r: { name: string }) => r.name === 'admin'));
    assert.ok(body.catalog.length >= 3);
    assert.equal((await call(tok, 'GET', '/users')).statusCode, 200);
    assert.deepEqual((await ok(tok, 'GET', '/auth/system')).system, [{ all: true }]);
    assert.deepEqual((await ok('demo', 'GET', '/auth/system')).system, []);
    const refused = await nb.app.inject({ method: 'POST', url: `${V3}/auth/tokens`, payload: passwordAuth('demo', 'secret', { system: { all: true } }) });
    assert.equal(refused.statusCode, 401);
  });

  test('application credentials: secret once, auth by id and by name, restricted, expiry, delete, cascades', async () => {
    const u = (await ok('admin', 'POST', '/users', { user: { name: 'ci', password: 'pw' } }, 201)).user;
    const member = (await ok('admin', 'GET', '/roles?name=member')).roles[0];
    await ok('admin', 'PUT', `/projects/${nb.projectId('demo')}/users/${u.id}/roles/${member.id}`, undefined, 204);
    const tok = await login('ci', 'pw', { project: { id: nb.projectId('demo') } });
    const made = (await ok(tok, 'POST', `/users/${u.id}/application_credentials`, { application_credential: { name: 'pipeline', description: null } }, 201)).application_credential;
    assert.equal(typeof made.secret, 'string');
    assert.equal(made.project_id, nb.projectId('demo'));
    assert.equal(made.unrestricted, false);
    assert.deepEqual(made.roles.map((r: { name: string }) => r.name).sort(), ['member', 'reader']);
    const shown = (await ok(tok, 'GET', `/users/${u.id}/application_credentials/${made.id}`)).application_credential;
    assert.equal('secret' in shown, false, 'the secret is shown once');
    assert.deepEqual((await ok(tok, 'GET', `/users/${u.id}/application_credentials?name=pipeline`)).application_credentials.map((c: { id: string }) => c.id), [made.id]);
    assert.equal((await call(tok, 'POST', `/users/${u.id}/application_credentials`, { application_credential: { name: 'pipeline' } })).statusCode, 409);
    assert.equal((await call('demo', 'GET', `/users/${u.id}/application_credentials`)).statusCode, 403);
    assert.equal((await call('admin', 'POST', `/users/${u.id}/application_credentials`, { application_credential: { name: 'x' } })).statusCode, 403);
    const bad = await call(tok, 'POST', `/users/${u.id}/application_credentials`, { application_credential: { name: 'adm', roles: [{ name: 'admin' }] } });
    assert.equal(bad.statusCode, 404, 'a role the user does not hold');

    const acAuth = (identity: Record<string, unknown>) => nb.app.inject({ method: 'POST', url: `${V3}/auth/tokens`, payload: { auth: { identity: { methods: ['application_credential'], application_credential: identity } } } });
    const byId = await acAuth({ id: made.id, secret: made.secret });
    assert.equal(byId.statusCode, 201, byId.body);
    const t = byId.json().token;
    assert.deepEqual(t.methods, ['application_credential']);
    assert.deepEqual(t.application_credential, { id: made.id, name: 'pipeline', restricted: true });
    assert.equal(t.project.id, nb.projectId('demo'));
    assert.ok(t.catalog.length >= 3);
    const byName = await acAuth({ name: 'pipeline', user: { name: 'ci', domain: { id: 'default' } }, secret: made.secret });
    assert.equal(byName.statusCode, 201, byName.body);
    assert.equal((await acAuth({ id: made.id, secret: 'wrong' })).statusCode, 401);
    assert.equal((await acAuth({ name: 'pipeline', secret: made.secret })).statusCode, 400);
    const acToken = String(byId.headers['x-subject-token']);
    // The token works on compute; a restricted credential cannot make more credentials.
    assert.equal((await nb.app.inject({ method: 'GET', url: '/compute/v2.1/servers', headers: { 'x-auth-token': acToken } })).statusCode, 200);
    assert.equal((await call(acToken, 'POST', `/users/${u.id}/application_credentials`, { application_credential: { name: 'more' } })).statusCode, 403);
    assert.equal((await nb.app.inject({ method: 'POST', url: `${V3}/auth/tokens`, payload: { auth: { identity: { methods: ['token'], token: { id: acToken } } } } })).statusCode, 403);

    // Expiry in the past is refused; a credential that expires caps its tokens.
    assert.equal((await call(tok, 'POST', `/users/${u.id}/application_credentials`, { application_credential: { name: 'old', expires_at: '2000-01-01T00:00:00' } })).statusCode, 400);
    const soon = new Date(Date.now() + 60_000).toISOString().replace('Z', '');
    const short = (await ok(tok, 'POST', `/users/${u.id}/application_credentials`, { application_credential: { name: 'short', expires_at: soon, secret: 'my-own-secret', unrestricted: true } }, 201)).application_credential;
    assert.equal(short.secret, 'my-own-secret');
    const capped = (await acAuth({ id: short.id, secret: 'my-own-secret' })).json().token;
    assert.ok(Date.parse(capped.expires_at) <= Date.parse(`${soon}Z`) + 1);
    // Access rules are not served: asking for them is refused, and nothing is made.
    const ruled = await call(tok, 'POST', `/users/${u.id}/application_credentials`, { application_credential: { name: 'ruled', access_rules: [{ path: '/v2.1/servers', method: 'GET', service: 'compute' }] } });
    assert.equal(ruled.statusCode, 400);
    assert.equal((await ok(tok, 'GET', `/users/${u.id}/application_credentials?name=ruled`)).application_credentials.length, 0);
    assert.equal((await call(tok, 'POST', `/users/${u.id}/application_credentials`, { application_credential: { name: 'no-rules', access_rules: [] } })).statusCode, 201);
    // The expiry comes back with the microseconds it was given, as Keystone keeps them.
    const micro = new Date(Date.now() + 3_600_000).toISOString().replace(/\.(\d{3})Z$/, '.$1987');
    const precise = (await ok(tok, 'POST', `/users/${u.id}/application_credentials`, { application_credential: { name: 'precise', expires_at: micro } }, 201)).application_credential;
    assert.equal(precise.expires_at, micro);
    assert.equal((await ok(tok, 'GET', `/users/${u.id}/application_credentials/${precise.id}`)).application_credential.expires_at, micro);
    assert.equal((await ok(tok, 'POST', `/users/${u.id}/application_credentials`, { application_credential: { name: 'zoned', expires_at: '2999-01-01T10:00:00.5+02:00' } }, 201)).application_credential.expires_at, '2999-01-01T08:00:00.500000');

    await ok(tok, 'DELETE', `/users/${u.id}/application_credentials/${made.id}`, undefined, 204);
    assert.equal((await call(acToken, 'GET', '/auth/projects')).statusCode, 401, 'its tokens end with it');
    assert.equal((await acAuth({ id: made.id, secret: made.secret })).statusCode, 401);
    // Deleting the user deletes its credentials.
    await ok('admin', 'DELETE', `/users/${u.id}`, undefined, 204);
    assert.equal((await acAuth({ id: short.id, secret: 'my-own-secret' })).statusCode, 401);
  });

  test('deleting a project revokes its tokens and assignments; its servers stay as Nova leaves them', async () => {
    const p = (await ok('admin', 'POST', '/projects', { project: { name: 'doomed' } }, 201)).project;
    const u = (await ok('admin', 'POST', '/users', { user: { name: 'doomer', password: 'pw', default_project_id: p.id } }, 201)).user;
    const member = (await ok('admin', 'GET', '/roles?name=member')).roles[0];
    await ok('admin', 'PUT', `/projects/${p.id}/users/${u.id}/roles/${member.id}`, undefined, 204);
    const tok = await login('doomer', 'pw');
    assert.equal((await tokenBody(tok)).project.id, p.id, 'scoped to the default project');
    const created = await nb.app.inject({ method: 'POST', url: '/compute/v2.1/servers', headers: { 'x-auth-token': tok }, payload: { server: { name: 'left', imageRef: '4fa04c19-09fa-51ff-9872-fac075d1145b', flavorRef: '1' } } });
    assert.equal(created.statusCode, 202, created.body);
    await nb.services.engine.settle();
    await ok('admin', 'DELETE', `/projects/${p.id}`, undefined, 204);
    assert.equal((await call(tok, 'GET', '/auth/projects')).statusCode, 401);
    assert.equal((await ok('admin', 'GET', `/role_assignments?scope.project.id=${p.id}`)).role_assignments.length, 0);
    assert.equal((await ok('admin', 'GET', `/users/${u.id}`)).user.default_project_id, undefined);
    const server = await nb.app.inject({ method: 'GET', url: `/compute/v2.1/servers/${created.json().server.id}`, headers: await nb.headers('admin') });
    assert.equal(server.statusCode, 200);
    assert.equal(server.json().server.status, 'ACTIVE');
  });
});
