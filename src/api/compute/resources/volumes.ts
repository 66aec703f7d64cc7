// Nova with Cinder behind it: os-volume_attachments (list, show, attach, update/swap, detach) with
// Nova's server states, the os-volumes and os-snapshots proxies (gone at 2.36), and the snapshot
// of a volume-backed server (createImage: volume snapshots plus an image that maps them).
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../../../novabox.ts';
import { BadRequest, Conflict, Forbidden, NotFound } from '../../../domain/errors.ts';
import { isAdmin, policyMessage } from '../../../domain/policy.ts';
import type { BlockDeviceMapping, ServerRecord } from '../../../domain/server.ts';
import type { VmState } from '../../../domain/states.ts';
import type { RequestContext } from '../../../engine/types.ts';
import { VolumeFault } from '../../../engine/volume.ts';
import type { SnapshotRecord, VolumeRecord } from '../../../domain/volume/states.ts';
import { ts } from '../../volume/views.ts';
import * as P from '../schemas/params.ts';
import { ctxOf, mv } from '../context.ts';
import { isVolume, nextDevice, volumeCtx } from '../bdm.ts';
import { limited, params, route, validate } from './common.ts';

type Body = Record<string, any>;

const ATTACH_STATES: VmState[] = ['active', 'paused', 'stopped', 'resized', 'soft-delete', 'shelved', 'shelved_offloaded'];
const SWAP_STATES: VmState[] = ['active', 'paused', 'resized'];

const volumeOf = (b: BlockDeviceMapping): string | null => (isVolume(b) && typeof (b.volume_id ?? b.uuid) === 'string' ? String(b.volume_id ?? b.uuid) : null);

/** Cinder's faults as Nova passes them on: not found stays 404, the rest is Nova's 400. */
async function cinder<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof VolumeFault) {
      if (e.code === 404) throw new NotFound(e.message);
      if (e.code === 413 || e.code === 403) throw new Forbidden(e.message);
      throw new BadRequest(e.message);
    }
    throw e;
  }
}

/** check_instance_lock + check_instance_state, before Cinder is asked anything. */
function checkServer(ctx: RequestContext, s: ServerRecord, what: string, states: VmState[]): void {
  if (s.locked_by !== null && !isAdmin(ctx)) throw new Conflict(`Instance ${s.uuid} is locked`);
  if (!states.includes(s.vm_state)) throw new Conflict(`Cannot '${what}' instance ${s.uuid} while it is in vm_state ${s.vm_state}`);
  if (s.task_state !== null) throw new Conflict(`Cannot '${what}' instance ${s.uuid} while it is in task_state ${s.task_state}`);
}

function attachmentView(req: FastifyRequest, s: ServerRecord, b: BlockDeviceMapping): Body {
  const id = volumeOf(b)!;
  const out: Body = {};
  if (!mv(req, 89)) out.id = id;
  out.volumeId = id;
  out.serverId = s.uuid;
  if (b.device_name) out.device = b.device_name;
  if (mv(req, 70)) out.tag = (b.tag as string | undefined) ?? null;
  if (mv(req, 79)) out.delete_on_termination = Boolean(b.delete_on_termination);
  if (mv(req, 89)) {
    out.attachment_id = (b.attachment_id as string | undefined) ?? null;
    out.bdm_uuid = (b.bdm_uuid as string | undefined) ?? null;
  }
  return out;
}

function attachSchema(req: FastifyRequest): object {
  const props: Body = { volumeId: P.uuid, device: { type: ['string', 'null'], pattern: '(^/dev/x{0,1}[a-z]{0,1}d{0,1})([a-z]+)[0-9]*$' } };
  if (mv(req, 49)) props.tag = P.tag;
  if (mv(req, 79)) props.delete_on_termination = { type: ['boolean', 'string'], enum: [true, false, 'True', 'False', 'true', 'false', '1', '0', 'yes', 'no', 'on', 'off', 't', 'f', 'y', 'n'] };
  return { type: 'object', required: ['volumeAttachment'], additionalProperties: false, properties: { volumeAttachment: { type: 'object', required: ['volumeId'], additionalProperties: false, properties: props } } };
}

const truthy = (v: unknown) => v === true || ['true', '1', 'yes', 'on', 't', 'y'].includes(String(v).toLowerCase());

