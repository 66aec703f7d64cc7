// The one portable SQL executor that repositories are written against: the same `?`-placeholder SQL
// runs on the embedded SQLite file (better-sqlite3) and on PostgreSQL (node-postgres with a pool).
// Write SQL both dialects accept: INTEGER 0/1 for booleans, INTEGER (BIGINT on PostgreSQL)
// milliseconds for times, TEXT for JSON, `ON CONFLICT … DO UPDATE`, `RETURNING`. Where a statement
// must differ, branch on `sql.dialect`. Nothing outside src/store/ sees an executor.
import type { Db } from './db.ts';
import type { Statement as SqliteStatement } from 'better-sqlite3';
import type pg from 'pg';
import { createHash } from 'node:crypto';
import { PgChangeFeed, type Generations } from './pg-feed.ts';
import { SqlitePresence } from './presence.ts';

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
  /**
   * Reports writes that change a rendered server view (SQLite only; null without the tables): see
   * SqliteSql.watchServerViews.
   */
  watchServerViews?(calls: { server(uuid: string): void; other(): void }): ServerViewWatch | null;
  /**
   * The cache generations as of a moment after this call, read by a barrier shared with concurrent
   * callers (PostgreSQL's change feed); null or absent: read them with a query.
   */
  freshGenerations?(): Promise<Generations | null> | Generations | null;
  /**
   * Whether this process is the only novabox on the database (SQLite's presence, PostgreSQL's members'
   * lock): its caches then need no look at other processes' commits per request. Null: not registered.
   */
  readonly alone?: boolean | null;
}

export interface ServerViewWatch {
  /**
   * Whether another connection to the file has committed since the last call (its writes were not
   * reported). With `since` (performance.now() ms, a request's arrival) a look at the file taken at
   * or after that moment, for another caller, answers too: one look per request, not one per cache.
   */
  othersCommitted(since?: number): boolean;
  /**
   * Where writes are heard asynchronously (PostgreSQL's LISTEN): resolves true once every write
   * committed before `since` (performance.now() ms, a request's arrival) has been reported, false
   * when that cannot be known (then nothing memoized may be served).
   */
  fresh?(since: number): Promise<boolean> | boolean;
}

/**
 * Tables a server view reads besides the server's own row (src/api/compute/servers.ts viewContext):
 * hosts and their zones, faults, server groups, and Neutron's ports and security groups.
 */
export const SERVER_VIEW_INPUTS = [
  'compute_hosts', 'aggregates', 'aggregate_hosts', 'aggregate_metadata', 'instance_faults',
  'server_groups', 'server_group_members', 'neutron_resources',
];

/**
 * Holds `key` until the unit of work `tx` ends: another unit of work asking for the same key waits
 * (a PostgreSQL advisory lock). On SQLite a unit of work already excludes every other writer.
 */
