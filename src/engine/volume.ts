// The volume engine: the only writer of volumes, snapshots and attachments. An action is decided
// by the volume action table (src/domain/volume/actions.ts) against the volume as read in the same
// unit of work; an accepted action's status is written together with a durable task holding its
// timed steps, which the volume timers (./volume-timers.ts) walk through the block driver.
import { randomUUID } from 'node:crypto';
import type { Clock } from './clock.ts';
import { DomainError, type FaultKind } from '../domain/errors.ts';
import { isAdmin, type Credentials } from '../domain/policy.ts';
import {
  decideVolumeAction, snapshotDeleteRefusal, stepStatus, type StepResult, SNAPSHOT_STEPS, VOLUME_CREATE, VOLUME_ACTIONS,
  type VolumeActionContext, type VolumeActionName, type VolumeSource, type VolumeStep,
} from '../domain/volume/actions.ts';
import { VOLUME_STATUSES, type AttachmentRecord, type SnapshotRecord, type VolumeRecord, type VolumeStatus, type VolumeTypeRecord } from '../domain/volume/states.ts';
import { DEFAULT_VOLUME_TYPE, quotaDefaults, VOLUME_AZ, VOLUME_HOST, type VolumeQuotaResource } from '../domain/volume/quota.ts';
import type { BlockDriver } from '../drivers/block.ts';
import type { ImagePort, ImageRecord } from '../api/ports.ts';
import { migrateSql, type Sql, type SqlDatabase } from '../store/sql.ts';
import { VOLUME_MIGRATIONS } from '../store/volume/migrations.ts';
import { SqlVolumeStore, type VolumePatch, type VolumeStore, type VolumeTask } from '../store/volume/repository.ts';
import { VolumeTimers } from './volume-timers.ts';

const KIND: Record<number, FaultKind> = { 400: 'badRequest', 403: 'forbidden', 404: 'itemNotFound', 409: 'conflictingRequest', 413: 'overLimit' };

/** A Cinder fault: `{"<kind>": {"code", "message"}}` like Nova's. */
export class VolumeFault extends DomainError {
  constructor(code: number, message: string) {
    super(KIND[code] ?? 'badRequest', code, message);
  }
}

export interface VolumeRequestContext extends Credentials {
  /** Volume API microversion [3, minor]. */
  microversion: [number, number];
}

export interface CreateVolumeRequest {
  size: number | null;
  name: string | null;
  description: string | null;
  volume_type: string | null;
  availability_zone: string | null;
  snapshot_id: string | null;
  source_volid: string | null;
  image_id: string | null;
  metadata: Record<string, string>;
  multiattach: boolean;
}

/** What the engine tells the compute side when an attachment it drives ends (Nova's BDM follows). */
export interface VolumeListener {
  attached?(volume: VolumeRecord, attachment: AttachmentRecord): Promise<void> | void;
  detached?(volume: VolumeRecord, serverUuid: string | null): Promise<void> | void;
}

export interface VolumeEngineDeps {
  sql: SqlDatabase;
  clock: Clock;
  driver: BlockDriver;
  images: ImagePort;
  store?: VolumeStore;
}

export class VolumeEngine {
  readonly sql: SqlDatabase;
  readonly clock: Clock;
  readonly driver: BlockDriver;
  readonly images: ImagePort;
  readonly store: VolumeStore;
  readonly timers: VolumeTimers;
  readonly listeners: VolumeListener[] = [];

  constructor(deps: VolumeEngineDeps) {
    this.sql = deps.sql;
    this.clock = deps.clock;
    this.driver = deps.driver;
    this.images = deps.images;
    this.store = deps.store ?? new SqlVolumeStore();
    this.timers = new VolumeTimers(this);
  }

  /** Schema and devstack's volume types (idempotent). */
  async seed(): Promise<void> {
    await migrateSql(this.sql, VOLUME_MIGRATIONS);
    await this.sql.transaction(async (tx) => {
      for (const t of DEFAULT_TYPES) {
        if (!(await this.store.getTypeByName(tx, t.name))) await this.store.insertType(tx, { ...t, created_at: this.clock.now() });
      }
    });
  }

  async start(): Promise<void> {
    await this.timers.start();
  }

  async stop(): Promise<void> {
    await this.timers.stop();
  }

  // ---- reads ----

