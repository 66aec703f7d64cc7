// The compute repositories (aggregates, quota classes) against the portable executor, on SQLite and
// on PostgreSQL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDb } from '../../../src/store/db.ts';
import { SqliteSql, type SqlDatabase } from '../../../src/store/sql.ts';
import { SqlAggregateRepository } from '../../../src/store/compute/aggregates.ts';
import { SqlQuotaClassRepository } from '../../../src/store/compute/quota-classes.ts';
import { INFRA_MIGRATIONS } from '../../../src/store/compute/infra.ts';
import { migrateSql } from '../../../src/store/sql.ts';
import { withPostgresDatabase } from '../../helpers/postgres.ts';

async function contract(db: SqlDatabase): Promise<void> {
  await migrateSql(db, INFRA_MIGRATIONS);
  const aggs = new SqlAggregateRepository(db);
  const a = (await aggs.create({ uuid: 'u-1', name: 'agg1', availability_zone: 'zone-a' }, 1000))!;
  assert.deepEqual({ ...a }, { id: a.id, uuid: 'u-1', name: 'agg1', availability_zone: 'zone-a', hosts: [], metadata: { availability_zone: 'zone-a' }, created_at: 1000, updated_at: null });
  assert.equal(await aggs.create({ uuid: 'u-2', name: 'agg1', availability_zone: null }, 1001), undefined, 'names are unique');
  const b = (await aggs.create({ uuid: 'u-3', name: 'agg2', availability_zone: null }, 1002))!;
  assert.equal(await aggs.update(b.id, { name: 'agg1' }, 1003), 'conflict');
  assert.equal(await aggs.addHost(a.id, 'h1'), true);
  assert.equal(await aggs.addHost(a.id, 'h1'), false, 'already a member');
  assert.equal(await aggs.addHost(a.id, 'h0'), true);
  assert.deepEqual((await aggs.get(a.id))!.hosts, ['h0', 'h1']);
  const m = (await aggs.setMetadata(a.id, { k: 'v', availability_zone: 'zone-b' }, 1004))!;
  assert.deepEqual([m.metadata, m.availability_zone, m.updated_at], [{ availability_zone: 'zone-b', k: 'v' }, 'zone-b', 1004]);
  const n = (await aggs.setMetadata(a.id, { k: null, availability_zone: null }, 1005))!;
  assert.deepEqual([n.metadata, n.availability_zone], [{}, null]);
  const u = await aggs.update(a.id, { name: 'renamed', availability_zone: 'zone-c' }, 1006);
  assert.ok(u && u !== 'conflict' && u.name === 'renamed' && u.availability_zone === 'zone-c');
  assert.equal(await aggs.removeHost(a.id, 'h1'), true);
  assert.equal(await aggs.removeHost(a.id, 'h1'), false);
  assert.deepEqual((await aggs.list()).map((x) => x.name), ['renamed', 'agg2']);
  assert.equal(await aggs.delete(a.id), true);
  assert.equal(await aggs.get(a.id), undefined);
  assert.equal(await aggs.delete(a.id), false);

  const qc = new SqlQuotaClassRepository(db);
  assert.deepEqual(await qc.limits('default'), {});
  await qc.set('default', { cores: 50, instances: 20 });
  await qc.set('default', { cores: 40 });
  assert.deepEqual(await qc.limits('default'), { cores: 40, instances: 20 });
  assert.deepEqual(await qc.limits('gold'), {});
}

test('compute repositories on SQLite', async () => {
  const raw = openDb(':memory:');
  try {
    await contract(new SqliteSql(raw));
  } finally {
    raw.close();
  }
});

test('compute repositories on PostgreSQL', async (t) => {
  await withPostgresDatabase(t, contract);
});
