// GET /servers/{id} may answer from a memo of rendered views; every write must show through at once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNovabox, type TestNovabox } from '../helpers/novabox.ts';
import { ShowCache } from '../../src/api/compute/views/show-cache.ts';

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
  // The stop is under way or (the engine runs due steps on its own timer, and a show on PostgreSQL
  // awaits the database, so it may already have run) done; never the view from before it.
  const stopping = (await show(id)).json().server;
  assert.ok(stopping['OS-EXT-STS:task_state'] === 'powering-off' || (stopping.status === 'SHUTOFF' && stopping['OS-EXT-STS:task_state'] === null), `${stopping.status}/${stopping['OS-EXT-STS:task_state']}`);
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

test('a memoized view outlives writes to other servers; its own row and every table the view reads drop it', async () => {
  // A second novabox, so this test's cache is the one its connection's triggers report to; on SQLite
  // always (also with NOVABOX_TEST_DB=postgres), since the memo watches a SQLite connection and is off on PostgreSQL.
  const own = await startNovabox({ db: ':memory:' });
  try {
    const boot = async (name: string) => {
      const r = await own.app.inject({ method: 'POST', url: '/compute/v2.1/servers', headers: await own.headers('demo'), payload: { server: { name, flavorRef: '42', imageRef: IMAGE } } });
      return r.json().server.id as string;
    };
    const a = await boot('memo-a');
    const b = await boot('memo-b');
    await own.services.engine.settle();
    const cache = new ShowCache(own.services.sql);
    const remember = () => cache.set(cache.begin(), a, 'v', 'p', 'body');

    remember();
    // Another server's action (task rows, instance actions, its row): the entry stays.
    const stop = await own.app.inject({ method: 'POST', url: `/compute/v2.1/servers/${b}/action`, headers: await own.headers('demo'), payload: { 'os-stop': null } });
    assert.equal(stop.statusCode, 202);
    await own.services.engine.settle();
    assert.equal(cache.get(a, 'v')?.body, 'body');

    // Its own row: gone.
    await own.app.inject({ method: 'PUT', url: `/compute/v2.1/servers/${a}/metadata`, headers: await own.headers('demo'), payload: { metadata: { k: 'v' } } });
    assert.equal(cache.get(a, 'v'), undefined);

    // A render that began before a write to its server is not memoized; one to another server leaves it good.
    let token = cache.begin();
    await own.app.inject({ method: 'PUT', url: `/compute/v2.1/servers/${a}/metadata`, headers: await own.headers('demo'), payload: { metadata: { k: 'w' } } });
    cache.set(token, a, 'v', 'p', 'stale');
    assert.equal(cache.get(a, 'v'), undefined);
    token = cache.begin();
    await own.app.inject({ method: 'PUT', url: `/compute/v2.1/servers/${b}/metadata`, headers: await own.headers('demo'), payload: { metadata: { k: 'v' } } });
    cache.set(token, a, 'v', 'p', 'body');
    assert.equal(cache.get(a, 'v')?.body, 'body');
    await own.app.inject({ method: 'PUT', url: `/compute/v2.1/servers/${a}/metadata`, headers: await own.headers('demo'), payload: { metadata: { k: 'x' } } });
    assert.equal(cache.get(a, 'v'), undefined);

    // Hosts, server groups, faults: every entry goes.
    const host = (await own.services.engine.listHosts())[0].name;
    remember();
    await own.services.engine.setHost(host, { disabled: true });
    assert.equal(cache.get(a, 'v'), undefined, 'a host change clears the memo');
    await own.services.engine.setHost(host, { disabled: false });
    remember();
    const g = await own.app.inject({ method: 'POST', url: '/compute/v2.1/os-server-groups', headers: await own.headers('demo'), payload: { server_group: { name: 'g', policies: ['affinity'] } } });
    assert.equal(g.statusCode, 200);
    assert.equal(cache.get(a, 'v'), undefined, 'a server group change clears the memo');
  } finally {
    await own.close();
  }
});