  async getVolume(ctx: Credentials, id: string, sql: Sql = this.sql): Promise<VolumeRecord> {
    const v = await this.store.getVolume(sql, id);
    if (!v || (!isAdmin(ctx) && v.project_id !== ctx.project_id)) throw new VolumeFault(404, `Volume ${id} could not be found.`);
    return v;
  }

  async getSnapshot(ctx: Credentials, id: string, sql: Sql = this.sql): Promise<SnapshotRecord> {
    const s = await this.store.getSnapshot(sql, id);
    if (!s || (!isAdmin(ctx) && s.project_id !== ctx.project_id)) throw new VolumeFault(404, `Snapshot ${id} could not be found.`);
    return s;
  }

  async getAttachment(ctx: Credentials, id: string, sql: Sql = this.sql): Promise<{ attachment: AttachmentRecord; volume: VolumeRecord }> {
    const a = await this.store.getAttachment(sql, id);
    const v = a && (await this.store.getVolume(sql, a.volume_id));
    if (!a || !v || (!isAdmin(ctx) && v.project_id !== ctx.project_id)) throw new VolumeFault(404, `Volume attachment could not be found with filter: attachment_id = ${id}.`);
    return { attachment: a, volume: v };
  }

  async resolveType(ctx: Credentials, ref: string | null, sql: Sql = this.sql): Promise<VolumeTypeRecord> {
    const t = ref === null ? await this.store.getTypeByName(sql, DEFAULT_VOLUME_TYPE) : (await this.store.getType(sql, ref)) ?? (await this.store.getTypeByName(sql, ref));
    if (!t) throw new VolumeFault(404, `Volume type with name ${ref} could not be found.`);
    if (!t.is_public && !isAdmin(ctx) && !(await this.store.typeAccess(sql, t.id)).includes(ctx.project_id ?? '')) {
      throw new VolumeFault(404, `Volume type with name ${ref} could not be found.`);
    }
    return t;
  }

  /** Quota limits and usage of a project (usage counted from the rows, so it cannot drift). */
  async quotaUsage(projectId: string, sql: Sql = this.sql): Promise<{ limits: Record<string, number>; in_use: Record<string, number> }> {
    const types = await this.store.listTypes(sql);
    const limits = { ...quotaDefaults(types.map((t) => t.name)), ...(await this.store.quotaOverrides(sql, projectId)) };
    const vols = await this.store.listVolumes(sql, projectId);
    const snaps = await this.store.listSnapshots(sql, projectId);
    const typeName = new Map(types.map((t) => [t.id, t.name]));
    const in_use: Record<string, number> = Object.fromEntries(Object.keys(limits).map((k) => [k, 0]));
    const add = (k: string, n: number) => (in_use[k] = (in_use[k] ?? 0) + n);
    for (const v of vols) {
      add('volumes', 1);
      add('gigabytes', v.size);
      const tn = typeName.get(v.volume_type_id);
      if (tn) {
        add(`volumes_${tn}`, 1);
        add(`gigabytes_${tn}`, v.size);
      }
    }
    const volType = new Map(vols.map((v) => [v.id, typeName.get(v.volume_type_id)]));
    for (const s of snaps) {
      add('snapshots', 1);
      add('gigabytes', s.volume_size);
      const tn = volType.get(s.volume_id);
      if (tn) {
        add(`snapshots_${tn}`, 1);
        add(`gigabytes_${tn}`, s.volume_size);
      }
    }
    return { limits, in_use };
  }

  private async checkQuota(tx: Sql, projectId: string, typeName: string, want: { volumes?: number; snapshots?: number; gigabytes: number }): Promise<void> {
    // The count decides the write: held until commit, so a concurrent create waits for it.
    await this.store.holdUsage(tx, projectId);
    const { limits, in_use } = await this.quotaUsage(projectId, tx);
    const per = limits.per_volume_gigabytes;
    if (want.volumes && per !== undefined && per >= 0 && want.gigabytes > per) {
      throw new VolumeFault(400, `Invalid input received: Requested volume size ${want.gigabytes}G is larger than maximum allowed limit ${per}G.`);
    }
    const over = (res: VolumeQuotaResource | string, n: number) => {
      const lim = limits[res];
      return lim !== undefined && lim >= 0 && (in_use[res] ?? 0) + n > lim;
    };
    for (const [res, n] of [['gigabytes', want.gigabytes], [`gigabytes_${typeName}`, want.gigabytes]] as const) {
      if (n > 0 && over(res, n)) {
        throw new VolumeFault(413, `VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed ${res} quota. Requested ${n}G, quota is ${limits[res]}G and ${in_use[res] ?? 0}G has been consumed.`);
      }
    }
    if (want.volumes) {
      for (const res of ['volumes', `volumes_${typeName}`]) {
        if (over(res, want.volumes)) throw new VolumeFault(413, `VolumeLimitExceeded: Maximum number of volumes allowed (${limits[res]}) exceeded for quota '${res}'.`);
      }
    }
    if (want.snapshots) {
      for (const res of ['snapshots', `snapshots_${typeName}`]) {
        if (over(res, want.snapshots)) throw new VolumeFault(413, `SnapshotLimitExceeded: Maximum number of snapshots allowed (${limits[res]}) exceeded`);
      }
    }
  }

