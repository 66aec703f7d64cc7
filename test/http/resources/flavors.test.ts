// Flavors over HTTP: listing filters and paging, views per microversion, admin manage, extra specs, access.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { call, setup, type Env } from '../servers-helpers.ts';

let env: Env;
before(async () => {
  env = await setup();
});
after(() => env.close());

const fault = (r: { statusCode: number; json(): unknown }, code: number, kind: string) => {
  assert.equal(r.statusCode, code);
  const body = r.json() as Record<string, { code: number; message: string }>;
  assert.equal(body[kind].code, code);
  return body[kind].message;
};

describe('flavors', () => {
  test('brief list has only id, links, name; description from 2.55', async () => {
    const r = await call(env, { url: '/flavors', token: env.demo });
    assert.equal(r.statusCode, 200);
    assert.deepEqual(Object.keys(r.json().flavors[0]).sort(), ['id', 'links', 'name']);
    const r55 = await call(env, { url: '/flavors', token: env.demo, mv: '2.55' });
    assert.ok('description' in r55.json().flavors[0]);
  });

  test('detail keys per microversion: swap "" below 2.75, 0 at 2.75; extra_specs at 2.61', async () => {
    const base = (await call(env, { url: '/flavors/1', token: env.demo })).json().flavor;
    assert.equal(base.swap, '');
    assert.deepEqual(Object.keys(base).sort(), ['OS-FLV-DISABLED:disabled', 'OS-FLV-EXT-DATA:ephemeral', 'disk', 'id', 'links', 'name', 'os-flavor-access:is_public', 'ram', 'rxtx_factor', 'swap', 'vcpus']);
    assert.equal((await call(env, { url: '/flavors/1', token: env.demo, mv: '2.75' })).json().flavor.swap, 0);
    assert.ok(!('extra_specs' in (await call(env, { url: '/flavors/1', token: env.demo, mv: '2.60' })).json().flavor));
    assert.deepEqual((await call(env, { url: '/flavors/1', token: env.demo, mv: '2.61' })).json().flavor.extra_specs, {});
  });

  test('minRam/minDisk filter, limit/marker paging with flavors_links, bad values are 400', async () => {
    const big = (await call(env, { url: '/flavors/detail?minRam=4096&minDisk=40', token: env.demo })).json().flavors;
    assert.deepEqual(big.map((f: { id: string }) => f.id).sort(), ['3', '4', '5']);
    const p1 = (await call(env, { url: '/flavors?limit=2', token: env.demo })).json();
    assert.equal(p1.flavors.length, 2);
    assert.match(p1.flavors_links[0].href, /\/compute\/v2\.1\/flavors\?limit=2&marker=/);
    const p2 = (await call(env, { url: `/flavors?limit=2&marker=${p1.flavors[1].id}`, token: env.demo })).json();
    assert.notEqual(p2.flavors[0].id, p1.flavors[0].id);
    assert.match(fault(await call(env, { url: '/flavors?minRam=abc', token: env.demo }), 400, 'badRequest'), /Invalid minRam filter \[abc\]/);
    assert.match(fault(await call(env, { url: '/flavors?marker=nope', token: env.demo }), 400, 'badRequest'), /marker \[nope\] not found/);
    fault(await call(env, { url: '/flavors?limit=-1', token: env.demo }), 400, 'badRequest');
  });

  test('unknown flavor is 404 with Nova message', async () => {
    assert.equal(fault(await call(env, { url: '/flavors/zzz', token: env.demo }), 404, 'itemNotFound'), 'Flavor zzz could not be found.');
  });

  test('admin creates (200), duplicate is 409, members get 403, delete is 202 then 404', async () => {
    const body = { flavor: { name: 'f.test', ram: 256, vcpus: 1, disk: 1, id: 'ft1', swap: 64, rxtx_factor: 2.0, 'OS-FLV-EXT-DATA:ephemeral': 1 } };
    fault(await call(env, { method: 'POST', url: '/flavors', token: env.demo, body }), 403, 'forbidden');
    const r = await call(env, { method: 'POST', url: '/flavors', token: env.admin, body });
    assert.equal(r.statusCode, 200);
    assert.equal(r.json().flavor.swap, 64);
    assert.equal(r.json().flavor['OS-FLV-EXT-DATA:ephemeral'], 1);
    assert.equal(fault(await call(env, { method: 'POST', url: '/flavors', token: env.admin, body }), 409, 'conflictingRequest'), 'Flavor with name f.test already exists.');
    fault(await call(env, { method: 'POST', url: '/flavors', token: env.admin, body: { flavor: { name: 'x', ram: 0, vcpus: 1, disk: 1 } } }), 400, 'badRequest');
    fault(await call(env, { method: 'POST', url: '/flavors', token: env.admin, body: { flavor: { name: 'x', ram: 1, vcpus: 1, disk: 1, bogus: 1 } } }), 400, 'badRequest');
    const auto = await call(env, { method: 'POST', url: '/flavors', token: env.admin, body: { flavor: { name: 'f.auto', ram: 1, vcpus: 1, disk: 0, id: 'auto' } } });
    assert.match(auto.json().flavor.id, /^[0-9a-f-]{36}$/);
    fault(await call(env, { method: 'DELETE', url: '/flavors/ft1', token: env.demo }), 403, 'forbidden');
    assert.equal((await call(env, { method: 'DELETE', url: '/flavors/ft1', token: env.admin })).statusCode, 202);
    fault(await call(env, { method: 'GET', url: '/flavors/ft1', token: env.admin }), 404, 'itemNotFound');
  });

  test('description update at 2.55 only', async () => {
    await call(env, { method: 'POST', url: '/flavors', token: env.admin, mv: '2.55', body: { flavor: { name: 'f.desc', ram: 1, vcpus: 1, disk: 0, id: 'fd', description: 'a' } } });
    fault(await call(env, { method: 'PUT', url: '/flavors/fd', token: env.admin, mv: '2.54', body: { flavor: { description: 'b' } } }), 404, 'itemNotFound');
    const r = await call(env, { method: 'PUT', url: '/flavors/fd', token: env.admin, mv: '2.55', body: { flavor: { description: 'b' } } });
    assert.equal(r.json().flavor.description, 'b');
  });

  test('extra specs: members read, admin writes; key mismatch 400; missing key 404', async () => {
    const set = await call(env, { method: 'POST', url: '/flavors/2/os-extra_specs', token: env.admin, body: { extra_specs: { 'hw:cpu_policy': 'shared', 'hw:numa_nodes': 1 } } });
    assert.equal(set.statusCode, 200);
    assert.deepEqual(set.json().extra_specs, { 'hw:cpu_policy': 'shared', 'hw:numa_nodes': '1' });
    fault(await call(env, { method: 'POST', url: '/flavors/2/os-extra_specs', token: env.demo, body: { extra_specs: { a: 'b' } } }), 403, 'forbidden');
    assert.deepEqual((await call(env, { url: '/flavors/2/os-extra_specs/hw:numa_nodes', token: env.demo })).json(), { 'hw:numa_nodes': '1' });
    const put = await call(env, { method: 'PUT', url: '/flavors/2/os-extra_specs/hw:numa_nodes', token: env.admin, body: { 'hw:numa_nodes': '2' } });
    assert.deepEqual(put.json(), { 'hw:numa_nodes': '2' });
    assert.equal(fault(await call(env, { method: 'PUT', url: '/flavors/2/os-extra_specs/a', token: env.admin, body: { b: '2' } }), 400, 'badRequest'), 'Request body and URI mismatch');
    assert.equal((await call(env, { method: 'DELETE', url: '/flavors/2/os-extra_specs/hw:numa_nodes', token: env.admin })).statusCode, 200);
    assert.equal(fault(await call(env, { url: '/flavors/2/os-extra_specs/hw:numa_nodes', token: env.demo }), 404, 'itemNotFound'), 'Flavor 2 has no extra specs with key hw:numa_nodes.');
  });

  test('private flavor: invisible to other projects until access is added; access list admin only', async () => {
    const r = await call(env, { method: 'POST', url: '/flavors', token: env.admin, body: { flavor: { name: 'f.priv', ram: 1, vcpus: 1, disk: 0, id: 'fp', 'os-flavor-access:is_public': false } } });
    assert.equal(r.json().flavor['os-flavor-access:is_public'], false);
    fault(await call(env, { url: '/flavors/fp', token: env.demo }), 404, 'itemNotFound');
    assert.ok(!(await call(env, { url: '/flavors', token: env.demo })).json().flavors.some((f: { id: string }) => f.id === 'fp'));
    const add = await call(env, { method: 'POST', url: '/flavors/fp/action', token: env.admin, body: { addTenantAccess: { tenant: env.projects.demo } } });
    assert.equal(add.statusCode, 200);
    assert.ok(add.json().flavor_access.some((a: { tenant_id: string }) => a.tenant_id === env.projects.demo));
    fault(await call(env, { method: 'POST', url: '/flavors/fp/action', token: env.admin, body: { addTenantAccess: { tenant: env.projects.demo } } }), 409, 'conflictingRequest');
    assert.equal((await call(env, { url: '/flavors/fp', token: env.demo })).statusCode, 200);
    fault(await call(env, { url: '/flavors/fp', token: env.alt }), 404, 'itemNotFound');
    fault(await call(env, { url: '/flavors/fp/os-flavor-access', token: env.demo }), 403, 'forbidden');
    assert.equal(fault(await call(env, { url: '/flavors/1/os-flavor-access', token: env.admin }), 404, 'itemNotFound'), 'Access list not available for public flavors.');
    fault(await call(env, { method: 'POST', url: '/flavors/1/action', token: env.admin, mv: '2.7', body: { addTenantAccess: { tenant: 'x' } } }), 409, 'conflictingRequest');
    const rm = await call(env, { method: 'POST', url: '/flavors/fp/action', token: env.admin, body: { removeTenantAccess: { tenant: env.projects.demo } } });
    assert.equal(rm.statusCode, 200);
    fault(await call(env, { method: 'POST', url: '/flavors/fp/action', token: env.admin, body: { removeTenantAccess: { tenant: env.projects.demo } } }), 404, 'itemNotFound');
    // Admin: is_public=false lists private ones only, is_public=None lists all.
    const priv = (await call(env, { url: '/flavors?is_public=false', token: env.admin })).json().flavors.map((f: { id: string }) => f.id);
    assert.deepEqual(priv, ['fp']);
    const all = (await call(env, { url: '/flavors?is_public=None', token: env.admin })).json().flavors.map((f: { id: string }) => f.id);
    assert.ok(all.includes('fp') && all.includes('1'));
    fault(await call(env, { url: '/flavors?is_public=maybe', token: env.admin }), 400, 'badRequest');
  });

  test('create with an integer id (as tempest does): the id is its string; no access for the creating project', async () => {
    const r = await call(env, { method: 'POST', url: '/flavors', token: env.admin, body: { flavor: { name: 'f.int', ram: 64, vcpus: 1, disk: 0, id: 1234567, 'os-flavor-access:is_public': false } } });
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.json().flavor.id, '1234567');
    assert.equal((await call(env, { url: '/flavors/1234567', token: env.admin })).json().flavor.id, '1234567');
    // Nova adds no access for the creator: the private flavor is in no project's default list, not even admin's.
    assert.deepEqual((await call(env, { url: '/flavors/1234567/os-flavor-access', token: env.admin })).json().flavor_access, []);
    assert.ok(!(await call(env, { url: '/flavors', token: env.admin })).json().flavors.some((f: { id: string }) => f.id === '1234567'));
    fault(await call(env, { method: 'POST', url: '/flavors', token: env.admin, body: { flavor: { name: 'f.bad', ram: 64, vcpus: 1, disk: 0, id: true } } }), 400, 'badRequest');
  });

  test('addTenantAccess on a public flavor: 200 below 2.7 (recorded), 409 from 2.7', async () => {
    const old = await call(env, { method: 'POST', url: '/flavors/2/action', token: env.admin, mv: '2.6', body: { addTenantAccess: { tenant: env.projects.alt_demo } } });
    assert.equal(old.statusCode, 200, old.body);
    assert.deepEqual(old.json().flavor_access, [{ flavor_id: '2', tenant_id: env.projects.alt_demo }]);
    assert.equal(fault(await call(env, { method: 'POST', url: '/flavors/2/action', token: env.admin, mv: '2.7', body: { addTenantAccess: { tenant: env.projects.demo } } }), 409, 'conflictingRequest'), 'Can not add access to a public flavor.');
  });

  test('project id in the URL: links carry it; another project id is 400', async () => {
    const r = await call(env, { url: `/compute/v2.1/${env.projects.demo}/flavors/1`, token: env.demo });
    assert.equal(r.statusCode, 200);
    assert.match(r.json().flavor.links[0].href, new RegExp(`/v2\\.1/${env.projects.demo}/flavors/1$`));
    fault(await call(env, { url: `/compute/v2.1/${env.projects.alt_demo}/flavors/1`, token: env.demo }), 400, 'badRequest');
  });
});