export async function holdUntilCommit(tx: Sql, key: string): Promise<void> {
  if (tx.dialect === 'postgres') await tx.run('SELECT pg_advisory_xact_lock(hashtext(?))', [key]);
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

/** How long (ms) units of work may follow each other on the lock before the event loop gets a turn. */
const TURN_MS = 8;

/**
 * A FIFO lock. SQLite has one connection per process, so a unit of work that awaits must keep every
 * other statement of this process out of the connection until it commits (else they would join it).
 */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();
  private held = false;
  /** When the first unit of work of this turn of the event loop took the lock; `turn` is cleared by the next turn. */
  private turnStart = 0;
  private turn = false;

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
    // Queued units of work hand the lock on in microtasks: without a pause a queue of them would run
    // in one turn of the event loop and keep every request, timer and reply waiting until it drained.
    // One that would begin after others held the lock this turn for a while waits for the next turn.
    if (this.turn && performance.now() - this.turnStart > TURN_MS) await new Promise<void>((resolve) => setImmediate(resolve));
    if (!this.turn) {
      this.turn = true;
      this.turnStart = performance.now();
      setImmediate(() => (this.turn = false));
    }
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

type Statement = SqliteStatement<unknown[], unknown>;

/** The SQLite executor over the process's one better-sqlite3 connection. */
export class SqliteSql implements SqlDatabase {
  readonly dialect = 'sqlite' as const;
  /** Held by every unit of work; the synchronous hot paths of the compute store take it too. */
  readonly lock = new Mutex();

  /** Prepared statements by SQL text: a statement is compiled once per connection, not per call. */
  private readonly statements = new Map<string, Statement>();
  /** PRAGMA data_version as last read, when (performance.now() as the read began), and an epoch that moves when it changes. */
  private foreign: { statement: Statement; version: number; at: number; epoch: number } | null = null;
  /** SQLite's freshGenerations(): the generations as read, valid while no write to them and no commit by another connection. */
  private generations: { map: Map<string, number>; epoch: number } | null = null;
  /** Moves on every write to cache_generations through this connection (a TEMP trigger); -1 before the trigger exists. */
  private generationWrites = -1;

  /** Which processes use the file, once join() has registered this one (createNovabox does). */
  private presence: SqlitePresence | null = null;

  constructor(readonly db: Db) {}

  /**
   * Registers this process among those on the file and resolves once it may write (SqlitePresence):
   * call it before anything writes. While it then holds the file alone, foreignEpoch() needs no look.
   */
  async join(): Promise<void> {
    if (this.presence) return;
    const presence = new SqlitePresence(this.db, () => void this.lookForeign(), (fn) => this.lock.run(fn));
    await presence.join();
    this.presence = presence;
  }

  /** Whether this process holds the file alone (null before join()). */
  get alone(): boolean | null {
    return this.presence ? this.presence.holdsAlone : null;
  }

  private prepared(sql: string): Statement {
    let st = this.statements.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      if (this.statements.size >= 1000) this.statements.clear();
      this.statements.set(sql, st);
    }
    return st;
  }

  /**
   * An epoch that moves whenever another connection to the file has committed (PRAGMA data_version,
   * which counts only other connections' commits). A look begun at or after `since` is reused, so
   * callers that pass a request's arrival share one look per request.
   */
  foreignEpoch(since = Infinity): number {
    // Alone on the file (SqlitePresence): no other novabox can have committed; the tick looks for the rest.
    if (this.foreign && this.presence?.trusted(performance.now())) return this.foreign.epoch;
    return this.lookForeign(since);
  }

  /** foreignEpoch() with a look at the file whatever the presence says (the presence's tick). */
  private lookForeign(since = Infinity): number {
    if (!this.foreign) {
      const statement = this.db.prepare('PRAGMA data_version /* foreign commits */');
      this.foreign = { statement, version: (statement.get() as { data_version: number }).data_version, at: performance.now(), epoch: 0 };
      return 0;
    }
    const f = this.foreign;
    if (f.at >= since) return f.epoch;
    const at = performance.now();
    const v = (f.statement.get() as { data_version: number }).data_version;
    f.at = at;
    if (v !== f.version) {
      f.version = v;
      f.epoch++;
    }
    return f.epoch;
  }

  /**
   * The cache generations without a query while they cannot have moved: a TEMP trigger on this
   * connection reports every write to cache_generations (a unit of work's bump drops them at once,
   * so a reader waits for its commit), and foreignEpoch() every commit by another process.
   */
  freshGenerations(): Promise<Generations | null> | Generations | null {
    if (this.generationWrites < 0 && !this.watchGenerations()) return null;
    const epoch = this.foreignEpoch();
    const g = this.generations;
    if (g && g.epoch === epoch) return g.map;
    const writes = this.generationWrites;
    return this.all<{ name: string; generation: number }>('SELECT name, generation FROM cache_generations').then((rows) => {
      const map = new Map(rows.map((r) => [r.name, Number(r.generation)]));
      // Kept only if no write to the generations came between the look at the epoch and this read's answer.
      if (writes === this.generationWrites) this.generations = { map, epoch };
      return map;
    });
  }

  private watchGenerations(): boolean {
    const db = this.db;
    if (!db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'cache_generations'").get()) return false;
    db.function('novabox_generations_written', { deterministic: false }, () => {
      this.generationWrites++;
      this.generations = null;
      return null;
    });
    for (const op of ['INSERT', 'UPDATE', 'DELETE']) {
      db.exec(`CREATE TEMP TRIGGER IF NOT EXISTS novabox_generations_${op[0].toLowerCase()} AFTER ${op} ON main.cache_generations BEGIN SELECT novabox_generations_written(); END`);
    }
    this.generationWrites = 0;
    return true;
  }

  /**
   * TEMP triggers on this connection (nothing is added to the file) call `server(uuid)` after each
   * update or delete of a server row and `other()` after each write to a table the view reads
   * beside it; PRAGMA data_version tells commits by other connections, whose writes no trigger
   * here sees. One watcher per connection (a second replaces the first). Null when the schema lacks
   * one of the tables (a bare test database): no memo rather than a blind spot.
   */
  watchServerViews(calls: { server(uuid: string): void; other(): void }): ServerViewWatch | null {
    const db = this.db;
    const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ? /* view watch */");
    if (![...SERVER_VIEW_INPUTS, 'servers'].every((t) => exists.get(t))) return null;
    db.function('novabox_server_view_changed', { deterministic: false }, (uuid: unknown) => {
      calls.server(String(uuid));
      return null;
    });
    db.function('novabox_server_view_inputs_changed', { deterministic: false }, () => {
      calls.other();
      return null;
    });
    const ddl = [
      'CREATE TEMP TRIGGER IF NOT EXISTS novabox_view_servers_u AFTER UPDATE ON main.servers BEGIN SELECT novabox_server_view_changed(OLD.uuid); END',
      'CREATE TEMP TRIGGER IF NOT EXISTS novabox_view_servers_d AFTER DELETE ON main.servers BEGIN SELECT novabox_server_view_changed(OLD.uuid); END',
    ];
    for (const t of SERVER_VIEW_INPUTS) {
      for (const op of ['INSERT', 'UPDATE', 'DELETE']) {
        ddl.push(`CREATE TEMP TRIGGER IF NOT EXISTS novabox_view_${t}_${op[0].toLowerCase()} AFTER ${op} ON main.${t} BEGIN SELECT novabox_server_view_inputs_changed(); END`);
      }
    }
    for (const stmt of ddl) db.exec(stmt);
    let seen = this.foreignEpoch();
    return {
      othersCommitted: (since?: number) => {
        const e = this.foreignEpoch(since);
        if (e === seen) return false;
        seen = e;
        return true;
      },
    };
  }

  /** The connection without the lock: only for code that already holds `lock` (a unit of work's body). */
  unlocked(): Sql {
    return this.direct();
  }

  private direct(): Sql {
    return this.directSql;
  }

  private readonly directSql: Sql = {
    dialect: 'sqlite',
    all: async <T>(sql: string, params: readonly Param[] = []) => this.prepared(sql).all(...sqliteParams(params)) as T[],
    get: async <T>(sql: string, params: readonly Param[] = []) => this.prepared(sql).get(...sqliteParams(params)) as T | undefined,
    run: async (sql: string, params: readonly Param[] = []) => ({ changes: this.prepared(sql).run(...sqliteParams(params)).changes }),
  };

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
    // The connection belongs to whoever opened it (openDb); only this process's presence row goes.
    await this.presence?.close();
  }
}

