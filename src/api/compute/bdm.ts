// Nova's block device mappings on server create, over the volume engine as Nova uses Cinder:
// checked before the server exists (nova/compute/api.py _validate_bdm), then provisioned once it
// does (boot volumes from images, snapshots or blanks are created and connected; existing volumes
// are reserved and connected), and each mapping keeps the volume it ended up with.
import { randomUUID } from 'node:crypto';
import type { Services } from '../../novabox.ts';
import { BadRequest } from '../../domain/errors.ts';
import type { BlockDeviceMapping, ServerRecord } from '../../domain/server.ts';
import type { Credentials } from '../../domain/policy.ts';
import type { RequestContext } from '../../engine/types.ts';
import { VolumeFault, type VolumeRequestContext } from '../../engine/volume.ts';

/** Nova talks to Cinder at 3.44 (the attachments API with os-complete). */
export function volumeCtx(ctx: Credentials): VolumeRequestContext {
  return { user_id: ctx.user_id, project_id: ctx.project_id, roles: ctx.roles, domain_id: ctx.domain_id, microversion: [3, 44] };
}

const invalid = (why: string) => new BadRequest(`Block Device Mapping is Invalid: ${why}`);
const int = (v: unknown): number | null => (v === undefined || v === null || v === '' ? null : Number(v));

/** `/dev/vda`, `/dev/vdb`, … the first name no mapping uses. */
export function nextDevice(used: readonly (string | undefined)[], root = false): string {
  if (root && !used.includes('/dev/vda')) return '/dev/vda';
  for (let i = 1; i < 26; i++) {
    const d = `/dev/vd${String.fromCharCode(97 + i)}`;
    if (!used.includes(d)) return d;
  }
  throw new BadRequest('The maximum allowed number of disk devices (26) to attach to a single instance has been exceeded.');
}

/** True when a mapping is a Cinder volume the server uses. */
export const isVolume = (b: BlockDeviceMapping) => b.destination_type === 'volume' || (b.destination_type === undefined && (b.volume_id !== undefined || b.source_type === 'volume'));

/** Checks the request's mappings against the volume and image services; returns them normalized (v2 shape). */
export async function checkBlockDevices(svc: Services, auth: Credentials, raw: BlockDeviceMapping[], legacy: boolean): Promise<BlockDeviceMapping[]> {
  const out: BlockDeviceMapping[] = [];
  for (const r of raw) {
    const b: BlockDeviceMapping = { ...r };
    if (legacy) {
      // The legacy syntax: volume_id / snapshot_id, device_name, always a volume.
      const snapshot = r.snapshot_id as string | undefined;
      Object.assign(b, { source_type: snapshot ? 'snapshot' : 'volume', destination_type: 'volume', uuid: snapshot ?? (r.volume_id as string | undefined), boot_index: r.device_name === '/dev/vda' || out.length === 0 ? 0 : null });
    }
    const boot = int(b.boot_index);
    b.boot_index = boot === null || boot < 0 ? null : boot;
    b.delete_on_termination = b.delete_on_termination === true || String(b.delete_on_termination).toLowerCase() === 'true';
    if (b.destination_type === 'volume') {
      const size = int(b.volume_size);
      if (b.source_type === 'volume') {
        const v = await svc.volumes.getVolume(auth, String(b.uuid)).catch(() => null);
        if (!v) throw invalid(`failed to get volume ${b.uuid}.`);
        if (b.boot_index === 0 && !v.bootable) throw new BadRequest(`Block Device ${v.id} is not bootable.`);
        if (!['available', 'downloading'].includes(v.status) && !(v.status === 'in-use' && v.multiattach)) {
          throw new BadRequest(`Invalid volume: Volume ${v.id} status must be available or downloading to reserve, but the current status is ${v.status}.`);
        }
      } else if (b.source_type === 'snapshot') {
        const s = await svc.volumes.getSnapshot(auth, String(b.uuid)).catch(() => null);
        if (!s) throw invalid(`failed to get snapshot ${b.uuid}.`);
        if (size !== null && size < s.volume_size) throw invalid(`Volume size ${size}GB cannot be smaller than the snapshot size ${s.volume_size}GB.`);
      } else if (b.source_type === 'image') {
        const img = await svc.images.getImage(String(b.uuid), auth);
        if (!img) throw invalid(`failed to get image ${b.uuid}.`);
        if (!size) throw new BadRequest("Images with destination_type 'volume' need to have a non-zero size specified");
      } else if (b.source_type === 'blank') {
        if (!size) throw invalid('You specified more local devices than the limit allows');
      }
    }
    out.push(b);
  }
  return out;
}

/**
 * Creates and connects the volumes a new server's mappings ask for, and records on the server
 * which volume each mapping ended up with (and its device). A volume that cannot be had puts the
 * server in ERROR as Nova's build does (the server exists by now).
 */
export async function provisionBlockDevices(svc: Services, ctx: RequestContext, server: ServerRecord, bdms: BlockDeviceMapping[]): Promise<void> {
  if (!bdms.some(isVolume)) return;
  const vctx = volumeCtx(ctx);
  const used = bdms.map((b) => b.device_name as string | undefined);
  const final: BlockDeviceMapping[] = [];
  for (const b of bdms) {
    if (!isVolume(b)) {
      final.push(b);
      continue;
    }
    const device = (b.device_name as string | undefined) ?? nextDevice(used, b.boot_index === 0);
    used.push(device);
    const attachment_id = randomUUID();
    let volume_id: string;
    try {
      if (b.source_type === 'volume') {
        const r = await svc.volumes.attachToServer(vctx, String(b.uuid), server.uuid, server.host, device);
        volume_id = r.volume.id;
        final.push({ ...b, uuid: volume_id, volume_id, device_name: device, attachment_id: r.attachment_id });
        continue;
      }
      const v = await svc.volumes.createVolume(vctx, {
        size: int(b.volume_size), name: '', description: '', volume_type: (b.volume_type as string | undefined) ?? null, availability_zone: null,
        snapshot_id: b.source_type === 'snapshot' ? String(b.uuid) : null, source_volid: null,
        image_id: b.source_type === 'image' ? String(b.uuid) : null, metadata: {}, multiattach: false,
      }, { server_uuid: server.uuid, mountpoint: device, attachment_id });
      volume_id = v.id;
    } catch (e) {
      // Checked before the server existed; a volume lost since (a race, the quota) leaves the mapping unfilled.
      if (e instanceof VolumeFault) {
        final.push(b);
        continue;
      }
      throw e;
    }
    final.push({ ...b, [`${b.source_type}_id`]: b.uuid, uuid: volume_id, volume_id, device_name: device, attachment_id });
  }
  await svc.engine.changeBlockDevices(null, server.uuid, 'create', 'any', () => final);
}
