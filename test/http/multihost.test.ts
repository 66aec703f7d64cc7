// Moves to a chosen host through the scheduler: cold migration (2.56 host), live migration, evacuate
// and unshelve to a host (2.91); the migrations list and a server's migration records.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { act, boot, call, fault, settle, setup, show, type Env } from './servers-helpers.ts';

let env: Env;
before(async () => {
  env = await setup();
});
after(() => env.close());

const host = async (id: string) => (await show(env, env.admin, id))['OS-EXT-SRV-ATTR:host'] as string;
const other = (h: string) => (h === 'compute-0' ? 'compute-1' : 'compute-0');

test('cold migration to a chosen host (2.56), confirmed; the migration is listed with its hosts', async () => {
  const id = await boot(env, env.demo);
  const from = await host(id);
  fault(await act(env, env.admin, id, { migrate: { host: from } }, '2.56'), 400, 'Cannot migrate to the host where the server exists.');
  fault(await act(env, env.admin, id, { migrate: { host: 'nowhere' } }, '2.56'), 400);
  assert.equal((await act(env, env.admin, id, { migrate: { host: other(from) } }, '2.56')).statusCode, 202);
  await settle(env);
  const s = await show(env, env.admin, id);
  assert.deepEqual([s.status, s['OS-EXT-SRV-ATTR:host']], ['VERIFY_RESIZE', other(from)]);
  assert.equal((await act(env, env.demo, id, { confirmResize: null })).statusCode, 204);
  await settle(env);
  const m = (await call(env, { url: `/os-migrations?instance_uuid=${id}`, token: env.admin, mv: '2.59' })).json().migrations[0];
  assert.deepEqual([m.migration_type, m.source_compute, m.dest_compute, m.status], ['migration', from, other(from), 'confirmed']);
});

test('live migration to a chosen host; a disabled target ends the migration in error and the server stays', async () => {
  const id = await boot(env, env.demo);
  const from = await host(id);
  assert.equal((await act(env, env.admin, id, { 'os-migrateLive': { host: other(from), block_migration: 'auto' } }, '2.25')).statusCode, 202);
  await settle(env);
  assert.deepEqual([(await show(env, env.admin, id)).status, await host(id)], ['ACTIVE', other(from)]);
  await call(env, { method: 'PUT', url: '/os-services/disable', token: env.admin, body: { host: from, binary: 'nova-compute' } });
  // From 2.30 a named host goes through the scheduler unless forced (below, a named host is forced: see the last test);
  // from 2.34 the API no longer waits for the conductor, so the failure is the migration's.
  assert.equal((await act(env, env.admin, id, { 'os-migrateLive': { host: from, block_migration: 'auto' } }, '2.34')).statusCode, 202);
  await settle(env);
  assert.deepEqual([(await show(env, env.admin, id)).status, await host(id)], ['ACTIVE', other(from)]);
  const last = (await call(env, { url: `/os-migrations?instance_uuid=${id}&migration_type=live-migration`, token: env.admin, mv: '2.59' })).json().migrations;
  assert.ok(last.some((m: { status: string }) => m.status === 'error'), JSON.stringify(last));
  await call(env, { method: 'PUT', url: '/os-services/enable', token: env.admin, body: { host: from, binary: 'nova-compute' } });
});

test('evacuate to a chosen host from a forced-down one', async () => {
  const id = await boot(env, env.demo);
  const from = await host(id);
  await call(env, { method: 'PUT', url: '/os-services/force-down', token: env.admin, mv: '2.11', body: { host: from, binary: 'nova-compute', forced_down: true } });
  assert.equal((await act(env, env.admin, id, { evacuate: { host: other(from) } }, '2.29')).statusCode, 200);
  await settle(env);
  assert.deepEqual([(await show(env, env.admin, id)).status, await host(id)], ['ACTIVE', other(from)]);
  await call(env, { method: 'PUT', url: '/os-services/force-down', token: env.admin, mv: '2.11', body: { host: from, binary: 'nova-compute', forced_down: false } });
});

test('unshelve an offloaded server to a chosen host (2.91)', async () => {
  const id = await boot(env, env.demo);
  assert.equal((await act(env, env.demo, id, { shelve: null })).statusCode, 202);
  await settle(env);
  assert.equal((await show(env, env.admin, id)).status, 'SHELVED_OFFLOADED');
  assert.equal((await act(env, env.admin, id, { unshelve: { host: 'compute-1' } }, '2.91')).statusCode, 202);
  await settle(env);
  assert.deepEqual([(await show(env, env.admin, id)).status, await host(id)], ['ACTIVE', 'compute-1']);
});

