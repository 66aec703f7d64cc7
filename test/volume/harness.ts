// A volume engine on a real database (SQLite file or memory, or a throw-away PostgreSQL one), a
// manual clock and the simulated block driver (time scale 1, so every step waits until advanced).
import { ManualClock } from '../../src/engine/clock.ts';
import { VolumeEngine, type VolumeRequestContext } from '../../src/engine/volume.ts';
import { SimulatedDriver } from '../../src/drivers/simulated.ts';
import { SimulatedBlockDriver } from '../../src/drivers/block.ts';
import { openDb } from '../../src/store/db.ts';
import { SqliteSql, type SqlDatabase } from '../../src/store/sql.ts';
import { MemoryImages } from '../engine/harness.ts';

export const VDEMO: VolumeRequestContext = { user_id: 'u-demo', project_id: 'p-demo', roles: ['member'], microversion: [3, 0] };
export const VADMIN: VolumeRequestContext = { user_id: 'u-admin', project_id: 'p-admin', roles: ['admin'], microversion: [3, 0] };

export interface VolumeHarness {
  engine: VolumeEngine;
  clock: ManualClock;
  virt: SimulatedDriver;
  images: MemoryImages;
  sql: SqlDatabase;
  /** Stops the engine (a "crash" when steps are pending) and closes an SQLite database it opened. */
  close(): Promise<void>;
}

export async function makeVolumeEngine(opts: { db?: string; sql?: SqlDatabase; clock?: ManualClock; images?: MemoryImages } = {}): Promise<VolumeHarness> {
  const clock = opts.clock ?? new ManualClock();
  const images = opts.images ?? new MemoryImages();
  const virt = new SimulatedDriver({ timeScale: 1 });
  let close = async () => undefined as void;
  let sql = opts.sql;
  if (!sql) {
    const db = openDb(opts.db ?? ':memory:');
    sql = new SqliteSql(db);
    close = async () => void db.close();
  }
  const engine = new VolumeEngine({ sql, clock, driver: new SimulatedBlockDriver(virt), images });
  await engine.seed();
  await engine.start();
  return {
    engine, clock, virt, images, sql,
    async close() {
      await engine.stop();
      await close();
    },
  };
}

/** Advance the clock by up to `ms`, step by step, letting the timers apply every step that becomes due. */
export async function advance(h: VolumeHarness, ms: number): Promise<void> {
  const end = h.clock.now() + ms;
  for (let i = 0; i < 100; i++) {
    await h.engine.settle();
    const next = await h.engine.store.nextDueAt(h.sql);
    if (next === null || next > end) break;
    h.clock.advance(Math.max(0, next - h.clock.now()));
  }
  h.clock.advance(Math.max(0, end - h.clock.now()));
  await h.engine.settle();
}
