// Nova with Cinder behind it, over HTTP: boot from volume (an existing volume, an image copied to a
// new volume), os-extended-volumes:volumes_attached, os-volume_attachments attach/list/show/detach
// with Nova's server states and Cinder's volume states, swap (admin, only while Cinder migrates),
// delete of a server with delete_on_termination, createImage of a volume-backed server, and the
// os-volumes / os-snapshots proxies up to 2.35.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNovabox, type TestNovabox } from '../helpers/novabox.ts';

let nb: TestNovabox;
let pid: string;
const IMAGE = '4fa04c19-09fa-51ff-9872-fac075d1145b';
before(async () => {
  nb = await startNovabox();
  pid = nb.projectId('demo');
});
after(() => nb.close());

type Json = Record<string, any>;
async function call(method: string, url: string, body?: unknown, opts: { user?: string; mv?: string } = {}) {
  const headers: Record<string, string> = await nb.headers(opts.user ?? 'demo');
  if (opts.mv) headers['openstack-api-version'] = url.startsWith('/volume') ? `volume ${opts.mv}` : `compute ${opts.mv}`;
  const res = await nb.app.inject({ method: method as never, url, payload: body as never, headers });
  return { status: res.statusCode, body: (res.body ? JSON.parse(res.body) : null) as Json };
}
const vol = (id: string) => `/volume/v3/${pid}/volumes/${id}`;

async function until<T>(what: string, fn: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.fail(`never: ${what}`);
}
const volumeStatus = (id: string, want: string) =>
  until(`${id} ${want}`, async () => {
    const r = await call('GET', vol(id));
    return r.status === 200 && r.body.volume.status === want ? r.body.volume : want === 'gone' && r.status === 404 ? {} : undefined;
  });
const serverStatus = (id: string, want: string) =>
  until(`${id} ${want}`, async () => {
    const r = await call('GET', `/compute/v2.1/servers/${id}`);
    return r.status === 200 && r.body.server.status === want ? r.body.server : want === 'gone' && r.status === 404 ? {} : undefined;
  });

async function newVolume(body: Json = {}): Promise<Json> {
  const r = await call('POST', `/volume/v3/${pid}/volumes`, { volume: { size: 1, ...body } });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  return volumeStatus(r.body.volume.id, 'available');
}

async function boot(bdm: Json[], extra: Json = {}): Promise<{ status: number; body: Json }> {
  return call('POST', '/compute/v2.1/servers', { server: { name: 'bfv', flavorRef: '1', networks: 'none', block_device_mapping_v2: bdm, ...extra } }, { mv: '2.79' });
}

