// Block Storage v3 over HTTP with real tokens: version documents and microversions, the catalog,
// volumes (create, list/detail with filters and paging, show, update, actions, metadata, delete),
// snapshots, volume types, attachments (3.27+), quotas and limits, zones, and Cinder's faults.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNovabox, type TestNovabox } from '../helpers/novabox.ts';

let nb: TestNovabox;
let pid: string;
before(async () => {
  nb = await startNovabox();
  pid = nb.projectId('demo');
});
after(() => nb.close());

type Json = Record<string, any>;
async function call(method: string, path: string, body?: unknown, opts: { user?: string; mv?: string; project?: string } = {}) {
  const headers: Record<string, string> = await nb.headers(opts.user ?? 'demo');
  if (opts.mv) headers['openstack-api-version'] = `volume ${opts.mv}`;
  const project = opts.project ?? (opts.user === 'admin' ? nb.projectId('admin') : pid);
  const res = await nb.app.inject({ method: method as never, url: path.startsWith('/') ? path : `/volume/v3/${project}/${path}`, payload: body as never, headers });
  return { status: res.statusCode, body: (res.body ? JSON.parse(res.body) : null) as Json, headers: res.headers };
}

async function until(path: string, want: string | null, opts: { user?: string } = {}): Promise<Json | null> {
  for (let i = 0; i < 200; i++) {
    const r = await call('GET', path, undefined, opts);
    if (want === null && r.status === 404) return null;
    if (r.status === 200 && (r.body.volume ?? r.body.snapshot)?.status === want) return r.body.volume ?? r.body.snapshot;
    await new Promise((res) => setTimeout(res, 5));
  }
  assert.fail(`${path} never reached ${want}`);
}

async function volume(body: Json = {}): Promise<Json> {
  const r = await call('POST', 'volumes', { volume: { size: 1, ...body } });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  return (await until(`volumes/${r.body.volume.id}`, 'available'))!;
}

test('version documents: 300 at /volume, 200 at /volume/v3/, microversions 3.0 to 3.71', async () => {
  const all = await nb.app.inject({ method: 'GET', url: '/volume' });
  assert.equal(all.statusCode, 300);
  const v = all.json().versions[0];
  assert.deepEqual([v.id, v.status, v.min_version, v.version], ['v3.0', 'CURRENT', '3.0', '3.71']);
  const v3 = await nb.app.inject({ method: 'GET', url: '/volume/v3/' });
  assert.equal(v3.statusCode, 200);
  assert.equal(v3.headers['openstack-api-version'], 'volume 3.0');
  const latest = await call('GET', 'volumes', undefined, { mv: 'latest' });
  assert.equal(latest.headers['openstack-api-version'], 'volume 3.71');
  assert.match(String(latest.headers.vary), /OpenStack-API-Version/);
  const tooNew = await call('GET', 'volumes', undefined, { mv: '3.72' });
  assert.equal(tooNew.status, 406);
  assert.equal(tooNew.body.computeFault.message, 'Version 3.72 is not supported by the API. Minimum is 3.0 and maximum is 3.71.');
  assert.equal((await call('GET', 'volumes', undefined, { mv: '3.x' })).status, 400);
});

test('the catalog has block-storage and volumev3 at /volume/v3/{project_id}', async () => {
  const res = await nb.app.inject({ method: 'POST', url: '/identity/v3/auth/tokens', payload: { auth: { identity: { methods: ['password'], password: { user: { name: 'demo', domain: { name: 'Default' }, password: 'secret' } } }, scope: { project: { name: 'demo', domain: { name: 'Default' } } } } } });
  const cat = res.json().token.catalog as Json[];
  for (const type of ['block-storage', 'volumev3']) {
    const s = cat.find((c) => c.type === type);
    assert.ok(s, type);
    assert.ok(s.endpoints[0].url.endsWith(`/volume/v3/${pid}`));
  }
});

