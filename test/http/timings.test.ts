// Timing profiles as a client sees them: a poller that asks for the server once a second (as
// acceptance suites written for devstack do) and records every status it is shown. Under libvirt it
// sees every intermediate status Nova shows; under fake a soft reboot is over before the first poll;
// under instant every action is done as soon as it is accepted. The clock is a manual one, moved a
// second at a time, so the test is exact and fast.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TimingProfile } from '../../src/config.ts';
import { DRIVER_OPS } from '../../src/domain/actions.ts';
import { LIBVIRT_DURATIONS } from '../../src/drivers/simulated.ts';
import { SimulatedBlockDriver } from '../../src/drivers/block.ts';
import { ManualClock } from '../../src/engine/clock.ts';
import { startNovabox, type TestNovabox } from '../helpers/novabox.ts';

const POLL_MS = 1000;

async function cloud(timings: TimingProfile, time_scale = 1): Promise<{ nb: TestNovabox; clock: ManualClock }> {
  const clock = new ManualClock();
  const nb = await startNovabox({ timings, time_scale }, { clock });
  return { nb, clock };
}

async function status(nb: TestNovabox, id: string): Promise<string> {
  const r = await nb.app.inject({ method: 'GET', url: `/compute/v2.1/servers/${id}`, headers: await nb.headers('admin') });
  assert.equal(r.statusCode, 200, r.body);
  return r.json().server.status;
}

/** Send `request`, then poll once a second until `done` is shown; returns every status seen, in order, without repeats. */
async function poll(nb: TestNovabox, clock: ManualClock, request: () => Promise<string>, done: string, limitS = 120): Promise<string[]> {
  const id = await request();
  const seen: string[] = [];
  for (let i = 0; i <= limitS; i++) {
    const st = await status(nb, id);
    if (seen.at(-1) !== st) seen.push(st);
    if (st === done && i > 0) return seen;
    clock.advance(POLL_MS);
    await nb.services.engine.settle();
  }
  assert.fail(`never ${done} after ${limitS} s: ${seen.join(' → ')}`);
}

async function call(nb: TestNovabox, method: 'POST' | 'GET', url: string, body: unknown, user = 'admin', mv = '2.37'): Promise<{ statusCode: number; json(): any; body: string }> {
  return nb.app.inject({ method, url: `/compute/v2.1${url}`, headers: { ...(await nb.headers(user)), 'openstack-api-version': `compute ${mv}`, 'content-type': 'application/json' }, payload: JSON.stringify(body) });
}

async function createServer(nb: TestNovabox): Promise<string> {
  const r = await call(nb, 'POST', '/servers', { server: { name: 'vm1', flavorRef: '1', imageRef: '4fa04c19-09fa-51ff-9872-fac075d1145b', networks: 'none' } });
  assert.equal(r.statusCode, 202, r.body);
  return r.json().server.id;
}

const action = (nb: TestNovabox, id: string, body: unknown, mv?: string) => async () => {
  const r = await call(nb, 'POST', `/servers/${id}/action`, body, 'admin', mv);
  assert.ok(r.statusCode < 300, r.body);
  return id;
};

describe('libvirt timings: a client polling once a second sees every intermediate status', () => {
  it('create, soft and hard reboot, stop/start, rebuild, resize and revert, confirm, live migration, password', async () => {
    const { nb, clock } = await cloud('libvirt');
    try {
      let id = '';
      assert.deepEqual(await poll(nb, clock, async () => (id = await createServer(nb)), 'ACTIVE'), ['BUILD', 'ACTIVE']);
      assert.deepEqual(await poll(nb, clock, action(nb, id, { reboot: { type: 'SOFT' } }), 'ACTIVE'), ['REBOOT', 'ACTIVE']);
      assert.deepEqual(await poll(nb, clock, action(nb, id, { reboot: { type: 'HARD' } }), 'ACTIVE'), ['HARD_REBOOT', 'ACTIVE']);
      assert.deepEqual(await poll(nb, clock, action(nb, id, { 'os-stop': null }), 'SHUTOFF'), ['ACTIVE', 'SHUTOFF']);
      assert.deepEqual(await poll(nb, clock, action(nb, id, { 'os-start': null }), 'ACTIVE'), ['SHUTOFF', 'ACTIVE']);
      assert.deepEqual(await poll(nb, clock, action(nb, id, { rebuild: { imageRef: '4fa04c19-09fa-51ff-9872-fac075d1145b' } }), 'ACTIVE'), ['REBUILD', 'ACTIVE']);
      assert.deepEqual(await poll(nb, clock, action(nb, id, { resize: { flavorRef: '2' } }), 'VERIFY_RESIZE'), ['RESIZE', 'VERIFY_RESIZE']);
      assert.deepEqual(await poll(nb, clock, action(nb, id, { revertResize: null }), 'ACTIVE'), ['REVERT_RESIZE', 'ACTIVE']);
      assert.deepEqual(await poll(nb, clock, action(nb, id, { resize: { flavorRef: '2' } }), 'VERIFY_RESIZE'), ['RESIZE', 'VERIFY_RESIZE']);
      assert.deepEqual(await poll(nb, clock, action(nb, id, { confirmResize: null }), 'ACTIVE'), ['VERIFY_RESIZE', 'ACTIVE']); // the compute confirms it a moment later, as Nova's does
      assert.deepEqual(await poll(nb, clock, action(nb, id, { 'os-migrateLive': { host: null, block_migration: 'auto' } }, '2.25'), 'ACTIVE'), ['MIGRATING', 'ACTIVE']);
      assert.deepEqual(await poll(nb, clock, action(nb, id, { changePassword: { adminPass: 'n3w-Secret' } }), 'ACTIVE'), ['PASSWORD', 'ACTIVE']);
    } finally {
      await nb.close();
    }
  });

  it('every transient status lasts at least two poll intervals', () => {
    const ms = (op: keyof typeof LIBVIRT_DURATIONS) => LIBVIRT_DURATIONS[op]!;
    const spans: Record<string, number> = {
      BUILD: ms('schedule') + ms('allocate_network') + 2 * ms('block_device_mapping') + ms('spawn'),
      REBOOT: 2 * ms('reboot_prepare') + LIBVIRT_DURATIONS['reboot_soft/reboot']!,
      HARD_REBOOT: 2 * ms('reboot_prepare') + ms('reboot'),
      REBUILD: 2 * ms('rebuild_prepare') + ms('rebuild_spawn'),
      RESIZE: ms('migrate_prepare') + ms('migrate_disk') + 2 * ms('finish_resize'),
      REVERT_RESIZE: ms('revert_resize') + ms('finish_revert'),
      MIGRATING: ms('live_migration'),
      PASSWORD: ms('set_admin_password'),
    };
    for (const [st, span] of Object.entries(spans)) assert.ok(span >= 2 * POLL_MS, `${st} lasts ${span} ms`);
  });
});

