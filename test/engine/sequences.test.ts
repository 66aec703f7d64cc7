// Each action's full sequence of observed statuses, step by step, matches what a client polling
// Nova sees (reference §3), and the raw states at the end are Nova's.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { makeEngine, ctx, ADMIN, DEMO, createRequest, walk, statusNow, type Harness } from './harness.ts';
import type { ActionName } from '../../src/domain/actions.ts';

async function to(h: Harness, uuid: string, action: ActionName, params: Record<string, unknown> = {}, who = DEMO): Promise<string[]> {
  if (action === 'delete') await h.engine.delete(ctx(who), uuid);
  else await h.engine.act(ctx(who), uuid, action, params);
  return walk(h, uuid);
}

describe('status sequences', () => {
  let h: Harness;
  let uuid: string;
  before(async () => {
    h = await makeEngine({ config: { quota_defaults: { instances: -1, cores: -1, ram: -1 } } });
    const [s] = await h.engine.create(ctx(DEMO), await createRequest(h));
    uuid = s.uuid;
  });
  after(() => h.close());

  test('create: BUILD → ACTIVE, with Nova’s build task states in order', async () => {
    const tasks: (string | null)[] = [];
    for (;;) {
      const s = (await h.engine.store.getServer(uuid))!;
      tasks.push(s.task_state);
      if (!(await h.engine.transitions.runOne())) break;
    }
    assert.deepEqual(tasks, ['scheduling', null, 'networking', 'block_device_mapping', 'spawning', null]);
    const s = (await h.engine.store.getServer(uuid))!;
    assert.equal(s.vm_state, 'active');
    assert.equal(s.power_state, 1);
    assert.ok(s.launched_at && s.host);
  });

  const cases: [string, ActionName, Record<string, unknown>, string[], ('admin' | 'demo')?][] = [
    ['reboot SOFT', 'reboot_soft', {}, ['REBOOT', 'ACTIVE']],
    ['reboot HARD', 'reboot_hard', {}, ['HARD_REBOOT', 'ACTIVE']],
    ['stop', 'stop', {}, ['ACTIVE', 'SHUTOFF']],
    ['hard reboot from SHUTOFF', 'reboot_hard', {}, ['SHUTOFF', 'ACTIVE']],
    ['pause', 'pause', {}, ['ACTIVE', 'PAUSED']],
    ['unpause', 'unpause', {}, ['PAUSED', 'ACTIVE']],
    ['suspend', 'suspend', {}, ['ACTIVE', 'SUSPENDED']],
    ['resume', 'resume', {}, ['SUSPENDED', 'ACTIVE']],
    ['rescue', 'rescue', {}, ['ACTIVE', 'RESCUE']],
    ['unrescue', 'unrescue', {}, ['RESCUE', 'ACTIVE']],
    ['rebuild', 'rebuild', { image_ref: 'img-2' }, ['REBUILD', 'ACTIVE']],
    ['change password', 'changePassword', { admin_pass: 'n3w' }, ['PASSWORD', 'ACTIVE']],
    ['createImage keeps the status', 'createImage', { name: 'snap' }, ['ACTIVE']],
    ['shelve with offload time 0', 'shelve', {}, ['ACTIVE', 'SHELVED', 'SHELVED_OFFLOADED']],
    ['unshelve from offloaded', 'unshelve', {}, ['SHELVED_OFFLOADED', 'ACTIVE']],
    ['live migration', 'live_migrate', {}, ['MIGRATING', 'ACTIVE'], 'admin'],
    ['cold migration', 'migrate', {}, ['RESIZE', 'VERIFY_RESIZE'], 'admin'],
    ['confirm the migration', 'confirmResize', {}, ['VERIFY_RESIZE', 'ACTIVE']],
    ['stop before a resize', 'stop', {}, ['ACTIVE', 'SHUTOFF']],
    ['rebuild a stopped server stays stopped', 'rebuild', { image_ref: 'img-1' }, ['REBUILD', 'ACTIVE', 'SHUTOFF']],
    ['start', 'start', {}, ['SHUTOFF', 'ACTIVE']],
    ['stop from ERROR', 'resetState', { state: 'error' }, ['ERROR'], 'admin'],
    ['…', 'stop', {}, ['ERROR', 'SHUTOFF']],
    ['start again', 'start', {}, ['SHUTOFF', 'ACTIVE']],
  ];
  for (const [name, action, params, want, who] of cases) {
    test(name, async () => {
      assert.deepEqual(await to(h, uuid, action, params, who === 'admin' ? ADMIN : DEMO), want);
      const s = (await h.engine.store.getServer(uuid))!;
      assert.equal(s.task_state, null);
    });
  }

  test('resize: ACTIVE → RESIZE → VERIFY_RESIZE, confirm → ACTIVE on the new flavor', async () => {
    const from = (await h.engine.store.getServer(uuid))!;
    const flavor = (await h.engine.store.getFlavor(from.flavor.flavorid === '84' ? '1' : '84'))!;
    assert.deepEqual(await to(h, uuid, 'resize', { flavor }), ['RESIZE', 'VERIFY_RESIZE']);
    let s = (await h.engine.store.getServer(uuid))!;
    assert.equal(s.flavor.flavorid, flavor.flavorid);
    assert.notEqual(s.host, from.host);
    assert.deepEqual(await to(h, uuid, 'confirmResize'), ['VERIFY_RESIZE', 'ACTIVE']);
    s = (await h.engine.store.getServer(uuid))!;
    assert.equal(s.old_flavor, null);
    const [m] = await h.engine.listMigrations({ server_uuid: uuid });
    assert.equal(m.status, 'confirmed');
  });

  test('resize of a stopped server, then revert: VERIFY_RESIZE → REVERT_RESIZE → SHUTOFF on the old flavor', async () => {
    await to(h, uuid, 'stop');
    const before = (await h.engine.store.getServer(uuid))!;
    const flavor = (await h.engine.store.getFlavor(before.flavor.flavorid === '84' ? '1' : '84'))!;
    assert.deepEqual(await to(h, uuid, 'resize', { flavor }), ['RESIZE', 'VERIFY_RESIZE']);
    assert.deepEqual(await to(h, uuid, 'revertResize'), ['REVERT_RESIZE', 'SHUTOFF']);
    const s = (await h.engine.store.getServer(uuid))!;
    assert.equal(s.flavor.flavorid, before.flavor.flavorid);
    assert.equal(s.host, before.host);
    assert.equal(s.power_state, 4);
    await to(h, uuid, 'start');
  });

  test('delete: the server is gone (DELETED) and its record keeps terminated_at', async () => {
    const [s] = await h.engine.create(ctx(DEMO), await createRequest(h));
    await h.engine.settle();
    assert.deepEqual(await to(h, s.uuid, 'delete'), ['ACTIVE', 'DELETED']);
    const gone = (await h.engine.store.getServer(s.uuid))!;
    assert.equal(gone.vm_state, 'deleted');
    assert.ok(gone.terminated_at);
    await assert.rejects(h.engine.getServer(ctx(DEMO), s.uuid), { code: 404 });
  });

  test('instance actions and events are recorded with the request id', async () => {
    const c = ctx(DEMO);
    await h.engine.act(c, uuid, 'stop');
    await h.engine.settle();
    const a = await h.engine.getAction(c, uuid, c.request_id);
    assert.ok(a);
    assert.equal(a.action, 'stop');
    assert.equal(a.user_id, DEMO.user_id);
    assert.ok(a.finish_time);
    assert.deepEqual(a.events.map((e) => [e.event, e.result]), [['compute_stop_instance', 'Success']]);
    const all = await h.engine.listActions(c, uuid);
    assert.equal(all[0].action, 'stop');
    assert.equal(all[all.length - 1].action, 'create');
    await to(h, uuid, 'start');
  });
});

