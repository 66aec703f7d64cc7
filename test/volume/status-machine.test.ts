// Walks Cinder's volume status machine: every (status × action) is accepted or refused as Cinder's
// volume API guards it (expectations written from cinder/volume/api.py, independently of the
// table), refusals change nothing, and accepted actions walk their steps to Cinder's end status.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VOLUME_STATUSES, type VolumeStatus } from '../../src/domain/volume/states.ts';
import { VOLUME_ACTION_NAMES, type VolumeActionName } from '../../src/domain/volume/actions.ts';
import { VolumeFault, type VolumeRequestContext } from '../../src/engine/volume.ts';
import { makeVolumeEngine, advance, VDEMO, VADMIN, type VolumeHarness } from './harness.ts';

const ALL = [...VOLUME_STATUSES];
const only = (...s: VolumeStatus[]) => s;
const except = (...s: VolumeStatus[]) => ALL.filter((x) => !s.includes(x));

/** Statuses each action is accepted in, for a volume with no snapshots, not multiattach, at 3.0. */
const ACCEPTED: Record<VolumeActionName, VolumeStatus[]> = {
  delete: only('available', 'error', 'error_restoring', 'error_extending', 'error_managing'),
  // Forced: any status, but never while attached.
  force_delete: except('in-use', 'detaching'),
  extend: only('available'),
  reserve: only('available'),
  unreserve: ALL,
  begin_detaching: only('in-use'),
  roll_detaching: ALL,
  attachment_create: only('available', 'downloading'),
  attach: only('available', 'downloading'),
  detach: only('in-use'),
  reset_status: ALL,
  update: except('maintenance'),
  update_metadata: except('maintenance', 'uploading'),
  update_readonly: only('available'),
  set_bootable: ALL,
  create_snapshot: only('available'),
  upload_to_image: only('available'),
  retype: only('available', 'in-use'),
};

/** Where each accepted action leaves the volume once its steps are done (null: it is gone). */
function endStatus(action: VolumeActionName, from: VolumeStatus): VolumeStatus | null {
  switch (action) {
    case 'delete': case 'force_delete': return null;
    case 'extend': case 'upload_to_image': case 'retype': return from;
    case 'reserve': return 'attaching';
    case 'unreserve': return from === 'attaching' ? 'available' : from;
    case 'begin_detaching': return 'detaching';
    case 'roll_detaching': return from === 'detaching' ? 'in-use' : from;
    case 'attachment_create': return 'reserved';
    case 'attach': return 'in-use';
    case 'detach': return 'available';
    case 'reset_status': return 'available';
    default: return from;
  }
}

async function volumeIn(h: VolumeHarness, status: VolumeStatus): Promise<string> {
  const v = await h.engine.createVolume(VDEMO, { size: 1, name: status, description: null, volume_type: null, availability_zone: null, snapshot_id: null, source_volid: null, image_id: null, metadata: {}, multiattach: false });
  await advance(h, 60_000);
  const attached = status === 'in-use' || status === 'detaching';
  await h.engine.store.updateVolume(h.sql, v.id, { status, attach_status: attached ? 'attached' : 'detached' });
  if (attached) {
    await h.engine.store.insertAttachment(h.sql, {
      id: `att-${v.id}`, volume_id: v.id, instance_uuid: 'server-1', attach_status: 'attached', attach_mode: 'rw', connector: null, connection_info: null,
      mountpoint: '/dev/vdb', attached_host: 'compute-0', attach_time: h.clock.now(), detach_time: null, created_at: h.clock.now(), updated_at: null,
    });
  }
  return v.id;
}

async function run(h: VolumeHarness, action: VolumeActionName, id: string): Promise<void> {
  const ctx: VolumeRequestContext = action === 'force_delete' || action === 'reset_status' ? VADMIN : VDEMO;
  switch (action) {
    case 'create_snapshot':
      await h.engine.createSnapshot(ctx, { volume_id: id, name: null, description: null, force: false, metadata: {} });
      return;
    case 'attach':
      await h.engine.attachToServer(ctx, id, 'server-2', 'compute-0', '/dev/vdc');
      return;
    case 'detach':
      await h.engine.detachFromServer(ctx, id, 'server-1');
      return;
    case 'attachment_create':
      await h.engine.createAttachment(ctx, { volume_id: id, instance_uuid: 'server-2', connector: null, mode: 'null' });
      return;
    case 'extend':
      await h.engine.act(ctx, id, 'extend', { new_size: 2, plan: { new_size: 2 } });
      return;
    case 'reset_status':
      await h.engine.act(ctx, id, 'reset_status', { status: 'available' });
      return;
    case 'retype': {
      const t = await h.engine.store.getTypeByName(h.sql, '__DEFAULT__');
      await h.engine.act(ctx, id, 'retype', { new_type_differs: true, plan: { new_type: t!.id } });
      return;
    }
    default:
      await h.engine.act(ctx, id, action, {});
  }
}

test('the walk covers every action of the table', () => {
  assert.deepEqual(Object.keys(ACCEPTED).sort(), [...VOLUME_ACTION_NAMES].sort());
});

