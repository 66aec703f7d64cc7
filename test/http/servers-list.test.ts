// GET /servers and /servers/detail: filters for users and admins, sorting, paging, microversion rules.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { act, boot, call, setup, settle, type Env } from './servers-helpers.ts';

let env: Env;
let ids: { a: string; b: string; c: string; other: string };
before(async () => {
  env = await setup({ max_limit: 3 });
  const a = await boot(env, env.demo, { name: 'alpha-web', tags: ['x', 'y'] }, '2.52');
  const b = await boot(env, env.demo, { name: 'beta-db', tags: ['y'] }, '2.52');
  const c = await boot(env, env.demo, { name: 'gamma-web' }, '2.52');
  const other = await boot(env, env.alt, { name: 'alt-one' }, '2.52');
  await act(env, env.demo, b, { 'os-stop': null });
  await act(env, env.demo, c, { lock: null });
  await settle(env);
  ids = { a, b, c, other };
});
after(async () => { await env.close(); });

const names = async (url: string, token = env.demo, mv?: string) => {
  const r = await call(env, { url, token, mv });
  assert.equal(r.statusCode, 200, r.body);
  return (r.json().servers as { name: string }[]).map((s) => s.name).sort();
};

describe('filters', () => {
  it('lists only the caller\'s project, minimal items with exactly id, name, links', async () => {
    const r = await call(env, { url: '/servers', token: env.demo });
    for (const s of r.json().servers) assert.deepEqual(Object.keys(s).sort(), ['id', 'links', 'name']);
    assert.deepEqual(await names('/servers'), ['alpha-web', 'beta-db', 'gamma-web']);
  });

  it('matches status case-insensitively, repeated values as a union', async () => {
    assert.deepEqual(await names('/servers?status=active'), ['alpha-web', 'gamma-web']);
    assert.deepEqual(await names('/servers?status=SHUTOFF'), ['beta-db']);
    assert.deepEqual(await names('/servers?status=SHUTOFF&status=ACTIVE'), ['alpha-web', 'beta-db', 'gamma-web']);
    assert.deepEqual(await names('/servers?status=ACTIVE&status=FOO'), ['alpha-web', 'gamma-web']);
  });

  it('answers an unknown status with [] below 2.38 and 400 from 2.38', async () => {
    assert.deepEqual(await names('/servers?status=FOO', env.demo, '2.37'), []);
    const r = await call(env, { url: '/servers/detail?status=FOO', token: env.demo, mv: '2.38' });
    assert.deepEqual(r.json(), { badRequest: { code: 400, message: 'Invalid status value' } });
  });

  it('refuses DELETED and all_tenants to non-admins with 403', async () => {
    let r = await call(env, { url: '/servers?status=DELETED', token: env.demo });
    assert.deepEqual(r.json(), { forbidden: { code: 403, message: 'Only administrators may list deleted instances' } });
    r = await call(env, { url: '/servers/detail?all_tenants=1', token: env.demo });
    assert.deepEqual(r.json(), { forbidden: { code: 403, message: "Policy doesn't allow os_compute_api:servers:detail:get_all_tenants to be performed." } });
    r = await call(env, { url: '/servers?all_tenants=maybe', token: env.admin });
    assert.equal(r.statusCode, 400);
  });

  it('lets admins list all projects, one project, or by host', async () => {
    assert.deepEqual(await names('/servers?all_tenants&name=^(alpha|alt)', env.admin), ['alpha-web', 'alt-one']);
    assert.deepEqual(await names(`/servers?all_tenants=1&project_id=${env.projects.alt_demo}`, env.admin), ['alt-one']);
    assert.deepEqual(await names(`/servers?project_id=${env.projects.alt_demo}`, env.admin), []);
    assert.deepEqual(await names('/servers?all_tenants=1&host=nowhere', env.admin), []);
  });

  it('matches name as a regex, tags (2.26), locked (2.73); drops admin-only filters for users', async () => {
    assert.deepEqual(await names('/servers?name=-web$'), ['alpha-web', 'gamma-web']);
    assert.deepEqual(await names('/servers?tags=x,y', env.demo, '2.26'), ['alpha-web']);
    assert.deepEqual(await names('/servers?tags-any=y', env.demo, '2.26'), ['alpha-web', 'beta-db']);
    assert.deepEqual(await names('/servers?not-tags-any=y', env.demo, '2.26'), ['gamma-web']);
    assert.deepEqual(await names('/servers?locked=true', env.demo, '2.73'), ['gamma-web']);
    assert.equal((await call(env, { url: '/servers?locked=maybe', token: env.demo, mv: '2.73' })).statusCode, 400);
    assert.deepEqual(await names('/servers?host=nowhere'), ['alpha-web', 'beta-db', 'gamma-web']);
    assert.deepEqual(await names('/servers?flavor=999'), []);
    assert.deepEqual(await names('/servers?flavor=1'), ['alpha-web', 'beta-db', 'gamma-web']);
    const r = await call(env, { url: '/servers?name=(', token: env.demo });
    assert.deepEqual(r.json(), { badRequest: { code: 400, message: "Invalid input for query parameters name. Value: (. '(' is not a 'regex'" } });
  });

  it('ignores unknown parameters below 2.75 and refuses them from 2.75', async () => {
    assert.deepEqual(await names('/servers?foo=1', env.demo, '2.74'), ['alpha-web', 'beta-db', 'gamma-web']);
    const r = await call(env, { url: '/servers?foo=1', token: env.demo, mv: '2.75' });
    assert.deepEqual(r.json(), { badRequest: { code: 400, message: "Additional properties are not allowed ('foo' was unexpected)" } });
  });

  it('checks changes-since and lists changed servers including deleted ones', async () => {
    assert.equal((await call(env, { url: '/servers?changes-since=2011/01/01', token: env.demo })).statusCode, 400);
    assert.deepEqual(await names('/servers?changes-since=2999-01-01T00:00:00Z'), []);
    const r = await call(env, { url: '/servers?changes-since=2000-01-01&changes-before=1999-01-01', token: env.demo, mv: '2.66' });
    assert.equal(r.json().badRequest.message, 'The value of changes-since must be less than or equal to changes-before.');
  });
});

