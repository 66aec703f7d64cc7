// The volume engine is stopped in the middle of every kind of timed transition (the database
// closed, a new engine opened on it, as after a crash) and each volume or snapshot finishes its
// transition from the last committed step: nothing stays in a transitional status. Run on SQLite
// (a file) and on PostgreSQL (where a dead process's lease must expire first).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../src/engine/clock.ts';
import type { VolumeStatus } from '../../src/domain/volume/states.ts';
import type { ImageRecord } from '../../src/api/ports.ts';
import { MemoryImages } from '../engine/harness.ts';
import { withPostgresDatabase } from '../helpers/postgres.ts';
import { advance, makeVolumeEngine, VDEMO, type VolumeHarness } from './harness.ts';

interface Scenario {
  name: string;
  /** Starts the transition; returns the id to watch. */
  start(h: VolumeHarness): Promise<string>;
  /** Steps applied before the crash. */
  steps: number;
  /** Status at the crash. */
  at: string;
  /** Status after restart (null: gone). */
  after: string | null;
  snapshot?: boolean;
}

const empty = { size: 1, name: 'r', description: null, volume_type: null, availability_zone: null, snapshot_id: null, source_volid: null, image_id: null, metadata: {}, multiattach: false };
async function available(h: VolumeHarness): Promise<string> {
  const v = await h.engine.createVolume(VDEMO, empty);
  await advance(h, 10_000);
  return v.id;
}

const IMAGE: ImageRecord = {
  id: '4fa04c19-09fa-51ff-9872-fac075d1145b', name: 'cirros', status: 'active', visibility: 'public', owner: null, min_disk: 0, min_ram: 0,
  disk_format: 'qcow2', container_format: 'bare', size: 21430272, protected: false, properties: {}, created_at: 0, updated_at: 0,
};

const SCENARIOS: Scenario[] = [
  { name: 'create', start: async (h) => (await h.engine.createVolume(VDEMO, empty)).id, steps: 0, at: 'creating', after: 'available' },
  { name: 'create from an image, while downloading', start: async (h) => (await h.engine.createVolume(VDEMO, { ...empty, image_id: IMAGE.id })).id, steps: 1, at: 'downloading', after: 'available' },
  { name: 'extend', start: async (h) => { const id = await available(h); await h.engine.act(VDEMO, id, 'extend', { new_size: 4, plan: { new_size: 4 } }); return id; }, steps: 0, at: 'extending', after: 'available' },
  { name: 'delete', start: async (h) => { const id = await available(h); await h.engine.act(VDEMO, id, 'delete', {}); return id; }, steps: 0, at: 'deleting', after: null },
  { name: 'attach, reserved', start: async (h) => { const id = await available(h); await h.engine.attachToServer(VDEMO, id, 'srv', 'compute-0', '/dev/vdb'); return id; }, steps: 0, at: 'reserved', after: 'in-use' },
  { name: 'attach, attaching', start: async (h) => { const id = await available(h); await h.engine.attachToServer(VDEMO, id, 'srv', 'compute-0', '/dev/vdb'); return id; }, steps: 1, at: 'attaching', after: 'in-use' },
  {
    name: 'detach', steps: 0, at: 'detaching', after: 'available',
    start: async (h) => {
      const id = await available(h);
      await h.engine.attachToServer(VDEMO, id, 'srv', 'compute-0', '/dev/vdb');
      await advance(h, 10_000);
      await h.engine.detachFromServer(VDEMO, id, 'srv');
      return id;
    },
  },
  { name: 'upload to image', start: async (h) => { const id = await available(h); await h.engine.act(VDEMO, id, 'upload_to_image', { plan: { image_id: 'img' } }); return id; }, steps: 0, at: 'uploading', after: 'available' },
  { name: 'snapshot create', snapshot: true, start: async (h) => { const id = await available(h); return (await h.engine.createSnapshot(VDEMO, { volume_id: id, name: null, description: null, force: false, metadata: {} })).id; }, steps: 0, at: 'creating', after: 'available' },
];

async function statusOf(h: VolumeHarness, id: string, snapshot?: boolean): Promise<string | null> {
  return (snapshot ? (await h.engine.store.getSnapshot(h.sql, id))?.status : (await h.engine.store.getVolume(h.sql, id))?.status) ?? null;
}

async function walk(sc: Scenario, open: (clock: ManualClock, images: MemoryImages) => Promise<VolumeHarness>, crashMidStep: boolean): Promise<void> {
  const clock = new ManualClock();
  const images = new MemoryImages();
  images.images.set(IMAGE.id, IMAGE);
  let h = await open(clock, images);
  let id: string;
  try {
    id = await sc.start(h);
    // From here this test drives the steps itself, so the engine's own timer cannot race it.
    await h.engine.timers.stop();
    for (let i = 0; i < sc.steps; i++) {
      const next = await h.engine.store.nextDueAt(h.sql);
      clock.advance(next! - clock.now());
      assert.ok(await h.engine.timers.runOne(), 'a step was due');
    }
    assert.equal(await statusOf(h, id, sc.snapshot), sc.at);
    if (crashMidStep) {
      // The process dies holding the lease of the step it was running.
      const next = await h.engine.store.nextDueAt(h.sql);
      clock.advance(next! - clock.now());
      await h.engine.sql.transaction((tx) => h.engine.store.claimDue(tx, clock.now(), 'dead-process', clock.now() + 30_000, 10));
    }
  } finally {
    await h.close();
  }
  h = await open(clock, images);
  try {
    assert.equal(await statusOf(h, id, sc.snapshot), sc.at, 'the status survives the restart');
    await advance(h, 40_000);
    await advance(h, 40_000);
    assert.equal(await statusOf(h, id, sc.snapshot), sc.after);
    assert.equal(await h.engine.store.nextDueAt(h.sql), null, 'no task is left');
  } finally {
    await h.close();
  }
}

for (const sc of SCENARIOS) {
  test(`volume restart (SQLite): ${sc.name} resumes from ${sc.at}`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'novabox-volume-restart-'));
    try {
      await walk(sc, (clock, images) => makeVolumeEngine({ db: join(dir, 'v.db'), clock, images }), true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  test(`volume restart (PostgreSQL): ${sc.name} resumes from ${sc.at} once the dead lease expires`, async (t: TestContext) => {
    await withPostgresDatabase(t, async (sql) => {
      await walk(sc, (clock, images) => makeVolumeEngine({ sql, clock, images }), true);
    });
  });
}

test('the status machine runs on PostgreSQL too: create, attach, detach, delete', async (t: TestContext) => {
  await withPostgresDatabase(t, async (sql) => {
    const h = await makeVolumeEngine({ sql });
    try {
      const id = await available(h);
      assert.equal(await statusOf(h, id), 'available' as VolumeStatus);
      await h.engine.attachToServer(VDEMO, id, 'srv', 'compute-0', '/dev/vdb');
      assert.equal(await statusOf(h, id), 'reserved');
      await advance(h, 10_000);
      assert.equal(await statusOf(h, id), 'in-use');
      await assert.rejects(h.engine.act(VDEMO, id, 'delete', {}), /must not be migrating, attached/);
      await h.engine.detachFromServer(VDEMO, id, 'srv');
      await advance(h, 10_000);
      assert.equal(await statusOf(h, id), 'available');
      await h.engine.act(VDEMO, id, 'delete', {});
      await advance(h, 10_000);
      assert.equal(await statusOf(h, id), null);
    } finally {
      await h.close();
    }
  });
});
