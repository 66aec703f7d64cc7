// The SQLite store: list pages come from an index in sort order (cost O(page), not O(servers)),
// keyset pagination visits every server exactly once, and the schema survives a reopen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeEngine, ctx, DEMO, ALT, createRequest } from './harness.ts';
import type { ServerQuery } from '../../src/store/store.ts';
import { SqliteComputeStore } from '../../src/store/sqlite.ts';
import { statusFilter } from '../../src/domain/states.ts';

test('listing by project and status reads an index in order, with no sort step', async () => {
  const h = await makeEngine();
  try {
    const store = h.engine.store as SqliteComputeStore;
    const f = statusFilter(['ACTIVE'])!;
    const q: ServerQuery = { project_id: 'p-demo', deleted: 'exclude', vm_states: f.vm_states, sort: [{ key: 'created_at', dir: 'desc' }], limit: 100 };
    const plan = store.explainList(q).join('\n');
    assert.match(plan, /USING INDEX servers_project_vm/);
    assert.doesNotMatch(plan, /TEMP B-TREE/);
    const all = store.explainList({ deleted: 'exclude', sort: [{ key: 'created_at', dir: 'desc' }], limit: 100 }).join('\n');
    assert.match(all, /USING INDEX servers_all_list/);
    assert.doesNotMatch(all, /TEMP B-TREE/);
  } finally {
    await h.close();
  }
});

test('keyset pagination with several sort keys returns each server once, in order', async () => {
  const h = await makeEngine({ config: { quota_defaults: { instances: -1, cores: -1, ram: -1 } } });
  try {
    for (let i = 0; i < 5; i++) {
      await h.engine.create(ctx(DEMO), await createRequest(h, { name: `n${i % 3}`, min_count: 7, max_count: 7 }));
      h.clock.advance(1000);
    }
    await h.engine.create(ctx(ALT), await createRequest(h, { min_count: 3, max_count: 3 }));
    const sort: ServerQuery['sort'] = [{ key: 'display_name', dir: 'asc' }, { key: 'created_at', dir: 'desc' }];
    const seen: string[] = [];
    let marker: string | undefined;
    for (;;) {
      const page = await h.engine.listServers({ project_id: 'p-demo', deleted: 'exclude', sort, limit: 4, marker });
      seen.push(...page.map((s) => s.uuid));
      if (page.length < 4) break;
      marker = page[page.length - 1].uuid;
    }
    const full = await h.engine.listServers({ project_id: 'p-demo', deleted: 'exclude', sort, limit: 1000 });
    assert.equal(full.length, 35);
    assert.deepEqual(seen, full.map((s) => s.uuid));
    for (let i = 1; i < full.length; i++) {
      const a = full[i - 1], b = full[i];
      assert.ok(a.display_name < b.display_name || (a.display_name === b.display_name && a.created_at >= b.created_at));
    }
    await assert.rejects(h.engine.listServers({ deleted: 'exclude', sort, limit: 1, marker: 'nope' }), { code: 400, message: 'marker [nope] not found' });
  } finally {
    await h.close();
  }
});