  // ---- volumes ----

  async createVolume(ctx: VolumeRequestContext, req: CreateVolumeRequest, attachTo?: { server_uuid: string; mountpoint: string; attachment_id: string }): Promise<VolumeRecord> {
    let image: ImageRecord | undefined;
    if (req.image_id) {
      image = await this.images.getImage(req.image_id, ctx);
      if (!image) throw new VolumeFault(404, `Image ${req.image_id} could not be found.`);
      if (image.status !== 'active') throw new VolumeFault(400, `Invalid image identifier or unable to access requested image.`);
    }
    const v = await this.sql.transaction(async (tx) => {
      let size = req.size;
      let source: VolumeSource = 'empty';
      let bootable = false;
      let image_metadata: Record<string, string> = {};
      let typeRef = req.volume_type;
      if (req.snapshot_id) {
        const s = await this.getSnapshot(ctx, req.snapshot_id, tx);
        if (s.status !== 'available') throw new VolumeFault(400, `Invalid snapshot: Originating snapshot status must be one of 'available' values`);
        if (size !== null && size < s.volume_size) {
          throw new VolumeFault(400, `Invalid input received: Volume size '${size}'GB cannot be smaller than the snapshot size ${s.volume_size}GB. They must be >= original snapshot size.`);
        }
        size ??= s.volume_size;
        const parent = await this.store.getVolume(tx, s.volume_id);
        if (parent) {
          typeRef ??= parent.volume_type_id;
          bootable = parent.bootable;
          image_metadata = parent.image_metadata;
        }
        source = 'snapshot';
      } else if (req.source_volid) {
        const src = await this.getVolume(ctx, req.source_volid, tx);
        if (!['available', 'in-use'].includes(src.status)) {
          throw new VolumeFault(400, `Invalid volume: Unable to clone volumes that are in an error state`);
        }
        if (size !== null && size < src.size) {
          throw new VolumeFault(400, `Invalid input received: Volume size '${size}'GB cannot be smaller than original volume size ${src.size}GB. They must be >= original volume size.`);
        }
        size ??= src.size;
        typeRef ??= src.volume_type_id;
        bootable = src.bootable;
        image_metadata = src.image_metadata;
        source = 'volume';
      } else if (image) {
        const minGb = Math.max(image.min_disk, Math.ceil((image.size ?? 0) / 1024 ** 3));
        size ??= minGb || 1;
        if (size < (image.size ?? 0) / 1024 ** 3) {
          throw new VolumeFault(400, `Invalid input received: Size of specified image ${Math.ceil((image.size ?? 0) / 1024 ** 3)}GB is larger than volume size ${size}GB.`);
        }
        if (size < image.min_disk) throw new VolumeFault(400, `Invalid input received: Volume size ${size}GB cannot be smaller than the image minDisk size ${image.min_disk}GB.`);
        bootable = true;
        image_metadata = imageMetadata(image);
        source = 'image';
      }
      if (size === null || !Number.isInteger(size) || size <= 0) {
        throw new VolumeFault(400, `Invalid input received: Invalid volume size provided for create request: ${size} (size argument must be an integer (or string representation of an integer) and greater than zero).`);
      }
      const type = await this.resolveType(ctx, typeRef, tx);
      const zone = req.availability_zone ?? VOLUME_AZ;
      if (zone !== VOLUME_AZ) throw new VolumeFault(400, `Invalid input received: Availability zone '${zone}' is invalid.`);
      await this.checkQuota(tx, ctx.project_id!, type.name, { volumes: 1, gigabytes: size });
      const multiattach = req.multiattach || type.extra_specs.multiattach === '<is> True';
      const now = this.clock.now();
      const steps = VOLUME_CREATE[source];
      const vol: VolumeRecord = {
        id: randomUUID(), project_id: ctx.project_id!, user_id: ctx.user_id, name: req.name, description: req.description,
        size, status: 'creating', previous_status: null, attach_status: 'detached', migration_status: null,
        availability_zone: zone, host: VOLUME_HOST, volume_type_id: type.id, snapshot_id: req.snapshot_id, source_volid: req.source_volid,
        image_id: req.image_id, bootable, multiattach, readonly: false, metadata: req.metadata, image_metadata, admin_metadata: {},
        created_at: now, updated_at: null, launched_at: null, terminated_at: null,
      };
      await this.store.insertVolume(tx, vol);
      if (attachTo) {
        // A volume Nova makes to boot from (or to attach at build): created, then connected to the server.
        await this.store.insertAttachment(tx, {
          id: attachTo.attachment_id, volume_id: vol.id, instance_uuid: attachTo.server_uuid, attach_status: 'reserved', attach_mode: 'rw', connector: null,
          connection_info: null, mountpoint: attachTo.mountpoint, attached_host: null, attach_time: null, detach_time: null, created_at: now, updated_at: null,
        });
      }
      const all = attachTo ? [...steps, ...VOLUME_ACTIONS.attach.steps] : steps;
      await this.putTask(tx, vol.id, 'volume', 'create', all, { on_fault: 'error', previous: null, attachment_id: attachTo?.attachment_id ?? null, server_uuid: attachTo?.server_uuid ?? null });
      return vol;
    });
    this.timers.kick();
    return v;
  }

