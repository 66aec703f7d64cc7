// A throw-away PostgreSQL database per test: created on the server named by NOVABOX_TEST_PG (default
// postgres://postgres@127.0.0.1:5432/postgres), dropped afterwards. Without a server the test skips
// and says why; CI (.ci/run) starts PostgreSQL and sets NOVABOX_TEST_PG_REQUIRED=1 so a missing
// server fails instead.
import { test, type TestContext } from 'node:test';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openPostgres, SqliteSql, type PostgresSql, type SqlDatabase } from '../../src/store/sql.ts';
import { openDb } from '../../src/store/db.ts';

export const PG_ADMIN_URL = process.env.NOVABOX_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Creates an empty database and returns its URL, or null when no server answers. */
export async function createPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> } | null> {
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 2000 });
  try {
    await admin.connect();
  } catch (err) {
    if (process.env.NOVABOX_TEST_PG_REQUIRED === '1') throw err;
    return null;
  }
  const name = `novabox_test_${randomBytes(6).toString('hex')}`;
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** Runs `fn` on a fresh database's executor, skipping the test when PostgreSQL is not there. */
export async function withPostgresDatabase(t: TestContext, fn: (db: PostgresSql, url: string) => Promise<void>): Promise<void> {
  const made = await createPostgresDatabase();
  if (!made) {
    t.skip(`no PostgreSQL at ${PG_ADMIN_URL}`);
    return;
  }
  const db = await openPostgres(made.url);
  try {
    await fn(db, made.url);
  } finally {
    await db.close();
    await made.drop();
  }
}

/** Registers `${name} on SQLite` (a fresh in-memory file) and `${name} on PostgreSQL` (a throw-away database) running one contract. */
export function testOnBothDialects(name: string, contract: (db: SqlDatabase) => Promise<void>): void {
  test(`${name} on SQLite`, async () => {
    const raw = openDb(':memory:');
    try {
      await contract(new SqliteSql(raw));
    } finally {
      raw.close();
    }
  });
  test(`${name} on PostgreSQL`, async (t) => {
    await withPostgresDatabase(t, contract);
  });
}
