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