  /** The facts the action table needs, read in the caller's unit of work. */
  private async facts(tx: Sql, v: VolumeRecord, ctx: VolumeRequestContext, extra: Partial<VolumeActionContext>): Promise<VolumeActionContext> {
    const snaps = await this.store.snapshotsOf(tx, v.id);
    const atts = await this.store.attachmentsOf(tx, v.id);
    return { microversion: ctx.microversion, snapshot_statuses: snaps.map((s) => s.status), attachments: atts.length, ...extra };
  }

  /**
   * Apply one row of the volume action table. `extra` carries the action's arguments (force,
   * cascade, status, new_size…); `effects` runs inside the same unit of work once accepted.
   */
  async act(
    ctx: VolumeRequestContext,
    id: string,
    action: VolumeActionName,
    extra: Partial<VolumeActionContext> & { plan?: Partial<VolumeTask['plan']> } = {},
    effects?: (tx: Sql, v: VolumeRecord) => Promise<VolumePatch | void>,
  ): Promise<VolumeRecord> {
    const rule = VOLUME_ACTIONS[action];
    const out = await this.sql.transaction(async (tx) => {
      const v = await this.getVolume(ctx, id, tx);
      if (rule.policy === 'admin' && !isAdmin(ctx)) throw new VolumeFault(403, `Policy doesn't allow volume_extension:volume_admin_actions:${rule.cinder.replace(/^os-/, '')} to be performed.`);
      const facts = await this.facts(tx, v, ctx, extra);
      const d = decideVolumeAction(action, v, facts);
      if (!d.ok) throw new VolumeFault(d.refusal.code, d.refusal.message);
      const patch: VolumePatch = { ...((await effects?.(tx, v)) ?? {}), updated_at: this.clock.now() };
      if (d.status !== null) {
        patch.status = d.status;
        if (d.steps.length) patch.previous_status = v.status;
      }
      if (d.attach) patch.attach_status = d.attach;
      if (action === 'delete' || action === 'force_delete') patch.terminated_at = this.clock.now();
      // Lose cleanly if another writer moved the volume since we read it.
      if (!(await this.store.updateVolume(tx, v.id, patch, [v.status]))) throw new VolumeFault(409, `Volume ${v.id} changed state; try again.`);
      if ((action === 'delete' || action === 'force_delete') && extra.cascade) {
        for (const s of await this.store.snapshotsOf(tx, v.id)) await this.store.updateSnapshot(tx, s.id, { status: 'deleting' });
      }
      if (d.steps.length) await this.putTask(tx, v.id, 'volume', action, d.steps, { on_fault: rule.onFault, previous: v.status, ...extra.plan });
      else await this.store.deleteTask(tx, v.id).catch(() => undefined);
      return { ...v, ...patch } as VolumeRecord;
    });
    this.timers.kick();
    return out;
  }

