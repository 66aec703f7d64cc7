// Two bookkeeping structures on the hot path of instance actions (issue 9): the show memo forgets a
// render only for a write to its own server (or to what every view reads), and the journal's ring
// keeps its last `capacity` entries in order however many were dropped.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ShowCache } from '../../src/api/compute/views/show-cache.ts';
import { EngineEvents, type TransitionEvent } from '../../src/engine/events.ts';
import { Journal } from '../../src/engine/journal.ts';
import type { SqlDatabase } from '../../src/store/sql.ts';
import type { ServerRecord } from '../../src/domain/server.ts';

function watched(): { cache: ShowCache; server(uuid: string): void; other(): void } {
  let calls: { server(uuid: string): void; other(): void } | undefined;
  const sql = { watchServerViews: (c: typeof calls) => ((calls = c), { othersCommitted: () => false }) } as unknown as SqlDatabase;
  const cache = new ShowCache(sql);
  return { cache, server: (u) => calls!.server(u), other: () => calls!.other() };
}

describe('show memo', () => {
  it('a render is memoized when only another server was written meanwhile', () => {
    const w = watched();
    const token = w.cache.begin();
    w.server('b');
    w.cache.set(token, 'a', 'v', 'p', 'A');
    assert.equal(w.cache.get('a', 'v')?.body, 'A');
  });

  it('a render is not memoized when its own server was written meanwhile, nor after a clear', () => {
    const w = watched();
    let token = w.cache.begin();
    w.server('a');
    w.cache.set(token, 'a', 'v', 'p', 'A');
    assert.equal(w.cache.get('a', 'v'), undefined);
    token = w.cache.begin();
    w.other();
    w.cache.set(token, 'a', 'v', 'p', 'A');
    assert.equal(w.cache.get('a', 'v'), undefined);
  });

  it('a render that began after its server was written is memoized, and dropped by the next write', () => {
    const w = watched();
    w.server('a');
    const token = w.cache.begin();
    w.cache.set(token, 'a', 'v', 'p', 'A');
    assert.equal(w.cache.get('a', 'v')?.body, 'A');
    w.server('b');
    assert.equal(w.cache.get('a', 'v')?.body, 'A');
    w.server('a');
    assert.equal(w.cache.get('a', 'v'), undefined);
  });
});

describe('journal ring', () => {
  it('keeps the last `capacity` entries in order, for since() and forServer()', () => {
    const events = new EngineEvents();
    const journal = new Journal(events, { getServer: async () => undefined }, 3);
    const emit = (server_id: string, i: number) => events.safeEmit('transition', {
      kind: 'transition', server_id, name: server_id, project_id: 'p', user_id: 'u', host: null, action: 'reboot', request_id: null,
      from: null, from_host: null, vm_state: 'active', task_state: null, power_state: 1, status: 'ACTIVE', time: i, server: {} as ServerRecord,
    } satisfies TransitionEvent);
    for (let i = 1; i <= 10; i++) emit(i % 2 ? 'a' : 'b', i);
    assert.equal(journal.lastId, 10);
    assert.deepEqual(journal.since(0).entries.map((e) => e.id), [8, 9, 10]);
    assert.equal(journal.since(0).complete, false);
    assert.deepEqual(journal.since(7).entries.map((e) => e.id), [8, 9, 10]);
    assert.equal(journal.since(7).complete, true);
    assert.deepEqual(journal.since(9).entries.map((e) => e.id), [10]);
    assert.deepEqual(journal.forServer('a').map((e) => e.id), [9]);
    assert.deepEqual(journal.forServer('b').map((e) => e.id), [8, 10]);
    for (let i = 11; i <= 17; i++) emit('a', i);
    assert.deepEqual(journal.since(0).entries.map((e) => e.id), [15, 16, 17]);
    assert.equal(journal.since(13).complete, false);
    assert.equal(journal.since(14).complete, true);
  });
});
