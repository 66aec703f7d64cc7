// Cinder's views (cinder/api/v3/views/*): one function per resource, fields added as the
// requested microversion passes the version that introduced them.
import type { AttachmentRecord, SnapshotRecord, VolumeRecord, VolumeTypeRecord } from '../../domain/volume/states.ts';
import { shownVolumeStatus } from '../../domain/volume/states.ts';
import type { VolumeVersion } from './microversion.ts';

type Json = Record<string, unknown>;

/** Cinder's timestamps: naive UTC with microseconds. */
export const ts = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString().replace('Z', '').replace(/\.(\d{3})$/, '.$1000'));

export interface ViewContext {
  mv: VolumeVersion;
  admin: boolean;
  /** `${public}/volume/v3/${project}` for links. */
  base: string;
  bookmark: string;
}

const at = (c: ViewContext, minor: number) => c.mv[1] >= minor;

export function links(c: ViewContext, coll: string, id: string): Json[] {
  return [
    { href: `${c.base}/${coll}/${id}`, rel: 'self' },
    { href: `${c.bookmark}/${coll}/${id}`, rel: 'bookmark' },
  ];
}

export function attachmentsOfVolume(v: VolumeRecord, atts: AttachmentRecord[], c: ViewContext): Json[] {
  return atts
    .filter((a) => a.attach_status === 'attached')
    .map((a) => ({
      id: v.id, attachment_id: a.id, volume_id: v.id, server_id: a.instance_uuid, host_name: c.admin ? a.attached_host : null,
      device: a.mountpoint, attached_at: ts(a.attach_time),
    }));
}

/** The detail view; `extended` adds what Cinder's extensions add to show and detail (not create). */
export function volumeView(v: VolumeRecord, atts: AttachmentRecord[], type: VolumeTypeRecord | undefined, c: ViewContext, extended: boolean): Json {
  const out: Json = {
    id: v.id, status: shownVolumeStatus(v.status), size: v.size, availability_zone: v.availability_zone,
    created_at: ts(v.created_at), updated_at: ts(v.updated_at), name: v.name, description: v.description,
    volume_type: type?.name ?? v.volume_type_id, snapshot_id: v.snapshot_id, source_volid: v.source_volid, metadata: v.metadata,
    links: links(c, 'volumes', v.id), user_id: v.user_id, bootable: String(v.bootable), encrypted: false,
    replication_status: null, consistencygroup_id: null, multiattach: v.multiattach,
    attachments: attachmentsOfVolume(v, atts, c),
  };
  if (c.admin) out.migration_status = v.migration_status;
  if (at(c, 13)) out.group_id = null;
  if (c.admin && at(c, 21)) out.provider_id = null;
  if (at(c, 48)) {
    out.shared_targets = true;
    out.service_uuid = null;
  }
  if (c.admin && at(c, 61)) out.cluster_name = null;
  if (at(c, 63)) out.volume_type_id = v.volume_type_id;
  if (at(c, 65)) out.consumes_quota = true;
  if (extended) {
    out['os-vol-tenant-attr:tenant_id'] = v.project_id;
    if (Object.keys(v.image_metadata).length) out.volume_image_metadata = v.image_metadata;
    if (c.admin) {
      out['os-vol-host-attr:host'] = v.host;
      out['os-vol-mig-status-attr:migstat'] = v.migration_status;
      out['os-vol-mig-status-attr:name_id'] = null;
    }
  }
  return out;
}

export function volumeSummary(v: VolumeRecord, c: ViewContext): Json {
  return { id: v.id, name: v.name, links: links(c, 'volumes', v.id) };
}

export function snapshotView(s: SnapshotRecord, c: ViewContext, extended: boolean): Json {
  const out: Json = {
    id: s.id, created_at: ts(s.created_at), updated_at: ts(s.updated_at), name: s.name, description: s.description,
    volume_id: s.volume_id, status: s.status, size: s.volume_size, metadata: s.metadata,
  };
  if (at(c, 14)) out.group_snapshot_id = null;
  if (at(c, 41)) out.user_id = s.user_id;
  if (at(c, 65)) out.consumes_quota = true;
  if (extended) {
    out['os-extended-snapshot-attributes:progress'] = s.progress;
    out['os-extended-snapshot-attributes:project_id'] = s.project_id;
  }
  return out;
}

export function volumeTypeView(t: VolumeTypeRecord, c: ViewContext): Json {
  const out: Json = { id: t.id, name: t.name, is_public: t.is_public, description: t.description, 'os-volume-type-access:is_public': t.is_public, qos_specs_id: null };
  // Extra specs are shown to admins (volume_extension:access_types_extra_specs).
  if (c.admin) out.extra_specs = t.extra_specs;
  return out;
}

export function attachmentView(a: AttachmentRecord, c: ViewContext, detail: boolean): Json {
  const out: Json = { id: a.id, status: a.attach_status, instance: a.instance_uuid, volume_id: a.volume_id };
  if (!detail) return out;
  return {
    ...out, attached_at: ts(a.attach_time), detached_at: ts(a.detach_time), attach_mode: a.attach_mode,
    connection_info: a.connection_info ?? {},
  };
}
