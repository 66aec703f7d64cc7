// The Block Storage v3 routes. Lifecycle changes go through the volume engine; volume types and
// quota overrides (no lifecycle) go to their repository directly.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { Services } from '../../novabox.ts';
import { publicUrl } from '../../config.ts';
import { isAdmin } from '../../domain/policy.ts';
import { VOLUME_STATUSES, type VolumeRecord, type VolumeStatus, type VolumeTypeRecord } from '../../domain/volume/states.ts';
import { VOLUME_AZ, VOLUME_QUOTA_RESOURCES } from '../../domain/volume/quota.ts';
import { VolumeFault, type VolumeRequestContext } from '../../engine/volume.ts';
import { applyList } from './list.ts';
import { attachmentView, snapshotView, ts, volumeSummary, volumeTypeView, volumeView, type ViewContext } from './views.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function ctxOf(req: FastifyRequest): VolumeRequestContext {
  return { ...req.auth!, microversion: req.volumeVersion };
}

function viewCtx(svc: Services, req: FastifyRequest): ViewContext {
  const p = req.auth!.project_id;
  return { mv: req.volumeVersion, admin: isAdmin(req.auth!), base: `${publicUrl(svc.config)}/volume/v3/${p}`, bookmark: `${publicUrl(svc.config)}/volume/${p}` };
}

const invalidInput = (msg: string) => new VolumeFault(400, `Invalid input received: ${msg}`);

/** `{"<key>": {...}}` or Cinder's 400. */
function element(body: unknown, key: string): Obj {
  if (!isObj(body) || !isObj(body[key])) throw new VolumeFault(400, `Missing required element '${key}' in request body.`);
  return body[key] as Obj;
}

function optString(o: Obj, k: string, max = 255): string | null | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (v === null) return null;
  if (typeof v !== 'string') throw new VolumeFault(400, `Invalid input for field/attribute ${k}. Value: ${JSON.stringify(v)}. ${JSON.stringify(v)} is not of type 'string'`);
  if (v.length > max) throw new VolumeFault(400, `Invalid input for field/attribute ${k}. Value: ${v}. '${v}' is too long`);
  return v;
}

function metadataOf(v: unknown, field = 'metadata'): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isObj(v)) throw new VolumeFault(400, `Invalid input for field/attribute ${field}. Value: ${JSON.stringify(v)}. ${JSON.stringify(v)} is not of type 'object'`);
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (k.length === 0 || k.length > 255) throw new VolumeFault(400, `Invalid input for field/attribute ${field}. Value: ${JSON.stringify(v)}. Metadata property key ${k.length === 0 ? 'blank' : 'greater than 255 characters'}.`);
    if (typeof x !== 'string') throw new VolumeFault(400, `Invalid input for field/attribute ${field}. Value: ${JSON.stringify(v)}. ${JSON.stringify(x)} is not of type 'string'`);
    if (x.length > 255) throw new VolumeFault(400, `Invalid input for field/attribute ${field}. Value: ${JSON.stringify(v)}. Metadata property value greater than 255 characters.`);
    out[k] = x;
  }
  return out;
}

/** Cinder's volume_size: an integer or its decimal string, ≥ 1. */
function sizeOf(v: unknown, field = 'size', allowNull = true): number | null {
  if ((v === undefined || v === null) && allowNull) return null;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^[0-9]+$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 2147483647) {
    throw new VolumeFault(400, `Invalid input for field/attribute ${field}. Value: ${JSON.stringify(v)}. ${JSON.stringify(v)} is not a valid size`);
  }
  return n;
}

function boolOf(v: unknown, field: string): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') {
    const s = v.toLowerCase();
    if (['true', '1', 't', 'yes', 'y', 'on'].includes(s)) return true;
    if (['false', '0', 'f', 'no', 'n', 'off'].includes(s)) return false;
  }
  throw new VolumeFault(400, `Invalid input for field/attribute ${field}. Value: ${JSON.stringify(v)}. ${JSON.stringify(v)} is not of type 'boolean'`);
}

function requireMinor(req: FastifyRequest, minor: number): void {
  if (req.volumeVersion[1] < minor) throw new VolumeFault(404, 'The resource could not be found.');
}

const VOLUME_FILTERS = ['name', 'status', 'metadata', 'bootable', 'migration_status', 'availability_zone', 'group_id', 'size', 'created_at', 'updated_at', 'volume_type', 'image_metadata', 'glance_metadata', 'display_name'];
const VOLUME_SORT = { id: 'id', name: 'name', status: 'status', size: 'size', created_at: 'created_at', updated_at: 'updated_at', availability_zone: 'availability_zone', bootable: 'bootable', display_name: 'name', volume_type: 'volume_type_id' };

