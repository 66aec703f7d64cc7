// Glance v2 over HTTP: discovery, seeded images, the create → upload → download → patch → delete
// lifecycle, visibility between projects, listing (filters, sort, pagination) and every error path.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { SEED_IMAGES, stableUuid } from '../../src/api/image/model.ts';
import { ManualClock } from '../../src/engine/clock.ts';
import { startNovabox, type TestNovabox } from '../helpers/novabox.ts';

const PATCH = 'application/openstack-images-v2.1-json-patch';

describe('image service', () => {
  let nb: TestNovabox;
  const clock = new ManualClock();
  before(async () => {
    nb = await startNovabox({}, { clock });
  });
  after(() => nb.close());

  async function call(user: string | null, method: string, url: string, opts: { json?: unknown; body?: Buffer | string; type?: string } = {}) {
    const headers: Record<string, string> = user ? await nb.headers(user) : {};
    if (opts.type) headers['content-type'] = opts.type;
    const payload = opts.json !== undefined ? JSON.stringify(opts.json) : opts.body;
    if (opts.json !== undefined && !opts.type) headers['content-type'] = 'application/json';
    return nb.app.inject({ method: method as 'GET', url: `/image${url}`, headers, payload });
  }
  const create = async (user: string, body: Record<string, unknown>) => {
    const res = await call(user, 'POST', '/v2/images', { json: body });
    assert.equal(res.statusCode, 201, res.body);
    return res.json() as Record<string, unknown> & { id: string };
  };
  const patch = (user: string, id: string, ops: unknown, type = PATCH) => call(user, 'PATCH', `/v2/images/${id}`, { body: JSON.stringify(ops), type });
  const listIds = async (user: string, query = '') => {
    const res = await call(user, 'GET', `/v2/images${query}`);
    assert.equal(res.statusCode, 200, res.body);
    return (res.json().images as { id: string }[]).map((i) => i.id);
  };

  test('version discovery: 300 at /image/, 200 at /image/versions, v2.16 current', async () => {
    const root = await call(null, 'GET', '/');
    assert.equal(root.statusCode, 300);
    assert.equal((await nb.app.inject({ method: 'GET', url: '/image' })).statusCode, 300);
    const versions = await call(null, 'GET', '/versions');
    assert.equal(versions.statusCode, 200);
    const current = versions.json().versions.find((v: { status: string }) => v.status === 'CURRENT');
    assert.equal(current.id, 'v2.16');
    assert.match(current.links[0].href, /\/image\/v2\/$/);
  });

  test('two public active CirrOS-like images are seeded with stable ids', async () => {
    assert.equal(SEED_IMAGES[0].id, stableUuid('cirros-0.6.2-x86_64-disk'));
    const res = await call('demo', 'GET', `/v2/images?name=cirros-0.6.2-x86_64-disk`);
    const [img] = res.json().images;
    assert.equal(img.id, SEED_IMAGES[0].id);
    assert.equal(img.status, 'active');
    assert.equal(img.visibility, 'public');
    assert.equal(img.disk_format, 'qcow2');
    assert.equal(img.container_format, 'bare');
    assert.equal(img.min_disk, 0);
    assert.ok(img.size > 0 && img.virtual_size > img.size);
    assert.equal(img.owner, nb.projectId('admin'));
    const ids = await listIds('alt_demo');
    for (const s of SEED_IMAGES) assert.ok(ids.includes(s.id));
  });

  test('image lifecycle: create queued, upload makes it active, download returns the bytes, delete makes it 404', async () => {
    const img = await create('demo', { name: 'mine', disk_format: 'raw', container_format: 'bare', min_ram: 64, tags: ['a'], hw_disk_bus: 'virtio' });
    assert.equal(img.status, 'queued');
    assert.equal(img.visibility, 'shared');
    assert.equal(img.owner, nb.projectId('demo'));
    assert.equal(img.size, null);
    assert.equal(img.min_ram, 64);
    assert.deepEqual(img.tags, ['a']);
    assert.equal(img.hw_disk_bus, 'virtio');
    assert.equal(img.self, `/v2/images/${img.id}`);
    assert.match(String(img.created_at), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    const empty = await call('demo', 'GET', `/v2/images/${img.id}/file`);
    assert.equal(empty.statusCode, 204);

    const data = Buffer.from([0, 1, 2, 255, 254, 0xc3, 0x28, 10, 13]);
    const up = await call('demo', 'PUT', `/v2/images/${img.id}/file`, { body: data, type: 'application/octet-stream' });
    assert.equal(up.statusCode, 204, up.body);
    assert.equal(up.body, '');
    const shown = (await call('demo', 'GET', `/v2/images/${img.id}`)).json();
    assert.equal(shown.status, 'active');
    assert.equal(shown.size, data.length);
    assert.equal(shown.virtual_size, data.length);
    assert.equal(shown.checksum, createHash('md5').update(data).digest('hex'));
    assert.equal(shown.os_hash_algo, 'sha512');
    assert.equal(shown.os_hash_value, createHash('sha512').update(data).digest('hex'));

    const down = await call('demo', 'GET', `/v2/images/${img.id}/file`);
    assert.equal(down.statusCode, 200);
    assert.equal(down.headers['content-type'], 'application/octet-stream');
    assert.equal(down.headers['content-md5'], shown.checksum);
    assert.deepEqual(down.rawPayload, data);

    const again = await call('demo', 'PUT', `/v2/images/${img.id}/file`, { body: data, type: 'application/octet-stream' });
    assert.equal(again.statusCode, 409);

    const del = await call('demo', 'DELETE', `/v2/images/${img.id}`);
    assert.equal(del.statusCode, 204);
    assert.equal(del.body, '');
    assert.equal((await call('demo', 'GET', `/v2/images/${img.id}`)).statusCode, 404);
    assert.equal((await call('demo', 'GET', `/v2/images/${img.id}/file`)).statusCode, 404);
    assert.equal((await call('demo', 'DELETE', `/v2/images/${img.id}`)).statusCode, 404);
    assert.ok(!(await listIds('demo')).includes(img.id));
  });

  test('uploads larger than the compute body limit are accepted byte for byte', async () => {
    const img = await create('demo', { name: 'big', disk_format: 'raw', container_format: 'bare' });
    const data = Buffer.alloc(300 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919) & 0xff;
    const up = await call('demo', 'PUT', `/v2/images/${img.id}/file`, { body: data, type: 'application/octet-stream' });
    assert.equal(up.statusCode, 204, up.body);
    const down = await call('demo', 'GET', `/v2/images/${img.id}/file`);
    assert.equal(down.rawPayload.length, data.length);
    assert.ok(down.rawPayload.equals(data));
  });

  test('upload needs formats and octet-stream; create rejects read-only and invalid attributes', async () => {
    const bare = await create('demo', { name: 'no-formats' });
    const up = await call('demo', 'PUT', `/v2/images/${bare.id}/file`, { body: Buffer.from('x'), type: 'application/octet-stream' });
    assert.equal(up.statusCode, 400);
    const json = await call('demo', 'PUT', `/v2/images/${bare.id}/file`, { json: { a: 1 } });
    assert.equal(json.statusCode, 415);
    const cases: [Record<string, unknown>, number][] = [
      [{ status: 'active' }, 403],
      [{ size: 3 }, 403],
      [{ checksum: 'x' }, 403],
      [{ os_glance_foo: 'x' }, 403],
      [{ disk_format: 'floppy' }, 400],
      [{ container_format: 'box' }, 400],
      [{ visibility: 'everyone' }, 400],
      [{ min_ram: -1 }, 400],
      [{ protected: 'yes' }, 400],
      [{ tags: 'a' }, 400],
      [{ custom: 5 }, 400],
      [{ id: 'not-a-uuid' }, 400],
      [{ id: SEED_IMAGES[0].id }, 409],
      [{ visibility: 'public' }, 403],
      [{ owner: nb.projectId('alt_demo') }, 403],
    ];
    const before = (await listIds('admin', '?limit=1000')).length;
    for (const [body, code] of cases) {
      const res = await call('demo', 'POST', '/v2/images', { json: body });
      assert.equal(res.statusCode, code, JSON.stringify(body));
      assert.equal(res.json().error.code, code);
    }
    assert.equal((await listIds('admin', '?limit=1000')).length, before, 'refused creates change nothing');
    const notObject = await call('demo', 'POST', '/v2/images', { json: [1] });
    assert.equal(notObject.statusCode, 400);
    const broken = await call('demo', 'POST', '/v2/images', { body: '{"name":', type: 'application/json' });
    assert.equal(broken.statusCode, 400);
    assert.equal(broken.json().error.code, 400);
    const xml = await call('demo', 'POST', '/v2/images', { body: '<image/>', type: 'application/xml' });
    assert.equal(xml.statusCode, 415);
    assert.equal(xml.json().error.code, 415);
    const badPatch = await call('demo', 'PATCH', `/v2/images/${bare.id}`, { body: '[{', type: PATCH });
    assert.equal(badPatch.statusCode, 400);
    assert.equal(badPatch.json().error.code, 400);
  });

  test('PATCH applies JSON-patch to name, tags, visibility and properties; errors change nothing', async () => {
    const img = await create('demo', { name: 'p', disk_format: 'qcow2', container_format: 'bare', color: 'red' });
    const ok = await patch('demo', img.id, [
      { op: 'replace', path: '/name', value: 'renamed' },
      { op: 'add', path: '/tags', value: ['x', 'y'] },
      { op: 'replace', path: '/color', value: 'blue' },
      { op: 'add', path: '/size~1shape', value: 'round' },
      { op: 'replace', path: '/visibility', value: 'private' },
    ]);
    assert.equal(ok.statusCode, 200, ok.body);
    const b = ok.json();
    assert.equal(b.name, 'renamed');
    assert.deepEqual(b.tags, ['x', 'y']);
    assert.equal(b.color, 'blue');
    assert.equal(b['size/shape'], 'round');
    assert.equal(b.visibility, 'private');
    const removed = await patch('demo', img.id, [{ op: 'remove', path: '/color' }]);
    assert.equal(removed.statusCode, 200);
    assert.equal(removed.json().color, undefined);

    const cases: [unknown, number, string?][] = [
      [[{ op: 'replace', path: '/status', value: 'active' }], 403],
      [[{ op: 'replace', path: '/id', value: 'x' }], 403],
      [[{ op: 'remove', path: '/name' }], 403],
      [[{ op: 'replace', path: '/visibility', value: 'public' }], 403],
      [[{ op: 'replace', path: '/nothing', value: 'x' }], 409],
      [[{ op: 'remove', path: '/nothing' }], 409],
      [[{ op: 'move', path: '/name', value: 'x' }], 400],
      [[{ op: 'replace', path: 'name', value: 'x' }], 400],
      [[{ op: 'replace', path: '/a/b', value: 'x' }], 400],
      [[{ op: 'replace', path: '/name' }], 400],
      [[{ op: 'replace', path: '/min_disk', value: 'big' }], 400],
      [{ op: 'replace' }, 400],
      [[{ op: 'replace', path: '/name', value: 'x' }], 415, 'application/json'],
    ];
    for (const [ops, code, type] of cases) {
      const res = await patch('demo', img.id, ops, type);
      assert.equal(res.statusCode, code, JSON.stringify(ops));
    }
    const after = (await call('demo', 'GET', `/v2/images/${img.id}`)).json();
    assert.equal(after.name, 'renamed');
    assert.equal(after.visibility, 'private');
    // All or nothing: a later bad op leaves the earlier good one unapplied.
    const mixed = await patch('demo', img.id, [{ op: 'replace', path: '/name', value: 'half' }, { op: 'replace', path: '/status', value: 'x' }]);
    assert.equal(mixed.statusCode, 403);
    assert.equal((await call('demo', 'GET', `/v2/images/${img.id}`)).json().name, 'renamed');
  });

  test("another project's private image is invisible (404 everywhere); admin sees and manages it", async () => {
    const img = await create('demo', { name: 'secret-image', visibility: 'private', disk_format: 'raw', container_format: 'bare' });
    assert.equal((await call('demo', 'PUT', `/v2/images/${img.id}/file`, { body: Buffer.from('abc'), type: 'application/octet-stream' })).statusCode, 204);
    const paths: [string, string, { body?: Buffer; type?: string; json?: unknown }?][] = [
      ['GET', `/v2/images/${img.id}`],
      ['GET', `/v2/images/${img.id}/file`],
      ['DELETE', `/v2/images/${img.id}`],
      ['PUT', `/v2/images/${img.id}/file`, { body: Buffer.from('x'), type: 'application/octet-stream' }],
      ['PUT', `/v2/images/${img.id}/tags/t`],
      ['GET', `/v2/images/${img.id}/members`],
    ];
    for (const [method, url, opts] of paths) {
      const res = await call('alt_demo', method, url, opts);
      assert.equal(res.statusCode, 404, `${method} ${url}`);
      assert.equal(res.json().error.code, 404);
    }
    assert.equal((await patch('alt_demo', img.id, [{ op: 'replace', path: '/name', value: 'x' }])).statusCode, 404);
    assert.ok(!(await listIds('alt_demo')).includes(img.id));
    assert.ok(!(await listIds('alt_demo', '?visibility=private')).includes(img.id));
    assert.ok(!(await listIds('alt_demo', '?visibility=all')).includes(img.id));
    assert.ok((await listIds('demo', '?visibility=private')).includes(img.id));
    assert.ok((await listIds('admin')).includes(img.id));
    assert.equal((await call('admin', 'GET', `/v2/images/${img.id}`)).statusCode, 200);
    assert.equal(await nb.services.images.getImage(img.id, { user_id: 'u', project_id: nb.projectId('alt_demo'), roles: ['member'] }), undefined);
    assert.ok(await nb.services.images.getImage(img.id, { user_id: 'u', project_id: nb.projectId('demo'), roles: ['reader'] }));
    assert.equal((await patch('admin', img.id, [{ op: 'replace', path: '/name', value: 'by-admin' }])).json().name, 'by-admin');
    assert.equal((await call('admin', 'DELETE', `/v2/images/${img.id}`)).statusCode, 204);
  });

  test('public images of another project can be used but not changed (403)', async () => {
    const id = SEED_IMAGES[0].id;
    assert.equal((await call('demo', 'DELETE', `/v2/images/${id}`)).statusCode, 403);
    assert.equal((await patch('demo', id, [{ op: 'replace', path: '/name', value: 'x' }])).statusCode, 403);
    assert.equal((await call('demo', 'PUT', `/v2/images/${id}/tags/t`)).statusCode, 403);
    assert.equal((await call('demo', 'POST', `/v2/images/${id}/actions/deactivate`)).statusCode, 403);
    const down = await call('demo', 'GET', `/v2/images/${id}/file`);
    assert.equal(down.statusCode, 200);
    assert.equal(down.rawPayload.length, (await call('demo', 'GET', `/v2/images/${id}`)).json().size);
    assert.equal((await call('demo', 'GET', `/v2/images/${id}`)).json().name, 'cirros-0.6.2-x86_64-disk');
  });

  test('protected images cannot be deleted until unprotected', async () => {
    const img = await create('demo', { name: 'keep', protected: true });
    const del = await call('demo', 'DELETE', `/v2/images/${img.id}`);
    assert.equal(del.statusCode, 403);
    assert.equal((await call('demo', 'GET', `/v2/images/${img.id}`)).statusCode, 200);
    assert.equal((await patch('demo', img.id, [{ op: 'replace', path: '/protected', value: false }])).statusCode, 200);
    assert.equal((await call('demo', 'DELETE', `/v2/images/${img.id}`)).statusCode, 204);
  });

  test('community images: anyone can show them, listed only with visibility=community', async () => {
    const img = await create('demo', { name: 'comm', visibility: 'community' });
    assert.equal((await call('alt_demo', 'GET', `/v2/images/${img.id}`)).statusCode, 200);
    assert.ok(!(await listIds('alt_demo')).includes(img.id));
    assert.ok((await listIds('alt_demo', '?visibility=community')).includes(img.id));
    assert.ok((await listIds('demo')).includes(img.id), 'the owner lists its own community image');
    assert.equal((await call('alt_demo', 'DELETE', `/v2/images/${img.id}`)).statusCode, 403);
  });

  test('shared images: a member sees it, lists it once accepted; only the owner manages members', async () => {
    const img = await create('demo', { name: 'shared-one' });
    const alt = nb.projectId('alt_demo');
    assert.equal((await call('alt_demo', 'GET', `/v2/images/${img.id}`)).statusCode, 404);
    const add = await call('demo', 'POST', `/v2/images/${img.id}/members`, { json: { member: alt } });
    assert.equal(add.statusCode, 200);
    assert.equal(add.json().status, 'pending');
    assert.equal((await call('demo', 'POST', `/v2/images/${img.id}/members`, { json: { member: alt } })).statusCode, 409);
    assert.equal((await call('alt_demo', 'GET', `/v2/images/${img.id}`)).statusCode, 200);
    assert.ok(!(await listIds('alt_demo')).includes(img.id));
    assert.ok((await listIds('alt_demo', '?member_status=pending')).includes(img.id));
    assert.equal((await call('demo', 'PUT', `/v2/images/${img.id}/members/${alt}`, { json: { status: 'accepted' } })).statusCode, 403);
    const accept = await call('alt_demo', 'PUT', `/v2/images/${img.id}/members/${alt}`, { json: { status: 'accepted' } });
    assert.equal(accept.statusCode, 200);
    assert.ok((await listIds('alt_demo')).includes(img.id));
    assert.equal((await call('alt_demo', 'GET', `/v2/images/${img.id}/members`)).json().members.length, 1);
    assert.equal((await call('alt_demo', 'DELETE', `/v2/images/${img.id}/members/${alt}`)).statusCode, 403);
    assert.equal((await call('demo', 'DELETE', `/v2/images/${img.id}/members/${alt}`)).statusCode, 204);
    assert.equal((await call('alt_demo', 'GET', `/v2/images/${img.id}`)).statusCode, 404);
    const priv = await create('demo', { name: 'not-shared', visibility: 'private' });
    assert.equal((await call('demo', 'POST', `/v2/images/${priv.id}/members`, { json: { member: alt } })).statusCode, 403);
  });

  test('listing filters by name, status, tag, property and size; sorts; paginates with next', async () => {
    const names = ['list-c', 'list-a', 'list-b'];
    const made: string[] = [];
    for (const name of names) {
      clock.advance(1000);
      made.push((await create('alt_demo', { name, tags: ['batch'], flavor_hint: name === 'list-a' ? 'yes' : 'no' })).id);
    }
    assert.deepEqual(await listIds('alt_demo', '?name=list-a'), [made[1]]);
    assert.deepEqual((await listIds('alt_demo', '?tag=batch&sort=name:asc')), [made[1], made[2], made[0]]);
    assert.deepEqual((await listIds('alt_demo', '?tag=batch&sort_key=name&sort_dir=desc')), [made[0], made[2], made[1]]);
    assert.deepEqual(await listIds('alt_demo', '?flavor_hint=yes'), [made[1]]);
    assert.deepEqual((await listIds('alt_demo', '?tag=batch&status=queued')).length, 3);
    assert.deepEqual(await listIds('alt_demo', '?tag=batch&status=active'), []);
    assert.deepEqual((await listIds('alt_demo', '?name=in:list-a,list-b&sort=name:asc')), [made[1], made[2]]);
    assert.equal((await listIds('alt_demo', '?size_min=1')).length, SEED_IMAGES.length);
    // `size` is exact: only images of that size (a larger one is no match).
    const small = await create('alt_demo', { name: 'small', disk_format: 'raw', container_format: 'bare' });
    assert.equal((await call('alt_demo', 'PUT', `/v2/images/${small.id}/file`, { body: Buffer.from('tiny'), type: 'application/octet-stream' })).statusCode, 204);
    const seedSize = (await call('alt_demo', 'GET', '/v2/images?size_min=5')).json().images[0].size;
    assert.deepEqual(await listIds('alt_demo', '?size=4'), [small.id]);
    assert.ok(!(await listIds('alt_demo', `?size=${seedSize}`)).includes(small.id));
    await call('alt_demo', 'DELETE', `/v2/images/${small.id}`);
    // Newest first by default.
    assert.deepEqual((await listIds('alt_demo', '?tag=batch')), [...made].reverse());

    const page1 = (await call('alt_demo', 'GET', '/v2/images?tag=batch&sort=name:asc&limit=2')).json();
    assert.deepEqual(page1.images.map((i: { id: string }) => i.id), [made[1], made[2]]);
    assert.equal(page1.first, '/v2/images');
    assert.equal(page1.schema, '/v2/schemas/images');
    assert.match(page1.next, /^\/v2\/images\?.*marker=/);
    assert.match(page1.next, /tag=batch/);
    const page2 = (await call('alt_demo', 'GET', page1.next)).json();
    assert.deepEqual(page2.images.map((i: { id: string }) => i.id), [made[0]]);
    assert.equal(page2.next, undefined);
    // As Glance: a full page always links the next one, which may be empty.
    const full = (await call('alt_demo', 'GET', '/v2/images?tag=batch&sort=name:asc&limit=3')).json();
    assert.equal(full.images.length, 3);
    assert.match(full.next, /marker=/);
    const empty = (await call('alt_demo', 'GET', full.next)).json();
    assert.deepEqual(empty.images, []);
    assert.equal(empty.next, undefined);
  });

  test('bad list parameters are 400', async () => {
    for (const qs of ['limit=-1', 'limit=x', 'sort_key=bogus', 'sort_dir=up', 'sort=name:sideways', 'sort=name&sort_key=id', 'visibility=everyone',
      'member_status=maybe', 'status=running', 'protected=perhaps', `marker=${stableUuid('no-such-image')}`, 'created_at=gt:yesterday']) {
      const res = await call('demo', 'GET', `/v2/images?${qs}`);
      assert.equal(res.statusCode, 400, qs);
      assert.equal(res.json().error.code, 400);
    }
  });

  test('every image call needs a valid token (401 with WWW-Authenticate)', async () => {
    for (const [method, url] of [['GET', '/v2/images'], ['POST', '/v2/images'], ['GET', `/v2/images/${SEED_IMAGES[0].id}`], ['DELETE', `/v2/images/${SEED_IMAGES[0].id}`]]) {
      const res = await nb.app.inject({ method: method as 'GET', url: `/image${url}`, headers: { 'x-auth-token': 'nope' } });
      assert.equal(res.statusCode, 401, `${method} ${url}`);
      assert.match(String(res.headers['www-authenticate']), /^Keystone uri="http:\/\/.+\/identity"$/);
    }
  });

  test('a reader may list and show but not create, change or delete', async () => {
    const ids = nb.services.identity;
    const user = await ids.createUser({ name: 'reader-user', domain_id: 'default', password: 'pw' });
    const reader = (await ids.store.roleByName('reader'))!;
    await ids.write((s) => s.grant({ actor_type: 'user', actor_id: user.id, role_id: reader.id, target_type: 'project', target_id: nb.projectId('demo') }));
    const tok = await nb.app.inject({
      method: 'POST', url: '/identity/v3/auth/tokens',
      payload: { auth: { identity: { methods: ['password'], password: { user: { id: user.id, password: 'pw' } } }, scope: { project: { id: nb.projectId('demo') } } } },
    });
    assert.equal(tok.statusCode, 201);
    const headers = { 'x-auth-token': String(tok.headers['x-subject-token']), 'content-type': 'application/json' };
    const own = await create('demo', { name: 'demo-owned' });
    assert.equal((await nb.app.inject({ method: 'GET', url: `/image/v2/images/${own.id}`, headers })).statusCode, 200);
    assert.equal((await nb.app.inject({ method: 'POST', url: '/image/v2/images', headers, payload: '{"name": "r"}' })).statusCode, 403);
    assert.equal((await nb.app.inject({ method: 'DELETE', url: `/image/v2/images/${own.id}`, headers })).statusCode, 403);
  });

  test('snapshots made through ImagePort appear for the owner and go queued → saving → active', async () => {
    const owner = nb.projectId('demo');
    const port = nb.services.images;
    const snap = await port.createSnapshot({ name: 'srv-snap', owner, properties: { image_type: 'snapshot', instance_uuid: 'abc' }, min_disk: 1 });
    assert.equal(snap.status, 'queued');
    const seen = async () => (await call('demo', 'GET', `/v2/images/${snap.id}`)).json();
    assert.equal((await seen()).status, 'queued');
    assert.equal((await seen()).visibility, 'private');
    assert.equal((await seen()).owner, owner);
    assert.equal((await seen()).image_type, 'snapshot');
    await port.setStatus(snap.id, 'saving');
    assert.equal((await seen()).status, 'saving');
    await port.setStatus(snap.id, 'active');
    const active = await seen();
    assert.equal(active.status, 'active');
    assert.equal(active.min_disk, 1);
    assert.equal(typeof active.size, 'number');
    assert.deepEqual(await listIds('demo', '?name=srv-snap'), [snap.id]);
    assert.deepEqual(await listIds('alt_demo', '?name=srv-snap'), []);
    const found = await port.findByProperties(owner, { instance_uuid: 'abc' });
    assert.deepEqual(found.map((i) => i.id), [snap.id]);
    assert.deepEqual(await port.findByProperties(nb.projectId('alt_demo'), { instance_uuid: 'abc' }), []);
    await port.deleteImage(snap.id);
    assert.equal((await call('demo', 'GET', `/v2/images/${snap.id}`)).statusCode, 404);
    assert.equal(await port.getImage(snap.id, { user_id: 'x', project_id: owner, roles: ['admin'] }), undefined);
  });

  test('admin can deactivate and reactivate; a deactivated image cannot be downloaded by others', async () => {
    const id = SEED_IMAGES[1].id;
    assert.equal((await call('admin', 'POST', `/v2/images/${id}/actions/deactivate`)).statusCode, 204);
    assert.equal((await call('demo', 'GET', `/v2/images/${id}`)).json().status, 'deactivated');
    assert.equal((await call('demo', 'GET', `/v2/images/${id}/file`)).statusCode, 403);
    assert.equal((await call('admin', 'POST', `/v2/images/${id}/actions/reactivate`)).statusCode, 204);
    assert.equal((await call('demo', 'GET', `/v2/images/${id}`)).json().status, 'active');
  });

  test('the draft-4 patch form (what tempest sends: {"replace": "/name", "value": …}) works like op/path', async () => {
    const img = await create('demo', { name: 'd4', disk_format: 'raw', container_format: 'bare' });
    const res = await patch('demo', img.id, [{ replace: '/name', value: 'renamed' }, { add: '/hw_rescue_device', value: 'disk' }], 'application/openstack-images-v2.0-json-patch');
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().name, 'renamed');
    assert.equal(res.json().hw_rescue_device, 'disk');
    assert.equal((await patch('demo', img.id, [{ remove: '/hw_rescue_device' }])).json().hw_rescue_device, undefined);
  });
});
