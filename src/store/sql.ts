// The one portable SQL executor that repositories are written against: the same `?`-placeholder SQL
// runs on the embedded SQLite file (better-sqlite3) and on PostgreSQL (node-postgres with a pool).
// Write SQL both dialects accept: INTEGER 0/1 for booleans, INTEGER (BIGINT on PostgreSQL)
// milliseconds for times, TEXT for JSON, `ON CONFLICT … DO UPDATE`, `RETURNING`. Where a statement
// must differ, branch on `sql.dialect`. Nothing outside src/store/ sees an executor.
import type { Db } from './db.ts';
import type pg from 'pg';

export type Dialect = 'sqlite' | 'postgres';
export type Param = string | number | bigint | boolean | null | Buffer;

export interface RunResult {
  /** Rows changed by the statement. */
  changes: number;
}

/** Queries on a connection or inside a unit of work. */
export interface Sql {
  readonly dialect: Dialect;
  all<T = Record<string, unknown>>(sql: string, params?: readonly Param[]): Promise<T[]>;
  get<T = Record<string, unknown>>(sql: string, params?: readonly Param[]): Promise<T | undefined>;
  run(sql: string, params?: readonly Param[]): Promise<RunResult>;
}

/** An executor that can open a unit of work: every statement of `fn` commits together or not at all. */
export interface SqlDatabase extends Sql {
  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Rewrites `?` placeholders (outside quoted strings and identifiers) as PostgreSQL's `$n`. */
export function toPostgresPlaceholders(sql: string): string {
  let out = '';
  let n = 0;
  let quote: string | null = null;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i];
    if (quote) {
      if (c === quote) quote = null;
      out += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      out += c;
    } else if (c === '?') {
      out += `$${++n}`;
    } else {
      out += c;
    }
  }
  return out;
}

/**
 * A FIFO lock. SQLite has one connection per process, so a unit of work that awaits must keep every
 * other statement of this process out of the connection until it commits (else they would join it).
 */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();
  private held = false;

  get locked(): boolean {
    return this.held;
  }

  /** Runs `fn` at once when the lock is free (no extra turn of the event loop), else after the holders before it. */
  now<T>(fn: () => T): T | Promise<T> {
    return this.held ? this.run(fn) : fn();
  }

  /**
   * Resolves once no unit of work holds the lock, without taking it: two waiters that each took
   * the lock for an empty turn would find it held by the other forever (a microtask livelock).
   */
  async idle(): Promise<void> {
    while (this.held) await this.tail;
  }

  async run<T>(fn: () => Promise<T> | T): Promise<T> {
    const prev = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((r) => (release = r));
    await prev;
    this.held = true;
    try {
      return await fn();
    } finally {
      this.held = false;
      release();
    }
  }
}

function sqliteParams(params: readonly Param[]): unknown[] {
  return params.map((p) => (typeof p === 'boolean' ? (p ? 1 : 0) : p));
}

/** The SQLite executor over the process's one better-sqlite3 connection. */
export class SqliteSql implements SqlDatabase {
  readonly dialect = 'sqlite' as const;
  /** Held by every unit of work; the synchronous hot paths of the compute store take it too. */
  readonly lock = new Mutex();

  constructor(readonly db: Db) {}

  /** The connection without the lock: only for code that already holds `lock` (a unit of work's body). */
  unlocked(): Sql {
    return this.direct();
  }

  private direct(): Sql {
    const db = this.db;
    return {
      dialect: 'sqlite',
      async all<T>(sql: string, params: readonly Param[] = []) {
        return db.prepare(sql).all(...sqliteParams(params)) as T[];
      },
      async get<T>(sql: string, params: readonly Param[] = []) {
        return db.prepare(sql).get(...sqliteParams(params)) as T | undefined;
      },
      async run(sql: string, params: readonly Param[] = []) {
        const r = db.prepare(sql).run(...sqliteParams(params));
        return { changes: r.changes };
      },
    };
  }

  // Outside a unit of work a statement waits only while one is open, so reads never see uncommitted rows.
  async all<T>(sql: string, params: readonly Param[] = []): Promise<T[]> {
    if (this.lock.locked) return this.lock.run(() => this.direct().all<T>(sql, params));
    return this.direct().all<T>(sql, params);
  }