export async function registerVolumeRoutes(r: FastifyInstance, svc: Services): Promise<void> {
  const eng = svc.volumes;
  const sql = svc.sql;

  const render = async (req: FastifyRequest, v: VolumeRecord, extended: boolean) => {
    const atts = await eng.store.attachmentsOf(sql, v.id);
    const type = await eng.store.getType(sql, v.volume_type_id);
    return volumeView(v, atts, type, viewCtx(svc, req), extended);
  };

  const nextLink = (req: FastifyRequest, path: string, lastId: string) => {
    const q = new URLSearchParams(req.query as Record<string, string>);
    q.delete('marker');
    q.set('marker', lastId);
    return [{ href: `${viewCtx(svc, req).base}/${path}?${q.toString()}`, rel: 'next' }];
  };

  const visibleVolumes = async (req: FastifyRequest): Promise<VolumeRecord[]> => {
    const q = req.query as Record<string, string>;
    const admin = isAdmin(req.auth!);
    const allTenants = admin && q.all_tenants !== undefined && !['0', 'false', 'f', 'no', 'n', 'off'].includes(String(q.all_tenants).toLowerCase());
    const project = admin && q.project_id ? q.project_id : allTenants ? null : req.auth!.project_id;
    return eng.store.listVolumes(sql, project);
  };

  const listVolumes = async (req: FastifyRequest, detail: boolean) => {
    const q = { ...(req.query as Record<string, string>) };
    if (q.display_name !== undefined) {
      q.name = q.display_name;
      delete q.display_name;
    }
    const all = await visibleVolumes(req);
    const types = new Map((await eng.store.listTypes(sql)).map((t) => [t.id, t]));
    const field = (v: VolumeRecord, k: string): unknown => (k === 'volume_type' ? types.get(v.volume_type_id)?.name : (v as unknown as Obj)[k]);
    const page = applyList(all as unknown as Obj[], { query: q, filters: VOLUME_FILTERS, sortKeys: VOLUME_SORT, minor: req.volumeVersion[1], maxLimit: svc.config.max_limit, admin: isAdmin(req.auth!) }, field as never);
    const vols = page.items as unknown as VolumeRecord[];
    const out: Obj = { volumes: detail ? await Promise.all(vols.map((v) => render(req, v, true))) : vols.map((v) => volumeSummary(v, viewCtx(svc, req))) };
    if (page.more) out.volumes_links = nextLink(req, detail ? 'volumes/detail' : 'volumes', vols[vols.length - 1].id);
    if (req.volumeVersion[1] >= 45 && q.with_count !== undefined && boolOf(q.with_count, 'with_count')) out.count = page.count;
    return out;
  };

  // ---- volumes ----
  r.get('/volumes', (req) => listVolumes(req, false));
  r.get('/volumes/detail', (req) => listVolumes(req, true));
  r.get('/volumes/summary', async (req) => {
    requireMinor(req, 12);
    const vols = await visibleVolumes(req);
    const summary: Obj = { total_count: vols.length, total_size: vols.reduce((n, v) => n + v.size, 0) };
    if (req.volumeVersion[1] >= 36) {
      const meta: Record<string, string[]> = {};
      for (const v of vols) for (const [k, x] of Object.entries(v.metadata)) if (!(meta[k] ??= []).includes(x)) meta[k].push(x);
      summary.metadata = meta;
    }
    return { 'volume-summary': summary };
  });

  r.post('/volumes', async (req, reply) => {
    const b = element(req.body, 'volume');
    const image = optString(b, 'imageRef') ?? optString(b, 'image_id') ?? null;
    const v = await eng.createVolume(ctxOf(req), {
      size: sizeOf(b.size),
      name: optString(b, 'name') ?? optString(b, 'display_name') ?? null,
      description: optString(b, 'description') ?? optString(b, 'display_description') ?? null,
      volume_type: optString(b, 'volume_type') ?? null,
      availability_zone: optString(b, 'availability_zone') ?? null,
      snapshot_id: optString(b, 'snapshot_id') ?? null,
      source_volid: optString(b, 'source_volid') ?? null,
      image_id: image,
      metadata: metadataOf(b.metadata),
      multiattach: b.multiattach === undefined ? false : boolOf(b.multiattach, 'multiattach'),
    });
    if (!b.size && !b.snapshot_id && !b.source_volid && !image) throw invalidInput('Size must be specified');
    return reply.code(202).send({ volume: await render(req, v, false) });
  });

  r.get('/volumes/:id', async (req) => ({ volume: await render(req, await eng.getVolume(req.auth!, (req.params as Obj).id as string), true) }));

  r.put('/volumes/:id', async (req) => {
    const b = element(req.body, 'volume');
    const patch: Partial<VolumeRecord> = {};
    const name = optString(b, 'name') ?? optString(b, 'display_name');
    if (name !== undefined) patch.name = name;
    const desc = optString(b, 'description') ?? optString(b, 'display_description');
    if (desc !== undefined) patch.description = desc;
    if (b.metadata !== undefined) patch.metadata = metadataOf(b.metadata);
    if (Object.keys(b).length === 0) throw new VolumeFault(400, 'Invalid input for field/attribute volume. Value: {}. {} does not have enough properties');
    const v = await eng.act(ctxOf(req), (req.params as Obj).id as string, 'update', {}, async () => patch);
    return { volume: await render(req, v, false) };
  });

  r.delete('/volumes/:id', async (req, reply) => {
    const q = req.query as Record<string, string>;
    const cascade = q.cascade !== undefined && boolOf(q.cascade, 'cascade');
    const force = req.volumeVersion[1] >= 23 && q.force !== undefined && boolOf(q.force, 'force');
    await eng.act(ctxOf(req), (req.params as Obj).id as string, force ? 'force_delete' : 'delete', { cascade, force });
    return reply.code(202).send();
  });

  // Volume actions: one /action route, keyed as Cinder's are.
  r.post('/volumes/:id/action', async (req, reply) => {
    const id = (req.params as Obj).id as string;
    const body = req.body;
    if (!isObj(body) || Object.keys(body).length !== 1) throw new VolumeFault(400, 'Malformed request body');
    const [key, arg] = Object.entries(body)[0];
    const ctx = ctxOf(req);
    const a = isObj(arg) ? arg : {};
    switch (key) {
      case 'os-extend': {
        const newSize = sizeOf(a.new_size, 'new_size', false)!;
        await eng.act(ctx, id, 'extend', { new_size: newSize, plan: { new_size: newSize } });
        return reply.code(202).send();
      }
      case 'os-reset_status': {
        const status = a.status === undefined ? undefined : String(a.status).toLowerCase();
        if (status !== undefined && !(VOLUME_STATUSES as readonly string[]).includes(status)) {
          throw new VolumeFault(400, `Invalid input for field/attribute status. Value: ${status}. '${status}' is not one of ${JSON.stringify([...VOLUME_STATUSES])}`);
        }
        const attach = a.attach_status === undefined ? undefined : String(a.attach_status).toLowerCase();
        if (attach !== undefined && !['attached', 'detached'].includes(attach)) throw new VolumeFault(400, `Invalid input for field/attribute attach_status. Value: ${attach}.`);
        if (status === undefined && attach === undefined && a.migration_status === undefined) throw new VolumeFault(400, 'Must specify status, attach_status or migration_status for update.');
        if (status === 'deleting' || status === 'error_deleting') throw new VolumeFault(400, `Cannot reset-state to ${status}`);
        await eng.act(ctx, id, 'reset_status', { status: status as VolumeStatus | undefined }, async () => ({
          ...(attach ? { attach_status: attach as VolumeRecord['attach_status'] } : {}),
          ...(a.migration_status !== undefined ? { migration_status: String(a.migration_status).toLowerCase() === 'none' ? null : String(a.migration_status) } : {}),
        }));
        return reply.code(202).send();
      }
      case 'os-force_delete':
        await eng.act(ctx, id, 'force_delete', { force: true });
        return reply.code(202).send();
      case 'os-set_bootable': {
        const bootable = boolOf(a.bootable, 'bootable');
        await eng.act(ctx, id, 'set_bootable', {}, async () => ({ bootable }));
        return reply.code(200).send();
      }
      case 'os-update_readonly_flag': {
        const readonly = boolOf(a.readonly, 'readonly');
        await eng.act(ctx, id, 'update_readonly', {}, async () => ({ readonly }));
        return reply.code(202).send();
      }
      case 'os-reserve':
        await eng.act(ctx, id, 'reserve');
        return reply.code(202).send();
      case 'os-unreserve':
        await eng.act(ctx, id, 'unreserve');
        return reply.code(202).send();
      case 'os-begin_detaching':
        await eng.act(ctx, id, 'begin_detaching');
        return reply.code(202).send();
      case 'os-roll_detaching':
        await eng.act(ctx, id, 'roll_detaching');
        return reply.code(202).send();
      case 'os-retype': {
        const ref = optString(a, 'new_type');
        if (!ref) throw new VolumeFault(400, "Invalid input for field/attribute new_type. Value: None. 'new_type' is a required property");
        const t = await eng.resolveType(ctx, ref);
        const cur = await eng.getVolume(ctx, id);
        await eng.act(ctx, id, 'retype', { new_type_differs: t.id !== cur.volume_type_id, plan: { new_type: t.id } });
        return reply.code(202).send();
      }
      case 'os-volume_upload_image': {
        const name = optString(a, 'image_name');
        if (!name) throw new VolumeFault(400, "Invalid input for field/attribute image_name. Value: None. 'image_name' is a required property");
        const v = await eng.getVolume(ctx, id);
        // The image exists (queued) while the volume is uploading; it turns active when the step ends.
        const image = await svc.images.createSnapshot({ name, owner: v.project_id, properties: {}, min_disk: v.size });
        try {
          await eng.act(ctx, id, 'upload_to_image', { plan: { image_id: image.id } });
        } catch (e) {
          await svc.images.deleteImage(image.id);
          throw e;
        }
        return reply.code(202).send({
          'os-volume_upload_image': {
            id: v.id, updated_at: ts(svc.clock.now()), status: 'uploading', display_description: v.description, size: v.size,
            volume_type: await eng.store.getType(sql, v.volume_type_id), image_id: image.id, container_format: optString(a, 'container_format') ?? 'bare',
            disk_format: optString(a, 'disk_format') ?? 'raw', image_name: name,
          },
        });
      }
      case 'os-set_image_metadata': {
        const meta = metadataOf(isObj(a) ? a.metadata : undefined);
        const v = await eng.act(ctx, id, 'update_metadata', {}, async (_tx, cur) => ({ image_metadata: { ...cur.image_metadata, ...meta } }));
        return { metadata: { ...v.image_metadata } };
      }
      case 'os-unset_image_metadata': {
        const k = optString(a, 'key');
        const cur = await eng.getVolume(ctx, id);
        if (!k || !(k in cur.image_metadata)) throw new VolumeFault(404, `Glance metadata for volume ${id} cannot be found.`);
        await eng.act(ctx, id, 'update_metadata', {}, async (_tx, v) => {
          const m = { ...v.image_metadata };
          delete m[k];
          return { image_metadata: m };
        });
        return reply.code(200).send();
      }
      case 'os-show_image_metadata':
        return { metadata: (await eng.getVolume(ctx, id)).image_metadata };
      default:
        throw new VolumeFault(400, `There is no such action: ${key}. Verify the request body and Content-Type header and try again.`);
    }
  });

  // ---- volume metadata ----
  const meta = (req: FastifyRequest) => eng.getVolume(req.auth!, (req.params as Obj).id as string);
  const setMeta = async (req: FastifyRequest, replace: boolean) => {
    const m = metadataOf(element(req.body, 'metadata'));
    const v = await eng.act(ctxOf(req), (req.params as Obj).id as string, 'update_metadata', {}, async (_tx, cur) => ({ metadata: replace ? m : { ...cur.metadata, ...m } }));
    return { metadata: v.metadata };
  };
  r.get('/volumes/:id/metadata', async (req) => ({ metadata: (await meta(req)).metadata }));
  r.post('/volumes/:id/metadata', (req) => setMeta(req, false));
  r.put('/volumes/:id/metadata', (req) => setMeta(req, true));
  r.get('/volumes/:id/metadata/:key', async (req) => {
    const { key } = req.params as { key: string };
    const v = await meta(req);
    if (!(key in v.metadata)) throw new VolumeFault(404, `Metadata item was not found`);
    return { meta: { [key]: v.metadata[key] } };
  });
  r.put('/volumes/:id/metadata/:key', async (req) => {
    const { key } = req.params as { key: string };
    const m = metadataOf(element(req.body, 'meta'), 'meta');
    if (Object.keys(m).length !== 1) throw new VolumeFault(400, 'Request body contains too many items');
    if (!(key in m)) throw new VolumeFault(400, 'Request body and URI mismatch');
    await eng.act(ctxOf(req), (req.params as Obj).id as string, 'update_metadata', {}, async (_tx, cur) => ({ metadata: { ...cur.metadata, ...m } }));
    return { meta: m };
  });
  r.delete('/volumes/:id/metadata/:key', async (req) => {
    const { key } = req.params as { key: string };
    const v = await meta(req);
    if (!(key in v.metadata)) throw new VolumeFault(404, `Metadata item was not found`);
    await eng.act(ctxOf(req), v.id, 'update_metadata', {}, async (_tx, cur) => {
      const m = { ...cur.metadata };
      delete m[key];
      return { metadata: m };
    });
    return {};
  });

  // ---- snapshots ----
  const listSnapshots = async (req: FastifyRequest, detail: boolean) => {
    const q = req.query as Record<string, string>;
    const admin = isAdmin(req.auth!);
    const allTenants = admin && q.all_tenants !== undefined && q.all_tenants !== '0';
    const all = await eng.store.listSnapshots(sql, allTenants ? null : admin && q.project_id ? q.project_id : req.auth!.project_id);
    const page = applyList(all as unknown as Obj[], {
      query: q, filters: ['name', 'status', 'volume_id', 'metadata', 'display_name'], sortKeys: { id: 'id', name: 'name', status: 'status', created_at: 'created_at', size: 'volume_size' },
      minor: req.volumeVersion[1], maxLimit: svc.config.max_limit, admin,
    }, ((s: Obj, k: string) => s[k]) as never);
    const snaps = page.items as unknown as Parameters<typeof snapshotView>[0][];
    const out: Obj = { snapshots: snaps.map((s) => snapshotView(s, viewCtx(svc, req), detail)) };
    if (page.more) out.snapshots_links = nextLink(req, detail ? 'snapshots/detail' : 'snapshots', snaps[snaps.length - 1].id);
    return out;
  };
  r.get('/snapshots', (req) => listSnapshots(req, false));
  r.get('/snapshots/detail', (req) => listSnapshots(req, true));
  r.post('/snapshots', async (req, reply) => {
    const b = element(req.body, 'snapshot');
    const volumeId = optString(b, 'volume_id');
    if (!volumeId) throw new VolumeFault(400, "Invalid input for field/attribute volume_id. Value: None. 'volume_id' is a required property");
    const s = await eng.createSnapshot(ctxOf(req), {
      volume_id: volumeId, name: optString(b, 'name') ?? optString(b, 'display_name') ?? null,
      description: optString(b, 'description') ?? optString(b, 'display_description') ?? null,
      force: b.force === undefined ? false : boolOf(b.force, 'force'), metadata: metadataOf(b.metadata),
    });
    return reply.code(202).send({ snapshot: snapshotView(s, viewCtx(svc, req), false) });
  });
  r.get('/snapshots/:id', async (req) => ({ snapshot: snapshotView(await eng.getSnapshot(req.auth!, (req.params as Obj).id as string), viewCtx(svc, req), true) }));
  r.put('/snapshots/:id', async (req) => {
    const b = element(req.body, 'snapshot');
    const patch: { name?: string | null; description?: string | null } = {};
    const name = optString(b, 'name') ?? optString(b, 'display_name');
    if (name !== undefined) patch.name = name;
    const desc = optString(b, 'description') ?? optString(b, 'display_description');
    if (desc !== undefined) patch.description = desc;
    const s = await eng.updateSnapshot(ctxOf(req), (req.params as Obj).id as string, patch);
    return { snapshot: snapshotView(s, viewCtx(svc, req), false) };
  });
  r.delete('/snapshots/:id', async (req, reply) => {
    await eng.deleteSnapshot(ctxOf(req), (req.params as Obj).id as string);
    return reply.code(202).send();
  });
  r.post('/snapshots/:id/action', async (req, reply) => {
    const id = (req.params as Obj).id as string;
    const body = req.body;
    if (!isObj(body) || Object.keys(body).length !== 1) throw new VolumeFault(400, 'Malformed request body');
    const [key, arg] = Object.entries(body)[0];
    const a = isObj(arg) ? arg : {};
    if (key === 'os-force_delete') {
      await eng.deleteSnapshot(ctxOf(req), id, true);
      return reply.code(202).send();
    }
    if (key === 'os-reset_status' || key === 'os-update_snapshot_status') {
      if (key === 'os-reset_status' && !isAdmin(req.auth!)) throw new VolumeFault(403, "Policy doesn't allow volume_extension:snapshot_admin_actions:reset_status to be performed.");
      const status = String(a.status ?? '').toLowerCase();
      if (!['available', 'error', 'creating', 'deleting', 'error_deleting'].includes(status)) throw new VolumeFault(400, `Invalid input for field/attribute status. Value: ${status}.`);
      await eng.updateSnapshot(ctxOf(req), id, { status: status as never, ...(typeof a.progress === 'string' ? { progress: a.progress } : {}) });
      return reply.code(202).send();
    }
    throw new VolumeFault(400, `There is no such action: ${key}. Verify the request body and Content-Type header and try again.`);
  });
  r.get('/snapshots/:id/metadata', async (req) => ({ metadata: (await eng.getSnapshot(req.auth!, (req.params as Obj).id as string)).metadata }));
  const setSnapMeta = async (req: FastifyRequest, replace: boolean) => {
    const m = metadataOf(element(req.body, 'metadata'));
    const cur = await eng.getSnapshot(req.auth!, (req.params as Obj).id as string);
    const s = await eng.updateSnapshot(ctxOf(req), cur.id, { metadata: replace ? m : { ...cur.metadata, ...m } });
    return { metadata: s.metadata };
  };
  r.post('/snapshots/:id/metadata', (req) => setSnapMeta(req, false));
  r.put('/snapshots/:id/metadata', (req) => setSnapMeta(req, true));

  // ---- volume types (admin writes; extra specs and access) ----
  const requireAdmin = (req: FastifyRequest, rule: string) => {
    if (!isAdmin(req.auth!)) throw new VolumeFault(403, `Policy doesn't allow ${rule} to be performed.`);
  };
  const visibleType = async (req: FastifyRequest, ref: string): Promise<VolumeTypeRecord> => {
    if (ref === 'default') return eng.resolveType(req.auth!, null);
    const t = await eng.store.getType(sql, ref);
    if (!t || (!t.is_public && !isAdmin(req.auth!) && !(await eng.store.typeAccess(sql, t.id)).includes(req.auth!.project_id ?? ''))) {
      throw new VolumeFault(404, `Volume type ${ref} could not be found.`);
    }
    return t;
  };
  r.get('/types', async (req) => {
    const q = req.query as Record<string, string>;
    const admin = isAdmin(req.auth!);
    const all = await eng.store.listTypes(sql);
    const out: VolumeTypeRecord[] = [];
    for (const t of all) {
      if (admin) {
        if (q.is_public === undefined || q.is_public.toLowerCase() === 'none' || boolOf(q.is_public, 'is_public') === t.is_public) out.push(t);
      } else if (t.is_public || (await eng.store.typeAccess(sql, t.id)).includes(req.auth!.project_id ?? '')) out.push(t);
    }
    return { volume_types: out.map((t) => volumeTypeView(t, viewCtx(svc, req))) };
  });
  r.get('/types/default', async (req) => ({ volume_type: volumeTypeView(await eng.resolveType(req.auth!, null), viewCtx(svc, req)) }));
  r.get('/types/:id', async (req) => ({ volume_type: volumeTypeView(await visibleType(req, (req.params as Obj).id as string), viewCtx(svc, req)) }));
  r.post('/types', async (req) => {
    requireAdmin(req, 'volume_extension:types_manage');
    const b = element(req.body, 'volume_type');
    const name = optString(b, 'name');
    if (!name || !name.trim()) throw new VolumeFault(400, "Invalid input for field/attribute name. Value: None. 'name' is a required property");
    if (await eng.store.getTypeByName(sql, name)) throw new VolumeFault(409, `Volume Type ${name} already exists.`);
    const isPublic = b['os-volume-type-access:is_public'] === undefined ? true : boolOf(b['os-volume-type-access:is_public'], 'os-volume-type-access:is_public');
    const t: VolumeTypeRecord = { id: randomUUID(), name, description: optString(b, 'description') ?? null, is_public: isPublic, extra_specs: metadataOf(b.extra_specs, 'extra_specs'), created_at: svc.clock.now() };
    await eng.store.insertType(sql, t);
    return { volume_type: volumeTypeView(t, viewCtx(svc, req)) };
  });
  r.put('/types/:id', async (req) => {
    requireAdmin(req, 'volume_extension:types_manage');
    const t = await visibleType(req, (req.params as Obj).id as string);
    const b = element(req.body, 'volume_type');
    const patch: Partial<VolumeTypeRecord> = {};
    const name = optString(b, 'name');
    if (name !== undefined && name !== null) {
      const other = await eng.store.getTypeByName(sql, name);
      if (other && other.id !== t.id) throw new VolumeFault(409, `Volume Type ${name} already exists.`);
      patch.name = name;
    }
    const desc = optString(b, 'description');
    if (desc !== undefined) patch.description = desc;
    if (b.is_public !== undefined) patch.is_public = boolOf(b.is_public, 'is_public');
    await eng.store.updateType(sql, t.id, patch);
    return { volume_type: volumeTypeView({ ...t, ...patch }, viewCtx(svc, req)) };
  });
  r.delete('/types/:id', async (req, reply) => {
    requireAdmin(req, 'volume_extension:types_manage');
    const t = await visibleType(req, (req.params as Obj).id as string);
    if ((await eng.store.listVolumes(sql, null)).some((v) => v.volume_type_id === t.id)) throw new VolumeFault(400, 'Target volume type is still in use.');
    await eng.store.deleteType(sql, t.id);
    return reply.code(202).send();
  });
  r.get('/types/:id/extra_specs', async (req) => {
    requireAdmin(req, 'volume_extension:types_extra_specs:index');
    return { extra_specs: (await visibleType(req, (req.params as Obj).id as string)).extra_specs };
  });
  r.post('/types/:id/extra_specs', async (req) => {
    requireAdmin(req, 'volume_extension:types_extra_specs:create');
    const t = await visibleType(req, (req.params as Obj).id as string);
    const specs = metadataOf(element(req.body, 'extra_specs'), 'extra_specs');
    await eng.store.updateType(sql, t.id, { extra_specs: { ...t.extra_specs, ...specs } });
    return { extra_specs: specs };
  });
  r.get('/types/:id/extra_specs/:key', async (req) => {
    requireAdmin(req, 'volume_extension:types_extra_specs:show');
    const { id, key } = req.params as { id: string; key: string };
    const t = await visibleType(req, id);
    if (!(key in t.extra_specs)) throw new VolumeFault(404, `Volume Type ${t.id} has no extra specs with key ${key}.`);
    return { [key]: t.extra_specs[key] };
  });
  r.put('/types/:id/extra_specs/:key', async (req) => {
    requireAdmin(req, 'volume_extension:types_extra_specs:update');
    const { id, key } = req.params as { id: string; key: string };
    const t = await visibleType(req, id);
    const b = metadataOf(req.body, 'extra_specs');
    if (!(key in b)) throw new VolumeFault(400, 'Request body and URI mismatch');
    if (Object.keys(b).length > 1) throw new VolumeFault(400, 'Request body contains too many items');
    await eng.store.updateType(sql, t.id, { extra_specs: { ...t.extra_specs, ...b } });
    return b;
  });
  r.delete('/types/:id/extra_specs/:key', async (req, reply) => {
    requireAdmin(req, 'volume_extension:types_extra_specs:delete');
    const { id, key } = req.params as { id: string; key: string };
    const t = await visibleType(req, id);
    if (!(key in t.extra_specs)) throw new VolumeFault(404, `Volume Type ${t.id} has no extra specs with key ${key}.`);
    const specs = { ...t.extra_specs };
    delete specs[key];
    await eng.store.updateType(sql, t.id, { extra_specs: specs });
    return reply.code(202).send();
  });
  r.get('/types/:id/os-volume-type-access', async (req) => {
    requireAdmin(req, 'volume_extension:volume_type_access:addProjectAccess');
    const t = await visibleType(req, (req.params as Obj).id as string);
    if (t.is_public) throw new VolumeFault(404, 'Access list not available for public volume types.');
    return { volume_type_access: (await eng.store.typeAccess(sql, t.id)).map((p) => ({ volume_type_id: t.id, project_id: p })) };
  });
  r.post('/types/:id/action', async (req, reply) => {
    const t = await visibleType(req, (req.params as Obj).id as string);
    const body = isObj(req.body) ? req.body : {};
    const add = isObj(body.addProjectAccess) ? body.addProjectAccess : null;
    const remove = isObj(body.removeProjectAccess) ? body.removeProjectAccess : null;
    const which = add ?? remove;
    if (!which) throw new VolumeFault(400, 'Malformed request body');
    requireAdmin(req, `volume_extension:volume_type_access:${add ? 'addProjectAccess' : 'removeProjectAccess'}`);
    const project = optString(which, 'project');
    if (!project) throw new VolumeFault(400, 'Missing required element project in request body.');
    if (t.is_public) throw new VolumeFault(400, 'Invalid volume type: Type access modification is not applicable to public volume type.');
    if (add && !(await eng.store.addTypeAccess(sql, t.id, project))) throw new VolumeFault(409, `Volume type access for ${t.id} / ${project} combination already exists.`);
    if (remove && !(await eng.store.removeTypeAccess(sql, t.id, project))) throw new VolumeFault(404, `Volume type access not found for ${t.id} / ${project} combination.`);
    return reply.code(202).send();
  });

  // ---- attachments (3.27+) ----
  const listAttachments = async (req: FastifyRequest, detail: boolean) => {
    requireMinor(req, 27);
    const admin = isAdmin(req.auth!);
    const q = req.query as Record<string, string>;
    const vols = new Map((await eng.store.listVolumes(sql, admin && q.all_tenants ? null : req.auth!.project_id)).map((v) => [v.id, v]));
    let atts = (await eng.store.listAttachments(sql)).filter((a) => vols.has(a.volume_id));
    if (q.volume_id) atts = atts.filter((a) => a.volume_id === q.volume_id);
    if (q.instance_id) atts = atts.filter((a) => a.instance_uuid === q.instance_id);
    if (q.status) atts = atts.filter((a) => a.attach_status === q.status);
    return { attachments: atts.map((a) => attachmentView(a, viewCtx(svc, req), detail)) };
  };
  r.get('/attachments', (req) => listAttachments(req, false));
  r.get('/attachments/detail', (req) => listAttachments(req, true));
  r.get('/attachments/:id', async (req) => {
    requireMinor(req, 27);
    const { attachment } = await eng.getAttachment(req.auth!, (req.params as Obj).id as string);
    return { attachment: attachmentView(attachment, viewCtx(svc, req), true) };
  });
  r.post('/attachments', async (req) => {
    requireMinor(req, 27);
    const b = element(req.body, 'attachment');
    const volumeId = optString(b, 'volume_uuid');
    if (!volumeId) throw new VolumeFault(400, "Invalid input for field/attribute volume_uuid. Value: None. 'volume_uuid' is a required property");
    const mode = optString(b, 'mode') ?? 'null';
    if (req.volumeVersion[1] < 54 && b.mode !== undefined) throw new VolumeFault(400, 'Invalid input for field/attribute attachment. Additional properties are not allowed');
    if (!['rw', 'ro', 'null'].includes(mode)) throw invalidInput(`Invalid attachment mode '${mode}' for volume ${volumeId}.`);
    const connector = b.connector === undefined || b.connector === null ? null : isObj(b.connector) ? b.connector : null;
    const { attachment } = await eng.createAttachment(ctxOf(req), { volume_id: volumeId, instance_uuid: optString(b, 'instance_uuid') ?? null, connector, mode });
    return { attachment: attachmentView(attachment, viewCtx(svc, req), true) };
  });
  r.put('/attachments/:id', async (req) => {
    requireMinor(req, 27);
    const b = element(req.body, 'attachment');
    if (!isObj(b.connector)) throw new VolumeFault(400, "Invalid input for field/attribute connector. Value: None. 'connector' is a required property");
    const { attachment } = await eng.updateAttachment(ctxOf(req), (req.params as Obj).id as string, b.connector);
    return { attachment: attachmentView(attachment, viewCtx(svc, req), true) };
  });
  r.delete('/attachments/:id', async (req) => {
    requireMinor(req, 27);
    const v = await eng.deleteAttachment(ctxOf(req), (req.params as Obj).id as string);
    const left = await eng.store.attachmentsOf(sql, v.id);
    return { attachments: left.map((a) => attachmentView(a, viewCtx(svc, req), false)) };
  });
  r.post('/attachments/:id/action', async (req, reply) => {
    requireMinor(req, 44);
    if (!isObj(req.body) || !('os-complete' in req.body)) throw new VolumeFault(400, 'Malformed request body');
    await eng.completeAttachment(ctxOf(req), (req.params as Obj).id as string);
    return reply.code(204).send();
  });

  // ---- quotas, limits, zones ----
  const quotaSet = async (project: string, usage: boolean) => {
    const { limits, in_use } = await eng.quotaUsage(project);
    const out: Obj = { id: project };
    for (const [k, lim] of Object.entries(limits)) out[k] = usage ? { limit: lim, in_use: in_use[k] ?? 0, reserved: 0, allocated: 0 } : lim;
    return out;
  };
  const quotaProject = (req: FastifyRequest) => {
    const p = (req.params as { target: string }).target;
    if (!isAdmin(req.auth!) && p !== req.auth!.project_id) throw new VolumeFault(403, `Policy doesn't allow volume_extension:quotas:show to be performed.`);
    return p;
  };
  r.get('/os-quota-sets/:target', async (req) => {
    const q = req.query as Record<string, string>;
    return { quota_set: await quotaSet(quotaProject(req), q.usage !== undefined && boolOf(q.usage, 'usage')) };
  });
  r.get('/os-quota-sets/:target/defaults', async (req) => {
    const p = (req.params as { target: string }).target;
    const { quotaDefaults } = await import('../../domain/volume/quota.ts');
    return { quota_set: { id: p, ...quotaDefaults((await eng.store.listTypes(sql)).map((t) => t.name)) } };
  });
  r.put('/os-quota-sets/:target', async (req) => {
    requireAdmin(req, 'volume_extension:quotas:update');
    const p = (req.params as { target: string }).target;
    const b = element(req.body, 'quota_set');
    const { limits, in_use } = await eng.quotaUsage(p);
    for (const [k, v] of Object.entries(b)) {
      if (k === 'id' || k === 'tenant_id') continue;
      if (!(k in limits)) throw new VolumeFault(400, `Bad key(s) in quota set: ${k}`);
      const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : NaN;
      if (!Number.isInteger(n) || n < -1) throw invalidInput(`Quota limit ${v} for ${k} must be an integer greater than or equal to -1.`);
      if (n >= 0 && (in_use[k] ?? 0) > n && (VOLUME_QUOTA_RESOURCES as readonly string[]).includes(k)) {
        throw invalidInput(`Quota ${k} limit must be equal or greater than existing resources. Current usage is ${in_use[k]} and the requested limit is ${n}.`);
      }
    }
    for (const [k, v] of Object.entries(b)) if (k !== 'id' && k !== 'tenant_id') await eng.store.setQuota(sql, p, k, Number(v));
    const out = await quotaSet(p, false);
    delete out.id;
    return { quota_set: out };
  });
  r.delete('/os-quota-sets/:target', async (req) => {
    requireAdmin(req, 'volume_extension:quotas:delete');
    await eng.store.clearQuotas(sql, (req.params as { target: string }).target);
    return {};
  });
  r.get('/limits', async (req) => {
    const { limits, in_use } = await eng.quotaUsage(req.auth!.project_id!);
    return {
      limits: {
        rate: [],
        absolute: {
          totalSnapshotsUsed: in_use.snapshots ?? 0, maxTotalBackups: limits.backups, maxTotalVolumeGigabytes: limits.gigabytes,
          maxTotalSnapshots: limits.snapshots, maxTotalBackupGigabytes: limits.backup_gigabytes, totalBackupGigabytesUsed: 0,
          maxTotalVolumes: limits.volumes, totalVolumesUsed: in_use.volumes ?? 0, totalBackupsUsed: 0, totalGigabytesUsed: in_use.gigabytes ?? 0,
        },
      },
    };
  });
  r.get('/os-availability-zone', async () => ({ availabilityZoneInfo: [{ zoneName: VOLUME_AZ, zoneState: { available: true } }] }));
  r.get('/extensions', async () => ({ extensions: [] }));
}