test('create, show, list, update and delete a volume; faults have Cinder shape and change nothing', async () => {
  const created = await call('POST', 'volumes', { volume: { size: '2', name: 'data', description: 'd', metadata: { a: 'b' } } });
  assert.equal(created.status, 202);
  const v = created.body.volume;
  assert.equal(v.status, 'creating');
  assert.equal(v.volume_type, 'lvmdriver-1');
  assert.equal(v.bootable, 'false');
  assert.ok(!('os-vol-tenant-attr:tenant_id' in v), 'create answers without the extension attributes');
  const shown = await until(`volumes/${v.id}`, 'available');
  assert.equal(shown!['os-vol-tenant-attr:tenant_id'], pid);
  assert.ok(!('os-vol-host-attr:host' in shown!), 'the host is for admins');
  const asAdmin = await call('GET', `/volume/v3/${nb.projectId('admin')}/volumes/${v.id}`, undefined, { user: 'admin' });
  assert.match(asAdmin.body.volume['os-vol-host-attr:host'], /.+@.+#.+/);

  assert.equal((await call('POST', 'volumes', { volume: { size: 0 } })).status, 400);
  assert.equal((await call('POST', 'volumes', { volume: { size: 'big' } })).status, 400);
  assert.equal((await call('POST', 'volumes', { nothing: {} })).status, 400);
  const missing = await call('GET', 'volumes/00000000-0000-0000-0000-000000000000');
  assert.deepEqual(missing.body, { itemNotFound: { code: 404, message: 'Volume 00000000-0000-0000-0000-000000000000 could not be found.' } });
  assert.equal((await call('GET', `volumes/${v.id}`, undefined, { user: 'alt_demo', project: nb.projectId('alt_demo') })).status, 404);

  const upd = await call('PUT', `volumes/${v.id}`, { volume: { name: 'renamed' } });
  assert.equal(upd.status, 200);
  assert.equal(upd.body.volume.name, 'renamed');

  const list = await call('GET', 'volumes?name=renamed');
  assert.deepEqual(list.body.volumes.map((x: Json) => x.id), [v.id]);
  assert.deepEqual(Object.keys(list.body.volumes[0]).sort(), ['id', 'links', 'name']);
  const meta = await call('GET', `volumes/detail?metadata=${encodeURIComponent(JSON.stringify({ a: 'b' }))}`);
  assert.ok(meta.body.volumes.some((x: Json) => x.id === v.id));
  assert.equal((await call('GET', 'volumes?sort=bogus:asc')).status, 400);
  assert.equal((await call('GET', 'volumes?foo=1', undefined, { mv: '3.31' })).status, 400);

  const del = await call('DELETE', `volumes/${v.id}`);
  assert.equal(del.status, 202);
  await until(`volumes/${v.id}`, null);
});

test('paging: limit and marker with a next link, summary from 3.12', async () => {
  const a = await volume({ name: 'p1' });
  const b = await volume({ name: 'p2' });
  const page = await call('GET', 'volumes?limit=1&sort=name:asc&name~=p', undefined, { mv: '3.34' });
  assert.equal(page.body.volumes.length, 1);
  assert.equal(page.body.volumes[0].id, a.id);
  assert.match(page.body.volumes_links[0].href, new RegExp(`marker=${a.id}`));
  const next = await call('GET', `volumes?limit=1&sort=name:asc&name~=p&marker=${a.id}`, undefined, { mv: '3.34' });
  assert.equal(next.body.volumes[0].id, b.id);
  assert.equal((await call('GET', 'volumes/summary')).status, 404);
  const sum = await call('GET', 'volumes/summary', undefined, { mv: '3.12' });
  assert.ok(sum.body['volume-summary'].total_count >= 2);
  for (const v of [a, b]) await call('DELETE', `volumes/${v.id}`);
});

test('volume actions: extend (in-use needs 3.42), reset status and force delete for admins, bootable, readonly, metadata', async () => {
  const v = await volume({ name: 'act' });
  const small = await call('POST', `volumes/${v.id}/action`, { 'os-extend': { new_size: 1 } });
  assert.equal(small.status, 400);
  assert.match(small.body.badRequest.message, /New size for extend must be greater than current size/);
  assert.equal((await call('POST', `volumes/${v.id}/action`, { 'os-extend': { new_size: 3 } })).status, 202);
  const ext = await until(`volumes/${v.id}`, 'available');
  assert.equal(ext!.size, 3);

  const forbidden = await call('POST', `volumes/${v.id}/action`, { 'os-reset_status': { status: 'error' } });
  assert.equal(forbidden.status, 403);
  const admin = { user: 'admin' };
  const adminPath = (p: string) => `/volume/v3/${nb.projectId('admin')}/${p}`;
  assert.equal((await call('POST', adminPath(`volumes/${v.id}/action`), { 'os-reset_status': { status: 'maintenance' } }, admin)).status, 202);
  const maint = await call('PUT', `volumes/${v.id}`, { volume: { name: 'x' } });
  assert.equal(maint.status, 400);
  assert.equal(maint.body.badRequest.message, 'Invalid volume: The volume cannot be updated during maintenance.');
  assert.equal((await call('POST', adminPath(`volumes/${v.id}/action`), { 'os-reset_status': { status: 'in-use' } }, admin)).status, 202);
  const inUse = await call('DELETE', `volumes/${v.id}`);
  assert.equal(inUse.status, 400);
  assert.match(inUse.body.badRequest.message, /^Invalid volume: Volume status must be available or error/);
  const ext2 = await call('POST', `volumes/${v.id}/action`, { 'os-extend': { new_size: 4 } });
  assert.equal(ext2.status, 400);
  assert.equal((await call('POST', `volumes/${v.id}/action`, { 'os-extend': { new_size: 4 } }, { mv: '3.42' })).status, 202);
  await until(`volumes/${v.id}`, 'in-use');
  assert.equal((await call('POST', adminPath(`volumes/${v.id}/action`), { 'os-reset_status': { status: 'available' } }, admin)).status, 202);

  assert.equal((await call('POST', `volumes/${v.id}/action`, { 'os-set_bootable': { bootable: true } })).status, 200);
  assert.equal((await call('GET', `volumes/${v.id}`)).body.volume.bootable, 'true');
  assert.equal((await call('POST', `volumes/${v.id}/action`, { 'os-update_readonly_flag': { readonly: true } })).status, 202);
  assert.equal((await call('POST', `volumes/${v.id}/action`, { 'os-bogus': {} })).status, 400);

  assert.deepEqual((await call('POST', `volumes/${v.id}/metadata`, { metadata: { k: 'v' } })).body, { metadata: { k: 'v' } });
  assert.deepEqual((await call('GET', `volumes/${v.id}/metadata/k`)).body, { meta: { k: 'v' } });
  assert.equal((await call('DELETE', `volumes/${v.id}/metadata/k`)).status, 200);
  assert.equal((await call('GET', `volumes/${v.id}/metadata/k`)).status, 404);

  assert.equal((await call('POST', adminPath(`volumes/${v.id}/action`), { 'os-force_delete': {} }, admin)).status, 202);
  await until(`volumes/${v.id}`, null);
});

test('volumes from an image (bootable, image metadata), from a snapshot and from a volume', async () => {
  const image = '4fa04c19-09fa-51ff-9872-fac075d1145b';
  const r = await call('POST', 'volumes', { volume: { size: 1, imageRef: image } });
  assert.equal(r.status, 202);
  const v = await until(`volumes/${r.body.volume.id}`, 'available');
  assert.equal(v!.bootable, 'true');
  assert.equal(v!.volume_image_metadata.image_id, image);
  const snap = await call('POST', 'snapshots', { snapshot: { volume_id: v!.id, name: 's1' } });
  assert.equal(snap.status, 202);
  assert.equal(snap.body.snapshot.status, 'creating');
  const s = await until(`snapshots/${snap.body.snapshot.id}`, 'available');
  assert.equal(s!['os-extended-snapshot-attributes:project_id'], pid);
  const tooSmall = await call('POST', 'volumes', { volume: { size: 0, snapshot_id: s!.id } });
  assert.equal(tooSmall.status, 400);
  const fromSnap = await call('POST', 'volumes', { volume: { snapshot_id: s!.id } });
  assert.equal(fromSnap.status, 202);
  const fs = await until(`volumes/${fromSnap.body.volume.id}`, 'available');
  assert.equal(fs!.snapshot_id, s!.id);
  assert.equal(fs!.bootable, 'true');
  const clone = await call('POST', 'volumes', { volume: { source_volid: v!.id, size: 2 } });
  const cl = await until(`volumes/${clone.body.volume.id}`, 'available');
  assert.equal(cl!.source_volid, v!.id);
  assert.equal((await call('GET', 'snapshots')).body.snapshots.some((x: Json) => x.id === s!.id), true);
  assert.equal((await call('DELETE', `volumes/${v!.id}`)).status, 400, 'a volume with snapshots needs cascade');
  for (const id of [fs!.id, cl!.id]) await call('DELETE', `volumes/${id}`);
  assert.equal((await call('DELETE', `volumes/${v!.id}?cascade=true`)).status, 202);
  await until(`volumes/${v!.id}`, null);
  assert.equal((await call('GET', `snapshots/${s!.id}`)).status, 404);
});

test('volume types: devstack default, admin create with extra specs and private access', async () => {
  const def = await call('GET', 'types/default');
  assert.equal(def.body.volume_type.name, 'lvmdriver-1');
  const admin = { user: 'admin' };
  const ap = (p: string) => `/volume/v3/${nb.projectId('admin')}/${p}`;
  assert.equal((await call('POST', 'types', { volume_type: { name: 'nope' } })).status, 403);
  const t = await call('POST', ap('types'), { volume_type: { name: 'gold', 'os-volume-type-access:is_public': false, extra_specs: { tier: 'gold' } } }, admin);
  assert.equal(t.status, 200);
  const id = t.body.volume_type.id;
  assert.deepEqual(t.body.volume_type.extra_specs, { tier: 'gold' });
  assert.equal((await call('GET', `types/${id}`)).status, 404, 'a private type is hidden from other projects');
  assert.equal((await call('POST', ap(`types/${id}/action`), { addProjectAccess: { project: pid } }, admin)).status, 202);
  assert.equal((await call('GET', `types/${id}`)).status, 200);
  assert.deepEqual((await call('GET', ap(`types/${id}/os-volume-type-access`), undefined, admin)).body.volume_type_access, [{ volume_type_id: id, project_id: pid }]);
  assert.deepEqual((await call('POST', ap(`types/${id}/extra_specs`), { extra_specs: { x: '1' } }, admin)).body, { extra_specs: { x: '1' } });
  const v = await volume({ volume_type: 'gold' });
  assert.equal(v.volume_type, 'gold');
  assert.equal((await call('DELETE', ap(`types/${id}`), undefined, admin)).status, 400);
  await call('DELETE', `volumes/${v.id}`);
  await until(`volumes/${v.id}`, null);
  assert.equal((await call('DELETE', ap(`types/${id}`), undefined, admin)).status, 202);
});

test('attachments API (3.27+): create reserves, update connects, complete puts in use, delete frees', async () => {
  const v = await volume({ name: 'att' });
  assert.equal((await call('POST', 'attachments', { attachment: { volume_uuid: v.id } })).status, 404, 'not before 3.27');
  const mv = { mv: '3.44' };
  const a = await call('POST', 'attachments', { attachment: { volume_uuid: v.id, instance_uuid: '11111111-2222-3333-4444-555555555555' } }, mv);
  assert.equal(a.status, 200);
  assert.equal(a.body.attachment.status, 'reserved');
  assert.equal((await call('GET', `volumes/${v.id}`)).body.volume.status, 'reserved');
  const again = await call('POST', 'attachments', { attachment: { volume_uuid: v.id } }, mv);
  assert.equal(again.status, 400);
  assert.match(again.body.badRequest.message, /status must be available or downloading to reserve, but the current status is reserved/);
  const u = await call('PUT', `attachments/${a.body.attachment.id}`, { attachment: { connector: { host: 'compute-0', mountpoint: '/dev/vdb' } } }, mv);
  assert.equal(u.status, 200);
  assert.equal(u.body.attachment.connection_info.driver_volume_type, 'iscsi');
  assert.equal((await call('POST', `attachments/${a.body.attachment.id}/action`, { 'os-complete': null }, mv)).status, 204);
  const inUse = (await call('GET', `volumes/${v.id}`)).body.volume;
  assert.equal(inUse.status, 'in-use');
  assert.equal(inUse.attachments[0].server_id, '11111111-2222-3333-4444-555555555555');
  assert.equal(inUse.attachments[0].device, '/dev/vdb');
  assert.equal((await call('GET', 'attachments', undefined, mv)).body.attachments.length, 1);
  assert.equal((await call('DELETE', `attachments/${a.body.attachment.id}`, undefined, mv)).status, 200);
  assert.equal((await call('GET', `volumes/${v.id}`)).body.volume.status, 'available');
  await call('DELETE', `volumes/${v.id}`);
});

test('quotas, limits and zones', async () => {
  const q = await call('GET', `os-quota-sets/${pid}?usage=True`);
  assert.equal(q.body.quota_set.volumes.limit, 10);
  const admin = { user: 'admin' };
  const ap = (p: string) => `/volume/v3/${nb.projectId('admin')}/${p}`;
  assert.equal((await call('PUT', `os-quota-sets/${pid}`, { quota_set: { volumes: 1 } })).status, 403);
  assert.equal((await call('PUT', ap(`os-quota-sets/${pid}`), { quota_set: { gigabytes: 2 } }, admin)).status, 200);
  const over = await call('POST', 'volumes', { volume: { size: 3 } });
  assert.equal(over.status, 413);
  assert.ok(over.body.overLimit.message.includes("exceeds allowed gigabytes quota"));
  assert.equal((await call('DELETE', ap(`os-quota-sets/${pid}`), undefined, admin)).status, 200);
  const lim = await call('GET', 'limits');
  assert.equal(lim.body.limits.absolute.maxTotalVolumes, 10);
  assert.deepEqual((await call('GET', 'os-availability-zone')).body, { availabilityZoneInfo: [{ zoneName: 'nova', zoneState: { available: true } }] });
});

test('the admin fault API reaches the block driver: a failed extend leaves error_extending', async () => {
  const v = await volume({ name: 'faulty' });
  const inj = await nb.app.inject({ method: 'POST', url: '/novabox/v1/faults', headers: await nb.headers('admin'), payload: { action: 'extend', op: 'extend_volume', server_uuid: v.id } });
  assert.equal(inj.statusCode, 201, inj.body);
  assert.equal((await call('POST', `volumes/${v.id}/action`, { 'os-extend': { new_size: 2 } })).status, 202);
  const after = await until(`volumes/${v.id}`, 'error_extending');
  assert.equal(after!.size, 1);
  assert.equal((await call('DELETE', `volumes/${v.id}`)).status, 202, 'error_extending volumes can be deleted');
});