/**
 * PostgreSQL's TEXT cannot hold U+0000 (SQLite's can), so a value with one is the client's input that
 * this database cannot store or match: a 400 in the service's own fault shape (src/api/faults.ts
 * maps any error with a 4xx statusCode), never the server error the driver would raise.
 */
export class UnstorableText extends Error {
  readonly statusCode = 400;
  constructor() {
    super('Invalid input: a value contains the NUL character (\\u0000).');
  }
}

/**
 * Short statements (point reads and writes: a server by uuid, a generation, a task) run as named
 * prepared statements, parsed and planned once per connection; longer ones (lists, whose best plan
 * depends on their parameters) and those with an expanded IN list stay unnamed.
 */
const PREPARED_MAX_CHARS = 240;
const PREPARED_MAX_NAMES = 2000;
const preparedNames = new Map<string, string | null>();

function pgQueryConfig(sql: string, values: unknown[]): pg.QueryConfig {
  let name = preparedNames.get(sql);
  if (name === undefined) {
    const eligible = sql.length <= PREPARED_MAX_CHARS && !/\bIN\s*\(\s*\?/i.test(sql) && preparedNames.size < PREPARED_MAX_NAMES;
    name = eligible ? `nb_${createHash('sha1').update(sql).digest('hex').slice(0, 20)}` : null;
    preparedNames.set(sql, name);
  }
  const text = toPostgresPlaceholders(sql);
  return name ? { name, text, values } : { text, values };
}

function pgExecutor(query: (config: pg.QueryConfig) => Promise<pg.QueryResult>): Sql {
  const q = (sql: string, params: readonly Param[]): Promise<pg.QueryResult> => {
    if (params.some((p) => typeof p === 'string' && p.includes('\u0000'))) return Promise.reject(new UnstorableText());
    return query(pgQueryConfig(sql, [...params]));
  };
  return {
    dialect: 'postgres',
    async all<T>(sql: string, params: readonly Param[] = []) {
      return (await q(sql, params)).rows as T[];
    },
    async get<T>(sql: string, params: readonly Param[] = []) {
      return (await q(sql, params)).rows[0] as T | undefined;
    },
    async run(sql: string, params: readonly Param[] = []) {
      return { changes: (await q(sql, params)).rowCount ?? 0 };
    },
  };
}

/** The PostgreSQL executor over a node-postgres pool; a unit of work holds one pooled client. */
export class PostgresSql implements SqlDatabase {
  readonly dialect = 'postgres' as const;
  private readonly exec: Sql;
  /** The process's LISTEN connection: server-view notifications and shared generation barriers. */
  readonly feed: PgChangeFeed;

  constructor(readonly pool: pg.Pool) {
    const Client = (pool as unknown as { Client: new (o: unknown) => pg.Client }).Client;
    this.feed = new PgChangeFeed(() => new Client(pool.options));
    // A statement that may write (anything but a SELECT) waits until this replica is a member and
    // tells the feed when it has ended: see PgChangeFeed.member() and wrote().
    this.exec = pgExecutor(async (config) => {
      if (/^\s*select\b/i.test(config.text)) return pool.query(config);
      if (!this.feed.isMember) await this.feed.member();
      try {
        return await pool.query(config);
      } finally {
        this.feed.wrote();
      }
    });
  }

  freshGenerations(): Promise<Generations | null> | Generations | null {
    return this.feed.after(performance.now());
  }

  /**
   * The rendered-view memo's watch on PostgreSQL: the triggers of migration 'compute-view-notify'
   * notify every replica of each committed write (src/store/pg-feed.ts); a memo is served only after
   * a barrier sent after the request arrived, so never staler than a read made for that request.
   */
  watchServerViews(calls: { server(uuid: string): void; other(): void }): ServerViewWatch | null {
    const feed = this.feed;
    feed.onChange((payload) => (payload === '*' ? calls.other() : calls.server(payload)));
    return {
      othersCommitted: () => false,
      fresh(since: number) {
        const g = feed.after(since);
        if (g === null) return false;
        return g instanceof Promise ? g.then((x) => x !== null) : true;
      },
    };
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
    if (!this.feed.isMember) await this.feed.member();
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await fn(pgExecutor((config) => client.query(config)));
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
      this.feed.wrote();
    }
  }

  /** Whether this replica holds the database alone (PgChangeFeed); null while it is not a member. */
  get alone(): boolean | null {
    return this.feed.isMember ? this.feed.holdsAlone : null;
  }

  async close(): Promise<void> {
    await this.feed.close();
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