  async putTask(tx: Sql, resourceId: string, kind: VolumeTask['kind'], action: string, steps: readonly VolumeStep[], plan: Omit<VolumeTask['plan'], 'steps'>): Promise<void> {
    await this.store.putTask(tx, {
      resource_id: resourceId, kind, action, step: 0, due_at: this.clock.now() + this.driver.duration(steps[0].op),
      plan: { steps: steps.map((s) => ({ ...s })), ...plan }, locked_by: null, locked_until: null,
    });
  }

  // ---- snapshots ----

  async createSnapshot(ctx: VolumeRequestContext, req: { volume_id: string; name: string | null; description: string | null; force: boolean; metadata: Record<string, string> }): Promise<SnapshotRecord> {
    const snap = await this.sql.transaction(async (tx) => {
      const v = await this.getVolume(ctx, req.volume_id, tx);
      const d = decideVolumeAction('create_snapshot', v, await this.facts(tx, v, ctx, { force: req.force }));
      if (!d.ok) throw new VolumeFault(d.refusal.code, d.refusal.message);
      const type = await this.store.getType(tx, v.volume_type_id);
      await this.checkQuota(tx, v.project_id, type?.name ?? '', { snapshots: 1, gigabytes: v.size });
      const s: SnapshotRecord = {
        id: randomUUID(), volume_id: v.id, project_id: ctx.project_id!, user_id: ctx.user_id, name: req.name, description: req.description,
        status: SNAPSHOT_STEPS.create.accept, progress: '0%', volume_size: v.size, metadata: req.metadata, created_at: this.clock.now(), updated_at: null,
      };
      await this.store.insertSnapshot(tx, s);
      await this.putTask(tx, s.id, 'snapshot', 'create_snapshot', [{ op: SNAPSHOT_STEPS.create.op, set: SNAPSHOT_STEPS.create.done }], { on_fault: SNAPSHOT_STEPS.create.fault, previous: null });
      return s;
    });
    this.timers.kick();
    return snap;
  }

  async deleteSnapshot(ctx: VolumeRequestContext, id: string, force = false): Promise<void> {
    await this.sql.transaction(async (tx) => {
      const s = await this.getSnapshot(ctx, id, tx);
      if (force && !isAdmin(ctx)) throw new VolumeFault(403, `Policy doesn't allow volume_extension:snapshot_admin_actions:force_delete to be performed.`);
      const r = snapshotDeleteRefusal(s.status, force);
      if (r) throw new VolumeFault(r.code, r.message);
      await this.store.updateSnapshot(tx, s.id, { status: SNAPSHOT_STEPS.delete.accept, updated_at: this.clock.now() });
      await this.putTask(tx, s.id, 'snapshot', 'delete_snapshot', [{ op: SNAPSHOT_STEPS.delete.op, set: SNAPSHOT_STEPS.delete.done }], { on_fault: SNAPSHOT_STEPS.delete.fault, previous: null });
    });
    this.timers.kick();
  }

  async updateSnapshot(ctx: VolumeRequestContext, id: string, patch: Partial<Pick<SnapshotRecord, 'name' | 'description' | 'metadata' | 'status' | 'progress'>>): Promise<SnapshotRecord> {
    return this.sql.transaction(async (tx) => {
      const s = await this.getSnapshot(ctx, id, tx);
      await this.store.updateSnapshot(tx, s.id, { ...patch, updated_at: this.clock.now() });
      return { ...s, ...patch, updated_at: this.clock.now() };
    });
  }

  // ---- attachments (Cinder's 3.27+ API, and Nova's attach/detach over it) ----

  /** POST /attachments: reserve the volume for an instance; with a connector, connect it too. */
  async createAttachment(ctx: VolumeRequestContext, req: { volume_id: string; instance_uuid: string | null; connector: Record<string, unknown> | null; mode: string }): Promise<{ attachment: AttachmentRecord; volume: VolumeRecord }> {
    const id = randomUUID();
    const now = this.clock.now();
    let att!: AttachmentRecord;
    const volume = await this.act(ctx, req.volume_id, 'attachment_create', {}, async (tx, v) => {
      att = {
        id, volume_id: v.id, instance_uuid: req.instance_uuid, attach_status: 'reserved', attach_mode: req.mode, connector: null, connection_info: null,
        mountpoint: null, attached_host: null, attach_time: null, detach_time: null, created_at: now, updated_at: null,
      };
      await this.store.insertAttachment(tx, att);
    });
    if (req.connector) return this.updateAttachment(ctx, id, req.connector);
    return { attachment: att, volume };
  }

