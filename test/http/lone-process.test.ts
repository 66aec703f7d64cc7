// A novabox alone on its database skips the per-request look at other processes' commits (SQLite's
// PRAGMA data_version, PostgreSQL's barrier) and says so in GET /metrics (novabox_store_alone). These
// tests hold it to what that must not cost: its own writes are seen by its next request; a second
// process that joins is acknowledged before it writes, so the first sees the second's changes at its
// very next request; and once the second has gone (stopped or killed) the first is alone again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createPostgresDatabase } from '../helpers/postgres.ts';
import { call, token } from '../helpers/remote.ts';
import { serveReplica, stopReplicas, type Replica } from '../helpers/replicas.ts';

async function alone(base: string): Promise<boolean> {
  const res = await fetch(`${base}/metrics`);
  assert.equal(res.status, 200);
  const line = (await res.text()).split('\n').find((l) => l.startsWith('novabox_store_alone '));
  assert.ok(line, 'GET /metrics has novabox_store_alone');
  return line.endsWith(' 1');
}

async function until(what: string, ms: number, check: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function loneThenJoined(db: string, opts: { kill: boolean; external?: (uuid: string, name: string) => void }): Promise<void> {
  const replicas: Replica[] = [];
  try {
    const a = await serveReplica(db);
    replicas.push(a);
    await until('the only process says it is alone', 10_000, () => alone(a.base));
    const demo = await token(a.base, 'demo');
    const created = await call(a.base, demo, 'POST', '/servers', { server: { name: 'lone-0', flavorRef: '42', imageRef: '4fa04c19-09fa-51ff-9872-fac075d1145b' } });
    assert.equal(created.status, 202, await created.clone().text());
    const id = (await created.json()).server.id as string;
    const nameOn = async (base: string) => {
      const res = await call(base, demo, 'GET', `/servers/${id}`);
      assert.equal(res.status, 200);
      return (await res.json()).server.name as string;
    };
    // Alone: its own writes are seen by its next request, memo or not.
    for (let i = 1; i <= 5; i++) {
      assert.equal(await nameOn(a.base), `lone-${i - 1}`);
      assert.equal(await nameOn(a.base), `lone-${i - 1}`);
      assert.equal((await call(a.base, demo, 'PUT', `/servers/${id}`, { server: { name: `lone-${i}` } })).status, 200);
      assert.equal(await nameOn(a.base), `lone-${i}`, `A shows the name it gave (turn ${i})`);
    }
    assert.ok(await alone(a.base), 'its own writes leave it alone');

    if (opts.external) {
      // A program that is not a novabox writes to the file: seen within the process's tick.
      assert.equal(await nameOn(a.base), 'lone-5');
      opts.external(id, 'outside');
      await until('A shows a name written to the file by another program', 2_000, async () => (await nameOn(a.base)) === 'outside');
      assert.equal((await call(a.base, demo, 'PUT', `/servers/${id}`, { server: { name: 'lone-5' } })).status, 200);
    }

    // B joins: by the time it serves, A has given up being alone.
    const b = await serveReplica(db);
    replicas.push(b);
    assert.equal(await alone(a.base), false, 'A is no longer alone once B serves');
    assert.equal(await alone(b.base), false, 'B is not alone');
    // B's changes are seen by A at its next request: a rename, a token revoked.
    for (let i = 1; i <= 5; i++) {
      assert.equal(await nameOn(a.base), `${i === 1 ? 'lone-5' : `joined-${i - 1}`}`);
      assert.equal((await call(b.base, demo, 'PUT', `/servers/${id}`, { server: { name: `joined-${i}` } })).status, 200);
      assert.equal(await nameOn(a.base), `joined-${i}`, `A shows the name B gave (turn ${i})`);
    }
    const admin = await token(b.base, 'admin');
    assert.equal((await call(a.base, demo, 'GET', '/servers')).status, 200);
    const revoked = await fetch(`${b.base}/identity/v3/auth/tokens`, { method: 'DELETE', headers: { 'x-auth-token': admin, 'x-subject-token': demo } });
    assert.equal(revoked.status, 204);
    assert.equal((await call(a.base, demo, 'GET', '/servers')).status, 401, 'A refuses the token B revoked');

    // B goes: A is alone again.
    if (opts.kill) {
      const gone = new Promise((r) => b.child.once('exit', r));
      b.child.kill('SIGKILL');
      await gone;
    } else {
      await stopReplicas([b]);
    }
    await until(`A alone again after B ${opts.kill ? 'was killed' : 'stopped'}`, 15_000, () => alone(a.base));
    const demo2 = await token(a.base, 'demo');
    assert.equal((await call(a.base, demo2, 'PUT', `/servers/${id}`, { server: { name: 'alone-again' } })).status, 200);
    const res = await call(a.base, demo2, 'GET', `/servers/${id}`);
    assert.equal((await res.json()).server.name, 'alone-again');
  } finally {
    await stopReplicas(replicas);
  }
}

test('SQLite: a process alone on the file, then a second one joins and stops', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'novabox-lone-'));
  const file = join(dir, 'novabox.db');
  try {
    await loneThenJoined(file, {
      kill: false,
      external: (uuid, name) => {
        const raw = new Database(file);
        try {
          raw.pragma('busy_timeout = 5000');
          assert.equal(raw.prepare('UPDATE servers SET display_name = ? WHERE uuid = ?').run(name, uuid).changes, 1);
        } finally {
          raw.close();
        }
      },
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SQLite: the second process is killed, the first is alone again', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'novabox-lone-'));
  try {
    await loneThenJoined(join(dir, 'novabox.db'), { kill: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('PostgreSQL: a replica alone on the database, then a second joins and is killed', { timeout: 120_000 }, async (t) => {
  const made = await createPostgresDatabase();
  if (!made) return t.skip('no PostgreSQL');
  try {
    await loneThenJoined(made.url, { kill: true });
  } finally {
    await made.drop();
  }
});

test('PostgreSQL: a second replica joins and stops', { timeout: 120_000 }, async (t) => {
  const made = await createPostgresDatabase();
  if (!made) return t.skip('no PostgreSQL');
  try {
    await loneThenJoined(made.url, { kill: false });
  } finally {
    await made.drop();
  }
});