test('boot from an image copied to a new volume; attach, list, show, detach a second volume; delete removes volumes marked delete_on_termination', async () => {
  const r = await boot([{ source_type: 'image', uuid: IMAGE, destination_type: 'volume', volume_size: 1, boot_index: 0, delete_on_termination: true }]);
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const sid = r.body.server.id;
  const s = await serverStatus(sid, 'ACTIVE');
  assert.equal(s.image, '', 'a volume-backed server has no image');
  const rootId = (await call('GET', `/compute/v2.1/servers/${sid}`, undefined, { mv: '2.79' })).body.server['os-extended-volumes:volumes_attached'][0].id;
  const root = await volumeStatus(rootId, 'in-use');
  assert.equal(root.bootable, 'true');
  assert.equal(root.attachments[0].server_id, sid);
  assert.equal(root.attachments[0].device, '/dev/vda');

  const data = await newVolume({ name: 'data' });
  const att = await call('POST', `/compute/v2.1/servers/${sid}/os-volume_attachments`, { volumeAttachment: { volumeId: data.id } });
  assert.equal(att.status, 200, JSON.stringify(att.body));
  assert.deepEqual(att.body.volumeAttachment, { id: data.id, serverId: sid, volumeId: data.id, device: '/dev/vdb' });
  await volumeStatus(data.id, 'in-use');
  const again = await call('POST', `/compute/v2.1/servers/${sid}/os-volume_attachments`, { volumeAttachment: { volumeId: data.id } });
  assert.equal(again.status, 400);
  const list = await call('GET', `/compute/v2.1/servers/${sid}/os-volume_attachments`);
  assert.deepEqual(list.body.volumeAttachments.map((a: Json) => a.volumeId).sort(), [rootId, data.id].sort());
  const show = await call('GET', `/compute/v2.1/servers/${sid}/os-volume_attachments/${data.id}`, undefined, { mv: '2.89' });
  assert.equal(show.body.volumeAttachment.volumeId, data.id);
  assert.ok(show.body.volumeAttachment.attachment_id);
  assert.equal((await call('DELETE', `/volume/v3/${pid}/volumes/${data.id}`)).status, 400, 'Cinder refuses to delete an attached volume');
  assert.equal((await call('DELETE', `/compute/v2.1/servers/${sid}/os-volume_attachments/${rootId}`)).status, 400, 'the root volume stays');

  // A paused server still takes attach and detach; a rescued one does not (409).
  assert.equal((await call('DELETE', `/compute/v2.1/servers/${sid}/os-volume_attachments/${data.id}`)).status, 202);
  await volumeStatus(data.id, 'available');
  await until('mapping gone', async () => ((await call('GET', `/compute/v2.1/servers/${sid}/os-volume_attachments`)).body.volumeAttachments.length === 1 ? true : undefined));
  const actions = (await call('GET', `/compute/v2.1/servers/${sid}/os-instance-actions`)).body.instanceActions.map((a: Json) => a.action);
  assert.ok(actions.includes('attach_volume') && actions.includes('detach_volume'), actions.join());

  // The instance's volume snapshot: Cinder snapshots and an image mapping them.
  const img = await call('POST', `/compute/v2.1/servers/${sid}/action`, { createImage: { name: 'bfv-snap' } }, { mv: '2.45' });
  assert.equal(img.status, 202);
  const image = (await nb.app.inject({ method: 'GET', url: `/image/v2/images/${img.body.image_id}`, headers: await nb.headers('demo') })).json();
  assert.equal(image.status, 'active');
  const mapped = JSON.parse(image.block_device_mapping);
  assert.equal(mapped[0].source_type, 'snapshot');
  const snap = (await call('GET', `/volume/v3/${pid}/snapshots/${mapped[0].snapshot_id}`)).body.snapshot;
  assert.equal(snap.volume_id, rootId);

  assert.equal((await call('DELETE', `/compute/v2.1/servers/${sid}`)).status, 204);
  await serverStatus(sid, 'gone');
  // The root volume had delete_on_termination but has a snapshot: Cinder keeps it, available.
  await volumeStatus(rootId, 'available');
});

test('boot from an existing bootable volume; a non-bootable one is refused; delete keeps the volume', async () => {
  const plain = await newVolume();
  const refused = await boot([{ source_type: 'volume', uuid: plain.id, destination_type: 'volume', boot_index: 0 }]);
  assert.equal(refused.status, 400);
  assert.equal(refused.body.badRequest.message, `Block Device ${plain.id} is not bootable.`);
  const bootable = await newVolume({ imageRef: IMAGE });
  const r = await boot([{ source_type: 'volume', uuid: bootable.id, destination_type: 'volume', boot_index: 0 }]);
  assert.equal(r.status, 202);
  const sid = r.body.server.id;
  await serverStatus(sid, 'ACTIVE');
  await volumeStatus(bootable.id, 'in-use');
  const busy = await boot([{ source_type: 'volume', uuid: bootable.id, destination_type: 'volume', boot_index: 0 }]);
  assert.equal(busy.status, 400, 'an in-use volume cannot boot a second server');
  assert.equal((await call('DELETE', `/compute/v2.1/servers/${sid}`)).status, 204);
  await volumeStatus(bootable.id, 'available');
  for (const v of [plain, bootable]) await call('DELETE', vol(v.id));
});

