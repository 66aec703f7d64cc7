// Cinder's statuses (cinder/objects/fields.py): a volume's status and attach_status, a snapshot's
// status and an attachment's attach_status. Pure values; the action table says how they move.

export const VOLUME_STATUSES = [
  'creating', 'available', 'deleting', 'error', 'error_deleting', 'error_managing', 'managing',
  'attaching', 'in-use', 'detaching', 'maintenance', 'restoring-backup', 'error_restoring',
  'reserved', 'awaiting-transfer', 'backing-up', 'error_backing-up', 'error_extending',
  'downloading', 'uploading', 'retyping', 'extending',
] as const;
export type VolumeStatus = (typeof VOLUME_STATUSES)[number];

export const VOLUME_ATTACH_STATUSES = ['attached', 'attaching', 'detached', 'reserved', 'error_attaching', 'error_detaching', 'deleted'] as const;
export type AttachStatus = (typeof VOLUME_ATTACH_STATUSES)[number];

export const SNAPSHOT_STATUSES = ['error', 'available', 'creating', 'deleting', 'deleted', 'updating', 'error_deleting', 'unmanaging', 'backing-up', 'restoring'] as const;
export type SnapshotStatus = (typeof SNAPSHOT_STATUSES)[number];

/** What the API shows for a status (cinder/api/v3/views/volumes.py `_get_volume_status`). */
export function shownVolumeStatus(s: VolumeStatus): string {
  if (s === 'managing') return 'creating';
  if (s === 'error_managing') return 'error';
  return s;
}

/** Cinder's `build_or_str`: `a or b or c`, formatted into `fmt` when given; '' for nothing. */
export function orList(items: readonly string[] | undefined, fmt?: string): string {
  if (!items || items.length === 0) return '';
  const joined = items.join(' or ');
  return fmt ? fmt.replace('%s', joined) : joined;
}

export interface VolumeRecord {
  id: string;
  project_id: string;
  user_id: string;
  name: string | null;
  description: string | null;
  size: number;
  status: VolumeStatus;
  previous_status: VolumeStatus | null;
  attach_status: AttachStatus;
  migration_status: string | null;
  availability_zone: string;
  host: string | null;
  volume_type_id: string;
  snapshot_id: string | null;
  source_volid: string | null;
  image_id: string | null;
  bootable: boolean;
  multiattach: boolean;
  readonly: boolean;
  metadata: Record<string, string>;
  image_metadata: Record<string, string>;
  /** Admin metadata Cinder keeps beside it (attached_mode, readonly…) and our own bookkeeping. */
  admin_metadata: Record<string, string>;
  created_at: number;
  updated_at: number | null;
  launched_at: number | null;
  terminated_at: number | null;
}

export interface SnapshotRecord {
  id: string;
  volume_id: string;
  project_id: string;
  user_id: string;
  name: string | null;
  description: string | null;
  status: SnapshotStatus;
  progress: string;
  volume_size: number;
  metadata: Record<string, string>;
  created_at: number;
  updated_at: number | null;
}

export interface AttachmentRecord {
  id: string;
  volume_id: string;
  instance_uuid: string | null;
  attach_status: AttachStatus;
  attach_mode: string;
  connector: Record<string, unknown> | null;
  connection_info: Record<string, unknown> | null;
  mountpoint: string | null;
  attached_host: string | null;
  attach_time: number | null;
  detach_time: number | null;
  created_at: number;
  updated_at: number | null;
}

export interface VolumeTypeRecord {
  id: string;
  name: string;
  description: string | null;
  is_public: boolean;
  extra_specs: Record<string, string>;
  created_at: number;
}
