// Honest transactions in the engine: every read that decides a write is made in the unit of work
// that writes, so a change committed by another writer in between is seen, never overwritten.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../src/config.ts';
import { ManualClock } from '../../src/engine/clock.ts';
import { ComputeEngine } from '../../src/engine/compute.ts';
import { SimulatedDriver } from '../../src/drivers/simulated.ts';
import type { DriverOp } from '../../src/domain/actions.ts';
import type { ServerRecord } from '../../src/domain/server.ts';
import { migrateSql } from '../../src/store/sql.ts';
import { openDb } from '../../src/store/db.ts';
import { SqliteComputeStore } from '../../src/store/sqlite.ts';
import { SqlComputeStore } from '../../src/store/sql-compute.ts';
import { COMPUTE_MIGRATIONS } from '../../src/store/migrations/postgres-compute.ts';
import type { ComputeStore, ComputeTx } from '../../src/store/store.ts';
import { statusOf } from '../../src/domain/states.ts';
import { withPostgresDatabase } from '../helpers/postgres.ts';
import { ADMIN, DEMO, MemoryImages, activeServer, createRequest, ctx, makeEngine, statusNow } from './harness.ts';

/** A signal one side raises and the other awaits. */
function gate(): { open(): void; opened: Promise<void> } {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

/** The store with `hook` called on each unit of work's named method, after it ran. */
function hooked(store: ComputeStore, method: keyof ComputeTx, hook: () => Promise<void> | void): ComputeStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop !== 'transaction') {
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      }
      return <T>(fn: (tx: ComputeTx) => Promise<T>) => target.transaction((tx) => fn(new Proxy(tx, {
        get(t, p, r) {
          const v = Reflect.get(t, p, r) as unknown;
          if (typeof v !== 'function') return v;
          if (p !== method) return (v as (...a: unknown[]) => unknown).bind(t);
          return async (...args: unknown[]) => {
            const out = await (v as (...a: unknown[]) => Promise<unknown>).apply(t, args);
            await hook();
            return out;
          };
        },
      })));
    },
  });
}

test('PostgreSQL: a DELETE committed while another replica applies a step is not overwritten by that step', async (t) => {
  await withPostgresDatabase(t, async (db, url) => {
    const { openPostgres } = await import('../../src/store/sql.ts');
    const other = await openPostgres(url);
    await migrateSql(db, COMPUTE_MIGRATIONS);
    const clock = new ManualClock();
    const config = loadConfig({ db: ':memory:', time_scale: 0, log_level: 'silent' }, {});
    const stepPerforming = gate();
    const deleteLocked = gate();
    const stepReadTask = gate();
    let racing = false;
    // Replica A applies the stop's step; its driver finishes the work only once B's DELETE holds the server.
    class GatedDriver extends SimulatedDriver {
      override async perform(op: DriverOp, action: string, s: ServerRecord): Promise<void> {
        if (racing && action === 'stop') {
          stepPerforming.open();
          await deleteLocked.opened;
        }
        return super.perform(op, action, s);
      }
    }
    const a = new ComputeEngine({ store: hooked(new SqlComputeStore(db), 'getTask', () => { if (racing) stepReadTask.open(); }), driver: new GatedDriver({ timeScale: 0 }), clock, config, images: new MemoryImages() });
    // Replica B's DELETE, holding the server, waits until A has read the task (or a while, when A cannot read it before B commits).
    const b = new ComputeEngine({
      store: hooked(new SqlComputeStore(other), 'getServerForUpdate', async () => {
        if (!racing) return;
        deleteLocked.open();
        await Promise.race([stepReadTask.opened, sleep(300)]);
      }),
      driver: new SimulatedDriver({ timeScale: 0 }), clock, config, images: new MemoryImages(),
    });
    try {
      await a.seed();
      await a.start();
      const [s] = await a.create(ctx(DEMO), await createRequest({ engine: a } as never));
      clock.advance(60_000);
      await a.settle();
      await a.act(ctx(DEMO), s.uuid, 'stop');
      await a.transitions.stop();
      clock.advance(60_000);
      racing = true;
      const step = a.transitions.runOne();
      await stepPerforming.opened;
      await Promise.all([step, b.delete(ctx(DEMO), s.uuid)]);
      racing = false;
      a.transitions.start();
      clock.advance(60_000);
      await a.settle();
      await b.settle(); // B runs the task it wrote
      const after = (await a.store.getServer(s.uuid))!;
      assert.equal(statusOf(after.vm_state, after.task_state, after.deleted), 'DELETED', `the DELETE stands (found ${after.vm_state}/${after.task_state})`);
      const actions = await a.store.listActions(s.uuid);
      assert.deepEqual(actions.map((x) => [x.action, x.message]), [['delete', null], ['stop', 'Error'], ['create', null]], 'the stop was superseded, the delete finished');
    } finally {
      await a.stop();
      await b.stop();
      await other.close();
    }
  });
});