export function registerVolumes(scope: FastifyInstance, svc: Services): void {
  const server = (req: FastifyRequest) => svc.engine.getServer(ctxOf(req), params(req).server_id);
  const mapping = (s: ServerRecord, volumeId: string) => {
    const b = s.block_device_mapping.find((x) => volumeOf(x) === volumeId);
    if (!b) throw new NotFound(`Instance ${s.uuid} is not attached to volume ${volumeId}`);
    return b;
  };

  route(scope, 'GET', '/servers/:server_id/os-volume_attachments', async (req) => {
    const s = await server(req);
    const atts = limited(req, svc.config.max_limit, s.block_device_mapping.filter((b) => volumeOf(b) !== null));
    return { volumeAttachments: atts.map((b) => attachmentView(req, s, b)) };
  });

  route(scope, 'GET', '/servers/:server_id/os-volume_attachments/:volume_id', async (req) => {
    const s = await server(req);
    return { volumeAttachment: attachmentView(req, s, mapping(s, params(req).volume_id)) };
  });

  route(scope, 'POST', '/servers/:server_id/os-volume_attachments', async (req, reply) => {
    const ctx = ctxOf(req);
    const body = validate<Body>(attachSchema(req), req.body).volumeAttachment;
    const s = await server(req);
    const volumeId = String(body.volumeId);
    if ((s.vm_state === 'shelved' || s.vm_state === 'shelved_offloaded') && !mv(req, 20)) {
      throw new Conflict(`Cannot 'attach_volume' instance ${s.uuid} while it is in vm_state ${s.vm_state}`);
    }
    checkServer(ctx, s, 'attach_volume', ATTACH_STATES);
    const vol = await cinder(() => svc.volumes.getVolume(ctx, volumeId));
    // Nova's _check_volume_already_attached, before Cinder is asked to reserve.
    const holders = (await svc.volumes.store.attachmentsOf(svc.sql, vol.id)).map((a) => a.instance_uuid);
    if (holders.includes(s.uuid)) throw new BadRequest(`Invalid volume: volume ${vol.id} already attached`);
    if (holders.length && !vol.multiattach) throw new BadRequest(`Invalid volume: volume ${vol.id} is already attached to instances: ${holders.join(' ')}`);
    const device = (body.device as string | null | undefined) || nextDevice(s.block_device_mapping.map((b) => b.device_name as string | undefined));
    const deleteOnTermination = body.delete_on_termination !== undefined && truthy(body.delete_on_termination);
    const vctx = volumeCtx(ctx);
    let attachment_id: string;
    if (s.vm_state === 'shelved_offloaded') {
      // No host (nova's _attach_volume_shelved_offloaded): the attachment is made and completed at once, in-use without a connection.
      const r = await cinder(() => svc.volumes.createAttachment(vctx, { volume_id: vol.id, instance_uuid: s.uuid, connector: null, mode: 'rw' }));
      attachment_id = r.attachment.id;
      await cinder(() => svc.volumes.completeAttachment(vctx, attachment_id));
    } else {
      attachment_id = (await cinder(() => svc.volumes.attachToServer(vctx, vol.id, s.uuid, s.host, device))).attachment_id;
    }
    const bdm: BlockDeviceMapping = {
      source_type: 'volume', destination_type: 'volume', uuid: vol.id, volume_id: vol.id, boot_index: null, device_name: device,
      delete_on_termination: deleteOnTermination, tag: body.tag ?? null, attachment_id, bdm_uuid: randomUUID(),
    };
    try {
      await svc.engine.changeBlockDevices(ctx, s.uuid, 'attach_volume', ATTACH_STATES, (cur) => [...cur.block_device_mapping, bdm]);
    } catch (e) {
      await svc.volumes.releaseFromServer(vol.id, s.uuid, false);
      throw e;
    }
    if (mv(req, 101)) return reply.code(202).send();
    const out: Body = { id: vol.id, serverId: s.uuid, volumeId: vol.id, device };
    if (mv(req, 70)) out.tag = body.tag ?? null;
    if (mv(req, 79)) out.delete_on_termination = deleteOnTermination;
    return { volumeAttachment: out };
  });

  route(scope, 'PUT', '/servers/:server_id/os-volume_attachments/:volume_id', async (req, reply) => {
    const ctx = ctxOf(req);
    const p = params(req);
    const props: Body = { volumeId: P.uuid };
    if (mv(req, 85)) Object.assign(props, { id: { type: 'string' }, serverId: { type: 'string' }, device: { type: ['string', 'null'] }, tag: P.tag, delete_on_termination: { type: ['boolean', 'string'] } });
    const body = validate<Body>({ type: 'object', required: ['volumeAttachment'], additionalProperties: false, properties: { volumeAttachment: { type: 'object', required: ['volumeId'], additionalProperties: false, properties: props } } }, req.body).volumeAttachment;
    const s = await server(req);
    const newId = String(body.volumeId);
    const onlySwap = !mv(req, 85);
    if ((onlySwap || newId !== p.volume_id) && !isAdmin(ctx)) throw new Forbidden(policyMessage('os_compute_api:os-volumes-attachments:swap'));
    if (!onlySwap) {
      const b = mapping(s, p.volume_id);
      if ('id' in body && body.id !== p.volume_id) throw new BadRequest('The id property is not mutable');
      if ('serverId' in body && body.serverId !== s.uuid) throw new BadRequest('The serverId property is not mutable');
      if ('device' in body && body.device !== b.device_name) throw new BadRequest('The device property is not mutable');
      if ('tag' in body && body.tag !== (b.tag ?? null)) throw new BadRequest('The tag property is not mutable');
      if ('delete_on_termination' in body) {
        const dot = truthy(body.delete_on_termination);
        await svc.engine.changeBlockDevices(ctx, s.uuid, 'update_volume', 'any', (cur) => cur.block_device_mapping.map((x) => (volumeOf(x) === p.volume_id ? { ...x, delete_on_termination: dot } : x)));
      }
      if (newId === p.volume_id) return reply.code(202).send();
    }
    // Swap: only Cinder calls it, while it migrates the old volume (nova/api/openstack/compute/volume_attachments.py).
    const old = await cinder(() => svc.volumes.getVolume(ctx, p.volume_id));
    if (!old.migration_status) throw new Conflict(`volume ${old.id} is not migrating; this API should only be called by Cinder`);
    let fresh: VolumeRecord;
    try {
      fresh = await svc.volumes.getVolume(ctx, newId);
    } catch (e) {
      if (e instanceof VolumeFault) throw new BadRequest(e.message);
      throw e;
    }
    checkServer(ctx, s, 'swap_volume', SWAP_STATES);
    // nova/compute/api.py swap_volume, in its order: Cinder's attachments of the old volume, the new
    // volume's state and size, then no swap away from a multiattach volume with several writers.
    const attachments = (await svc.volumes.store.attachmentsOf(svc.sql, old.id)).filter((a) => a.attach_status !== 'detached');
    if (!attachments.some((a) => a.instance_uuid === s.uuid)) throw new BadRequest('Invalid volume: Old volume is attached to a different instance.');
    if (fresh.attach_status === 'attached') throw new BadRequest('Invalid volume: New volume must be detached in order to swap.');
    if (fresh.size < old.size) throw new BadRequest('Invalid volume: New volume must be the same size or larger.');
    if (old.multiattach && attachments.filter((a) => a.attach_mode !== 'ro').length > 1) {
      throw new BadRequest('Swapping multi-attach volumes with more than one read/write attachment is not supported.');
    }
    const b = mapping(s, old.id);
    const vctx = volumeCtx(ctx);
    const { attachment_id } = await cinder(() => svc.volumes.attachToServer(vctx, fresh.id, s.uuid, s.host, String(b.device_name)));
    await svc.engine.changeBlockDevices(ctx, s.uuid, 'swap_volume', SWAP_STATES, (cur) =>
      cur.block_device_mapping.map((x) => (volumeOf(x) === old.id ? { ...x, uuid: fresh.id, volume_id: fresh.id, attachment_id } : x)));
    await svc.volumes.releaseFromServer(old.id, s.uuid, false);
    return reply.code(202).send();
  });

  route(scope, 'DELETE', '/servers/:server_id/os-volume_attachments/:volume_id', async (req, reply) => {
    const ctx = ctxOf(req);
    const s = await server(req);
    const volumeId = params(req).volume_id;
    if ((s.vm_state === 'shelved' || s.vm_state === 'shelved_offloaded') && !mv(req, 20)) {
      throw new Conflict(`Cannot 'detach_volume' instance ${s.uuid} while it is in vm_state ${s.vm_state}`);
    }
    const vol = await cinder(() => svc.volumes.getVolume(ctx, volumeId));
    const b = mapping(s, vol.id);
    if (b.boot_index === 0) throw new BadRequest('Cannot detach a root device volume');
    checkServer(ctx, s, 'detach_volume', ATTACH_STATES);
    if (s.vm_state === 'shelved_offloaded') {
      // Not connected anywhere: the attachment and the mapping go at once.
      await svc.engine.changeBlockDevices(ctx, s.uuid, 'detach_volume', ATTACH_STATES, (cur) => cur.block_device_mapping.filter((x) => volumeOf(x) !== vol.id));
      await svc.volumes.releaseFromServer(vol.id, s.uuid, false);
      return reply.code(202).send();
    }
    await cinder(() => svc.volumes.detachFromServer(volumeCtx(ctx), vol.id, s.uuid));
    // The mapping stays until the detach is done (the volume engine reports it); the action is recorded now.
    await svc.engine.changeBlockDevices(ctx, s.uuid, 'detach_volume', 'any', (cur) => cur.block_device_mapping);
    return reply.code(202).send();
  });

  // ---- os-volumes / os-snapshots (proxies to the volume service, 2.1–2.35) ----
  const proxied = (method: 'GET' | 'POST' | 'DELETE', path: string, handler: (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>) =>
    route(scope, method, path, async (req, reply) => {
      if (mv(req, 36)) throw new NotFound('The resource could not be found.');
      // `/os-volumes/` names no volume (Nova's router has no such route).
      if (req.url.split('?')[0].endsWith('/') ) throw new NotFound('The resource could not be found.');
      return handler(req, reply);
    });

  const volumeView = async (v: VolumeRecord): Promise<Body> => {
    const att = (await svc.volumes.store.attachmentsOf(svc.sql, v.id)).find((a) => a.attach_status === 'attached');
    const type = await svc.volumes.store.getType(svc.sql, v.volume_type_id);
    const attachment: Body = {};
    if (v.attach_status === 'attached' && att) {
      Object.assign(attachment, { id: v.id, volumeId: v.id, serverId: att.instance_uuid });
      if (att.mountpoint) attachment.device = att.mountpoint;
    }
    return {
      id: v.id, status: v.status, size: v.size, availabilityZone: v.availability_zone, createdAt: ts(v.created_at), attachments: [attachment],
      displayName: v.name, displayDescription: v.description, volumeType: type?.name ?? v.volume_type_id, snapshotId: v.snapshot_id, metadata: v.metadata,
    };
  };
  const snapshotView = (s: SnapshotRecord): Body => ({
    id: s.id, volumeId: s.volume_id, status: s.status, size: s.volume_size, createdAt: ts(s.created_at), displayName: s.name, displayDescription: s.description,
  });

  const listVolumes = async (req: FastifyRequest) => {
    const vols = await svc.volumes.store.listVolumes(svc.sql, req.auth!.project_id);
    return { volumes: await Promise.all(limited(req, svc.config.max_limit, vols).map(volumeView)) };
  };
  proxied('GET', '/os-volumes', listVolumes);
  proxied('GET', '/os-volumes/detail', listVolumes);
  proxied('GET', '/os-volumes/:id', async (req) => ({ volume: await volumeView(await cinder(() => svc.volumes.getVolume(req.auth!, params(req).id))) }));
  proxied('POST', '/os-volumes', async (req) => {
    const body = validate<Body>({
      type: 'object', required: ['volume'], additionalProperties: false,
      properties: { volume: { type: 'object', required: ['size'], additionalProperties: false, properties: {
        volume_type: { type: 'string' }, metadata: { type: 'object' }, snapshot_id: { type: 'string' }, size: { type: ['integer', 'string'], pattern: '^[0-9]+$', minimum: 1 },
        availability_zone: { type: 'string' }, display_name: { type: 'string' }, display_description: { type: 'string' },
      } } },
    }, req.body).volume;
    const size = Number(body.size);
    if (!Number.isInteger(size) || size < 1) throw new BadRequest(`Invalid input for field/attribute size. Value: ${body.size}.`);
    const v = await cinder(() => svc.volumes.createVolume(volumeCtx(ctxOf(req)), {
      size, name: body.display_name ?? null, description: body.display_description ?? null, volume_type: body.volume_type ?? null,
      availability_zone: body.availability_zone ?? null, snapshot_id: body.snapshot_id ?? null, source_volid: null, image_id: null,
      metadata: Object.fromEntries(Object.entries(body.metadata ?? {}).map(([k, x]) => [k, String(x)])), multiattach: false,
    }));
    return { volume: await volumeView(v) };
  });
  proxied('DELETE', '/os-volumes/:id', async (req, reply) => {
    await cinder(() => svc.volumes.act(volumeCtx(ctxOf(req)), params(req).id, 'delete', {}));
    return reply.code(202).send();
  });

  const listSnapshots = async (req: FastifyRequest) => {
    const snaps = await svc.volumes.store.listSnapshots(svc.sql, req.auth!.project_id);
    return { snapshots: limited(req, svc.config.max_limit, snaps).map(snapshotView) };
  };
  proxied('GET', '/os-snapshots', listSnapshots);
  proxied('GET', '/os-snapshots/detail', listSnapshots);
  proxied('GET', '/os-snapshots/:id', async (req) => ({ snapshot: snapshotView(await cinder(() => svc.volumes.getSnapshot(req.auth!, params(req).id))) }));
  proxied('POST', '/os-snapshots', async (req) => {
    const body = validate<Body>({
      type: 'object', required: ['snapshot'], additionalProperties: false,
      properties: { snapshot: { type: 'object', required: ['volume_id'], additionalProperties: false, properties: {
        volume_id: { type: 'string' }, force: { type: ['boolean', 'string'] }, display_name: { type: 'string' }, display_description: { type: 'string' },
      } } },
    }, req.body).snapshot;
    const s = await cinder(() => svc.volumes.createSnapshot(volumeCtx(ctxOf(req)), {
      volume_id: body.volume_id, name: body.display_name ?? null, description: body.display_description ?? null, force: body.force !== undefined && truthy(body.force), metadata: {},
    }));
    return { snapshot: snapshotView(s) };
  });
  proxied('DELETE', '/os-snapshots/:id', async (req, reply) => {
    await cinder(() => svc.volumes.deleteSnapshot(volumeCtx(ctxOf(req)), params(req).id));
    return reply.code(202).send();
  });
}

const SNAPSHOT_STATES: VmState[] = ['active', 'stopped', 'paused', 'suspended'];

/**
 * createImage of a volume-backed server (nova/compute/api.py snapshot_volume_backed): a Cinder
 * snapshot of every volume, and an active, empty image whose `block_device_mapping` property maps
 * them, so booting that image boots new volumes from the snapshots. Null when the server boots from an image.
 */
export async function snapshotVolumeBacked(svc: Services, ctx: RequestContext, uuid: string, name: string, metadata: Record<string, string>): Promise<{ image_id: string } | null> {
  const s = await svc.engine.getServer(ctx, uuid);
  if (s.image_ref) return null;
  if (!SNAPSHOT_STATES.includes(s.vm_state)) throw new Conflict(`Cannot 'createImage' instance ${s.uuid} while it is in vm_state ${s.vm_state}`);
  if (s.task_state !== null) throw new Conflict(`Cannot 'createImage' instance ${s.uuid} while it is in task_state ${s.task_state}`);
  const vctx = volumeCtx(ctx);
  const mappings: Record<string, unknown>[] = [];
  let rootImageProps: Record<string, string> = {};
  for (const b of s.block_device_mapping) {
    const id = volumeOf(b);
    if (!id) continue;
    const vol = await cinder(() => svc.volumes.getVolume(ctx, id));
    if (b.boot_index === 0) rootImageProps = { ...vol.image_metadata };
    const snap = await cinder(() => svc.volumes.createSnapshot(vctx, { volume_id: vol.id, name: `snapshot for ${name}`, description: null, force: true, metadata: {} }));
    mappings.push({
      source_type: 'snapshot', destination_type: 'volume', snapshot_id: snap.id, volume_size: vol.size, boot_index: b.boot_index ?? null,
      device_name: b.device_name ?? null, delete_on_termination: Boolean(b.delete_on_termination), guest_format: null, disk_bus: null, device_type: null,
      tag: null, volume_type: null, no_device: null, image_id: null, volume_id: null,
    });
  }
  for (const k of ['image_id', 'image_name', 'size', 'checksum', 'disk_format', 'container_format', 'min_disk', 'min_ram']) delete rootImageProps[k];
  const image = await svc.images.createSnapshot({
    name, owner: s.project_id, min_disk: 0,
    properties: { ...rootImageProps, ...metadata, bdm_v2: 'True', root_device_name: '/dev/vda', block_device_mapping: JSON.stringify(mappings) },
  });
  await svc.images.setStatus(image.id, 'active');
  return { image_id: image.id };
}
