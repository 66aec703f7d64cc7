// Whole-database operations for the control API and the CLI: a readiness probe and a wipe back to an
// empty schema (the seeds then run again). Migrations create tables only; every first-start row
// comes from a seed() so that a wipe followed by the seeds is a fresh cloud.
import type { Db } from './db.ts';

/** Throws when the database cannot answer a query. */
export function ping(db: Db): void {
  db.prepare('SELECT 1 AS ok').get();
}

/** Deletes every row of every table except the migration log, and restarts the id sequences. */
export function wipe(db: Db): { tables: number; rows: number } {
  const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations'").all() as { name: string }[]).map((t) => t.name);
  const hasSequence = !!db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'").get();
  let rows = 0;
  db.pragma('foreign_keys = OFF');
  try {
    db.transaction(() => {
      for (const t of tables) rows += db.prepare(`DELETE FROM "${t.replace(/"/g, '""')}"`).run().changes;
      if (hasSequence) db.prepare('DELETE FROM sqlite_sequence').run();
    })();
  } finally {
    db.pragma('foreign_keys = ON');
  }
  return { tables: tables.length, rows };
}