test('two engines on one file: a host taken down through one is seen down by the other’s next action', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'novabox-tx-'));
  const db = join(dir, 'nova.db');
  const clock = new ManualClock();
  const images = new MemoryImages();
  const a = await makeEngine({ db, clock, images });
  const b = await makeEngine({ db, clock, images });
  try {
    const uuid = await activeServer(a);
    const host = (await a.engine.store.getServer(uuid))!.host!;
    assert.equal(await b.engine.hostStatus(host), 'UP', 'b has read the hosts');
    await a.engine.setHost(host, { forced_down: true });
    // Evacuate is allowed only off a host that is down: b must decide on the host as it is now.
    const out = await b.engine.act(ctx(ADMIN), uuid, 'evacuate', {});
    assert.equal(out.server.task_state, 'rebuilding');
    assert.equal(await statusNow(b, uuid), 'REBUILD');
  } finally {
    await a.close();
    await b.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('two host changes at once, of different fields, both stick', async () => {
  const h = await makeEngine();
  try {
    await Promise.all([h.engine.setHost('compute-0', { disabled: true, disabled_reason: 'maintenance' }), h.engine.setHost('compute-0', { forced_down: true })]);
    const host = (await h.engine.store.listHosts()).find((x) => x.name === 'compute-0')!;
    assert.deepEqual([host.disabled, host.disabled_reason, host.forced_down], [true, 'maintenance', true]);
  } finally {
    await h.close();
  }
});

test('the metadata limit that decides a metadata write is the one committed when it writes', async () => {
  const config = loadConfig({ db: ':memory:', time_scale: 0, timings: 'fake', log_level: 'silent' }, {});
  const db = openDb(':memory:');
  // Armed, the store lowers the project's metadata limit to 1 just before the next unit of work
  // begins: after any read made before it, as another request committing at that moment would.
  let before: (() => Promise<void>) | null = null;
  const raw = new SqliteComputeStore(db);
  const store = new Proxy(raw, {
    get(target, prop, receiver) {
      if (prop === 'transaction') {
        return async <T>(fn: (tx: ComputeTx) => Promise<T>) => {
          const hook = before;
          before = null;
          await hook?.();
          return target.transaction(fn);
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const engine = new ComputeEngine({ store, driver: new SimulatedDriver({ timeScale: 0 }), clock: new ManualClock(), config, images: new MemoryImages() });
  await engine.seed();
  await engine.start();
  try {
    const uuid = await activeServer({ engine } as never);
    before = async () => {
      await engine.setQuotaLimits(DEMO.project_id!, { metadata_items: 1 });
    };
    await assert.rejects(engine.setMetadata(ctx(DEMO), uuid, { a: '1', b: '2' }, 'merge'), /Quota exceeded for metadata_items: Requested 2, but already used 0 of 1/);
    assert.deepEqual((await engine.store.getServer(uuid))!.metadata, {});
  } finally {
    await engine.stop();
    db.close();
  }
});

test('a step whose server’s task state was changed under it (its task not replaced) ends without writing over it', async () => {
  const h = await makeEngine();
  try {
    const uuid = await activeServer(h);
    await h.engine.act(ctx(DEMO), uuid, 'stop');
    const s = (await h.engine.store.getServer(uuid))!;
    // Another writer moves the task state and leaves the stop's task in place.
    await h.engine.store.transaction((tx) => tx.updateServer(s.id, { task_state: 'rebooting' }, h.clock.now()));
    h.clock.advance(60_000);
    await h.engine.settle();
    const after = (await h.engine.store.getServer(uuid))!;
    assert.deepEqual([after.vm_state, after.task_state, after.power_state], ['active', 'rebooting', 1], 'the stop’s step did not write');
    assert.deepEqual(await h.engine.store.allTasks(), []);
    const [stop] = await h.engine.store.listActions(uuid);
    assert.deepEqual([stop.action, stop.message], ['stop', 'Error']);
    const events = await h.engine.store.listEvents(stop.id);
    assert.match(events[0].details ?? '', /Unexpected task state: expecting powering-off but the actual state is rebooting/);
  } finally {
    await h.close();
  }
});
