// Version documents, microversion negotiation errors, the 2.102–2.104 boundaries and the body-size limit.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { boot, call, settle, setup, show, type Env } from './servers-helpers.ts';

let env: Env;
before(async () => {
  env = await setup();
});
after(() => env?.close());

const ADDITIONAL = (k: string) => ({ badRequest: { code: 400, message: `Additional properties are not allowed ('${k}' was unexpected)` } });

async function serverCount(): Promise<number> {
  return (await call(env, { url: '/servers/detail?all_tenants=1', token: env.admin })).json().servers.length;
}

test('GET /compute/ lists v2.0 first and v2.1 at 2.104, without authentication or version headers', async () => {
  const r = await call(env, { url: '/compute/' });
  assert.equal(r.statusCode, 200);
  const versions = r.json().versions;
  assert.equal(versions[0].id, 'v2.0');
  assert.deepEqual({ ...versions[1], links: undefined }, { id: 'v2.1', status: 'CURRENT', version: '2.104', min_version: '2.1', updated: '2013-07-23T11:33:21Z', links: undefined });
  assert.match(versions[1].links[0].href, /\/compute\/v2\.1\/$/);
  assert.equal(r.headers['openstack-api-version'], undefined);
});

test('GET /compute/v2.1 and /compute/v2.1/ answer the version document without a token, with version headers', async () => {
  for (const url of ['/compute/v2.1', '/compute/v2.1/']) {
    const r = await call(env, { url });
    assert.equal(r.statusCode, 200, url);
    const v = r.json().version;
    assert.equal(v.version, '2.104');
    assert.equal(v.min_version, '2.1');
    assert.deepEqual(v['media-types'], [{ base: 'application/json', type: 'application/vnd.openstack.compute+json;version=2.1' }]);
    assert.equal(r.headers['openstack-api-version'], 'compute 2.1');
    assert.equal(r.headers['x-openstack-nova-api-version'], '2.1');
    assert.match(String(r.headers.vary), /OpenStack-API-Version/);
  }
  const latest = await call(env, { url: '/compute/v2.1/', mv: 'latest' });
  assert.equal(latest.headers['openstack-api-version'], 'compute 2.104');
});

test('a version above 2.104 is 406 with the requested version echoed; a malformed one is 400', async () => {
  const high = await call(env, { url: '/servers', token: env.demo, mv: '2.105' });
  assert.equal(high.statusCode, 406);
  assert.deepEqual(high.json(), { computeFault: { code: 406, message: 'Version 2.105 is not supported by the API. Minimum is 2.1 and maximum is 2.104.' } });
  assert.equal(high.headers['openstack-api-version'], 'compute 2.105');
  assert.equal(high.headers['x-openstack-nova-api-version'], '2.105');
  assert.match(String(high.headers['x-openstack-request-id']), /^req-/);
  const legacy = await call(env, { url: '/servers', token: env.demo, headers: { 'x-openstack-nova-api-version': '3.0' } });
  assert.equal(legacy.statusCode, 406);
  const bad = await call(env, { url: '/servers', token: env.demo, mv: '2.01' });
  assert.equal(bad.statusCode, 400);
  assert.deepEqual(bad.json(), { badRequest: { code: 400, message: 'API Version String 2.01 is of invalid format. Must be of format MajorNum.MinorNum.' } });
  assert.equal(bad.headers['openstack-api-version'], 'compute 2.1');
  const top = await call(env, { url: '/servers', token: env.demo, mv: '2.104' });
  assert.equal(top.statusCode, 200);
  assert.equal(top.headers['x-openstack-nova-api-version'], '2.104');
});

