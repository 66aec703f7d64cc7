// Quota usage is cached by the store (counting a big project on every create does not scale):
// through creates, resizes, soft and hard deletes, restores and a rolled-back transaction the
// cached figure stays what counting the table says, and quotas are still enforced from it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeEngine, ctx, DEMO, ALT, createRequest, type Harness } from '../engine/harness.ts';

function counted(h: Harness, project_id: string) {
  return h.db.prepare(`SELECT COUNT(*) AS instances, COALESCE(SUM(vcpus), 0) AS cores, COALESCE(SUM(memory_mb), 0) AS ram
    FROM servers WHERE project_id = ? AND deleted = 0 AND vm_state <> 'soft-delete'`).get(project_id);
}

async function same(h: Harness, step: string) {
  for (const p of ['p-demo', 'p-alt']) assert.deepEqual(await h.engine.usage(p), counted(h, p), `${step}: ${p}`);
}

test('cached quota usage follows every change of the servers table', async () => {
  const h = await makeEngine({ config: { reclaim_instance_interval: 3600, quota_defaults: { instances: 50, cores: -1, ram: -1 } } });
  try {
    await same(h, 'empty');
    const made = await h.engine.create(ctx(DEMO), await createRequest(h, { min_count: 3, max_count: 3 }));
    await h.engine.create(ctx(ALT), await createRequest(h));
    await same(h, 'created');
    await h.engine.settle();
    await same(h, 'active');
    const small = (await h.engine.store.getFlavor('2'))!;
    await h.engine.act(ctx(DEMO), made[0].uuid, 'resize', { flavor: small });
    await h.engine.settle();
    await same(h, 'resized');
    await h.engine.act(ctx(DEMO), made[0].uuid, 'confirmResize');
    await h.engine.settle();
    await same(h, 'resize confirmed');
    await h.engine.delete(ctx(DEMO), made[1].uuid);
    await h.engine.settle();
    await same(h, 'soft-deleted');
    await h.engine.act(ctx(DEMO), made[1].uuid, 'restore');
    await h.engine.settle();
    await same(h, 'restored');
    await h.engine.act(ctx(DEMO), made[2].uuid, 'forceDelete');
    await h.engine.settle();
    await same(h, 'force-deleted');
    // A transaction that inserts a server and then fails leaves no trace, in the table or the cache.
    await assert.rejects(h.engine.store.transaction(async (tx) => {
      await tx.insertServer({ ...made[0], uuid: 'rolled-back', flavor: small } as never);
      assert.equal((await tx.usage('p-demo')).instances, 3);
      throw new Error('boom');
    }), /boom/);
    await same(h, 'rolled back');
  } finally {
    await h.close();
  }
});

test('quota is enforced from the cached usage', async () => {
  const h = await makeEngine({ config: { quota_defaults: { instances: 2, cores: -1, ram: -1 } } });
  try {
    await h.engine.create(ctx(DEMO), await createRequest(h, { min_count: 2, max_count: 2 }));
    await assert.rejects(h.engine.create(ctx(DEMO), await createRequest(h)), { message: 'Quota exceeded for instances: Requested 1, but already used 2 of 2 instances' });
    const [s] = await h.engine.listServers({ project_id: 'p-demo', deleted: 'exclude', sort: [{ key: 'created_at', dir: 'desc' }], limit: 1 });
    await h.engine.settle();
    await h.engine.delete(ctx(DEMO), s.uuid);
    await h.engine.settle();
    await h.engine.create(ctx(DEMO), await createRequest(h));
  } finally {
    await h.close();
  }
});
