// GET /novabox/v1/events: Server-Sent Events of every transition and instance action, resumable.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { listenNovabox, type Listening } from '../helpers/listening.ts';
import type { TestNovabox } from '../helpers/novabox.ts';
import { openSse, type SseEvent } from '../helpers/sse.ts';

let live: Listening;
let nb: TestNovabox;
let base: string;
before(async () => {
  live = await listenNovabox();
  ({ nb, base } = live);
});
after(() => live.close());

const api = (method: string, path: string, user: string, body?: unknown) => live.api(method, path, user, body);
const create = (name: string) => live.create(name);

const transitions = (evs: SseEvent[], id: string) => evs.filter((e) => e.data.server_id === id && e.data.kind === 'transition').map((e) => `${e.data.status}/${e.data.task_state ?? '-'}`);
const actionEnd = (id: string, action: string) => (e: SseEvent) => e.data.server_id === id && e.data.kind === 'action' && e.data.action === action && e.data.phase === 'end';

test('a subscriber sees every transition of a create and a reboot, in order', async () => {
  const sse = await openSse(`${base}/novabox/v1/events`, { 'x-auth-token': await nb.token('admin') });
  assert.equal(sse.status, 200);
  const id = await create('watched');
  await sse.waitFor(actionEnd(id, 'create'));
  assert.equal((await api('POST', `/compute/v2.1/servers/${id}/action`, 'demo', { reboot: { type: 'SOFT' } })).status, 202);
  const evs = await sse.waitFor(actionEnd(id, 'reboot'));
  sse.close();
  assert.deepEqual(transitions(evs, id), [
    'BUILD/scheduling', 'BUILD/-', 'BUILD/networking', 'BUILD/block_device_mapping', 'BUILD/spawning', 'ACTIVE/-',
    'REBOOT/rebooting', 'REBOOT/reboot_pending', 'REBOOT/reboot_started', 'ACTIVE/-',
  ]);
  const mine = evs.filter((e) => e.data.server_id === id);
  // Ids increase, and each event carries the server's identity and full state.
  for (let i = 1; i < mine.length; i++) assert.ok(Number(mine[i].id) > Number(mine[i - 1].id));
  const last = mine[mine.length - 1].data;
  assert.equal(last.name, 'watched');
  assert.equal(last.project_id, nb.projectId('demo'));
  assert.equal(last.vm_state, 'active');
  assert.equal(last.power_state, 1);
  assert.equal(last.result, 'Success');
  assert.ok(!Number.isNaN(Date.parse(last.time)));
  const acts = mine.filter((e) => e.data.kind !== 'transition').map((e) => `${e.data.kind}:${e.data.action}:${e.data.event ?? ''}:${e.data.phase}`);
  assert.deepEqual(acts.filter((a) => a.startsWith('action:')), ['action:create::start', 'action:create::end', 'action:reboot::start', 'action:reboot::end']);
  assert.ok(acts.includes('action_event:create:compute__do_build_and_run_instance:end'));
  assert.ok(acts.includes('action_event:reboot:compute_reboot_instance:start'));
  // Transitions name the action they belong to.
  assert.deepEqual([...new Set(mine.filter((e) => e.data.kind === 'transition').map((e) => e.data.action))], ['create', 'reboot']);

  // Resuming from the middle replays exactly what followed.
  const middle = mine[Math.floor(mine.length / 2)];
  const resumed = await openSse(`${base}/novabox/v1/events?server_id=${id}`, { 'x-auth-token': await nb.token('admin'), 'last-event-id': String(middle.id) });
  const replay = await resumed.waitFor(actionEnd(id, 'reboot'));
  resumed.close();
  assert.deepEqual(replay.map((e) => e.id), mine.slice(mine.indexOf(middle) + 1).map((e) => e.id));
});

test('filters by server and by project', async () => {
  const a = await create('a');
  await nb.services.engine.settle();
  const headers = { 'x-auth-token': await nb.token('admin') };
  const byServer = await openSse(`${base}/novabox/v1/events?server_id=${a}`, headers);
  const byProject = await openSse(`${base}/novabox/v1/events?project_id=${nb.projectId('alt_demo')}`, headers);
  const b = await create('b');
  await nb.services.engine.settle();
  assert.equal((await api('POST', `/compute/v2.1/servers/${a}/action`, 'demo', { 'os-stop': null })).status, 202);
  const evs = await byServer.waitFor(actionEnd(a, 'stop'));
  byServer.close();
  assert.ok(evs.every((e) => e.data.server_id === a));
  assert.deepEqual(transitions(evs, a), ['ACTIVE/powering-off', 'SHUTOFF/-']);
  assert.ok(!evs.some((e) => e.data.server_id === b));
  assert.deepEqual(byProject.events, []);
  byProject.close();
});

test('the stream is for admins', async () => {
  assert.equal((await fetch(`${base}/novabox/v1/events`)).status, 401);
  const member = await fetch(`${base}/novabox/v1/events`, { headers: { 'x-auth-token': await nb.token('demo') } });
  assert.equal(member.status, 403);
});