test('attach needs an allowed server state; swap is for admins while Cinder migrates the volume', async () => {
  const r = await call('POST', '/compute/v2.1/servers', { server: { name: 'img', flavorRef: '1', imageRef: IMAGE, networks: 'none' } }, { mv: '2.79' });
  const sid = r.body.server.id;
  await serverStatus(sid, 'ACTIVE');
  const a = await newVolume();
  const b = await newVolume();
  assert.equal((await call('POST', `/compute/v2.1/servers/${sid}/action`, { rescue: {} })).status, 200);
  await serverStatus(sid, 'RESCUE');
  const rescued = await call('POST', `/compute/v2.1/servers/${sid}/os-volume_attachments`, { volumeAttachment: { volumeId: a.id } });
  assert.equal(rescued.status, 409);
  assert.equal(rescued.body.conflictingRequest.message, `Cannot 'attach_volume' instance ${sid} while it is in vm_state rescued`);
  assert.equal((await call('GET', vol(a.id))).body.volume.status, 'available', 'a refused attach changes nothing');
  await call('POST', `/compute/v2.1/servers/${sid}/action`, { unrescue: null });
  await serverStatus(sid, 'ACTIVE');
  assert.equal((await call('POST', `/compute/v2.1/servers/${sid}/os-volume_attachments`, { volumeAttachment: { volumeId: a.id } })).status, 200);
  await volumeStatus(a.id, 'in-use');

  assert.equal((await call('PUT', `/compute/v2.1/servers/${sid}/os-volume_attachments/${a.id}`, { volumeAttachment: { volumeId: b.id } })).status, 403);
  const notMigrating = await call('PUT', `/compute/v2.1/servers/${sid}/os-volume_attachments/${a.id}`, { volumeAttachment: { volumeId: b.id } }, { user: 'admin' });
  assert.equal(notMigrating.status, 409);
  const adminVol = `/volume/v3/${nb.projectId('admin')}/volumes/${a.id}/action`;
  assert.equal((await call('POST', adminVol, { 'os-reset_status': { migration_status: 'migrating' } }, { user: 'admin' })).status, 202);
  assert.equal((await call('PUT', `/compute/v2.1/servers/${sid}/os-volume_attachments/${a.id}`, { volumeAttachment: { volumeId: b.id } }, { user: 'admin' })).status, 202);
  await volumeStatus(b.id, 'in-use');
  await volumeStatus(a.id, 'available');
  const list = await call('GET', `/compute/v2.1/servers/${sid}/os-volume_attachments`);
  assert.deepEqual(list.body.volumeAttachments.map((x: Json) => x.volumeId), [b.id]);

  // Deleting the server detaches what it did not create (no delete_on_termination).
  await call('DELETE', `/compute/v2.1/servers/${sid}`);
  await volumeStatus(b.id, 'available');
  for (const v of [a, b]) await call('DELETE', vol(v.id));
});

test('swap while Cinder migrates, refused as Nova refuses it: multiattach with two writers, another server\'s volume, a new volume that does not exist', async () => {
  const boot1 = async (name: string) => (await call('POST', '/compute/v2.1/servers', { server: { name, flavorRef: '1', imageRef: IMAGE, networks: 'none' } }, { mv: '2.79' })).body.server.id as string;
  const [s1, s2] = [await boot1('m1'), await boot1('m2')];
  for (const sid of [s1, s2]) await serverStatus(sid, 'ACTIVE');
  const shared = await newVolume({ multiattach: true });
  const target = await newVolume();
  // Each attach is waited for, as a client does: while the first is still reserving, Cinder refuses the second.
  for (const sid of [s1, s2]) {
    assert.equal((await call('POST', `/compute/v2.1/servers/${sid}/os-volume_attachments`, { volumeAttachment: { volumeId: shared.id } }, { mv: '2.60' })).status, 200);
    await volumeStatus(shared.id, 'in-use');
  }
  const adminAction = (id: string) => `/volume/v3/${nb.projectId('admin')}/volumes/${id}/action`;
  assert.equal((await call('POST', adminAction(shared.id), { 'os-reset_status': { migration_status: 'migrating' } }, { user: 'admin' })).status, 202);
  const swap = (sid: string, from: string, to: string) => call('PUT', `/compute/v2.1/servers/${sid}/os-volume_attachments/${from}`, { volumeAttachment: { volumeId: to } }, { user: 'admin' });
  const multi = await swap(s1, shared.id, target.id);
  assert.equal(multi.status, 400, JSON.stringify(multi.body));
  assert.equal(multi.body.badRequest.message, 'Swapping multi-attach volumes with more than one read/write attachment is not supported.');
  const missing = await swap(s1, shared.id, '00000000-0000-0000-0000-000000000000');
  assert.equal(missing.status, 400, JSON.stringify(missing.body));
  // A volume attached to one server, swapped through another.
  const single = await newVolume();
  assert.equal((await call('POST', `/compute/v2.1/servers/${s1}/os-volume_attachments`, { volumeAttachment: { volumeId: single.id } })).status, 200);
  await volumeStatus(single.id, 'in-use');
  assert.equal((await call('POST', adminAction(single.id), { 'os-reset_status': { migration_status: 'migrating' } }, { user: 'admin' })).status, 202);
  const other = await swap(s2, single.id, target.id);
  assert.equal(other.status, 400, JSON.stringify(other.body));
  assert.equal(other.body.badRequest.message, 'Invalid volume: Old volume is attached to a different instance.');
  // Nothing changed: the target stays available, the attachments stay where they were.
  assert.equal((await call('GET', vol(target.id))).body.volume.status, 'available');
  const ids = async (sid: string) => (await call('GET', `/compute/v2.1/servers/${sid}/os-volume_attachments`)).body.volumeAttachments.map((x: Json) => x.volumeId).sort();
  assert.deepEqual(await ids(s1), [shared.id, single.id].sort());
  assert.deepEqual(await ids(s2), [shared.id]);
  for (const sid of [s1, s2]) await call('DELETE', `/compute/v2.1/servers/${sid}`);
});