test('from 2.102 GETs that take no query parameters refuse unknown ones; 2.101 ignores them', async () => {
  const id = await boot(env, env.demo, { name: 'mv-query' });
  const req = (await call(env, { url: `/servers/${id}/os-instance-actions`, token: env.demo })).json().instanceActions[0].request_id;
  const group = (await call(env, { method: 'POST', url: '/os-server-groups', token: env.demo, body: { server_group: { name: 'g', policies: ['affinity'] } } })).json().server_group.id;
  const urls = [
    `/servers/${id}`, `/servers/${id}/ips`, `/servers/${id}/ips/private`, `/servers/${id}/metadata`,
    `/servers/${id}/os-instance-actions/${req}`, `/servers/${id}/os-server-password`, '/flavors/1', '/flavors/1/os-extra_specs',
    '/os-availability-zone', `/os-server-groups/${group}`,
  ];
  for (const url of urls) {
    const old = await call(env, { url: `${url}?foo=1`, token: env.demo, mv: '2.101' });
    assert.equal(old.statusCode, 200, `${url} at 2.101: ${old.body}`);
    const now = await call(env, { url: `${url}?foo=1`, token: env.demo, mv: '2.102' });
    assert.equal(now.statusCode, 400, `${url} at 2.102`);
    assert.deepEqual(now.json(), ADDITIONAL('foo'), url);
    assert.equal((await call(env, { url, token: env.demo, mv: '2.102' })).statusCode, 200, `${url} without a query`);
  }
  for (const url of ['/os-availability-zone/detail', `/servers/${id}/diagnostics`, '/os-hypervisors/detail']) {
    assert.equal((await call(env, { url: `${url}?foo=1`, token: env.admin, mv: '2.102' })).statusCode, 400, url);
  }
  const two = await call(env, { url: `/servers/${id}?b=1&a=2`, token: env.demo, mv: '2.102' });
  assert.equal(two.json().badRequest.message, "Additional properties are not allowed ('a', 'b' were unexpected)");
});

test('limits refuse unknown query parameters from 2.75 but accept tenant_id', async () => {
  assert.equal((await call(env, { url: '/limits?foo=1', token: env.demo, mv: '2.74' })).statusCode, 200);
  const r = await call(env, { url: '/limits?foo=1', token: env.demo, mv: '2.75' });
  assert.deepEqual([r.statusCode, r.json()], [400, ADDITIONAL('foo')]);
  assert.equal((await call(env, { url: `/limits?tenant_id=${env.projects.demo}`, token: env.demo, mv: '2.75' })).statusCode, 200);
});

test('2.102 flavors: no rxtx_factor or disabled, a name filter, rxtx_factor refused on create', async () => {
  const old = (await call(env, { url: '/flavors/1', token: env.demo, mv: '2.101' })).json().flavor;
  assert.ok('rxtx_factor' in old && 'OS-FLV-DISABLED:disabled' in old);
  const now = (await call(env, { url: '/flavors/1', token: env.demo, mv: '2.102' })).json().flavor;
  assert.ok(!('rxtx_factor' in now) && !('OS-FLV-DISABLED:disabled' in now));
  const detail = (await call(env, { url: '/flavors/detail', token: env.demo, mv: '2.102' })).json().flavors;
  assert.ok(detail.every((f: Record<string, unknown>) => !('rxtx_factor' in f)));

  const named = await call(env, { url: '/flavors?name=^m1\\.(tiny|small)$', token: env.demo, mv: '2.102' });
  assert.deepEqual(named.json().flavors.map((f: { name: string }) => f.name).sort(), ['m1.small', 'm1.tiny']);
  const before = await call(env, { url: '/flavors?name=m1.tiny', token: env.demo, mv: '2.101' });
  assert.deepEqual([before.statusCode, before.json()], [400, ADDITIONAL('name')]);
  const sortRxtx = await call(env, { url: '/flavors?sort_key=rxtx_factor', token: env.demo, mv: '2.102' });
  assert.equal(sortRxtx.statusCode, 400);
  assert.equal((await call(env, { url: '/flavors?sort_key=rxtx_factor', token: env.demo, mv: '2.101' })).statusCode, 200);

  const flavor = (id: string) => ({ flavor: { name: id, id, ram: 64, vcpus: 1, disk: 0, rxtx_factor: 2.0 } });
  const refused = await call(env, { method: 'POST', url: '/flavors', token: env.admin, mv: '2.102', body: flavor('mv-rxtx-new') });
  assert.equal(refused.statusCode, 400);
  assert.match(refused.json().badRequest.message, /'rxtx_factor' was unexpected/);
  assert.equal((await call(env, { url: '/flavors/mv-rxtx-new', token: env.admin })).statusCode, 404);
  assert.equal((await call(env, { method: 'POST', url: '/flavors', token: env.admin, mv: '2.101', body: flavor('mv-rxtx-old') })).statusCode, 200);
});

