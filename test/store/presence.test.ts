// Who is alone on a database, at the store level, with the timing pinned down: PostgreSQL's members'
// lock and barrier-free generations (src/store/pg-feed.ts), and SQLite's presence rows
// (src/store/presence.ts). The HTTP side (two `novabox serve`) is test/http/lone-process.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPostgres, SqliteSql, type PostgresSql } from '../../src/store/sql.ts';
import { openDb } from '../../src/store/db.ts';
import { bumpGeneration, GENERATIONS_MIGRATION } from '../../src/store/generations.ts';
import { migrateSql } from '../../src/store/sql.ts';
import { createPostgresDatabase } from '../helpers/postgres.ts';

async function until(what: string, ms: number, check: () => boolean): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) assert.fail(`${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const identityGeneration = async (db: PostgresSql): Promise<{ sync: boolean; value: number }> => {
  const g = db.freshGenerations();
  const sync = !(g instanceof Promise);
  const map = await g;
  assert.ok(map, 'the feed answers');
  return { sync, value: map.get('identity') ?? 0 };
};

test('PostgreSQL: alone, generations come without a barrier until this replica writes; a joiner is acknowledged before its write commits', { timeout: 60_000 }, async (t) => {
  const made = await createPostgresDatabase();
  if (!made) return t.skip('no PostgreSQL');
  const a = await openPostgres(made.url);
  const b = await openPostgres(made.url);
  try {
    await migrateSql(a, [GENERATIONS_MIGRATION]);
    await bumpGeneration(a, 'identity');
    await until('A alone', 5_000, () => a.alone === true);
    const first = await identityGeneration(a);
    assert.equal(first.value, 1);
    const again = await identityGeneration(a);
    assert.deepEqual(again, { sync: true, value: 1 }, 'alone with no write since: the last barrier’s generations, no round trip');

    // Its own write: the next look is a barrier that sees it.
    await a.transaction((tx) => bumpGeneration(tx, 'identity'));
    const afterOwn = await identityGeneration(a);
    assert.deepEqual(afterOwn, { sync: false, value: 2 }, 'after its own write a barrier reads the new generation');
    assert.deepEqual(await identityGeneration(a), { sync: true, value: 2 });

    // B writes: B is a member only once A has stopped trusting itself alone.
    assert.equal(b.alone, null, 'B has not joined before it writes');
    await b.transaction((tx) => bumpGeneration(tx, 'identity'));
    assert.equal(a.alone, false, 'A gave up being alone before B’s write could commit');
    assert.equal(b.alone, false);
    assert.deepEqual(await identityGeneration(a), { sync: false, value: 3 }, 'A reads B’s write at once, through a barrier');
    assert.equal((await identityGeneration(a)).sync, false, 'with B there, every look is a barrier');

    // B goes: A is alone again (its session's lock is gone with it).
    await b.close();
    await until('A alone again', 10_000, () => a.alone === true);
  } finally {
    await a.close();
    await b.close().catch(() => undefined);
    await made.drop();
  }
});

test('SQLite: presence rows; a joiner waits for the lone process, and a gone process frees the file', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'novabox-presence-'));
  const file = join(dir, 'n.db');
  const ra = openDb(file);
  const rb = openDb(file);
  const a = new SqliteSql(ra);
  const b = new SqliteSql(rb);
  try {
    assert.equal(a.alone, null);
    await a.join();
    await until('A alone', 2_000, () => a.alone === true);
    const epoch = a.foreignEpoch();
    // A commit by a connection that is not a novabox process: A looks only on its tick.
    rb.prepare('CREATE TABLE IF NOT EXISTS probe (x INTEGER)').run();
    rb.prepare('INSERT INTO probe (x) VALUES (1)').run();
    await until('A’s tick sees the foreign commit', 2_000, () => a.foreignEpoch() !== epoch);

    const t0 = Date.now();
    await b.join();
    assert.equal(a.alone, false, 'A acknowledged B before B’s join resolved');
    assert.ok(Date.now() - t0 < 5_000);
    const e1 = a.foreignEpoch();
    rb.prepare('INSERT INTO probe (x) VALUES (2)').run();
    assert.notEqual(a.foreignEpoch(), e1, 'with B there, A looks at every call');
    assert.equal(b.alone, false);

    await b.close();
    await until('A alone again', 2_000, () => a.alone === true);
    assert.deepEqual(ra.prepare('SELECT count(*) AS n FROM novabox_processes').get(), { n: 1 }, 'B’s row went with it');
  } finally {
    await a.close();
    await b.close();
    ra.close();
    rb.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
