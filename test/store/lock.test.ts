// On SQLite one connection serves every repository: a unit of work that awaits must not be joined
// by the compute store's synchronous statements, nor the store's transactions by another unit of work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { openDb } from '../../src/store/db.ts';
import { SqliteSql } from '../../src/store/sql.ts';
import { SqliteComputeStore } from '../../src/store/sqlite.ts';
import { computeRepositories } from '../../src/store/compute/index.ts';

function open() {
  const db = openDb(':memory:');
  const sql = new SqliteSql(db);
  return { db, sql, store: new SqliteComputeStore(db, sql), repos: computeRepositories(sql) };
}

const flavor = (flavorid: string) => ({ flavorid, name: `f-${flavorid}`, vcpus: 1, memory_mb: 64, root_gb: 1 });

test('a store write made while a unit of work awaits waits for it, and survives its rollback', async () => {
  const { db, sql, store, repos } = open();
  try {
    let inside = false;
    const uow = sql.transaction(async (tx) => {
      await computeRepositories(tx).keypairs.insert({ user_id: 'u', name: 'k', type: 'ssh', fingerprint: 'f', public_key: 'p', created_at: 1 });
      inside = true;
      await sleep(30);
      throw new Error('rolled back');
    });
    while (!inside) await sleep(1);
    // Neither the read nor the write may run inside the open unit of work.
    const write = store.createFlavor(flavor('x1'), 1);
    const read = repos.keypairs.get('u', 'k');
    await assert.rejects(uow, /rolled back/);
    assert.equal((await write).flavorid, 'x1');
    assert.equal(await read, undefined, 'an uncommitted row is never read');
    assert.ok(await store.getFlavor('x1'), 'the flavor is not lost with the rolled-back unit of work');
    assert.equal(await repos.keypairs.get('u', 'k'), undefined);
  } finally {
    db.close();
  }
});

test("the compute store's transactions and the executor's units of work never interleave", async () => {
  const { db, sql, store, repos } = open();
  try {
    const order: string[] = [];
    const a = store.transaction(async (tx) => {
      order.push('store begins');
      await sleep(20);
      await computeRepositories(tx.sql).quotas.set('p', { cores: 3 });
      order.push('store ends');
      throw new Error('undo');
    });
    const b = sql.transaction(async (tx) => {
      order.push('uow begins');
      await computeRepositories(tx).quotas.set('p', { ram: 7 });
      order.push('uow ends');
    });
    const c = store.upsertHost({ name: 'h9', availability_zone: 'nova', disabled: false, disabled_reason: null, forced_down: false, up: true, updated_at: 1 });
    await assert.rejects(a, /undo/);
    await b;
    await c;
    assert.deepEqual(order, ['store begins', 'store ends', 'uow begins', 'uow ends']);
    assert.deepEqual(await repos.quotas.rows('p'), [{ resource: 'ram', hard_limit: 7 }]);
    assert.ok((await store.listHosts()).some((h) => h.name === 'h9'));
  } finally {
    db.close();
  }
});

test('a queue of units of work lets the event loop turn between them: a request waiting for I/O is not held until the queue drains', async () => {
  const { db, sql } = open();
  try {
    const busy = (ms: number) => {
      const end = performance.now() + ms;
      while (performance.now() < end);
    };
    let turned = -1;
    let done = 0;
    // Forty units of work of 2 ms each queued at once hand the lock on in microtasks: 80 ms in one turn without a pause.
    const queue = Array.from({ length: 40 }, () => sql.transaction(async (tx) => {
      await tx.get('SELECT 1 AS one');
      busy(2);
      done++;
    }));
    setImmediate(() => (turned = done));
    await Promise.all(queue);
    assert.equal(done, 40);
    assert.ok(turned >= 0 && turned < 20, `the event loop turned after ${turned} of 40 units of work`);
  } finally {
    db.close();
  }
});
