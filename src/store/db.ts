// Opens the embedded SQLite database and brings its schema up to date.
import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { MIGRATIONS } from './migrations/index.ts';
import { searchMatches } from '../domain/regex.ts';

export type Db = Database.Database;

/** `migrate: false` leaves the schema to the caller (createNovabox registers the process on the file first). */
export function openDb(path: string, opts: { migrate?: boolean } = {}): Db {
  if (path !== ':memory:' && path !== '') {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    restrictFiles(path);
  }
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  db.pragma('cache_size = -65536');
  // Nova matches regex filters with Python's re.search; the linear-time engine keeps its meaning
  // without backtracking (src/domain/regex.ts), so no pattern can hold the event loop.
  db.function('regexp', { deterministic: true }, (pattern: unknown, value: unknown) => {
    if (value === null || value === undefined) return 0;
    return searchMatches(String(pattern), String(value)) ? 1 : 0;
  });
  if (opts.migrate !== false) migrate(db);
  memoizePrepare(db);
  return db;
}

/**
 * The database holds password and token hashes: it is created 0600, and a file left readable by an
 * older version is narrowed. SQLite creates the -wal and -shm files with the main file's mode.
 */
function restrictFiles(path: string): void {
  closeSync(openSync(path, 'a', 0o600));
  for (const f of [path, `${path}-wal`, `${path}-shm`]) {
    if (existsSync(f)) chmodSync(f, 0o600);
  }
}

/**
 * Statements are compiled once per SQL text: preparing costs more than running a point query, and
 * request handlers prepare as they go. Statements are shared, so code that switches a statement's
 * mode (raw, pluck, expand) must use SQL text of its own (the store marks those with a comment).
 */
function memoizePrepare(db: Db): void {
  const prepare = db.prepare.bind(db);
  const cache = new Map<string, Database.Statement>();
  (db as { prepare: (sql: string) => Database.Statement }).prepare = (sql: string) => {
    let st = cache.get(sql);
    if (!st) {
      if (cache.size >= 1000) cache.clear();
      st = prepare(sql);
      cache.set(sql, st);
    }
    return st;
  };
}

export function migrate(db: Db): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)');
  const done = new Set((db.prepare('SELECT id FROM schema_migrations').all() as { id: string }[]).map((r) => r.id));
  for (const m of MIGRATIONS) {
    if (done.has(m.id)) continue;
    db.transaction(() => {
      db.exec(m.up);
      db.prepare('INSERT INTO schema_migrations (id, applied_at) VALUES (?, ?)').run(m.id, Date.now());
    })();
  }
}