describe('fake timings (Nova\'s fake driver, as measured)', () => {
  it('a soft reboot is over before a once-a-second poller looks again; create takes about 1.8 s', async () => {
    const { nb, clock } = await cloud('fake');
    try {
      let id = '';
      const walk = await poll(nb, clock, async () => (id = await createServer(nb)), 'ACTIVE');
      assert.deepEqual(walk, ['BUILD', 'ACTIVE']);
      assert.equal(nb.services.driver.duration('spawn', 'create'), DRIVER_OPS.spawn);
      // Sent, then first looked at a second later: REBOOT has come and gone.
      await action(nb, id, { reboot: { type: 'SOFT' } })();
      clock.advance(POLL_MS);
      await nb.services.engine.settle();
      assert.equal(await status(nb, id), 'ACTIVE');
    } finally {
      await nb.close();
    }
  });
});

describe('snapshots under fake timings (what tier3 of npm run conformance uses)', () => {
  it('a createImage lasts as long as Nova\'s fake driver\'s (1.6 s): a second one meanwhile is Nova\'s 409, the image is saving until the upload ends', async () => {
    const { nb, clock } = await cloud('fake');
    try {
      let id = '';
      await poll(nb, clock, async () => (id = await createServer(nb)), 'ACTIVE');
      const snapshot = (name: string) => call(nb, 'POST', `/servers/${id}/action`, { createImage: { name } }, 'admin', '2.45');
      const first = await snapshot('first');
      assert.equal(first.statusCode, 202, first.body);
      const image = first.json().image_id as string;
      const imageStatus = async () => (await nb.app.inject({ method: 'GET', url: `/image/v2/images/${image}`, headers: await nb.headers('admin') })).json().status;
      const total = 2 * DRIVER_OPS.snapshot + 2 * DRIVER_OPS.image_upload;
      // Just before the upload ends: still in progress, so a second snapshot conflicts.
      clock.advance(total - 100);
      await nb.services.engine.settle();
      assert.equal(await imageStatus(), 'saving');
      const second = await snapshot('second');
      assert.equal(second.statusCode, 409, second.body);
      assert.match(second.json().conflictingRequest.message, new RegExp(`^Cannot 'createImage' instance ${id} while it is in task_state image_`));
      clock.advance(100);
      await nb.services.engine.settle();
      assert.equal(await imageStatus(), 'active');
      assert.equal((await snapshot('third')).statusCode, 202);
    } finally {
      await nb.close();
    }
  });
});

describe('instant timings', () => {
  it('every action is done as soon as it is accepted, the clock standing still', async () => {
    const { nb } = await cloud('instant');
    try {
      const id = await createServer(nb);
      await nb.services.engine.settle();
      assert.equal(await status(nb, id), 'ACTIVE');
      await action(nb, id, { reboot: { type: 'SOFT' } })();
      await nb.services.engine.settle();
      assert.equal(await status(nb, id), 'ACTIVE');
      await action(nb, id, { resize: { flavorRef: '2' } })();
      await nb.services.engine.settle();
      assert.equal(await status(nb, id), 'VERIFY_RESIZE');
      // Volumes too.
      assert.equal(new SimulatedBlockDriver(nb.services.driver).duration('create_volume'), 0);
    } finally {
      await nb.close();
    }
  });

  it('the time scale multiplies a profile, and 0 makes any profile instant', async () => {
    const { nb } = await cloud('libvirt', 0.5);
    try {
      assert.equal(nb.services.driver.duration('spawn', 'create'), LIBVIRT_DURATIONS.spawn / 2);
      assert.equal(nb.services.driver.duration('reboot', 'reboot_soft'), LIBVIRT_DURATIONS['reboot_soft/reboot']! / 2);
      nb.services.driver.setTimeScale(0);
      assert.equal(nb.services.driver.duration('spawn', 'create'), 0);
    } finally {
      await nb.close();
    }
  });
});
