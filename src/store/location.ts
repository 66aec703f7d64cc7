// Where the database is: `--db` / NOVABOX_DB names a SQLite file (or ':memory:') or a PostgreSQL
// URL (postgres://user@host:port/dbname). Any other URL scheme is an error, not a file name.
export type DbLocation = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

export class DbLocationError extends Error {}

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;

export function parseDbLocation(db: string): DbLocation {
  const m = SCHEME.exec(db);
  if (!m) return { kind: 'sqlite', path: db };
  const scheme = m[1].toLowerCase();
  if (scheme === 'postgres' || scheme === 'postgresql') {
    let url: URL;
    try {
      url = new URL(db);
    } catch {
      throw new DbLocationError(`--db ${db}: not a valid PostgreSQL URL (postgres://user@host:port/dbname)`);
    }
    if (!url.hostname || url.pathname.length < 2) throw new DbLocationError(`--db ${db}: a PostgreSQL URL names a host and a database (postgres://user@host:port/dbname)`);
    return { kind: 'postgres', url: db };
  }
  throw new DbLocationError(`--db ${db}: unknown database scheme '${m[1]}:' (give a SQLite file path, ':memory:', or postgres://user@host:port/dbname)`);
}
