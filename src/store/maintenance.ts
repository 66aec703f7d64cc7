// Whole-database operations for the control API and the CLI: a readiness probe and a wipe back to an
// empty schema (the seeds then run again). Migrations create tables only; every first-start row
// comes from a seed() so that a wipe followed by the seeds is a fresh cloud.
import type { Db } from './db.ts';
import type { SqlDatabase } from './sql.ts';
import { bumpGeneration, CACHE_NAMES, KEPT_BY_WIPE } from './generations.ts';

// novabox_processes: who uses the file (src/store/presence.ts), not data; a wipe must not forget a process.
const KEPT = ['schema_migrations', 'novabox_processes', ...KEPT_BY_WIPE];
const quoted = (t: string): string => `"${t.replace(/"/g, '""')}"`;

/** Throws when the database cannot answer a query. */
export async function ping(sql: SqlDatabase): Promise<void> {
  await sql.get('SELECT 1 AS ok');
}

/**
 * Deletes every row of every table except the migration log and the cache generations, and restarts
 * the id sequences: of the shared database (`sql`), and of the process's SQLite handle `db` (on
 * PostgreSQL a private in-memory file that still holds the nova-network security groups).
 */
export async function wipe(db: Db, sql: SqlDatabase): Promise<{ tables: number; rows: number }> {
  const local = wipeSqlite(db);
  const shared = sql.dialect === 'postgres' ? await wipePostgres(sql) : null;
  // Every process (replica) drops what it cached of the rows that are gone.
  await sql.transaction(async (tx) => {
    for (const name of CACHE_NAMES) await bumpGeneration(tx, name);
  });
  return shared ? { tables: shared.tables, rows: shared.rows + local.rows } : local;
}

function wipeSqlite(db: Db): { tables: number; rows: number } {
  const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as { name: string }[])
    .map((t) => t.name)
    .filter((t) => !KEPT.includes(t))
    // Last: deleting servers adjusts it through triggers (008-host-usage), and it must end empty.
    .sort((a, b) => Number(a === 'host_usage') - Number(b === 'host_usage'));
  const hasSequence = !!db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'").get();
  let rows = 0;
  db.pragma('foreign_keys = OFF');
  try {
    db.transaction(() => {
      for (const t of tables) rows += db.prepare(`DELETE FROM ${quoted(t)}`).run().changes;
      if (hasSequence) db.prepare('DELETE FROM sqlite_sequence').run();
    })();
  } finally {
    db.pragma('foreign_keys = ON');
  }
  return { tables: tables.length, rows };
}

/** One TRUNCATE of every table (foreign keys and all), with the identity sequences restarted. */
async function wipePostgres(sql: SqlDatabase): Promise<{ tables: number; rows: number }> {
  return sql.transaction(async (tx) => {
    const tables = (await tx.all<{ name: string }>('SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename'))
      .map((t) => t.name)
      .filter((t) => !KEPT.includes(t));
    if (tables.length === 0) return { tables: 0, rows: 0 };
    await tx.run(`LOCK TABLE ${tables.map(quoted).join(', ')} IN ACCESS EXCLUSIVE MODE`);
    const counted = await tx.get<{ n: number | string }>(`SELECT ${tables.map((t) => `(SELECT COUNT(*) FROM ${quoted(t)})`).join(' + ')} AS n`);
    await tx.run(`TRUNCATE ${tables.map(quoted).join(', ')} RESTART IDENTITY CASCADE`);
    return { tables: tables.length, rows: Number(counted?.n ?? 0) };
  });
}
