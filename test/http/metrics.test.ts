// GET /metrics: Prometheus text whose server counts match what the compute API lists.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startNovabox, type TestNovabox } from '../helpers/novabox.ts';
import { STATUSES } from '../../src/domain/states.ts';

let nb: TestNovabox;
before(async () => {
  nb = await startNovabox();
});
after(() => nb.close());

const IMAGE = '4fa04c19-09fa-51ff-9872-fac075d1145b';

async function create(user: string, name: string): Promise<string> {
  const r = await nb.app.inject({ method: 'POST', url: '/compute/v2.1/servers', headers: await nb.headers(user), payload: { server: { name, imageRef: IMAGE, flavorRef: '42' } } });
  assert.equal(r.statusCode, 202, r.body);
  return r.json().server.id;
}

/** Samples of one metric: labels → value. */
function samples(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  const out = [];
  for (const line of text.split('\n')) {
    const m = line.match(/^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/);
    if (!m || m[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ labels, value: Number(m[3]) });
  }
  return out;
}

test('the servers gauge matches GET /servers/detail, for all 20 statuses per project', async () => {
  const a = await create('demo', 'm1');
  await create('demo', 'm2');
  await create('alt_demo', 'm3');
  await nb.services.engine.settle();
  await nb.app.inject({ method: 'POST', url: `/compute/v2.1/servers/${a}/action`, headers: await nb.headers('demo'), payload: { 'os-stop': null } });
  await nb.app.inject({ method: 'POST', url: '/novabox/v1/faults', headers: await nb.headers('admin'), payload: { action: 'create', op: 'spawn' } });
  await create('demo', 'broken');
  await nb.services.engine.settle();

  const res = await nb.app.inject({ method: 'GET', url: '/metrics' });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  const gauge = samples(res.body, 'novabox_servers');

  const list = await nb.app.inject({ method: 'GET', url: '/compute/v2.1/servers/detail?all_tenants=1', headers: await nb.headers('admin') });
  const expected = new Map<string, number>();
  for (const s of list.json().servers) expected.set(`${s.tenant_id} ${s.status}`, (expected.get(`${s.tenant_id} ${s.status}`) ?? 0) + 1);
  assert.ok(expected.size >= 3, JSON.stringify([...expected]));
  const projects = new Set(list.json().servers.map((s: any) => s.tenant_id));
  for (const p of projects) {
    const mine = gauge.filter((g) => g.labels.project === p);
    assert.deepEqual(mine.map((g) => g.labels.status).sort(), [...STATUSES].sort(), `every status for ${p}`);
    for (const g of mine) assert.equal(g.value, expected.get(`${p} ${g.labels.status}`) ?? 0, `${p} ${g.labels.status}`);
  }
  assert.equal(gauge.find((g) => g.labels.project === nb.projectId('demo') && g.labels.status === 'SHUTOFF')?.value, 1);
  assert.equal(gauge.find((g) => g.labels.project === nb.projectId('demo') && g.labels.status === 'ERROR')?.value, 1);

  // The rest: request durations per route, the queue, steps, the fired fault.
  const counts = samples(res.body, 'novabox_http_request_duration_seconds_count');
  assert.ok(counts.some((c) => c.labels.route === '/compute/v2.1/servers' && c.labels.method === 'POST' && c.labels.status_code === '202' && c.value === 4), JSON.stringify(counts));
  assert.equal(samples(res.body, 'novabox_task_queue_depth')[0].value, 0);
  assert.deepEqual(samples(res.body, 'novabox_faults_fired_total').map((s) => [s.labels, s.value]), [[{ action: 'create', op: 'spawn' }, 1]]);
  assert.equal(samples(res.body, 'novabox_faults_pending')[0].value, 0);
  const steps = samples(res.body, 'novabox_step_duration_seconds_count');
  assert.ok(steps.some((s) => s.labels.action === 'create' && s.labels.task_state === 'spawning' && s.value >= 3), JSON.stringify(steps));
});

test('the queue depth counts tasks waiting for their step', async () => {
  const manual = await startNovabox({ clock: 'manual', time_scale: 1 });
  try {
    for (const name of ['q1', 'q2']) {
      const r = await manual.app.inject({ method: 'POST', url: '/compute/v2.1/servers', headers: await manual.headers('demo'), payload: { server: { name, imageRef: IMAGE, flavorRef: '42' } } });
      assert.equal(r.statusCode, 202);
    }
    const text = (await manual.app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.equal(samples(text, 'novabox_task_queue_depth')[0].value, 2);
    assert.equal(samples(text, 'novabox_servers').find((g) => g.labels.status === 'BUILD')?.value, 2);
  } finally {
    await manual.close();
  }
});

test('off loopback, metrics need an admin token (header or bearer)', async () => {
  const open = await startNovabox({ host: '0.0.0.0' });
  try {
    assert.equal((await open.app.inject({ method: 'GET', url: '/metrics' })).statusCode, 401);
    assert.equal((await open.app.inject({ method: 'GET', url: '/metrics', headers: await open.headers('demo') })).statusCode, 403);
    const ok = await open.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${await open.token('admin')}` } });
    assert.equal(ok.statusCode, 200);
  } finally {
    await open.close();
  }
});
