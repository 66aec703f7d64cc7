// Which versioned notifications each lifecycle sends, in order, read off the journal of a real
// engine (no broker needed): Nova's compute manager sends these for the same actions.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startNovabox, type TestNovabox } from '../helpers/novabox.ts';
import { rulesFor } from '../../src/notifications/notifier.ts';

let nb: TestNovabox;
const sent: { server: string; event_type: string }[] = [];
before(async () => {
  nb = await startNovabox();
  const started = new Map<string, string>();
  nb.services.journal.on((e) => {
    for (const r of rulesFor(e, started)) sent.push({ server: e.server_id, event_type: r.event_type });
  });
});
after(() => nb.close());

async function action(id: string, body: unknown, code = 202): Promise<void> {
  const r = await nb.app.inject({ method: 'POST', url: `/compute/v2.1/servers/${id}/action`, headers: await nb.headers('demo'), payload: body as object });
  assert.equal(r.statusCode, code, r.body);
  await nb.services.engine.settle();
  await nb.services.journal.flushed();
}

test('a server through its common lifecycle sends Nova\'s notifications in Nova\'s order', async () => {
  const r = await nb.app.inject({ method: 'POST', url: '/compute/v2.1/servers', headers: await nb.headers('demo'), payload: { server: { name: 'n', imageRef: '4fa04c19-09fa-51ff-9872-fac075d1145b', flavorRef: '42' } } });
  const id = r.json().server.id;
  await nb.services.engine.settle();
  await action(id, { reboot: { type: 'HARD' } });
  await action(id, { 'os-stop': null });
  await action(id, { 'os-start': null });
  await action(id, { resize: { flavorRef: '84' } });
  await action(id, { confirmResize: null }, 204);
  await action(id, { pause: null });
  await action(id, { unpause: null });
  await action(id, { shelve: null });
  await action(id, { unshelve: null });
  await action(id, { lock: null });
  await action(id, { unlock: null });
  const d = await nb.app.inject({ method: 'DELETE', url: `/compute/v2.1/servers/${id}`, headers: await nb.headers('demo') });
  assert.equal(d.statusCode, 204);
  await nb.services.engine.settle();
  await nb.services.journal.flushed();
  const phases = (name: string) => [`instance.${name}.start`, `instance.${name}.end`];
  assert.deepEqual(sent.filter((s) => s.server === id).map((s) => s.event_type), [
    ...phases('create'), ...phases('reboot'), ...phases('power_off'), ...phases('power_on'),
    ...phases('resize_prep'), ...phases('resize'), ...phases('resize_finish'), ...phases('resize_confirm'),
    ...phases('pause'), ...phases('unpause'),
    'instance.shelve.start', 'instance.shelve.end', ...phases('shelve_offload'), ...phases('unshelve'),
    'instance.lock', 'instance.unlock', ...phases('delete'),
  ]);
});

test('a failed build sends instance.create.error', async () => {
  await nb.app.inject({ method: 'POST', url: '/novabox/v1/faults', headers: await nb.headers('admin'), payload: { action: 'create', op: 'spawn' } });
  const r = await nb.app.inject({ method: 'POST', url: '/compute/v2.1/servers', headers: await nb.headers('demo'), payload: { server: { name: 'bad', imageRef: '4fa04c19-09fa-51ff-9872-fac075d1145b', flavorRef: '42' } } });
  const id = r.json().server.id;
  await nb.services.engine.settle();
  await nb.services.journal.flushed();
  assert.deepEqual(sent.filter((s) => s.server === id).map((s) => s.event_type), ['instance.create.start', 'instance.create.error']);
});