test('/os-volumes_boot is the servers API up to 2.102 and gone (404) from 2.103', async () => {
  const id = await boot(env, env.demo, { name: 'mv-boot-alias' });
  const list = await call(env, { url: '/os-volumes_boot', token: env.demo, mv: '2.102' });
  assert.equal(list.statusCode, 200);
  assert.ok(list.json().servers.some((s: { id: string }) => s.id === id));
  assert.equal((await call(env, { url: `/os-volumes_boot/${id}`, token: env.demo, mv: '2.102' })).json().server.id, id);
  const count = await serverCount();
  for (const [method, url] of [['GET', '/os-volumes_boot'], ['GET', '/os-volumes_boot/detail'], ['GET', `/os-volumes_boot/${id}`], ['DELETE', `/os-volumes_boot/${id}`], ['POST', '/os-volumes_boot']] as const) {
    const body = method === 'POST' ? { server: { name: 'x', imageRef: env.imageId, flavorRef: '1', networks: 'auto' } } : undefined;
    const r = await call(env, { method, url, token: env.demo, mv: '2.103', body });
    assert.deepEqual([r.statusCode, r.json()], [404, { itemNotFound: { code: 404, message: 'The resource could not be found.' } }], `${method} ${url}`);
  }
  await settle(env);
  assert.equal(await serverCount(), count);
  assert.equal((await show(env, env.demo, id)).status, 'ACTIVE');
});

test('2.104 PUT pinned_availability_zone: unpin with null, re-pin only to the current zone, never switch directly', async () => {
  const id = await boot(env, env.demo, { name: 'mv-pin', availability_zone: 'nova' });
  const put = (z: unknown, mv = '2.104') => call(env, { method: 'PUT', url: `/servers/${id}`, token: env.demo, mv, body: { server: { pinned_availability_zone: z } } });
  const pinned = async () => (await show(env, env.demo, id, '2.104')).pinned_availability_zone;
  assert.equal(await pinned(), 'nova');

  const old = await put(null, '2.103');
  assert.equal(old.statusCode, 400);
  assert.match(old.json().badRequest.message, /'pinned_availability_zone' was unexpected/);

  const same = await put('nova');
  assert.equal(same.statusCode, 200);
  assert.equal(same.json().server.pinned_availability_zone, 'nova');
  const change = await put('elsewhere');
  assert.deepEqual([change.statusCode, change.json()], [409, { conflictingRequest: { code: 409, message: 'Cannot change pinned availability zone directly. Unpin first by setting pinned_availability_zone to null.' } }]);
  assert.equal(await pinned(), 'nova');

  assert.equal((await put(null)).statusCode, 200);
  assert.equal(await pinned(), null);
  const wrong = await put('elsewhere');
  assert.deepEqual([wrong.statusCode, wrong.json()], [409, { conflictingRequest: { code: 409, message: "Server can only be pinned to its current availability zone 'nova', but 'elsewhere' was requested." } }]);
  assert.equal(await pinned(), null);
  assert.equal((await put('nova')).statusCode, 200);
  assert.equal(await pinned(), 'nova');
  assert.equal((await put(42)).statusCode, 400);
});

test('a body over 114688 bytes is 413 with a JSON fault and changes nothing', async () => {
  const count = await serverCount();
  const body = { server: { name: 'big', imageRef: env.imageId, flavorRef: '1', metadata: { pad: 'x'.repeat(200) }, user_data: Buffer.from('y'.repeat(120000)).toString('base64') } };
  const r = await call(env, { method: 'POST', url: '/servers', token: env.demo, body });
  assert.equal(r.statusCode, 413);
  assert.match(String(r.headers['content-type']), /^application\/json/);
  const fault = r.json().overLimit;
  assert.deepEqual(fault, { code: 413, message: 'Request is too large. Larger than max_request_body_size (114688).' });
  assert.equal(r.headers['x-openstack-nova-api-version'], '2.1');
  await settle(env);
  assert.equal(await serverCount(), count);
  // Just under the limit is parsed (and refused for its content, not its size).
  const fits = await call(env, { method: 'POST', url: '/servers', token: env.demo, body: { server: { name: 'fits', flavorRef: '1', imageRef: env.imageId, pad: 'z'.repeat(100000) } } });
  assert.equal(fits.statusCode, 400);
});
