// The portable executor's contract, run on SQLite and on PostgreSQL (skipped with a reason when no
// PostgreSQL answers at NOVABOX_TEST_PG or postgres://postgres@127.0.0.1:5432/postgres).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDb } from '../../src/store/db.ts';
import { SqliteSql, migrateSql, toPostgresPlaceholders, type SqlDatabase, type SqlMigration } from '../../src/store/sql.ts';
import { withPostgresDatabase } from '../helpers/postgres.ts';

const widgets: SqlMigration = {
  id: 'test-widgets',
  sqlite: 'CREATE TABLE widgets (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, size BIGINT NOT NULL);',
  postgres: 'CREATE TABLE widgets (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL UNIQUE, size BIGINT NOT NULL);',
};

async function contract(db: SqlDatabase): Promise<void> {
  await migrateSql(db, [widgets]);
  await migrateSql(db, [widgets]); // applied once only
  await db.run('INSERT INTO widgets (name, size) VALUES (?, ?)', ['a', 1700000000000]);
  const row = await db.get<{ name: string; size: number }>('SELECT name, size FROM widgets WHERE name = ?', ['a']);
  assert.deepEqual(row, { name: 'a', size: 1700000000000 });
  assert.equal(typeof row!.size, 'number');
  // A unit of work that throws leaves nothing behind.
  await assert.rejects(db.transaction(async (tx) => {
    await tx.run('INSERT INTO widgets (name, size) VALUES (?, ?)', ['b', 2]);
    throw new Error('boom');
  }), /boom/);
  assert.equal((await db.all('SELECT * FROM widgets')).length, 1);
  // One that commits keeps every statement; a unique violation inside rolls back the whole unit.
  await db.transaction(async (tx) => {
    await tx.run('INSERT INTO widgets (name, size) VALUES (?, ?)', ['c', 3]);
    await tx.run("UPDATE widgets SET size = size + 1 WHERE name = 'c'");
  });
  await assert.rejects(db.transaction(async (tx) => {
    await tx.run('INSERT INTO widgets (name, size) VALUES (?, ?)', ['d', 4]);
    await tx.run('INSERT INTO widgets (name, size) VALUES (?, ?)', ['a', 5]);
  }));
  assert.deepEqual((await db.all<{ name: string }>('SELECT name FROM widgets ORDER BY name')).map((r) => r.name), ['a', 'c']);
  assert.equal((await db.run('DELETE FROM widgets WHERE size BETWEEN ? AND ?', [3, 10])).changes, 1);
  // Concurrent units of work do not see or join each other's uncommitted rows.
  await Promise.all([1, 2, 3, 4].map((i) => db.transaction(async (tx) => {
    const n = (await tx.all('SELECT id FROM widgets')).length;
    await new Promise((r) => setTimeout(r, 5));
    await tx.run('INSERT INTO widgets (name, size) VALUES (?, ?)', [`w${i}`, n]);
  })));
  assert.equal((await db.all('SELECT id FROM widgets')).length, 5);
}

test('placeholders outside quotes become $n', () => {
  assert.equal(toPostgresPlaceholders("SELECT '?', \"a?\" FROM t WHERE a = ? AND b = ?"), "SELECT '?', \"a?\" FROM t WHERE a = $1 AND b = $2");
});

test('executor contract on SQLite', async () => {
  const raw = openDb(':memory:');
  try {
    await contract(new SqliteSql(raw));
  } finally {
    raw.close();
  }
});

test('executor contract on PostgreSQL', async (t) => {
  await withPostgresDatabase(t, contract);
});
