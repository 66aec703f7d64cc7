// The networking repository on SQLite and PostgreSQL: resources with revisions and tags, address
// claims that refuse a second holder, quotas.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { SqliteSql, migrateSql, type SqlDatabase } from '../../src/store/sql.ts';
import { NETWORK_MIGRATIONS } from '../../src/store/network/migrations.ts';
import { SqlNetworkRepository } from '../../src/store/network/repository.ts';
import { withPostgresDatabase } from '../helpers/postgres.ts';

async function contract(db: SqlDatabase): Promise<void> {
  await migrateSql(db, NETWORK_MIGRATIONS);
  await migrateSql(db, NETWORK_MIGRATIONS);
  const repo = new SqlNetworkRepository();
  await db.transaction(async (tx) => {
    assert.equal(await repo.insert(tx, { kind: 'network', id: 'n1', project_id: 'p', created_at: 1000, doc: { name: 'a' }, tags: ['x', 'y'] }), true);
    assert.equal(await repo.insert(tx, { kind: 'network', id: 'n1', project_id: 'p', created_at: 1000, doc: { name: 'dup' }, tags: [] }), false);
    await repo.insert(tx, { kind: 'port', id: 'p1', project_id: 'p', created_at: 1001, doc: { network_id: 'n1', device_id: 'vm' }, tags: [] });
  });
  const n = await repo.get(db, 'network', 'n1');
  assert.deepEqual(n?.doc, { name: 'a' });
  assert.deepEqual(n?.tags, ['x', 'y']);
  assert.equal(n?.revision_number, 0);
  assert.deepEqual((await repo.list(db, 'port', { network_id: 'n1' })).map((r) => r.id), ['p1']);
  assert.deepEqual((await repo.list(db, 'port', { device_id: 'vm' })).map((r) => r.id), ['p1']);
  assert.equal(await repo.update(db, 'network', 'n1', { name: 'b' }, 2000, 0), true);
  assert.equal(await repo.update(db, 'network', 'n1', { name: 'c' }, 2001, 0), false, 'stale revision loses');
  const after = await repo.get(db, 'network', 'n1');
  assert.equal(after?.revision_number, 1);
  assert.equal(after?.updated_at, 2000);
  await repo.setTags(db, 'network', 'n1', ['z'], 3000);
  assert.deepEqual((await repo.get(db, 'network', 'n1'))?.tags, ['z']);
  assert.equal(await repo.count(db, 'network', 'p'), 1);
  // Address claims: the second holder of one address on one subnet is refused.
  assert.equal(await repo.allocate(db, { subnet_id: 's', ip_address: '10.0.0.2', network_id: 'n1', port_id: 'p1' }), true);
  assert.equal(await repo.allocate(db, { subnet_id: 's', ip_address: '10.0.0.2', network_id: 'n1', port_id: 'p2' }), false);
  assert.equal(await repo.allocate(db, { subnet_id: 's', ip_address: '10.0.0.3', network_id: 'n1', port_id: 'p1' }), true);
  await repo.release(db, 'p1', [{ subnet_id: 's', ip_address: '10.0.0.3' }]);
  assert.deepEqual((await repo.allocations(db, { port_id: 'p1' })).map((a) => a.ip_address), ['10.0.0.3']);
  // The first free address: the lowest of the pools no port holds, skipping the gateway; a cursor
  // makes the next pick a lookup, an address given back is the lowest free again, and new pools or
  // a new gateway void the cursor.
  const pools = [{ start: '10.1.0.1', end: '10.1.0.3' }, { start: '10.1.0.10', end: '10.1.0.20' }];
  const pickAndTake = (port: string, p = pools, gateway: string | null = '10.1.0.2') => db.transaction(async (tx) => {
    const ip = await repo.firstFreeIp(tx, { subnet_id: 'c', version: 4, pools: p, gateway });
    if (ip) assert.equal(await repo.allocate(tx, { subnet_id: 'c', ip_address: ip, network_id: 'n1', port_id: port }), true);
    return ip;
  });
  assert.equal(await repo.allocate(db, { subnet_id: 'c', ip_address: '10.1.0.10', network_id: 'n1', port_id: 'fixed' }), true);
  assert.deepEqual([await pickAndTake('a'), await pickAndTake('b'), await pickAndTake('c'), await pickAndTake('d')], ['10.1.0.1', '10.1.0.3', '10.1.0.11', '10.1.0.12']);
  await repo.release(db, 'b');
  assert.equal(await pickAndTake('e'), '10.1.0.3', 'a released address is the lowest free one again');
  await assert.rejects(db.transaction(async (tx) => {
    assert.equal(await repo.firstFreeIp(tx, { subnet_id: 'c', version: 4, pools, gateway: '10.1.0.2' }), '10.1.0.13');
    throw new Error('rolled back');
  }));
  assert.equal(await pickAndTake('f'), '10.1.0.13', 'a rolled-back pick leaves the cursor where it was');
  assert.equal(await pickAndTake('g', pools, null), '10.1.0.2', 'without the gateway its address is free');
  assert.equal(await pickAndTake('h', [{ start: '10.1.0.1', end: '10.1.0.1' }], null), null, 'a full pool has no free address');

  await repo.setQuota(db, 'p', 'network', 5);
  await repo.setQuota(db, 'p', 'network', 7);
  assert.deepEqual(await repo.quotas(db, 'p'), [{ project_id: 'p', resource: 'network', hard_limit: 7 }]);
  await repo.deleteQuotas(db, 'p');
  assert.deepEqual(await repo.quotas(db), []);
  assert.equal(await repo.delete(db, 'network', 'n1'), true);
  assert.equal(await repo.get(db, 'network', 'n1'), undefined);
  // A failed unit of work leaves nothing behind.
  await assert.rejects(db.transaction(async (tx) => {
    await repo.insert(tx, { kind: 'network', id: 'n2', project_id: 'p', created_at: 1, doc: {}, tags: ['t'] });
    throw new Error('boom');
  }));
  assert.equal(await repo.get(db, 'network', 'n2'), undefined);

  // Pages: keyset walks in both directions over a nullable number (JSON null, a missing key) and text.
  await db.transaction(async (tx) => {
    const docs: [string, Record<string, unknown>][] = [['k1', { n: 2, s: 'b' }], ['k2', { n: null, s: 'B' }], ['k3', { n: 1, s: 'a' }], ['k4', { s: 'c' }], ['k5', { n: 10, s: 'a' }]];
    for (const [id, doc] of docs) await repo.insert(tx, { kind: 'subnet', id, project_id: 'q', created_at: 5, doc, tags: [] });
  });
  const walk = async (order: Parameters<typeof repo.page>[2]['order']) => {
    const out: string[] = [];
    let after: unknown[] | undefined;
    for (;;) {
      const got = await repo.page(db, 'subnet', { filters: [], order, after, limit: 2 });
      out.push(...got.map((g) => g.row.id));
      if (got.length < 2) return out;
      after = got[got.length - 1].keys;
    }
  };
  const id = { field: { column: 'id' as const, type: 'text' as const }, desc: false };
  const num = { key: 'n', type: 'number' as const };
  assert.deepEqual(await walk([{ field: num, desc: false }, id]), ['k2', 'k4', 'k3', 'k1', 'k5'], 'nulls first, numbers by value');
  assert.deepEqual(await walk([{ field: num, desc: true }, id]), ['k5', 'k1', 'k3', 'k2', 'k4'], 'nulls last descending');
  assert.deepEqual(await walk([{ field: { key: 's', type: 'text' }, desc: false }, id]), ['k2', 'k3', 'k5', 'k1', 'k4'], 'text byte-wise');
  assert.deepEqual(await repo.keysOf(db, 'subnet', 'k3', [{ field: num, desc: false }, id]), [1, 'k3']);
  assert.equal(await repo.keysOf(db, 'subnet', 'nope', [id]), undefined);
  const one = await repo.page(db, 'subnet', { filters: [{ field: num, values: ['None'] }], order: [id] });
  assert.deepEqual(one.map((g) => g.row.id), ['k2', 'k4']);
}

test('network repository on SQLite', async () => {
  const raw = new Database(':memory:');
  try {
    await contract(new SqliteSql(raw as never));
  } finally {
    raw.close();
  }
});

test('network repository on PostgreSQL', async (t) => {
  await withPostgresDatabase(t, (db) => contract(db));
});