  /** PUT /attachments/{id} with a connector: the volume backend exports it (volume attaching). */
  async updateAttachment(ctx: VolumeRequestContext, id: string, connector: Record<string, unknown>): Promise<{ attachment: AttachmentRecord; volume: VolumeRecord }> {
    return this.sql.transaction(async (tx) => {
      const { attachment, volume } = await this.getAttachment(ctx, id, tx);
      if (volume.status.includes('error')) {
        throw new VolumeFault(409, `Volume attachments can not be updated if the volume is in an error state. The Volume ${volume.id} currently has a status of: ${volume.status} `);
      }
      const patch = { connector, connection_info: connectionInfo(volume, id), attach_status: 'attaching' as const, attached_host: typeof connector.host === 'string' ? connector.host : null,
        mountpoint: typeof connector.mountpoint === 'string' ? connector.mountpoint : attachment.mountpoint, attach_mode: typeof connector.mode === 'string' ? connector.mode : attachment.attach_mode === 'null' ? 'rw' : attachment.attach_mode, updated_at: this.clock.now() };
      await this.store.updateAttachment(tx, id, patch);
      const vpatch: VolumePatch = volume.status === 'reserved' ? { status: 'attaching', attach_status: 'attaching', updated_at: this.clock.now() } : {};
      await this.store.updateVolume(tx, volume.id, vpatch);
      return { attachment: { ...attachment, ...patch }, volume: { ...volume, ...vpatch } };
    });
  }

  /** POST /attachments/{id}/action os-complete: the attachment is in use. */
  async completeAttachment(ctx: VolumeRequestContext, id: string): Promise<void> {
    await this.sql.transaction(async (tx) => {
      const { attachment, volume } = await this.getAttachment(ctx, id, tx);
      const now = this.clock.now();
      await this.store.updateAttachment(tx, id, { attach_status: 'attached', attach_time: attachment.attach_time ?? now, updated_at: now });
      await this.store.updateVolume(tx, volume.id, { status: 'in-use', attach_status: 'attached', updated_at: now });
    });
  }

  /** DELETE /attachments/{id}: the volume is available again once no attachment is left. */
  async deleteAttachment(ctx: VolumeRequestContext, id: string): Promise<VolumeRecord> {
    return this.sql.transaction(async (tx) => {
      const { volume } = await this.getAttachment(ctx, id, tx);
      await this.store.destroyAttachment(tx, id);
      const left = (await this.store.attachmentsOf(tx, volume.id)).filter((a) => a.attach_status !== 'detached');
      const patch: VolumePatch = left.length
        ? { status: left.some((a) => a.attach_status === 'attached') ? 'in-use' : 'reserved', updated_at: this.clock.now() }
        : { status: 'available', attach_status: 'detached', updated_at: this.clock.now() };
      await this.store.updateVolume(tx, volume.id, patch);
      return { ...volume, ...patch };
    });
  }

  /** Nova attaching a volume to a server: reserve now, connect and complete in timed steps. */
  async attachToServer(ctx: VolumeRequestContext, volumeId: string, serverUuid: string, host: string | null, mountpoint: string): Promise<{ attachment_id: string; volume: VolumeRecord }> {
    const id = randomUUID();
    const now = this.clock.now();
    const volume = await this.act(ctx, volumeId, 'attach', { plan: { attachment_id: id, server_uuid: serverUuid } }, async (tx, v) => {
      await this.store.insertAttachment(tx, {
        id, volume_id: v.id, instance_uuid: serverUuid, attach_status: 'reserved', attach_mode: 'rw', connector: host ? { host } : null, connection_info: null,
        mountpoint, attached_host: host, attach_time: null, detach_time: null, created_at: now, updated_at: null,
      });
    });
    return { attachment_id: id, volume };
  }

  /** Nova detaching a volume from a server: begin_detaching now, the attachment goes in a timed step. */
  async detachFromServer(ctx: VolumeRequestContext, volumeId: string, serverUuid: string): Promise<VolumeRecord> {
    const att = (await this.store.attachmentsOf(this.sql, volumeId)).find((a) => a.instance_uuid === serverUuid);
    return this.act(ctx, volumeId, 'detach', { plan: { attachment_id: att?.id ?? null, server_uuid: serverUuid } });
  }

