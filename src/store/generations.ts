// Generations of per-process caches, kept in the shared database so that several processes (replicas
// on PostgreSQL, or two processes on one SQLite file) can each cache what rarely changes: a writer
// bumps its cache's generation in the unit of work that changes the cached rows, and a reader looks
// at the generation (one point query) before it trusts its cache, dropping it when the number moved.
// A change through any process is therefore seen by every other at its next request, not after a timer.
import type { Sql, SqlDatabase, SqlMigration } from './sql.ts';

/** The caches that have a generation. */
export const CACHE_NAMES = ['identity', 'hosts'] as const;
export type CacheName = (typeof CACHE_NAMES)[number];

const TABLE = `CREATE TABLE IF NOT EXISTS cache_generations (
  name TEXT PRIMARY KEY,
  generation BIGINT NOT NULL
)`;

/**
 * Identical in both dialects and idempotent: every migration set whose repositories bump or read a
 * generation (compute, infra, identity, and SQLite's own list) carries it, and it runs once.
 * A wipe back to the seed keeps its rows, so generations only ever grow.
 */
export const GENERATIONS_MIGRATION: SqlMigration = { id: 'cache-generations', sqlite: TABLE, postgres: TABLE };

/** The tables a wipe leaves alone: numbers that must never go back (a cache filled before the wipe would be trusted again). */
export const KEPT_BY_WIPE = ['cache_generations'];

export async function readGeneration(q: Sql, name: CacheName): Promise<number> {
  // Outside a unit of work on PostgreSQL: the change feed's barrier, shared by concurrent requests.
  const shared = (q as SqlDatabase).freshGenerations?.();
  const gens = shared instanceof Promise ? await shared : shared;
  if (gens) return gens.get(name) ?? 0;
  const r = await q.get<{ generation: number | string }>('SELECT generation FROM cache_generations WHERE name = ?', [name]);
  return r ? Number(r.generation) : 0;
}

/** Moves `name` on; call it inside the unit of work that changes what the cache holds, so it commits with it. */
export async function bumpGeneration(q: Sql, name: CacheName): Promise<void> {
  await q.run(
    'INSERT INTO cache_generations (name, generation) VALUES (?, 1) ON CONFLICT (name) DO UPDATE SET generation = cache_generations.generation + 1',
    [name],
  );
}

/**
 * The guard of one process's cache. `check()` reads the generation and drops the cache when it moved;
 * a value loaded after `check()` returned `g` may be stored only while `current(g)` (a concurrent
 * request may have seen a newer generation meanwhile, and the value may predate it).
 */
export class CacheGeneration {
  private seen = -1;

  constructor(
    private readonly name: CacheName,
    private readonly drop: () => void,
  ) {}

  /** `read` gives the stored generation (readGeneration through the caller's executor or unit of work). */
  async check(read: (name: CacheName) => Promise<number>): Promise<number> {
    const g = await read(this.name);
    if (g !== this.seen) {
      this.drop();
      this.seen = g;
    }
    return g;
  }

  current(g: number): boolean {
    return g === this.seen;
  }

  /** Forget which generation the cache was filled at: the next check drops it whatever it reads. */
  forget(): void {
    this.seen = -1;
  }
}