test('os-volumes and os-snapshots proxy the volume service up to 2.35 and are gone at 2.36', async () => {
  const created = await call('POST', '/compute/v2.1/os-volumes', { volume: { size: 1, display_name: 'proxied' } });
  assert.equal(created.status, 200);
  assert.deepEqual(created.body.volume.attachments, [{}]);
  const id = created.body.volume.id;
  await volumeStatus(id, 'available');
  const shown = await call('GET', `/compute/v2.1/os-volumes/${id}`);
  assert.equal(shown.body.volume.displayName, 'proxied');
  assert.equal(shown.body.volume.status, 'available');
  assert.ok((await call('GET', '/compute/v2.1/os-volumes/detail?limit=1')).body.volumes.length <= 1);
  assert.equal((await call('POST', '/compute/v2.1/os-volumes', { volume: { size: 0 } })).status, 400);
  assert.equal((await call('POST', '/compute/v2.1/os-volumes', { volume: {} })).status, 400);
  assert.equal((await call('GET', '/compute/v2.1/os-volumes/')).status, 404);
  assert.equal((await call('GET', '/compute/v2.1/os-volumes/00000000-0000-0000-0000-000000000000')).status, 404);
  assert.equal((await call('GET', '/compute/v2.1/os-volumes', undefined, { mv: '2.36' })).status, 404);
  const snap = await call('POST', '/compute/v2.1/os-snapshots', { snapshot: { volume_id: id, display_name: 's' } });
  assert.equal(snap.status, 200);
  await until('snapshot available', async () => ((await call('GET', `/compute/v2.1/os-snapshots/${snap.body.snapshot.id}`)).body.snapshot.status === 'available' ? true : undefined));
  assert.equal((await call('DELETE', `/compute/v2.1/os-snapshots/${snap.body.snapshot.id}`)).status, 202);
  await until('snapshot gone', async () => ((await call('GET', `/compute/v2.1/os-snapshots/${snap.body.snapshot.id}`)).status === 404 ? true : undefined));
  assert.equal((await call('DELETE', `/compute/v2.1/os-volumes/${id}`)).status, 202);
  await volumeStatus(id, 'gone');
});

test('a shelve-offloaded server takes attach and detach at once (2.20+): the volume is in-use, then available', async () => {
  const r = await call('POST', '/compute/v2.1/servers', { server: { name: 'shelved', flavorRef: '1', imageRef: IMAGE, networks: 'none' } }, { mv: '2.79' });
  const sid = r.body.server.id;
  await serverStatus(sid, 'ACTIVE');
  assert.equal((await call('POST', `/compute/v2.1/servers/${sid}/action`, { shelve: null })).status, 202);
  await serverStatus(sid, 'SHELVED_OFFLOADED');
  const v = await newVolume();
  const old = await call('POST', `/compute/v2.1/servers/${sid}/os-volume_attachments`, { volumeAttachment: { volumeId: v.id } }, { mv: '2.19' });
  assert.equal(old.status, 409, 'not before 2.20');
  assert.equal((await call('POST', `/compute/v2.1/servers/${sid}/os-volume_attachments`, { volumeAttachment: { volumeId: v.id } }, { mv: '2.20' })).status, 200);
  assert.equal((await call('GET', vol(v.id))).body.volume.status, 'in-use');
  assert.equal((await call('POST', `/compute/v2.1/servers/${sid}/action`, { unshelve: null })).status, 202);
  await serverStatus(sid, 'ACTIVE');
  assert.equal((await call('GET', vol(v.id))).body.volume.status, 'in-use', 'unshelve keeps the volume attached');
  assert.equal((await call('DELETE', `/compute/v2.1/servers/${sid}/os-volume_attachments/${v.id}`, undefined, { mv: '2.20' })).status, 202);
  await volumeStatus(v.id, 'available');
  await call('DELETE', `/compute/v2.1/servers/${sid}`);
  await call('DELETE', vol(v.id));
});