test('a forced destination skips the scheduler filters (live migration 2.30 force, a host named below 2.30; evacuate 2.29 force)', async () => {
  const id = await boot(env, env.demo);
  const from = await host(id);
  const to = other(from);
  const migrations = async () => (await call(env, { url: `/os-migrations?instance_uuid=${id}`, token: env.admin, mv: '2.59' })).json().migrations as { status: string; migration_type: string }[];
  const setService = (h: string, op: 'disable' | 'enable') => call(env, { method: 'PUT', url: `/os-services/${op}`, token: env.admin, body: { host: h, binary: 'nova-compute' } });
  await setService(to, 'disable');
  try {
    // Through the scheduler (without force, 2.68 where force is gone): the disabled host is filtered out.
    // Below 2.34 the API waits for the conductor's pre-checks: Nova's 400, nothing changes.
    fault(await act(env, env.admin, id, { 'os-migrateLive': { host: to, block_migration: 'auto', force: false } }, '2.30'), 400, 'No valid host was found. There are not enough hosts available.');
    assert.deepEqual([(await show(env, env.admin, id)).status, await host(id)], ['ACTIVE', from]);
    for (const [body, mv] of [[{ host: to, block_migration: 'auto' }, '2.34'], [{ host: to, block_migration: 'auto', force: false }, '2.34'], [{ host: to, block_migration: 'auto' }, '2.68']] as const) {
      const before = (await migrations()).length;
      assert.equal((await act(env, env.admin, id, { 'os-migrateLive': body }, mv)).statusCode, 202);
      await settle(env);
      assert.deepEqual([(await show(env, env.admin, id)).status, await host(id)], ['ACTIVE', from]);
      const ms = await migrations();
      assert.equal(ms.length, before + 1);
      assert.ok(ms.some((m) => m.status === 'error'), JSON.stringify(ms));
    }
    fault(await act(env, env.admin, id, { 'os-migrateLive': { host: to, block_migration: 'auto', force: true } }, '2.68'), 400);
    fault(await act(env, env.admin, id, { 'os-migrateLive': { host: null, block_migration: 'auto', force: true } }, '2.30'), 400, "Can't force to a non-provided destination");
    // Forced: Nova's conductor checks only that the host is up and has room, so the disabled host takes the server.
    assert.equal((await act(env, env.admin, id, { 'os-migrateLive': { host: to, block_migration: 'auto', force: true } }, '2.30')).statusCode, 202);
    await settle(env);
    assert.deepEqual([(await show(env, env.admin, id)).status, await host(id)], ['ACTIVE', to]);
    // Below 2.30 a named host is always forced: a host that is down is refused (synchronously), a disabled one is not.
    await call(env, { method: 'PUT', url: '/os-services/force-down', token: env.admin, mv: '2.11', body: { host: from, binary: 'nova-compute', forced_down: true } });
    fault(await act(env, env.admin, id, { 'os-migrateLive': { host: from, block_migration: false, disk_over_commit: false } }), 400, `Compute service of ${from} is unavailable at this time.`);
    await call(env, { method: 'PUT', url: '/os-services/force-down', token: env.admin, mv: '2.11', body: { host: from, binary: 'nova-compute', forced_down: false } });
    await setService(from, 'disable');
    assert.equal((await act(env, env.admin, id, { 'os-migrateLive': { host: from, block_migration: false, disk_over_commit: false } })).statusCode, 202);
    await settle(env);
    assert.deepEqual([(await show(env, env.admin, id)).status, await host(id)], ['ACTIVE', from]);
    // Evacuate: forced to the disabled host from a forced-down one (2.29); without force the scheduler refuses it.
    fault(await act(env, env.admin, id, { evacuate: { force: true } }, '2.29'), 400, "Can't force to a non-provided destination");
    await call(env, { method: 'PUT', url: '/os-services/force-down', token: env.admin, mv: '2.11', body: { host: from, binary: 'nova-compute', forced_down: true } });
    assert.equal((await act(env, env.admin, id, { evacuate: { host: to } }, '2.29')).statusCode, 200);
    await settle(env);
    // Nova's conductor: NoValidHost on an evacuation leaves the server in ERROR where it was.
    assert.deepEqual([(await show(env, env.admin, id)).status, await host(id)], ['ERROR', from]);
    assert.equal((await act(env, env.admin, id, { evacuate: { host: to, force: true } }, '2.29')).statusCode, 200);
    await settle(env);
    assert.deepEqual([(await show(env, env.admin, id)).status, await host(id)], ['ACTIVE', to]);
    await call(env, { method: 'PUT', url: '/os-services/force-down', token: env.admin, mv: '2.11', body: { host: from, binary: 'nova-compute', forced_down: false } });
  } finally {
    await setService(to, 'enable');
    await setService(from, 'enable');
  }
});