  /**
   * A deleted server lets go of its volumes (Nova's _shutdown_instance / _cleanup_volumes): the
   * attachment goes at once, the volume is available again, and is deleted when the mapping said so.
   */
  async releaseFromServer(volumeId: string, serverUuid: string, deleteVolume: boolean): Promise<void> {
    await this.sql.transaction(async (tx) => {
      const v = await this.store.getVolume(tx, volumeId);
      if (!v) return;
      for (const a of await this.store.attachmentsOf(tx, v.id)) if (a.instance_uuid === serverUuid) await this.store.destroyAttachment(tx, a.id);
      const task = await this.store.getTask(tx, v.id);
      if (task && task.plan.server_uuid === serverUuid) await this.store.deleteTask(tx, v.id);
      const left = await this.store.attachmentsOf(tx, v.id);
      const busy = ['creating', 'downloading'].includes(v.status) && task?.action === 'create' && task.plan.server_uuid !== serverUuid;
      if (!busy) {
        const status = left.some((a) => a.attach_status === 'attached') ? 'in-use' : ['reserved', 'attaching', 'in-use', 'detaching', 'creating', 'downloading'].includes(v.status) ? 'available' : v.status;
        await this.store.updateVolume(tx, v.id, { status, attach_status: left.some((a) => a.attach_status === 'attached') ? 'attached' : 'detached', updated_at: this.clock.now() });
      }
    });
    if (deleteVolume) {
      const admin: VolumeRequestContext = { user_id: 'nova', project_id: null, roles: ['admin'], microversion: [3, 0] };
      await this.act(admin, volumeId, 'delete', {}).catch(() => undefined);
    }
  }

  /**
   * Shelve offload drops a server's host connections (the volume stays in-use, attached to the
   * server, as Cinder shows it while Nova holds the attachment); unshelve connects them again.
   */
  async setServerConnection(volumeId: string, serverUuid: string, connected: boolean): Promise<void> {
    await this.sql.transaction(async (tx) => {
      const v = await this.store.getVolume(tx, volumeId);
      if (!v) return;
      const now = this.clock.now();
      for (const a of await this.store.attachmentsOf(tx, v.id)) {
        if (a.instance_uuid === serverUuid) await this.store.updateAttachment(tx, a.id, { connection_info: connected ? connectionInfo(v, a.id) : null, updated_at: now });
      }
    });
  }

  // ---- a step is due (called by the timers inside the step's unit of work) ----