describe('soft delete and reclaim', () => {
  test('with a reclaim interval, delete soft-deletes, restore brings it back, and the interval reclaims it', async () => {
    const h = await makeEngine({ config: { reclaim_instance_interval: 60 } });
    try {
      const [s] = await h.engine.create(ctx(DEMO), await createRequest(h));
      await h.engine.settle();
      await h.engine.delete(ctx(DEMO), s.uuid);
      assert.deepEqual(await walk(h, s.uuid), ['ACTIVE', 'SOFT_DELETED']);
      assert.equal((await h.engine.store.getServer(s.uuid))!.power_state, 4);
      await h.engine.act(ctx(DEMO), s.uuid, 'restore');
      assert.deepEqual(await walk(h, s.uuid), ['SOFT_DELETED', 'ACTIVE']);
      await h.engine.delete(ctx(DEMO), s.uuid);
      await h.engine.settle();
      assert.equal(await statusNow(h, s.uuid), 'SOFT_DELETED');
      h.clock.advance(59_000);
      await h.engine.settle();
      assert.equal(await statusNow(h, s.uuid), 'SOFT_DELETED');
      h.clock.advance(1_000);
      await h.engine.settle();
      assert.equal(await statusNow(h, s.uuid), 'DELETED');
    } finally {
      await h.close();
    }
  });

  test('shelved_offload_time > 0 leaves SHELVED until the offload time passes', async () => {
    const h = await makeEngine({ config: { shelved_offload_time: 30 } });
    try {
      const [s] = await h.engine.create(ctx(DEMO), await createRequest(h));
      await h.engine.settle();
      await h.engine.act(ctx(DEMO), s.uuid, 'shelve');
      await h.engine.settle();
      assert.equal(await statusNow(h, s.uuid), 'SHELVED');
      h.clock.advance(30_000);
      await h.engine.settle();
      assert.equal(await statusNow(h, s.uuid), 'SHELVED_OFFLOADED');
      assert.equal((await h.engine.store.getServer(s.uuid))!.host, null);
    } finally {
      await h.close();
    }
  });
});

