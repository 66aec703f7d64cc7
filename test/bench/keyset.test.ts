// Deep pages at fleet scale: a marker page seeks the list index (a range on the sort keys) instead
// of scanning up to the marker, and paging with one sort direction still visits every server once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeEngine, ctx, DEMO, createRequest } from '../engine/harness.ts';
import type { ServerQuery } from '../../src/store/store.ts';
import { SqliteComputeStore } from '../../src/store/sqlite.ts';
import { statusFilter } from '../../src/domain/states.ts';

test('a marker page seeks the index by its sort keys', async () => {
  const h = await makeEngine({ config: { quota_defaults: { instances: -1, cores: -1, ram: -1 } } });
  try {
    const [s] = await h.engine.create(ctx(DEMO), await createRequest(h));
    const store = h.engine.store as SqliteComputeStore;
    const f = statusFilter(['BUILD'])!;
    const plan = store.explainList({ project_id: 'p-demo', deleted: 'exclude', vm_states: f.vm_states, sort: [{ key: 'created_at', dir: 'desc' }], limit: 100, marker: s.uuid }).join('\n');
    assert.match(plan, /USING INDEX servers_project_vm \(.*created_at<\?\)/);
    assert.doesNotMatch(plan, /TEMP B-TREE/);
  } finally {
    await h.close();
  }
});

test('paging with one sort direction returns each server once, in the full list order', async () => {
  const h = await makeEngine({ config: { quota_defaults: { instances: -1, cores: -1, ram: -1 } } });
  try {
    for (let i = 0; i < 4; i++) {
      await h.engine.create(ctx(DEMO), await createRequest(h, { name: `n${i % 2}`, min_count: 6, max_count: 6 }));
      h.clock.advance(1000);
    }
    await h.engine.settle();
    const sorts: ServerQuery['sort'][] = [
      [{ key: 'created_at', dir: 'desc' }],
      [{ key: 'created_at', dir: 'asc' }],
      [{ key: 'display_name', dir: 'asc' }, { key: 'created_at', dir: 'asc' }],
      [{ key: 'display_name', dir: 'desc' }, { key: 'launch_index', dir: 'desc' }],
      // A nullable key keeps the expanded comparison: same result.
      [{ key: 'host', dir: 'asc' }],
    ];
    for (const sort of sorts) {
      const full = await h.engine.listServers({ project_id: 'p-demo', deleted: 'exclude', sort, limit: 1000 });
      assert.equal(full.length, 24);
      const seen: string[] = [];
      let marker: string | undefined;
      for (;;) {
        const page = await h.engine.listServers({ project_id: 'p-demo', deleted: 'exclude', sort, limit: 5, marker });
        seen.push(...page.map((s) => s.uuid));
        if (page.length < 5) break;
        marker = page[page.length - 1].uuid;
      }
      assert.deepEqual(seen, full.map((s) => s.uuid), JSON.stringify(sort));
    }
  } finally {
    await h.close();
  }
});
