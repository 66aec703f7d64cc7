// The raw-mode readers (getServer, listServers) return exactly the record rowToServer builds,
// keys in the same order, for servers in every shape a view meets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeEngine, ctx, DEMO, createRequest } from '../engine/harness.ts';

test('getServer and listServers read the same records as the transaction reader', async () => {
  const h = await makeEngine({ config: { reclaim_instance_interval: 3600, quota_defaults: { instances: -1, cores: -1, ram: -1 } } });
  try {
    const made = await h.engine.create(ctx(DEMO), await createRequest(h, { min_count: 4, max_count: 4, metadata: { a: 'b' }, tags: ['t1'] }));
    await h.engine.settle();
    await h.engine.act(ctx(DEMO), made[1].uuid, 'lock', { reason: 'why' });
    await h.engine.act(ctx(DEMO), made[2].uuid, 'stop');
    await h.engine.delete(ctx(DEMO), made[3].uuid);
    await h.engine.settle();
    const store = h.engine.store;
    const listed = await store.listServers({ project_id: 'p-demo', deleted: 'include', sort: [{ key: 'created_at', dir: 'desc' }], limit: 10 });
    assert.equal(listed.length, 4);
    for (const s of made) {
      const viaTx = await store.transaction((tx) => tx.getServerForUpdate(s.uuid));
      const direct = await store.getServer(s.uuid);
      assert.deepEqual(direct, viaTx);
      assert.deepEqual(Object.keys(direct!), Object.keys(viaTx!));
      assert.deepEqual(listed.find((x) => x.uuid === s.uuid), viaTx);
    }
    assert.equal((await store.getServer(made[1].uuid))!.locked_by, 'owner');
    assert.equal((await store.getServer(made[3].uuid))!.vm_state, 'soft-delete');
    assert.equal(await store.getServer('nope'), undefined);
  } finally {
    await h.close();
  }
});
