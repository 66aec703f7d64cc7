// GET /servers/{id} may answer from a memo of rendered views; every write must show through at once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNovabox, type TestNovabox } from '../helpers/novabox.ts';

let nb: TestNovabox;
before(async () => {
  nb = await startNovabox();
});
after(() => nb.close());

const IMAGE = '4fa04c19-09fa-51ff-9872-fac075d1145b';

async function show(id: string, user = 'demo', version = '2.1') {
  return nb.app.inject({ method: 'GET', url: `/compute/v2.1/servers/${id}`, headers: { ...(await nb.headers(user)), 'x-openstack-nova-api-version': version } });
}

test('a repeated show reflects every change: actions, metadata, host state, and stays isolated', async () => {
  const c = await nb.app.inject({ method: 'POST', url: '/compute/v2.1/servers', headers: await nb.headers('demo'), payload: { server: { name: 'memo', flavorRef: '42', imageRef: IMAGE } } });
  const id = c.json().server.id;
  await nb.services.engine.settle();
  assert.equal((await show(id)).json().server.status, 'ACTIVE');
  assert.equal((await show(id)).json().server.status, 'ACTIVE');
  // Another project's member never sees it, even once it is rendered for its owner.
  assert.equal((await show(id, 'alt_demo')).statusCode, 404);

  const stop = await nb.app.inject({ method: 'POST', url: `/compute/v2.1/servers/${id}/action`, headers: await nb.headers('demo'), payload: { 'os-stop': null } });
  assert.equal(stop.statusCode, 202);
  assert.equal((await show(id)).json().server['OS-EXT-STS:task_state'], 'powering-off');
  await nb.services.engine.settle();
  assert.equal((await show(id)).json().server.status, 'SHUTOFF');

  await nb.app.inject({ method: 'PUT', url: `/compute/v2.1/servers/${id}/metadata`, headers: await nb.headers('demo'), payload: { metadata: { a: '1' } } });
  assert.deepEqual((await show(id)).json().server.metadata, { a: '1' });

  const admin = (await show(id, 'admin', '2.16')).json().server;
  assert.equal(admin.host_status, 'UP');
  await nb.services.engine.setHost(admin['OS-EXT-SRV-ATTR:host'], { forced_down: true });
  assert.equal((await show(id, 'admin', '2.16')).json().server.host_status, 'DOWN');
  await nb.services.engine.setHost(admin['OS-EXT-SRV-ATTR:host'], { forced_down: false });

  const del = await nb.app.inject({ method: 'DELETE', url: `/compute/v2.1/servers/${id}`, headers: await nb.headers('demo') });
  assert.equal(del.statusCode, 204);
  await nb.services.engine.settle();
  assert.equal((await show(id)).statusCode, 404);
});