describe('faults', () => {
  test('a failed spawn leaves ERROR with a fault and a failed event', async () => {
    const h = await makeEngine();
    try {
      h.driver.inject({ action: 'create', op: 'spawn', message: 'Build of instance aborted: disk full' });
      const c = ctx(DEMO);
      const [s] = await h.engine.create(c, await createRequest(h));
      await h.engine.settle();
      assert.equal(await statusNow(h, s.uuid), 'ERROR');
      const f = (await h.engine.faults([s.uuid])).get(s.uuid)!;
      assert.equal(f.code, 500);
      assert.equal(f.message, 'Build of instance aborted: disk full');
      const a = (await h.engine.getAction(c, s.uuid, c.request_id))!;
      assert.equal(a.message, 'Error');
      assert.ok(a.events.some((e) => e.result === 'Error'));
    } finally {
      await h.close();
    }
  });

  test('no valid host at create: ERROR with NoValidHost', async () => {
    const h = await makeEngine();
    try {
      for (const host of h.config.hosts) await h.engine.setHost(host.name, { disabled: true });
      const [s] = await h.engine.create(ctx(DEMO), await createRequest(h));
      await h.engine.settle();
      assert.equal(await statusNow(h, s.uuid), 'ERROR');
      assert.equal((await h.engine.faults([s.uuid])).get(s.uuid)!.message, 'No valid host was found. There are not enough hosts available.');
    } finally {
      await h.close();
    }
  });

  test('a failed pause rolls back to ACTIVE (fault kept, not ERROR)', async () => {
    const h = await makeEngine();
    try {
      const [s] = await h.engine.create(ctx(DEMO), await createRequest(h));
      await h.engine.settle();
      h.driver.inject({ action: 'pause', op: 'pause' });
      await h.engine.act(ctx(DEMO), s.uuid, 'pause');
      await h.engine.settle();
      assert.equal(await statusNow(h, s.uuid), 'ACTIVE');
      assert.ok((await h.engine.faults([s.uuid])).get(s.uuid));
    } finally {
      await h.close();
    }
  });

  test('a resize that cannot be scheduled goes back to ACTIVE; a failed disk copy goes to ERROR', async () => {
    const h = await makeEngine();
    try {
      const [s] = await h.engine.create(ctx(DEMO), await createRequest(h));
      await h.engine.settle();
      h.driver.inject({ action: 'resize', op: 'migrate_prepare' });
      await h.engine.act(ctx(DEMO), s.uuid, 'resize', { flavor: await h.engine.store.getFlavor('84') });
      await h.engine.settle();
      assert.equal(await statusNow(h, s.uuid), 'ACTIVE');
      assert.equal((await h.engine.store.getServer(s.uuid))!.flavor.flavorid, '42');
      h.driver.inject({ action: 'resize', op: 'migrate_disk' });
      await h.engine.act(ctx(DEMO), s.uuid, 'resize', { flavor: await h.engine.store.getFlavor('84') });
      await h.engine.settle();
      assert.equal(await statusNow(h, s.uuid), 'ERROR');
    } finally {
      await h.close();
    }
  });

  test('the guest shuts itself down: power sync makes it SHUTOFF', async () => {
    const h = await makeEngine();
    try {
      const [s] = await h.engine.create(ctx(DEMO), await createRequest(h));
      await h.engine.settle();
      await h.engine.guestEvent(s.uuid, 'shutdown');
      assert.deepEqual(await walk(h, s.uuid), ['ACTIVE', 'SHUTOFF']);
      const after = (await h.engine.store.getServer(s.uuid))!;
      assert.equal(after.power_state, 4);
    } finally {
      await h.close();
    }
  });

  test('host down: steps wait for the host, delete is local, host_status is UNKNOWN', async () => {
    const h = await makeEngine();
    try {
      const [a, b] = await h.engine.create(ctx(DEMO), await createRequest(h, { min_count: 2, max_count: 2 }));
      await h.engine.settle();
      const host = (await h.engine.store.getServer(a.uuid))!.host!;
      await h.engine.setHost(host, { up: false });
      assert.equal(await h.engine.hostStatus(host), 'UNKNOWN');
      await h.engine.act(ctx(DEMO), a.uuid, 'stop');
      await h.engine.settle();
      assert.equal((await h.engine.store.getServer(a.uuid))!.task_state, 'powering-off');
      await h.engine.setHost(host, { up: true });
      h.clock.advance(1000);
      await h.engine.settle();
      assert.equal(await statusNow(h, a.uuid), 'SHUTOFF');
      const hostB = (await h.engine.store.getServer(b.uuid))!.host!;
      await h.engine.setHost(hostB, { forced_down: true });
      await h.engine.delete(ctx(DEMO), b.uuid);
      assert.equal(await statusNow(h, b.uuid), 'DELETED');
    } finally {
      await h.close();
    }
  });
});