  /** Applies one step of a task: the driver's outcome `fault` decides the result. Returns false when the task is gone. */
  async applyStep(tx: Sql, t: VolumeTask, fault: Error | null): Promise<{ next: boolean; after?: () => Promise<void> }> {
    const step = t.plan.steps[t.step];
    const now = this.clock.now();
    if (t.kind === 'snapshot') {
      const s = await this.store.getSnapshot(tx, t.resource_id);
      if (!s || !step) return { next: false };
      if (fault) await this.store.updateSnapshot(tx, s.id, { status: t.plan.on_fault as SnapshotRecord['status'], updated_at: now });
      else if (step.set === 'destroy') await this.store.destroySnapshot(tx, s.id);
      else await this.store.updateSnapshot(tx, s.id, { status: step.set as SnapshotRecord['status'], progress: '100%', updated_at: now });
      return { next: !fault && t.step + 1 < t.plan.steps.length };
    }
    const v = await this.store.getVolume(tx, t.resource_id);
    if (!v || !step) return { next: false };
    const previous = (t.plan.previous ?? null) as VolumeStatus | null;
    const attId = t.plan.attachment_id ?? null;
    let after: (() => Promise<void>) | undefined;
    if (fault) {
      const status = t.plan.on_fault === 'previous' ? previous ?? 'available' : (t.plan.on_fault as VolumeStatus);
      const patch: VolumePatch = { status, updated_at: now };
      if (t.action === 'attach' && attId) {
        // Nova deletes the attachment it could not connect, and the volume is what it was.
        await this.store.destroyAttachment(tx, attId);
        const left = await this.store.attachmentsOf(tx, v.id);
        patch.attach_status = left.some((a) => a.attach_status === 'attached') ? 'attached' : 'detached';
      }
      if (t.action === 'delete' || t.action === 'force_delete') {
        for (const s of await this.store.snapshotsOf(tx, v.id)) if (s.status === 'deleting') await this.store.updateSnapshot(tx, s.id, { status: 'error_deleting' });
      }
      await this.store.updateVolume(tx, v.id, patch);
      return { next: false };
    }
    const patch: VolumePatch = { updated_at: now };
    switch (t.action) {
      case 'create':
        if (step.set === 'available') patch.launched_at = now;
        break;
      case 'extend':
        patch.size = t.plan.new_size ?? v.size;
        break;
      case 'retype':
        if (t.plan.new_type) patch.volume_type_id = t.plan.new_type;
        break;
      case 'upload_to_image':
        if (t.plan.image_id) {
          const imageId = t.plan.image_id;
          after = () => this.images.setStatus(imageId, 'active');
        }
        break;
      case 'detach': {
        if (attId) await this.store.destroyAttachment(tx, attId);
        const server = t.plan.server_uuid ?? null;
        after = async () => {
          for (const l of this.listeners) await l.detached?.({ ...v, status: 'available' }, server);
        };
        break;
      }
    }
    // Steps that connect an attachment (Nova's attach, and a volume Nova creates to boot from).
    if (attId && step.attach && t.action !== 'detach') {
      const a = await this.store.getAttachment(tx, attId);
      if (a && step.attach === 'attaching') await this.store.updateAttachment(tx, attId, { attach_status: 'attaching', connection_info: connectionInfo(v, attId), updated_at: now });
      if (a && step.attach === 'attached') {
        await this.store.updateAttachment(tx, attId, { attach_status: 'attached', attach_time: now, updated_at: now });
        const done = { ...a, attach_status: 'attached' as const, attach_time: now };
        after = async () => {
          for (const l of this.listeners) await l.attached?.({ ...v, status: 'in-use' }, done);
        };
      }
      patch.attach_status = step.attach === 'attaching' && v.attach_status === 'attached' ? 'attached' : (step.attach as VolumeRecord['attach_status']);
    }
    const left = (await this.store.attachmentsOf(tx, v.id)).length;
    if (t.action === 'detach') patch.attach_status = left > 0 ? 'attached' : 'detached';
    const status = stepStatus(step.set as StepResult, previous, left);
    if (status === 'destroy') {
      for (const s of await this.store.snapshotsOf(tx, v.id)) await this.store.destroySnapshot(tx, s.id);
      for (const a of await this.store.attachmentsOf(tx, v.id)) await this.store.destroyAttachment(tx, a.id);
      await this.store.destroyVolume(tx, v.id);
      return { next: false };
    }
    patch.status = status;
    await this.store.updateVolume(tx, v.id, patch);
    return { next: t.step + 1 < t.plan.steps.length, after };
  }

  /** Settles every due step now (instant mode and tests). */
  settle(): Promise<void> {
    return this.timers.settle();
  }
}

/** What `volume_image_metadata` keeps of the image a volume was made from (Cinder's glance metadata). */
export function imageMetadata(image: ImageRecord): Record<string, string> {
  const out: Record<string, string> = {
    image_id: image.id, image_name: image.name ?? '', min_disk: String(image.min_disk), min_ram: String(image.min_ram),
    size: String(image.size ?? 0),
  };
  if (image.disk_format) out.disk_format = image.disk_format;
  if (image.container_format) out.container_format = image.container_format;
  for (const [k, v] of Object.entries(image.properties)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** An iSCSI-looking connection_info, as the LVM driver gives it. */
function connectionInfo(v: VolumeRecord, attachmentId: string): Record<string, unknown> {
  return {
    driver_volume_type: 'iscsi',
    data: {
      target_discovered: false, target_iqn: `iqn.2010-10.org.openstack:volume-${v.id}`, target_portal: '127.0.0.1:3260', target_lun: 0,
      volume_id: v.id, auth_method: 'CHAP', access_mode: 'rw', encrypted: false, qos_specs: null,
    },
    attachment_id: attachmentId,
  };
}

const DEFAULT_TYPES: Omit<VolumeTypeRecord, 'created_at'>[] = [
  { id: '4b2ad4c4-8b6a-5d0e-9f7c-3a1f1c5e0d01', name: '__DEFAULT__', description: 'Default Volume Type', is_public: true, extra_specs: {} },
  { id: 'a3c1b1a6-4f7e-5b9a-8e3d-2c6f0d4b7e02', name: 'lvmdriver-1', description: null, is_public: true, extra_specs: { volume_backend_name: 'lvmdriver-1' } },
];

export const VOLUME_STATUS_NAMES = VOLUME_STATUSES;
export type { VolumeRecord, SnapshotRecord, AttachmentRecord, VolumeTypeRecord };