  async get<T>(sql: string, params: readonly Param[] = []): Promise<T | undefined> {
    if (this.lock.locked) return this.lock.run(() => this.direct().get<T>(sql, params));
    return this.direct().get<T>(sql, params);
  }

  async run(sql: string, params: readonly Param[] = []): Promise<RunResult> {
    if (this.lock.locked) return this.lock.run(() => this.direct().run(sql, params));
    return this.direct().run(sql, params);
  }

  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    return this.lock.run(async () => {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const result = await fn(this.direct());
        this.db.exec('COMMIT');
        return result;
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw err;
      }
    });
  }

  async close(): Promise<void> {
    // The connection belongs to whoever opened it (openDb); nothing to release here.
  }
}

function pgExecutor(q: (text: string, values: unknown[]) => Promise<pg.QueryResult>): Sql {
  return {
    dialect: 'postgres',
    async all<T>(sql: string, params: readonly Param[] = []) {
      return (await q(toPostgresPlaceholders(sql), [...params])).rows as T[];
    },
    async get<T>(sql: string, params: readonly Param[] = []) {
      return (await q(toPostgresPlaceholders(sql), [...params])).rows[0] as T | undefined;
    },
    async run(sql: string, params: readonly Param[] = []) {
      return { changes: (await q(toPostgresPlaceholders(sql), [...params])).rowCount ?? 0 };
    },
  };
}

/** The PostgreSQL executor over a node-postgres pool; a unit of work holds one pooled client. */
export class PostgresSql implements SqlDatabase {
  readonly dialect = 'postgres' as const;
  private readonly exec: Sql;

  constructor(readonly pool: pg.Pool) {
    this.exec = pgExecutor((text, values) => pool.query(text, values));
  }

  all<T>(sql: string, params?: readonly Param[]): Promise<T[]> {
    return this.exec.all<T>(sql, params);
  }

  get<T>(sql: string, params?: readonly Param[]): Promise<T | undefined> {
    return this.exec.get<T>(sql, params);
  }

  run(sql: string, params?: readonly Param[]): Promise<RunResult> {
    return this.exec.run(sql, params);
  }

  async transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await fn(pgExecutor((text, values) => client.query(text, values)));
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** Opens a pool on a `postgres://` URL; BIGINT columns come back as numbers (times are ms). */
export async function openPostgres(url: string): Promise<PostgresSql> {
  const { default: pgmod } = await import('pg');
  pgmod.types.setTypeParser(20, (v: string) => Number(v));
  pgmod.types.setTypeParser(1700, (v: string) => Number(v));
  const pool = new pgmod.Pool({ connectionString: url, max: 10 });
  pool.on('error', () => undefined); // an idle client's broken connection is replaced on next use
  await pool.query('SELECT 1');
  return new PostgresSql(pool);
}

/** A schema change for repositories written against `Sql`: one text per dialect, applied once. */
export interface SqlMigration {
  id: string;
  sqlite: string;
  postgres: string;
}

/** Applies the migrations not yet recorded in `schema_migrations`, each in its own unit of work. */
export async function migrateSql(db: SqlDatabase, migrations: readonly SqlMigration[]): Promise<void> {
  await db.run('CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)');
  for (const m of migrations) {
    await db.transaction(async (tx) => {
      if (db.dialect === 'postgres') await tx.run('SELECT pg_advisory_xact_lock(7740001)');
      if (await tx.get('SELECT id FROM schema_migrations WHERE id = ?', [m.id])) return;
      const text = db.dialect === 'sqlite' ? m.sqlite : m.postgres;
      for (const stmt of splitStatements(text)) await tx.run(stmt);
      await tx.run('INSERT INTO schema_migrations (id, applied_at) VALUES (?, ?)', [m.id, Date.now()]);
    });
  }
}

/** Splits a migration script on `;` at the end of a line (no procedural bodies in our migrations). */
function splitStatements(text: string): string[] {
  return text
    .split(/;\s*\n/)
    .map((s) => s.trim().replace(/;$/, ''))
    .filter((s) => s.replace(/--[^\n]*/g, '').trim() !== '');
}