describe('live migration control', () => {
  test('abort cancels a running live migration; force_complete finishes it at once', async () => {
    const h = await makeEngine({ config: { time_scale: 1 } });
    try {
      const [s] = await h.engine.create(ctx(DEMO), await createRequest(h));
      h.clock.advance(10_000);
      await h.engine.settle();
      assert.equal(await statusNow(h, s.uuid), 'ACTIVE');
      const host = (await h.engine.store.getServer(s.uuid))!.host;
      await h.engine.act(ctx(ADMIN), s.uuid, 'live_migrate');
      h.clock.advance(600);
      await h.engine.settle();
      let [m] = await h.engine.listMigrations({ server_uuid: s.uuid });
      assert.equal(m.status, 'running');
      await assert.rejects(h.engine.controlLiveMigration(ctx(DEMO), s.uuid, m.id, 'abort'), { code: 403 });
      await h.engine.controlLiveMigration(ctx(ADMIN), s.uuid, m.id, 'abort');
      assert.equal(await statusNow(h, s.uuid), 'ACTIVE');
      [m] = await h.engine.listMigrations({ server_uuid: s.uuid });
      assert.equal(m.status, 'cancelled');
      assert.equal((await h.engine.store.getServer(s.uuid))!.host, host);
      await assert.rejects(h.engine.controlLiveMigration(ctx(ADMIN), s.uuid, m.id, 'force_complete'), { code: 409 });

      await h.engine.act(ctx(ADMIN), s.uuid, 'live_migrate');
      h.clock.advance(600);
      await h.engine.settle();
      [m] = await h.engine.listMigrations({ server_uuid: s.uuid });
      await h.engine.controlLiveMigration(ctx(ADMIN), s.uuid, m.id, 'force_complete');
      await h.engine.settle();
      assert.equal(await statusNow(h, s.uuid), 'MIGRATING'); // the final step still takes its time
      h.clock.advance(600);
      await h.engine.settle();
      assert.equal(await statusNow(h, s.uuid), 'ACTIVE');
      assert.notEqual((await h.engine.store.getServer(s.uuid))!.host, host);
    } finally {
      await h.close();
    }
  });
});