describe('sorting and paging', () => {
  it('sorts by several keys and refuses bad directions and host sorting for users', async () => {
    const r = await call(env, { url: '/servers?sort_key=display_name&sort_dir=asc', token: env.demo });
    assert.deepEqual(r.json().servers.map((s: { name: string }) => s.name), ['alpha-web', 'beta-db', 'gamma-web']);
    const d = await call(env, { url: '/servers?sort_key=display_name&sort_dir=desc&sort_key=uuid', token: env.demo });
    assert.deepEqual(d.json().servers.map((s: { name: string }) => s.name), ['gamma-web', 'beta-db', 'alpha-web']);
    assert.equal((await call(env, { url: '/servers?sort_key=display_name&sort_dir=ASC', token: env.demo })).json().badRequest.message, "Invalid input received: Unknown sort direction, must be 'desc' or 'asc'");
    assert.equal((await call(env, { url: '/servers?sort_dir=asc', token: env.demo })).json().badRequest.message, 'Invalid input received: Sort direction size exceeds sort key size');
    assert.deepEqual((await call(env, { url: '/servers?sort_key=host', token: env.demo })).json(), { forbidden: { code: 403, message: 'Only administrators can sort servers by host' } });
    assert.equal((await call(env, { url: '/servers?sort_key=vcpus', token: env.demo, mv: '2.74' })).statusCode, 200);
    assert.equal((await call(env, { url: '/servers?sort_key=vcpus', token: env.demo, mv: '2.75' })).statusCode, 400);
  });

  it('pages with limit and marker and links the next page with sorted params', async () => {
    const r = await call(env, { url: '/servers?limit=2&name=zzz&name=-&sort_key=display_name&sort_dir=asc', token: env.demo });
    const page = r.json();
    assert.equal(page.servers.length, 2);
    const last = page.servers[1].id;
    assert.equal(page.servers_links[0].rel, 'next');
    assert.match(page.servers_links[0].href, new RegExp(`/compute/v2\\.1/servers\\?limit=2&name=-&sort_dir=asc&sort_key=display_name&marker=${last}$`));
    const next = await call(env, { url: `/servers?limit=2&sort_key=display_name&sort_dir=asc&marker=${last}`, token: env.demo });
    assert.deepEqual(next.json().servers.map((s: { name: string }) => s.name), ['gamma-web']);
    assert.ok(!('servers_links' in next.json()));
    assert.deepEqual((await call(env, { url: '/servers?limit=0', token: env.demo })).json(), { servers: [] });
    assert.equal((await call(env, { url: '/servers?limit=testing', token: env.demo })).json().badRequest.message, "Invalid input for query parameters limit. Value: testing. 'testing' does not match '^[0-9]*$'");
    assert.equal((await call(env, { url: '/servers?limit=-1', token: env.demo })).statusCode, 400);
    assert.equal((await call(env, { url: '/servers?marker=nope', token: env.demo })).json().badRequest.message, 'marker [nope] not found');
  });

  it('caps the page at max_limit and links onward', async () => {
    const r = await call(env, { url: '/servers/detail?all_tenants=1&limit=100000', token: env.admin });
    assert.equal(r.json().servers.length, 3);
    assert.ok(r.json().servers_links);
  });
});
