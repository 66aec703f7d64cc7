// The novabox admin API: fault injection, guest events, host failures, observed over the compute API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNovabox, type TestNovabox } from '../helpers/novabox.ts';

let nb: TestNovabox;
before(async () => {
  nb = await startNovabox();
});
after(() => nb.close());

async function createServer(): Promise<string> {
  const images = await nb.app.inject({ method: 'GET', url: '/image/v2/images', headers: await nb.headers('demo') });
  const imageRef = images.json().images[0].id;
  const res = await nb.app.inject({
    method: 'POST', url: '/compute/v2.1/servers', headers: { ...(await nb.headers('demo')), 'x-openstack-nova-api-version': '2.37' },
    payload: { server: { name: 'adm', flavorRef: '42', imageRef, networks: 'none' } },
  });
  assert.equal(res.statusCode, 202, res.body);
  return res.json().server.id;
}

async function show(id: string): Promise<Record<string, any>> {
  await nb.services.engine.settle();
  const res = await nb.app.inject({ method: 'GET', url: `/compute/v2.1/servers/${id}`, headers: await nb.headers('admin') });
  return res.json().server;
}

test('members get 403 and anonymous callers 401', async () => {
  const anon = await nb.app.inject({ method: 'GET', url: '/novabox/v1/faults' });
  assert.equal(anon.statusCode, 401);
  const member = await nb.app.inject({ method: 'GET', url: '/novabox/v1/faults', headers: await nb.headers('demo') });
  assert.equal(member.statusCode, 403);
  assert.deepEqual(Object.keys(member.json()), ['forbidden']);
});

test('an injected spawn fault puts the next server in ERROR with the fault shown', async () => {
  const inj = await nb.app.inject({
    method: 'POST', url: '/novabox/v1/faults', headers: await nb.headers('admin'),
    payload: { action: 'create', op: 'spawn', message: 'Simulated spawn failure' },
  });
  assert.equal(inj.statusCode, 201, inj.body);
  const id = await createServer();
  const s = await show(id);
  assert.equal(s.status, 'ERROR');
  assert.equal(s.fault.message, 'Simulated spawn failure');
  assert.equal(s.fault.code, 500);
});

test('bad fault bodies are refused and change nothing', async () => {
  const res = await nb.app.inject({ method: 'POST', url: '/novabox/v1/faults', headers: await nb.headers('admin'), payload: { action: 'explode', op: 'spawn' } });
  assert.equal(res.statusCode, 400);
  const list = await nb.app.inject({ method: 'GET', url: '/novabox/v1/faults', headers: await nb.headers('admin') });
  assert.deepEqual(list.json().faults, []);
});

test('a guest that shuts itself down ends SHUTOFF', async () => {
  const id = await createServer();
  assert.equal((await show(id)).status, 'ACTIVE');
  const res = await nb.app.inject({ method: 'POST', url: `/novabox/v1/servers/${id}/guest`, headers: await nb.headers('admin'), payload: { event: 'shutdown' } });
  assert.equal(res.statusCode, 202);
  const s = await show(id);
  assert.equal(s.status, 'SHUTOFF');
  assert.equal(s['OS-EXT-STS:power_state'], 4);
});

test('a host that stops reporting shows host_status UNKNOWN', async () => {
  const id = await createServer();
  const host = (await show(id))['OS-EXT-SRV-ATTR:host'];
  const res = await nb.app.inject({ method: 'PUT', url: `/novabox/v1/hosts/${host}`, headers: await nb.headers('admin'), payload: { up: false } });
  assert.equal(res.statusCode, 200, res.body);
  const s = await nb.app.inject({ method: 'GET', url: `/compute/v2.1/servers/${id}`, headers: { ...(await nb.headers('admin')), 'x-openstack-nova-api-version': '2.16' } });
  assert.equal(s.json().server.host_status, 'UNKNOWN');
  await nb.app.inject({ method: 'PUT', url: `/novabox/v1/hosts/${host}`, headers: await nb.headers('admin'), payload: { up: true } });
});
