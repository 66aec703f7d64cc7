// Durable tasks under leases: two engines on one database file each run only their own work; when
// one stops renewing (a crash), the other takes its tasks over once the lease expires and carries
// them on (no ERROR for the crash); a task whose host is down is parked, not retried, until the host is back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ManualClock } from '../../src/engine/clock.ts';
import { makeEngine, ctx, DEMO, createRequest, statusNow, activeServer, MemoryImages } from './harness.ts';

test('two engines on one file: each claims only its own tasks; a crashed one’s tasks are taken over once its lease expires', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'novabox-lease-'));
  const db = join(dir, 'nova.db');
  const clock = new ManualClock();
  const images = new MemoryImages();
  const a = await makeEngine({ db, clock, images, config: { task_lease_ms: 300 } });
  const b = await makeEngine({ db, clock, images });
  try {
    const [s] = await a.engine.create(ctx(DEMO), await createRequest(a));
    await a.engine.transitions.stop(); // a keeps its lease (renewed every 100 ms) but runs no step
    clock.advance(60_000);
    await sleep(400);
    // b sees the step due but does not run a live process's work.
    assert.equal(await b.engine.transitions.runDue(), 0);
    assert.equal(await statusNow(b, s.uuid), 'BUILD');
    assert.equal(await b.engine.store.nextDueAt(), null);
    // a "crashes": nothing is released, its leases run out.
    (a.engine.leases as unknown as { timer: NodeJS.Timeout | null }).timer?.close();
    await sleep(400);
    await b.engine.settle();
    assert.equal(await statusNow(b, s.uuid), 'ACTIVE', 'taken over and finished, not put in ERROR');
    assert.deepEqual(await b.engine.store.allTasks(), []);
  } finally {
    await b.close();
    a.db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a task whose host is down is parked (not rewritten) and runs when the host is back', async () => {
  const h = await makeEngine();
  try {
    const uuid = await activeServer(h);
    const host = (await h.engine.store.getServer(uuid))!.host!;
    await h.engine.setHost(host, { forced_down: true });
    await h.engine.act(ctx(DEMO), uuid, 'stop');
    h.clock.advance(60_000);
    await h.engine.settle();
    const [t] = await h.engine.store.allTasks();
    assert.equal(t.parked_host, host);
    assert.equal(await h.engine.store.nextDueAt(), null, 'a parked task sets no timer');
    assert.equal(await h.engine.transitions.runDue(), 0, 'and is not claimed again and again');
    await h.engine.setHost(host, { forced_down: false });
    await h.engine.settle();
    assert.equal(await statusNow(h, uuid), 'SHUTOFF');
  } finally {
    await h.close();
  }
});
