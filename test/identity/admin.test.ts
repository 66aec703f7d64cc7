// Keystone administration over HTTP: projects, users, domains, roles, grants and role
// assignments as the openstack CLI and tempest's quota tests use them; admin-only → 403 for others.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { passwordAuth, startNovabox, type TestNovabox } from '../helpers/novabox.ts';

const V3 = '/identity/v3';

describe('identity administration', () => {
  let nb: TestNovabox;
  before(async () => {
    nb = await startNovabox();
  });
  after(() => nb.close());

  async function call(user: string, method: string, url: string, json?: unknown) {
    const headers: Record<string, string> = await nb.headers(user);
    if (json !== undefined) headers['content-type'] = 'application/json';
    return nb.app.inject({ method: method as 'GET', url: `${V3}${url}`, headers, payload: json === undefined ? undefined : JSON.stringify(json) });
  }

  test('admin lists projects, users, domains and roles; filters by name', async () => {
    const projects = (await call('admin', 'GET', '/projects')).json();
    assert.deepEqual(projects.projects.map((p: { name: string }) => p.name).sort(), ['admin', 'alt_demo', 'demo']);
    assert.deepEqual(projects.links, { self: 'http://127.0.0.1:0/identity/v3/projects', previous: null, next: null });
    const p = projects.projects[0];
    for (const k of ['id', 'name', 'domain_id', 'description', 'enabled', 'parent_id', 'is_domain', 'tags', 'links']) assert.ok(k in p, k);
    assert.deepEqual((await call('admin', 'GET', '/projects?name=demo')).json().projects.map((x: { name: string }) => x.name), ['demo']);
    const users = (await call('admin', 'GET', '/users?name=alt_demo')).json().users;
    assert.equal(users.length, 1);
    assert.equal(users[0].domain_id, 'default');
    assert.equal(users[0].password, undefined);
    assert.equal(users[0].password_hash, undefined);
    const domains = (await call('admin', 'GET', '/domains?name=Default')).json().domains;
    assert.deepEqual(domains.map((d: { id: string; name: string }) => [d.id, d.name]), [['default', 'Default']]);
    const roles = (await call('admin', 'GET', '/roles')).json().roles.map((r: { name: string }) => r.name).sort();
    assert.deepEqual(roles, ['admin', 'manager', 'member', 'reader']);
  });

  test('members get 403 on admin-only calls and see only themselves and their project', async () => {
    for (const url of ['/projects', '/users', '/domains', '/roles', '/role_assignments', '/services', '/endpoints']) {
      const res = await call('demo', 'GET', url);
      assert.equal(res.statusCode, 403, url);
      assert.deepEqual(Object.keys(res.json().error).sort(), ['code', 'message', 'title']);
    }
    const me = (await nb.services.identity.validate(await nb.token('demo')))!;
    const alt = (await nb.services.identity.validate(await nb.token('alt_demo')))!;
    assert.equal((await call('demo', 'GET', `/users/${me.user_id}`)).statusCode, 200);
    assert.equal((await call('demo', 'GET', `/users/${alt.user_id}`)).statusCode, 403);
    assert.equal((await call('demo', 'GET', `/projects/${me.project_id}`)).statusCode, 200);
    assert.equal((await call('demo', 'GET', `/projects/${alt.project_id}`)).statusCode, 403);
    assert.equal((await call('demo', 'GET', '/domains/default')).statusCode, 200);
    const mine = (await call('demo', 'GET', `/users/${me.user_id}/projects`)).json().projects;
    assert.deepEqual(mine.map((p: { name: string }) => p.name), ['demo']);
    assert.equal((await call('demo', 'GET', `/users/${alt.user_id}/projects`)).statusCode, 403);
    const auth = (await call('demo', 'GET', '/auth/projects')).json().projects;
    assert.deepEqual(auth.map((p: { name: string }) => p.name), ['demo']);
    assert.equal((await call('demo', 'POST', '/projects', { project: { name: 'x' } })).statusCode, 403);
    assert.equal((await call('demo', 'DELETE', `/users/${alt.user_id}`)).statusCode, 403);
  });

  test('unknown ids are 404 for the admin', async () => {
    for (const url of ['/projects/nope', '/users/nope', '/domains/nope', '/roles/nope']) {
      const res = await call('admin', 'GET', url);
      assert.equal(res.statusCode, 404, url);
      assert.equal(res.json().error.title, 'Not Found');
    }
    assert.equal((await call('admin', 'DELETE', '/projects/nope')).statusCode, 404);
    assert.equal((await call('admin', 'DELETE', '/users/nope')).statusCode, 404);
    assert.equal((await call('admin', 'GET', '/no-such-collection')).statusCode, 404);
  });

  test('role assignment list filters by user, project and role, with names on request', async () => {
    const demo = (await nb.services.identity.validate(await nb.token('demo')))!;
    const all = (await call('admin', 'GET', '/role_assignments')).json().role_assignments;
    assert.ok(all.length >= 3);
    const byUser = (await call('admin', 'GET', `/role_assignments?user.id=${demo.user_id}`)).json().role_assignments;
    assert.equal(byUser.length, 1);
    assert.deepEqual(byUser[0].scope, { project: { id: demo.project_id } });
    assert.match(byUser[0].links.assignment, new RegExp(`/v3/projects/${demo.project_id}/users/${demo.user_id}/roles/${byUser[0].role.id}$`));
    const named = (await call('admin', 'GET', `/role_assignments?scope.project.id=${demo.project_id}&include_names=True`)).json().role_assignments;
    assert.equal(named.length, 1);
    assert.equal(named[0].role.name, 'member');
    assert.deepEqual(named[0].user.domain, { id: 'default', name: 'Default' });
    assert.equal(named[0].user.name, 'demo');
    assert.equal(named[0].scope.project.name, 'demo');
    const member = (await call('admin', 'GET', '/roles?name=member')).json().roles[0];
    const byRole = (await call('admin', 'GET', `/role_assignments?role.id=${member.id}`)).json().role_assignments;
    assert.equal(byRole.length, 2);
    assert.deepEqual((await call('admin', 'GET', '/role_assignments?group.id=g')).json().role_assignments, []);
  });

  test("tempest's quota-test flow: create project and user, grant, authenticate, delete", async () => {
    const domain = (await call('admin', 'GET', '/domains?name=Default')).json().domains[0];
    const proj = await call('admin', 'POST', '/projects', { project: { name: 'tmp-proj', description: 'd', domain_id: domain.id } });
    assert.equal(proj.statusCode, 201);
    const project = proj.json().project;
    assert.equal((await call('admin', 'POST', '/projects', { project: { name: 'tmp-proj', domain_id: domain.id } })).statusCode, 409);
    const usr = await call('admin', 'POST', '/users', { user: { name: 'tmp-user', password: 'pw1', domain_id: domain.id, project_id: project.id, default_project_id: project.id, email: 'a@b.c' } });
    assert.equal(usr.statusCode, 201);
    const user = usr.json().user;
    assert.equal(user.email, 'a@b.c');
    assert.equal(user.default_project_id, project.id);
    assert.equal(user.project_id, project.id, "tempest's `project_id` comes back as Keystone keeps it, an extra attribute");
    assert.equal((await call('admin', 'POST', '/users', { user: { name: 'tmp-user', password: 'x' } })).statusCode, 409);

    const login = () => nb.app.inject({ method: 'POST', url: `${V3}/auth/tokens`, payload: passwordAuth('tmp-user', 'pw1', { project: { id: project.id } }) });
    assert.equal((await login()).statusCode, 401, 'no role on the project yet');
    const member = (await call('admin', 'GET', '/roles?name=member')).json().roles[0];
    assert.equal((await call('admin', 'PUT', `/projects/${project.id}/users/${user.id}/roles/${member.id}`)).statusCode, 204);
    assert.equal((await call('admin', 'GET', `/projects/${project.id}/users/${user.id}/roles/${member.id}`)).statusCode, 204);
    const roles = (await call('admin', 'GET', `/projects/${project.id}/users/${user.id}/roles`)).json().roles;
    assert.deepEqual(roles.map((r: { name: string }) => r.name), ['member']);
    const ok = await login();
    assert.equal(ok.statusCode, 201);
    const token = String(ok.headers['x-subject-token']);
    // Without a scope, Keystone scopes the token to the user's default project.
    const unscoped = await nb.app.inject({ method: 'POST', url: `${V3}/auth/tokens`, payload: passwordAuth('tmp-user', 'pw1') });
    assert.equal(unscoped.json().token.project.id, project.id);

    // Removing the role takes effect on the existing token at once.
    assert.equal((await call('admin', 'DELETE', `/projects/${project.id}/users/${user.id}/roles/${member.id}`)).statusCode, 204);
    assert.equal(await nb.services.identity.validate(token), null);
    assert.equal((await call('admin', 'DELETE', `/projects/${project.id}/users/${user.id}/roles/${member.id}`)).statusCode, 404);
    assert.equal((await call('admin', 'PUT', `/projects/${project.id}/users/${user.id}/roles/nope`)).statusCode, 404);

    assert.equal((await call('admin', 'PATCH', `/projects/${project.id}`, { project: { description: 'changed' } })).json().project.description, 'changed');
    assert.equal((await call('admin', 'PATCH', `/users/${user.id}`, { user: { enabled: false } })).json().user.enabled, false);
    assert.equal((await login()).statusCode, 401, 'disabled users cannot log in');
    assert.equal((await call('admin', 'DELETE', `/users/${user.id}`)).statusCode, 204);
    assert.equal((await call('admin', 'GET', `/users/${user.id}`)).statusCode, 404);
    assert.equal((await call('admin', 'DELETE', `/projects/${project.id}`)).statusCode, 204);
    assert.equal((await call('admin', 'GET', `/projects/${project.id}`)).statusCode, 404);
  });

  test('a user changes its own password with the original one and no token needed; its tokens end', async () => {
    const user = await nb.services.identity.createUser({ name: 'pw-user', domain_id: 'default', password: 'old-pw' });
    const member = (await nb.services.identity.store.roleByName('member'))!;
    await nb.services.identity.write((s) => s.grant({ actor_type: 'user', actor_id: user.id, role_id: member.id, target_type: 'project', target_id: nb.projectId('demo') }));
    const login = (pw: string) => nb.app.inject({ method: 'POST', url: `${V3}/auth/tokens`, payload: passwordAuth('pw-user', pw, { project: { name: 'demo', domain: { id: 'default' } } }) });
    const token = String((await login('old-pw')).headers['x-subject-token']);
    const change = (body: unknown, tok?: string, id = user.id) =>
      nb.app.inject({ method: 'POST', url: `${V3}/users/${id}/password`, headers: tok === undefined ? {} : { 'x-auth-token': tok }, payload: body as Record<string, unknown> });
    // Wrong original password, an unknown user: 401 with Keystone's body, whoever calls.
    for (const tok of [undefined, token, await nb.token('admin')]) {
      const r = await change({ user: { password: 'new-pw', original_password: 'wrong' } }, tok);
      assert.equal(r.statusCode, 401, r.body);
      assert.deepEqual(r.json(), { error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' } });
    }
    assert.equal((await change({ user: { password: 'new-pw', original_password: 'old-pw' } }, undefined, 'no-such-user')).statusCode, 401);
    // Invalid bodies: 400 before the password is even checked.
    for (const body of [{}, { user: 'x' }, { user: { password: 'new-pw' } }, { user: { original_password: 'old-pw' } }, { user: { password: 5, original_password: 'old-pw' } },
      { user: { password: null, original_password: 'old-pw' } }, { user: { password: 'new-pw', original_password: 'old-pw', name: 'x' } }]) {
      const r = await change(body);
      assert.equal(r.statusCode, 400, JSON.stringify(body));
      assert.equal(r.json().error.code, 400);
    }
    // lock_password turns the self-service change off.
    await nb.services.identity.updateUser(user.id, { options: { lock_password: true } });
    const locked = await change({ user: { password: 'new-pw', original_password: 'old-pw' } });
    assert.equal(locked.statusCode, 400);
    assert.match(locked.json().error.message, /password policy disallowing password changes/);
    await nb.services.identity.updateUser(user.id, { options: { lock_password: null } });
    assert.equal((await login('old-pw')).statusCode, 201, 'failed attempts changed nothing');
    assert.notEqual(await nb.services.identity.validate(token), null, 'failed attempts revoked nothing');
    // Another user's token does not matter: the original password does (and a bad token is ignored).
    const other = await nb.token('demo');
    assert.equal((await change({ user: { password: 'new-pw', original_password: 'old-pw' } }, 'not-a-token')).statusCode, 204);
    assert.equal((await login('old-pw')).statusCode, 401);
    assert.equal((await login('new-pw')).statusCode, 201);
    assert.equal(await nb.services.identity.validate(token), null, "the user's old tokens are revoked");
    assert.notEqual(await nb.services.identity.validate(other), null, "other users' tokens stay");
    // A disabled user cannot change its password.
    await nb.services.identity.updateUser(user.id, { enabled: false });
    assert.equal((await change({ user: { password: 'newer-pw', original_password: 'new-pw' } })).statusCode, 401);
  });

  test('bad create bodies are 400 and change nothing', async () => {
    const before = (await call('admin', 'GET', '/projects')).json().projects.length;
    for (const body of [{}, { project: 'x' }, { project: {} }, { project: { name: '' } }, { project: { name: 5 } }, { project: { name: 'ok', enabled: 'yes' } }, { project: { name: 'ok', domain_id: 'nope' } }]) {
      const res = await call('admin', 'POST', '/projects', body);
      assert.equal(res.statusCode, 400, JSON.stringify(body));
      assert.equal(res.json().error.code, 400);
    }
    assert.equal((await call('admin', 'GET', '/projects')).json().projects.length, before);
    assert.equal((await call('admin', 'POST', '/users', { user: { name: 'u', default_project_id: 'nope' } })).statusCode, 400);
  });

  test('services, endpoints and regions mirror the catalog', async () => {
    const services = (await call('admin', 'GET', '/services')).json().services;
    assert.deepEqual(services.map((s: { type: string }) => s.type).sort(), ['block-storage', 'compute', 'identity', 'image', 'network', 'volumev3']);
    const endpoints = (await call('admin', 'GET', '/endpoints')).json().endpoints;
    assert.equal(endpoints.length, 18);
    assert.ok(endpoints.every((e: { service_id: string }) => services.some((s: { id: string }) => s.id === e.service_id)));
    const regions = (await call('demo', 'GET', '/regions')).json().regions;
    assert.deepEqual(regions.map((r: { id: string }) => r.id), ['RegionOne']);
  });
});
