// Glance's interoperable import and the rest real tooling uses: discovery (/v2/info/import,
// /v2/info/stores), glance-direct (stage, import, the task's status), copy-image between stores,
// checksums computed from the data, size limits, deactivate/reactivate, hidden images, member
// status transitions as Glance's policy has them, and every schema served.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { MAX_UPLOAD } from '../../src/api/image/model.ts';
import { startNovabox, type TestNovabox } from '../helpers/novabox.ts';

describe('image import', () => {
  let nb: TestNovabox;
  before(async () => {
    nb = await startNovabox();
  });
  after(() => nb.close());

  async function call(user: string, method: string, url: string, opts: { json?: unknown; body?: Buffer; headers?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { ...(await nb.headers(user)), ...opts.headers };
    if (opts.body) headers['content-type'] = 'application/octet-stream';
    return nb.app.inject({ method: method as 'GET', url: `/image${url}`, headers, payload: opts.json !== undefined ? (opts.json as Record<string, unknown>) : opts.body });
  }
  const create = async (user: string, body: Record<string, unknown> = { name: 'imp', disk_format: 'raw', container_format: 'bare' }) => {
    const r = await call(user, 'POST', '/v2/images', { json: body });
    assert.equal(r.statusCode, 201, r.body);
    return r;
  };
  const show = async (user: string, id: string) => (await call(user, 'GET', `/v2/images/${id}`)).json();

  test('discovery: import methods, stores, and the create answer advertises both', async () => {
    const info = (await call('demo', 'GET', '/v2/info/import')).json();
    assert.deepEqual(info['import-methods'].value, ['glance-direct', 'copy-image']);
    const stores = (await call('demo', 'GET', '/v2/info/stores')).json().stores;
    assert.deepEqual(stores.map((s: { id: string }) => s.id), ['local', 'backup']);
    assert.equal(stores[0].default, true);
    const r = await create('demo');
    assert.equal(r.headers['openstack-image-import-methods'], 'glance-direct,copy-image');
    assert.equal(r.headers['openstack-image-store-ids'], 'local,backup');
  });

  test('every schema: image, images, member, members, task, tasks', async () => {
    for (const name of ['image', 'images', 'member', 'members', 'task', 'tasks']) {
      const r = await call('demo', 'GET', `/v2/schemas/${name}`);
      assert.equal(r.statusCode, 200, name);
      assert.equal(r.json().name, name);
    }
    assert.deepEqual(Object.keys((await call('demo', 'GET', '/v2/schemas/members')).json().properties).sort(), ['members', 'schema']);
  });

  test('glance-direct: stage, import, the task succeeds and the image is active with checksums of the data', async () => {
    const id = (await create('demo')).json().id;
    const data = Buffer.from('interoperable image import payload '.repeat(100));
    assert.equal((await call('alt_demo', 'PUT', `/v2/images/${id}/stage`, { body: data })).statusCode, 404, 'another project does not see it');
    assert.equal((await call('demo', 'POST', `/v2/images/${id}/import`, { json: { method: { name: 'glance-direct' } } })).statusCode, 409, 'nothing staged yet');
    assert.equal((await call('demo', 'PUT', `/v2/images/${id}/stage`, { body: data })).statusCode, 204);
    assert.equal((await show('demo', id)).status, 'uploading');
    assert.equal((await call('demo', 'PUT', `/v2/images/${id}/stage`, { body: data })).statusCode, 409, 'staged once');
    assert.equal((await call('demo', 'POST', `/v2/images/${id}/import`, { json: { method: { name: 'web-download' } } })).statusCode, 400);
    assert.equal((await call('demo', 'POST', `/v2/images/${id}/import`, { json: { method: { name: 'glance-direct' }, stores: ['nope'] } })).statusCode, 400);
    const imp = await call('demo', 'POST', `/v2/images/${id}/import`, { json: { method: { name: 'glance-direct' } } });
    assert.equal(imp.statusCode, 202, imp.body);
    await nb.services.images.settled();
    const img = await show('demo', id);
    assert.equal(img.status, 'active');
    assert.equal(img.size, data.length);
    assert.equal(img.checksum, createHash('md5').update(data).digest('hex'));
    assert.equal(img.os_hash_algo, 'sha512');
    assert.equal(img.os_hash_value, createHash('sha512').update(data).digest('hex'));
    assert.equal(img.stores, 'local');
    // Glance empties the list of stores left to import to (clients wait for it to be empty) and keeps it.
    assert.equal(img.os_glance_importing_to_stores, '');
    assert.equal(img.os_glance_failed_import, '');
    const tasks = (await call('demo', 'GET', `/v2/images/${id}/tasks`)).json().tasks;
    assert.equal(tasks.length, 1);
    assert.equal(tasks[0].status, 'success');
    assert.equal(tasks[0].type, 'api_image_import');
    // The task names the request that started it and its user (Glance 2.12).
    assert.equal(tasks[0].request_id, imp.headers['x-openstack-request-id']);
    assert.equal(tasks[0].user_id, (await nb.services.identity.store.userByName('default', 'demo'))!.id);
    assert.equal(img.os_glance_import_task, tasks[0].id);
    assert.equal((await call('demo', 'GET', `/v2/tasks/${tasks[0].id}`)).json().status, 'success');
    assert.equal((await call('alt_demo', 'GET', `/v2/tasks/${tasks[0].id}`)).statusCode, 404);
    const file = await call('demo', 'GET', `/v2/images/${id}/file`);
    assert.deepEqual(file.rawPayload, data);
  });

  test('glance-direct to several stores, or to all of them: the image lists each (sorted)', async () => {
    for (const [body, stores] of [[{ stores: ['backup', 'local'] }, 'backup,local'], [{ all_stores: true }, 'backup,local'], [{ stores: ['backup'] }, 'backup']] as const) {
      const id = (await create('demo')).json().id;
      assert.equal((await call('demo', 'PUT', `/v2/images/${id}/stage`, { body: Buffer.from('abc') })).statusCode, 204);
      assert.equal((await call('demo', 'POST', `/v2/images/${id}/import`, { json: { method: { name: 'glance-direct' }, ...body } })).statusCode, 202);
      await nb.services.images.settled();
      const img = await show('demo', id);
      assert.equal(img.status, 'active');
      assert.equal(img.stores, stores, JSON.stringify(body));
      assert.equal(img.os_glance_importing_to_stores, '');
    }
    const id = (await create('demo')).json().id;
    await call('demo', 'PUT', `/v2/images/${id}/stage`, { body: Buffer.from('abc') });
    assert.equal((await call('demo', 'POST', `/v2/images/${id}/import`, { json: { method: { name: 'glance-direct' }, all_stores: true, stores: ['local'] } })).statusCode, 400);
    assert.equal((await show('demo', id)).status, 'uploading', 'a refused import changed nothing');
  });

  test('copy-image: an admin copies an active image to the other store; twice is a conflict; members may not', async () => {
    const id = (await create('admin', { name: 'copy', disk_format: 'raw', container_format: 'bare', visibility: 'public' })).json().id;
    await call('admin', 'PUT', `/v2/images/${id}/file`, { body: Buffer.from('abc') });
    assert.equal((await call('demo', 'POST', `/v2/images/${id}/import`, { json: { method: { name: 'copy-image' }, stores: ['backup'] } })).statusCode, 403);
    assert.equal((await call('admin', 'POST', `/v2/images/${id}/import`, { json: { method: { name: 'copy-image' } } })).statusCode, 400, 'stores or all_stores');
    assert.equal((await call('admin', 'POST', `/v2/images/${id}/import`, { json: { method: { name: 'copy-image' }, stores: ['backup'] } })).statusCode, 202);
    await nb.services.images.settled();
    assert.equal((await show('admin', id)).stores, 'backup,local');
    assert.equal((await show('admin', id)).os_glance_importing_to_stores, '');
    assert.equal((await call('admin', 'POST', `/v2/images/${id}/import`, { json: { method: { name: 'copy-image' }, stores: ['backup'] } })).statusCode, 409);
  });

  test('size limit: more than the cap is a 413 and changes nothing', async () => {
    const id = (await create('demo')).json().id;
    const big = Buffer.alloc(MAX_UPLOAD + 1);
    const r = await call('demo', 'PUT', `/v2/images/${id}/file`, { body: big });
    assert.equal(r.statusCode, 413);
    assert.equal((await show('demo', id)).status, 'queued');
    assert.equal((await call('demo', 'PUT', `/v2/images/${id}/stage`, { body: big })).statusCode, 413);
  });

  test('deactivate and reactivate: the owner or an admin; a deactivated image is not downloadable but by an admin', async () => {
    const id = (await create('demo', { name: 'deact', disk_format: 'raw', container_format: 'bare' })).json().id;
    await call('demo', 'PUT', `/v2/images/${id}/file`, { body: Buffer.from('x') });
    assert.equal((await call('alt_demo', 'POST', `/v2/images/${id}/actions/deactivate`)).statusCode, 404);
    assert.equal((await call('demo', 'POST', `/v2/images/${id}/actions/deactivate`)).statusCode, 204);
    assert.equal((await call('admin', 'GET', `/v2/images/${id}/file`)).statusCode, 200);
    assert.equal((await show('demo', id)).status, 'deactivated');
    assert.equal((await call('demo', 'GET', `/v2/images/${id}/file`)).statusCode, 403);
    assert.equal((await call('admin', 'POST', `/v2/images/${id}/actions/reactivate`)).statusCode, 204);
    assert.equal((await show('demo', id)).status, 'active');
  });

  test('os_hidden: hidden images leave the list unless asked for', async () => {
    const id = (await create('demo', { name: 'hid', os_hidden: true })).json().id;
    const ids = async (q: string) => (await call('demo', 'GET', `/v2/images${q}`)).json().images.map((i: { id: string }) => i.id);
    assert.ok(!(await ids('')).includes(id));
    assert.ok((await ids('?os_hidden=true')).includes(id));
    assert.equal((await show('demo', id)).os_hidden, true);
  });

  test('members: the owner adds, only the member answers (pending, accepted, rejected), others see nothing', async () => {
    const id = (await create('demo', { name: 'shared', visibility: 'shared' })).json().id;
    const alt = nb.projectId('alt_demo');
    assert.equal((await call('alt_demo', 'POST', `/v2/images/${id}/members`, { json: { member: alt } })).statusCode, 404);
    assert.equal((await call('demo', 'POST', `/v2/images/${id}/members`, { json: { member: alt } })).json().status, 'pending');
    assert.equal((await call('demo', 'POST', `/v2/images/${id}/members`, { json: { member: alt } })).statusCode, 409);
    const setStatus = (user: string, status: string) => call(user, 'PUT', `/v2/images/${id}/members/${alt}`, { json: { status } });
    assert.equal((await setStatus('demo', 'accepted')).statusCode, 403, 'the owner cannot answer for the member');
    assert.equal((await setStatus('alt_demo', 'maybe')).statusCode, 400);
    const inList = async () => (await call('alt_demo', 'GET', '/v2/images')).json().images.some((i: { id: string }) => i.id === id);
    assert.equal(await inList(), false, 'pending: not in the default list');
    for (const st of ['accepted', 'rejected', 'pending', 'accepted']) {
      const r = await setStatus('alt_demo', st);
      assert.equal(r.statusCode, 200);
      assert.equal(r.json().status, st);
    }
    assert.equal(await inList(), true, 'accepted: listed');
    assert.deepEqual((await call('alt_demo', 'GET', `/v2/images/${id}/members`)).json().members.map((m: { member_id: string }) => m.member_id), [alt]);
    assert.equal((await call('alt_demo', 'DELETE', `/v2/images/${id}/members/${alt}`)).statusCode, 403);
    assert.equal((await call('demo', 'DELETE', `/v2/images/${id}/members/${alt}`)).statusCode, 204);
    assert.equal((await call('alt_demo', 'GET', `/v2/images/${id}`)).statusCode, 404);
  });
});
