// The scheduler through the API: server groups (affinity, anti-affinity, max_server_per_host at 2.64,
// soft policies), capacity, requested hosts (2.74), and NoValidHost as an ERROR server with Nova's fault.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { boot, call, settle, show, type Env, setup } from './servers-helpers.ts';

let env: Env;
before(async () => {
  env = await setup();
});
after(() => env.close());

async function group(policy: string, mv = '2.64', rules?: Record<string, number>): Promise<string> {
  const body = mv === '2.1' ? { server_group: { name: `g-${policy}`, policies: [policy] } } : { server_group: { name: `g-${policy}`, policy, ...(rules ? { rules } : {}) } };
  const r = await call(env, { method: 'POST', url: '/os-server-groups', token: env.demo, mv, body });
  assert.equal(r.statusCode, 200, r.body);
  return r.json().server_group.id;
}

async function member(g: string): Promise<Record<string, any>> {
  const r = await call(env, { method: 'POST', url: '/servers', token: env.demo, body: { server: { name: 'm', imageRef: env.imageId, flavorRef: '1' }, 'os:scheduler_hints': { group: g } } });
  assert.equal(r.statusCode, 202, r.body);
  await settle(env);
  return show(env, env.admin, r.json().server.id);
}

const cleanup = async (ids: string[]) => {
  for (const id of ids) await call(env, { method: 'DELETE', url: `/servers/${id}`, token: env.admin });
  await settle(env);
};

describe('scheduler', () => {
  test('affinity: every member on the first member\'s host', async () => {
    const g = await group('affinity', '2.1');
    const a = await member(g);
    const b = await member(g);
    const c = await member(g);
    assert.deepEqual([a.status, b.status, c.status], ['ACTIVE', 'ACTIVE', 'ACTIVE']);
    assert.equal(b['OS-EXT-SRV-ATTR:host'], a['OS-EXT-SRV-ATTR:host']);
    assert.equal(c['OS-EXT-SRV-ATTR:host'], a['OS-EXT-SRV-ATTR:host']);
    await cleanup([a.id, b.id, c.id]);
  });

  test('anti-affinity: one member per host; the third of two hosts ends in ERROR with NoValidHost', async () => {
    const g = await group('anti-affinity', '2.1');
    const a = await member(g);
    const b = await member(g);
    assert.notEqual(a['OS-EXT-SRV-ATTR:host'], b['OS-EXT-SRV-ATTR:host']);
    const c = await member(g);
    assert.equal(c.status, 'ERROR');
    assert.equal(c['OS-EXT-SRV-ATTR:host'], null);
    assert.deepEqual([c.fault.code, c.fault.message], [500, 'No valid host was found. There are not enough hosts available.']);
    await cleanup([a.id, b.id, c.id]);
  });

  test('anti-affinity with max_server_per_host 2 (2.64): two per host', async () => {
    const g = await group('anti-affinity', '2.64', { max_server_per_host: 2 });
    const placed = [];
    for (let i = 0; i < 5; i++) placed.push(await member(g));
    const hosts = placed.slice(0, 4).map((s) => s['OS-EXT-SRV-ATTR:host']).sort();
    assert.deepEqual(hosts, ['compute-0', 'compute-0', 'compute-1', 'compute-1']);
    assert.equal(placed[4].status, 'ERROR');
    await cleanup(placed.map((s) => s.id));
  });

  test('soft-anti-affinity spreads but never refuses', async () => {
    const g = await group('soft-anti-affinity');
    const placed = [];
    for (let i = 0; i < 3; i++) placed.push(await member(g));
    assert.deepEqual(placed.map((s) => s.status), ['ACTIVE', 'ACTIVE', 'ACTIVE']);
    assert.notEqual(placed[0]['OS-EXT-SRV-ATTR:host'], placed[1]['OS-EXT-SRV-ATTR:host']);
    await cleanup(placed.map((s) => s.id));
  });

  test('a flavor bigger than every host: ERROR with NoValidHost', async () => {
    const f = await call(env, { method: 'POST', url: '/flavors', token: env.admin, body: { flavor: { name: 'huge', ram: 1_000_000, vcpus: 1, disk: 1, id: 'huge' } } });
    assert.equal(f.statusCode, 200, f.body);
    await call(env, { method: 'PUT', url: `/os-quota-sets/${env.projects.demo}`, token: env.admin, body: { quota_set: { ram: -1 } } });
    const id = await boot(env, env.demo, { flavorRef: 'huge' });
    const s = await show(env, env.admin, id);
    assert.deepEqual([s.status, s.fault.message], ['ERROR', 'No valid host was found. There are not enough hosts available.']);
    await cleanup([id]);
  });

  test('2.74: a requested host is where the server lands; a disabled one is NoValidHost', async () => {
    const id = await boot(env, env.admin, { host: 'compute-1' }, '2.74');
    assert.equal((await show(env, env.admin, id))['OS-EXT-SRV-ATTR:host'], 'compute-1');
    await call(env, { method: 'PUT', url: '/os-services/disable', token: env.admin, body: { host: 'compute-1', binary: 'nova-compute' } });
    const bad = await boot(env, env.admin, { host: 'compute-1' }, '2.74');
    assert.equal((await show(env, env.admin, bad)).status, 'ERROR');
    await call(env, { method: 'PUT', url: '/os-services/enable', token: env.admin, body: { host: 'compute-1', binary: 'nova-compute' } });
    await cleanup([id, bad]);
  });
});