for (const action of VOLUME_ACTION_NAMES) {
  test(`volume status machine: ${action} in every status`, async () => {
    const h = await makeVolumeEngine();
    await h.engine.store.setQuota(h.sql, 'p-demo', 'volumes', -1);
    await h.engine.store.setQuota(h.sql, 'p-demo', 'snapshots', -1);
    try {
      for (const status of ALL) {
        const id = await volumeIn(h, status);
        const before = await h.engine.store.getVolume(h.sql, id);
        let refused: unknown = null;
        try {
          await run(h, action, id);
        } catch (e) {
          refused = e;
        }
        const accepted = ACCEPTED[action].includes(status);
        if (!accepted) {
          assert.ok(refused instanceof VolumeFault, `${action} in ${status} is refused (got ${refused})`);
          assert.equal(refused.code, 400, `${action} in ${status}: ${refused.message}`);
          assert.match(refused.message, /^Invalid volume: /);
          assert.deepEqual(await h.engine.store.getVolume(h.sql, id), before, `a refused ${action} changes nothing`);
          continue;
        }
        assert.equal(refused, null, `${action} in ${status} is accepted: ${(refused as Error | null)?.message}`);
        await advance(h, 60_000);
        const after = await h.engine.store.getVolume(h.sql, id);
        const want = endStatus(action, status);
        assert.equal(after?.status ?? null, want, `${action} from ${status} ends in ${want}`);
      }
    } finally {
      await h.close();
    }
  });
}

test('in-use volumes extend from 3.42 and come back in-use with the new size', async () => {
  const h = await makeVolumeEngine();
  try {
    const id = await volumeIn(h, 'in-use');
    await assert.rejects(h.engine.act(VDEMO, id, 'extend', { new_size: 3 }), /status must be '\{'status': 'available'\}' to extend, currently in-use/);
    const v = await h.engine.act({ ...VDEMO, microversion: [3, 42] }, id, 'extend', { new_size: 3, plan: { new_size: 3 } });
    assert.equal(v.status, 'extending');
    await advance(h, 60_000);
    const after = await h.engine.store.getVolume(h.sql, id);
    assert.equal(after?.status, 'in-use');
    assert.equal(after?.size, 3);
    await assert.rejects(h.engine.act({ ...VDEMO, microversion: [3, 42] }, id, 'extend', { new_size: 2 }), /New size for extend must be greater than current size. \(current: 3, extended: 2\)/);
  } finally {
    await h.close();
  }
});

test('a volume with snapshots is deleted only with cascade, taking its snapshots along', async () => {
  const h = await makeVolumeEngine();
  try {
    const id = await volumeIn(h, 'available');
    const s = await h.engine.createSnapshot(VDEMO, { volume_id: id, name: 's', description: null, force: false, metadata: {} });
    assert.equal(s.status, 'creating');
    await advance(h, 60_000);
    assert.equal((await h.engine.store.getSnapshot(h.sql, s.id))?.status, 'available');
    await assert.rejects(h.engine.act(VDEMO, id, 'delete', {}), /have snapshots/);
    await h.engine.act(VDEMO, id, 'delete', { cascade: true });
    assert.equal((await h.engine.store.getSnapshot(h.sql, s.id))?.status, 'deleting');
    await advance(h, 60_000);
    assert.equal(await h.engine.store.getVolume(h.sql, id), undefined);
    assert.equal(await h.engine.store.getSnapshot(h.sql, s.id), undefined);
  } finally {
    await h.close();
  }
});

test('a failing block driver step leaves the status Cinder leaves', async () => {
  const h = await makeVolumeEngine();
  try {
    const id = await volumeIn(h, 'available');
    h.virt.inject({ action: 'extend', op: 'extend_volume' });
    await h.engine.act(VDEMO, id, 'extend', { new_size: 5, plan: { new_size: 5 } });
    await advance(h, 60_000);
    assert.equal((await h.engine.store.getVolume(h.sql, id))?.status, 'error_extending');
    h.virt.inject({ action: 'delete', op: '*' });
    await h.engine.act(VDEMO, id, 'delete', {});
    await advance(h, 60_000);
    assert.equal((await h.engine.store.getVolume(h.sql, id))?.status, 'error_deleting');
    h.virt.inject({ action: 'create', op: 'create_volume' });
    const v = await h.engine.createVolume(VDEMO, { size: 1, name: 'x', description: null, volume_type: null, availability_zone: null, snapshot_id: null, source_volid: null, image_id: null, metadata: {}, multiattach: false });
    await advance(h, 60_000);
    assert.equal((await h.engine.store.getVolume(h.sql, v.id))?.status, 'error');
  } finally {
    await h.close();
  }
});

test('quotas: volumes, gigabytes and snapshots are refused over the limit with 413', async () => {
  const h = await makeVolumeEngine();
  try {
    await h.engine.store.setQuota(h.sql, 'p-demo', 'volumes', 1);
    await h.engine.store.setQuota(h.sql, 'p-demo', 'gigabytes', 3);
    const req = { size: 2, name: 'q', description: null, volume_type: null, availability_zone: null, snapshot_id: null, source_volid: null, image_id: null, metadata: {}, multiattach: false };
    await assert.rejects(h.engine.createVolume(VDEMO, { ...req, size: 4 }), (e: VolumeFault) => e.code === 413 && /exceeds allowed gigabytes quota. Requested 4G, quota is 3G and 0G has been consumed/.test(e.message));
    const v = await h.engine.createVolume(VDEMO, req);
    await assert.rejects(h.engine.createVolume(VDEMO, { ...req, size: 1 }), (e: VolumeFault) => e.code === 413 && /Maximum number of volumes allowed \(1\) exceeded for quota 'volumes'/.test(e.message));
    await advance(h, 60_000);
    await assert.rejects(h.engine.createSnapshot(VDEMO, { volume_id: v.id, name: null, description: null, force: false, metadata: {} }), (e: VolumeFault) => e.code === 413);
  } finally {
    await h.close();
  }
});
