// The store is closed in the middle of actions and reopened: every server finishes its action or
// is recovered as Nova's compute does on start-up (reference §8); none stays in a task state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeEngine, ctx, DEMO, ADMIN, createRequest, statusNow, MemoryImages, type Harness } from './harness.ts';
import { ManualClock } from '../../src/engine/clock.ts';
import type { ActionName } from '../../src/domain/actions.ts';
import { recoveryFor } from '../../src/engine/recovery.ts';

interface Scenario {
  name: string;
  action: ActionName | 'create';
  params?: Record<string, unknown>;
  /** Steps applied before the "crash". */
  steps: number;
  /** Status and task_state when the store closes. */
  at: [string, string | null];
  /** Status after restart and recovery. */
  after: string;
}

const SCENARIOS: Scenario[] = [
  { name: 'create interrupted while networking', action: 'create', steps: 2, at: ['BUILD', 'networking'], after: 'ERROR' },
  { name: 'stop interrupted (powering-off) is retried', action: 'stop', steps: 0, at: ['ACTIVE', 'powering-off'], after: 'SHUTOFF' },
  { name: 'soft reboot pending is rebooted again', action: 'reboot_soft', steps: 1, at: ['REBOOT', 'reboot_pending'], after: 'ACTIVE' },
  { name: 'hard reboot started is rebooted again', action: 'reboot_hard', steps: 2, at: ['HARD_REBOOT', 'reboot_started_hard'], after: 'ACTIVE' },
  { name: 'rebuild interrupted goes to ERROR', action: 'rebuild', params: { image_ref: 'img-2' }, steps: 1, at: ['REBUILD', 'rebuild_block_device_mapping'], after: 'ERROR' },
  { name: 'snapshot interrupted clears the task', action: 'createImage', params: { name: 's' }, steps: 2, at: ['ACTIVE', 'image_pending_upload'], after: 'ACTIVE' },
  { name: 'resize while migrating is reverted on the host', action: 'resize', steps: 1, at: ['RESIZE', 'resize_migrating'], after: 'ACTIVE' },
  { name: 'pausing with the guest running clears to ACTIVE', action: 'pause', steps: 0, at: ['ACTIVE', 'pausing'], after: 'ACTIVE' },
  { name: 'suspending (Nova leaves it stuck) resumes', action: 'suspend', steps: 0, at: ['ACTIVE', 'suspending'], after: 'SUSPENDED' },
  { name: 'shelving upload resumes to offloaded', action: 'shelve', steps: 2, at: ['ACTIVE', 'shelving_image_uploading'], after: 'SHELVED_OFFLOADED' },
  { name: 'live migration interrupted is aborted', action: 'live_migrate', steps: 1, at: ['MIGRATING', 'migrating'], after: 'ACTIVE' },
  { name: 'delete interrupted is restarted', action: 'delete', steps: 0, at: ['ACTIVE', 'deleting'], after: 'DELETED' },
];

for (const sc of SCENARIOS) {
  test(`restart: ${sc.name}`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'novabox-restart-'));
    const db = join(dir, 'nova.db');
    const clock = new ManualClock();
    const images = new MemoryImages();
    let h: Harness = await makeEngine({ db, clock, images });
    try {
      let uuid: string;
      [{ uuid }] = await h.engine.create(ctx(DEMO), await createRequest(h));
      if (sc.action !== 'create') {
        await h.engine.settle();
        const params = sc.action === 'resize' ? { flavor: await h.engine.store.getFlavor('84') } : sc.params ?? {};
        if (sc.action === 'delete') await h.engine.delete(ctx(DEMO), uuid);
        else await h.engine.act(ctx(sc.action === 'live_migrate' ? ADMIN : DEMO), uuid, sc.action, params);
      }
      for (let i = 0; i < sc.steps; i++) assert.ok(await h.engine.transitions.runOne());
      const s = (await h.engine.store.getServer(uuid))!;
      assert.deepEqual([await statusNow(h, uuid), s.task_state], sc.at);
      // "Crash": the process stops with work in flight; only what was committed survives.
      await h.close();

      h = await makeEngine({ db, clock, images });
      await h.engine.settle();
      const after = (await h.engine.store.getServer(uuid))!;
      assert.equal(await statusNow(h, uuid), sc.after);
      assert.equal(after.task_state, null);
      assert.deepEqual(await h.engine.store.allTasks(), []);
      if (sc.action === 'resize') assert.equal(after.flavor.flavorid, '42');
      if (sc.action === 'createImage') assert.ok([...images.images.values()].every((i) => i.status === 'deleted'));
    } finally {
      await h.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('recovery rules are pure and follow Nova’s order', () => {
  const base = { system_metadata: {} as Record<string, string> };
  assert.deepEqual(recoveryFor({ ...base, vm_state: 'soft-delete', task_state: null, power_state: 4 }), { kind: 'resume' });
  assert.equal(recoveryFor({ ...base, vm_state: 'building', task_state: 'spawning', power_state: 0 }).kind, 'settle');
  assert.deepEqual(recoveryFor({ ...base, vm_state: 'active', task_state: 'rebooting', power_state: 4 }), { kind: 'reboot', hard: true });
  assert.deepEqual(recoveryFor({ ...base, vm_state: 'active', task_state: 'reboot_pending', power_state: 1 }), { kind: 'reboot', hard: false });
  assert.deepEqual(recoveryFor({ ...base, vm_state: 'active', task_state: 'unpausing', power_state: 1 }), { kind: 'settle', patch: { vm_state: 'active', task_state: null }, result: 'Success' });
  assert.deepEqual(recoveryFor({ ...base, vm_state: 'paused', task_state: 'unpausing', power_state: 3 }), { kind: 'resume' });
  assert.deepEqual(recoveryFor({ ...base, vm_state: 'stopped', task_state: 'powering-on', power_state: 4 }), { kind: 'resume' });
});

test('100 concurrent conflicting actions on one server: exactly one is accepted', async () => {
  const h = await makeEngine();
  try {
    const [s] = await h.engine.create(ctx(DEMO), await createRequest(h));
    await h.engine.settle();
    const kinds: ActionName[] = ['stop', 'pause', 'suspend', 'reboot_soft', 'rescue', 'shelve', 'createImage'];
    const results = await Promise.allSettled(
      Array.from({ length: 100 }, (_, i) => h.engine.act(ctx(DEMO), s.uuid, kinds[i % kinds.length], { name: 'x' })),
    );
    const accepted = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.equal(accepted.length, 1);
    assert.equal(refused.length, 99);
    for (const r of refused) assert.equal(r.reason.code, 409);
    await h.engine.settle();
    const after = (await h.engine.store.getServer(s.uuid))!;
    assert.equal(after.task_state, null);
    const actions = await h.engine.listActions(ctx(DEMO), s.uuid);
    assert.equal(actions.length, 2, 'create plus the one accepted action');
  } finally {
    await h.close();
  }
});
