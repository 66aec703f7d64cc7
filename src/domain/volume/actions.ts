// The volume action table: one row per thing a volume can be asked to do, as Cinder's volume API
// guards it (cinder/volume/api.py `conditional_update(values, expected)`): who may ask, in which
// statuses it is accepted (and the other conditions Cinder checks, in Cinder's order), what the API
// sets at once, the timed steps the volume manager walks, and where a failed step leaves the volume.
// The volume engine applies rows; nothing else decides whether a volume action runs.
import { orList, type AttachStatus, type VolumeRecord, type VolumeStatus } from './states.ts';

/** Block driver operations: each has a duration and is a point where a fault can be injected. */
export const BLOCK_OPS = {
  create_volume: 1200,
  copy_image_to_volume: 3000,
  create_volume_from_snapshot: 1500,
  create_cloned_volume: 1500,
  delete_volume: 800,
  extend_volume: 800,
  initialize_connection: 300,
  connect_volume: 400,
  terminate_connection: 300,
  copy_volume_to_image: 2500,
  retype: 1500,
  create_snapshot: 1000,
  delete_snapshot: 600,
} as const;
export type BlockOp = keyof typeof BLOCK_OPS;

export type VolumePolicy = 'member' | 'admin';

/** A refusal: Cinder's InvalidVolume (400 "Invalid volume: …"), InvalidInput, or a conflict. */
export interface Refusal {
  code: 400 | 403 | 404 | 409;
  message: string;
}

const invalidVolume = (reason: string): Refusal => ({ code: 400, message: `Invalid volume: ${reason}` });

/** The status a step leaves: a fixed one, the one before the action, or gone (row destroyed). */
export type StepResult = VolumeStatus | 'previous' | 'destroy' | 'attached_or_available';

export interface VolumeStep {
  op: BlockOp;
  set: StepResult;
  /** attach_status after the step, when it changes. */
  attach?: AttachStatus;
}

/** What the caller brings besides the volume: facts read in the same transaction. */
export interface VolumeActionContext {
  /** Volume API microversion [3, minor]. */
  microversion: [number, number];
  force?: boolean;
  cascade?: boolean;
  /** Snapshots of the volume, by status. */
  snapshot_statuses: readonly string[];
  /** Attachments of the volume (any status but deleted). */
  attachments: number;
  /** os-reset_status target. */
  status?: VolumeStatus;
  /** os-extend new size. */
  new_size?: number;
  /** os-retype: the requested type differs from the volume's. */
  new_type_differs?: boolean;
}

export interface VolumeActionRule {
  /** Cinder's name for the call (the /action key, or the route). */
  cinder: string;
  policy: VolumePolicy;
  /** Statuses in which it is accepted, as Cinder's `expected` status. */
  statuses: readonly VolumeStatus[] | 'any';
  /** Conditions Cinder checks besides the status, in its order (first failure wins). */
  check?(v: VolumeRecord, c: VolumeActionContext): Refusal | null;
  /** The refusal when the status (or a condition folded into the same conditional update) is wrong. */
  refuse(v: VolumeRecord, c: VolumeActionContext): Refusal;
  /** Conditions evaluated together with the status (Cinder's single conditional update). */
  alsoRequires?(v: VolumeRecord, c: VolumeActionContext): boolean;
  /** What the API sets when it accepts: a status (or null: no change) and an attach_status. */
  accept(v: VolumeRecord, c: VolumeActionContext): { status: VolumeStatus | null; attach?: AttachStatus };
  steps: readonly VolumeStep[];
  /** Where a failing step leaves the volume. */
  onFault: VolumeStatus | 'previous';
  /** HTTP status of an accepted request. */
  http: number;
}

const DELETABLE: VolumeStatus[] = ['available', 'error', 'error_restoring', 'error_extending', 'error_managing'];
const DELETE_REASON = (statuses: VolumeStatus[] | undefined) =>
  `Volume ${orList(statuses, 'status must be %s and')} must not be migrating, attached, belong to a group, have snapshots, awaiting a transfer, or be disassociated from snapshots after volume transfer.`;
const migrating = (v: VolumeRecord) => v.migration_status !== null && !['success', 'error', 'none'].includes(v.migration_status);
/** Snapshots a cascade delete can take along (Cinder's volume_has_undeletable_snapshots_filter). */
const snapshotsBlock = (c: VolumeActionContext) =>
  c.cascade ? (!c.force && c.snapshot_statuses.some((s) => s !== 'available' && s !== 'error')) : c.snapshot_statuses.length > 0;

function deleteRow(force: boolean): VolumeActionRule {
  return {
    cinder: force ? 'os-force_delete' : 'delete',
    policy: force ? 'admin' : 'member',
    statuses: force ? 'any' : DELETABLE,
    alsoRequires: (v, c) => v.attach_status !== 'attached' && !migrating(v) && !snapshotsBlock(c),
    refuse: () => invalidVolume(DELETE_REASON(force ? undefined : DELETABLE)),
    accept: () => ({ status: 'deleting' }),
    steps: [{ op: 'delete_volume', set: 'destroy' }],
    onFault: 'error_deleting',
    http: 202,
  };
}

/** Cinder's `_attachment_reserve` guard, shared by the attachments API and Nova's attach. */
const ATTACHMENT_RESERVE: Pick<VolumeActionRule, 'statuses' | 'check' | 'alsoRequires' | 'refuse'> = {
    statuses: ['available', 'downloading', 'in-use'],
    check: (v) =>
      v.status.includes('error')
        ? invalidVolume(`Volume attachments can not be created if the volume is in an error state. The Volume ${v.id} currently has a status of: ${v.status} `)
        : null,
    alsoRequires: (v) => v.status !== 'in-use' || v.multiattach,
    refuse: (v) =>
      invalidVolume(`Volume ${v.id} status must be ${orList(v.multiattach ? ['available', 'in-use', 'downloading'] : ['available', 'downloading'])} to reserve, but the current status is ${v.status}.`),
};

const canSnapshotStatuses = (c: VolumeActionContext): VolumeStatus[] =>
  c.force || c.microversion[1] >= 66 ? ['available', 'in-use'] : ['available'];

export const VOLUME_ACTIONS = {
  delete: deleteRow(false),
  force_delete: deleteRow(true),
  extend: {
    cinder: 'os-extend',
    policy: 'member',
    // In-use volumes from 3.42 (extend_attached_volume); before, only available ones.
    statuses: ['available', 'in-use'],
    check: (v, c) =>
      c.new_size !== undefined && c.new_size <= v.size
        ? { code: 400, message: `Invalid input received: New size for extend must be greater than current size. (current: ${v.size}, extended: ${c.new_size}).` }
        : null,
    alsoRequires: (v, c) => v.status === 'available' || c.microversion[1] >= 42,
    refuse: (v, c) =>
      invalidVolume(`Volume ${v.id} status must be '{'status': '${v.status === 'in-use' && c.microversion[1] >= 42 ? 'in-use' : 'available'}'}' to extend, currently ${v.status}.`),
    accept: () => ({ status: 'extending' }),
    steps: [{ op: 'extend_volume', set: 'previous' }],
    onFault: 'error_extending',
    http: 202,
  },
  reserve: {
    cinder: 'os-reserve',
    policy: 'member',
    statuses: ['available', 'in-use'],
    alsoRequires: (v) => v.status === 'available' || v.multiattach,
    refuse: (v) => invalidVolume(`Volume status must be ${orList(v.multiattach ? ['available', 'in-use'] : ['available'])} to reserve, but the status is ${v.status}.`),
    accept: () => ({ status: 'attaching' }),
    steps: [],
    onFault: 'previous',
    http: 202,
  },
  unreserve: {
    cinder: 'os-unreserve',
    policy: 'member',
    statuses: 'any',
    refuse: () => invalidVolume('unreachable'),
    // Not reserved: nothing to do, still 202 (Cinder logs and returns).
    accept: (v, c) => (v.status === 'attaching' ? { status: c.attachments > 0 ? 'in-use' : 'available' } : { status: null }),
    steps: [],
    onFault: 'previous',
    http: 202,
  },
  begin_detaching: {
    cinder: 'os-begin_detaching',
    policy: 'member',
    statuses: ['in-use'],
    alsoRequires: (v) => v.attach_status === 'attached' && !migrating(v),
    refuse: () => invalidVolume("Unable to detach volume. Volume status must be 'in-use' and attach_status must be 'attached' to detach."),
    accept: () => ({ status: 'detaching' }),
    steps: [],
    onFault: 'previous',
    http: 202,
  },
  roll_detaching: {
    cinder: 'os-roll_detaching',
    policy: 'member',
    statuses: 'any',
    refuse: () => invalidVolume('unreachable'),
    accept: (v) => ({ status: v.status === 'detaching' ? 'in-use' : null }),
    steps: [],
    onFault: 'previous',
    http: 202,
  },
  attachment_create: {
    cinder: 'attachments (create)',
    policy: 'member',
    ...ATTACHMENT_RESERVE,
    accept: (v) => ({ status: 'reserved', attach: v.attach_status === 'attached' ? 'attached' : 'reserved' }),
    steps: [],
    onFault: 'previous',
    http: 200,
  },
  // What Nova's attach does with Cinder: reserve (attachment create), connect (attachment update
  // with the host's connector), then os-brick attaches and Nova completes the attachment.
  attach: {
    cinder: 'attachments (create, update, complete)',
    policy: 'member',
    ...ATTACHMENT_RESERVE,
    accept: () => ({ status: 'reserved' }),
    steps: [
      { op: 'initialize_connection', set: 'attaching', attach: 'attaching' },
      { op: 'connect_volume', set: 'in-use', attach: 'attached' },
    ],
    onFault: 'previous',
    http: 202,
  },
  // Nova's detach: begin_detaching, the guest lets go, then the attachment is deleted.
  detach: {
    cinder: 'os-begin_detaching + attachments (delete)',
    policy: 'member',
    statuses: ['in-use'],
    alsoRequires: (v) => v.attach_status === 'attached' && !migrating(v),
    refuse: () => invalidVolume("Unable to detach volume. Volume status must be 'in-use' and attach_status must be 'attached' to detach."),
    accept: () => ({ status: 'detaching' }),
    steps: [{ op: 'terminate_connection', set: 'attached_or_available' }],
    onFault: 'in-use',
    http: 202,
  },
  reset_status: {
    cinder: 'os-reset_status',
    policy: 'admin',
    statuses: 'any',
    refuse: () => invalidVolume('unreachable'),
    accept: (_v, c) => ({ status: c.status ?? null }),
    steps: [],
    onFault: 'previous',
    http: 202,
  },
  update: {
    cinder: 'update',
    policy: 'member',
    statuses: 'any',
    check: (v) => (v.status === 'maintenance' ? invalidVolume('The volume cannot be updated during maintenance.') : null),
    refuse: () => invalidVolume('unreachable'),
    accept: () => ({ status: null }),
    steps: [],
    onFault: 'previous',
    http: 200,
  },
  update_metadata: {
    cinder: 'metadata (create, update, delete)',
    policy: 'member',
    statuses: 'any',
    check: (v) =>
      v.status === 'maintenance' || v.status === 'uploading'
        ? invalidVolume(`Updating volume metadata is not allowed for volumes in ${v.status} status.`)
        : null,
    refuse: () => invalidVolume('unreachable'),
    accept: () => ({ status: null }),
    steps: [],
    onFault: 'previous',
    http: 200,
  },
  update_readonly: {
    cinder: 'os-update_readonly_flag',
    policy: 'member',
    statuses: ['available'],
    refuse: (v) => invalidVolume(`Volume ${v.id} status must be available to update readonly flag, but current status is: ${v.status}.`),
    accept: () => ({ status: null }),
    steps: [],
    onFault: 'previous',
    http: 202,
  },
  set_bootable: {
    cinder: 'os-set_bootable',
    policy: 'member',
    statuses: 'any',
    refuse: () => invalidVolume('unreachable'),
    accept: () => ({ status: null }),
    steps: [],
    onFault: 'previous',
    http: 200,
  },
  create_snapshot: {
    cinder: 'snapshots (create)',
    policy: 'member',
    statuses: ['available', 'in-use'],
    check: (v) => {
      if (!v.host) return invalidVolume('The snapshot cannot be created because volume has not been scheduled to any host.');
      if (v.status === 'maintenance') return invalidVolume('The snapshot cannot be created when the volume is in maintenance mode.');
      if (migrating(v)) return invalidVolume('Snapshot cannot be created while volume is migrating.');
      if (v.status === 'error') return invalidVolume('The snapshot cannot be created when the volume is in error status.');
      return null;
    },
    alsoRequires: (v, c) => canSnapshotStatuses(c).includes(v.status),
    refuse: (v, c) => invalidVolume(`Volume ${v.id} status must be ${canSnapshotStatuses(c).join(', ')}, but current status is: ${v.status}.`),
    accept: () => ({ status: null }),
    steps: [],
    onFault: 'previous',
    http: 202,
  },
  upload_to_image: {
    cinder: 'os-volume_upload_image',
    policy: 'member',
    // enable_force_upload is off by default, so `force` is ignored: available only.
    statuses: ['available'],
    refuse: (v) => invalidVolume(`Volume ${v.id} status must be available`),
    accept: () => ({ status: 'uploading' }),
    steps: [{ op: 'copy_volume_to_image', set: 'previous' }],
    onFault: 'previous',
    http: 202,
  },
  retype: {
    cinder: 'os-retype',
    policy: 'member',
    statuses: ['available', 'in-use'],
    alsoRequires: (v, c) => !migrating(v) && c.new_type_differs !== false,
    refuse: () =>
      invalidVolume('Retype needs volume to be in available or in-use state, not be part of an active migration or a consistency group, requested type has to be different that the one from the volume, and for in-use volumes front-end qos specs cannot change.'),
    accept: () => ({ status: 'retyping' }),
    steps: [{ op: 'retype', set: 'previous' }],
    onFault: 'previous',
    http: 202,
  },
} satisfies Record<string, VolumeActionRule>;

export type VolumeActionName = keyof typeof VOLUME_ACTIONS;
export const VOLUME_ACTION_NAMES = Object.keys(VOLUME_ACTIONS) as VolumeActionName[];

export type VolumeDecision =
  | { ok: true; status: VolumeStatus | null; attach?: AttachStatus; steps: readonly VolumeStep[] }
  | { ok: false; refusal: Refusal };

/** Accept or refuse `action` on `v`, as Cinder's API does (pure: the caller read `c` in the same transaction). */
export function decideVolumeAction(action: VolumeActionName, v: VolumeRecord, c: VolumeActionContext): VolumeDecision {
  const rule: VolumeActionRule = VOLUME_ACTIONS[action];
  const early = rule.check?.(v, c);
  if (early) return { ok: false, refusal: early };
  const statusOk = rule.statuses === 'any' || rule.statuses.includes(v.status);
  if (!statusOk || (rule.alsoRequires && !rule.alsoRequires(v, c))) return { ok: false, refusal: rule.refuse(v, c) };
  const a = rule.accept(v, c);
  return { ok: true, status: a.status, attach: a.attach, steps: rule.steps };
}

/** Where a step leaves the volume, given the status it had before the action. */
export function stepStatus(set: StepResult, previous: VolumeStatus | null, attachments: number): VolumeStatus | 'destroy' {
  if (set === 'previous') return previous ?? 'available';
  if (set === 'attached_or_available') return attachments > 0 ? 'in-use' : 'available';
  return set;
}

/** How a new volume is made, by source: the status it starts in and the steps to available. */
export const VOLUME_CREATE = {
  empty: [{ op: 'create_volume', set: 'available' }],
  image: [
    { op: 'create_volume', set: 'downloading' },
    { op: 'copy_image_to_volume', set: 'available' },
  ],
  snapshot: [{ op: 'create_volume_from_snapshot', set: 'available' }],
  volume: [{ op: 'create_cloned_volume', set: 'available' }],
} as const satisfies Record<string, readonly VolumeStep[]>;
export type VolumeSource = keyof typeof VOLUME_CREATE;

/** Snapshot steps (their own statuses): creating → available, deleting → gone; faults → error / error_deleting. */
export const SNAPSHOT_STEPS = {
  create: { accept: 'creating', op: 'create_snapshot', done: 'available', fault: 'error' },
  delete: { accept: 'deleting', op: 'delete_snapshot', done: 'destroy', fault: 'error_deleting' },
} as const;

/** Snapshot deletion guard (cinder/volume/api.py delete_snapshot). */
export function snapshotDeleteRefusal(status: string, force: boolean): Refusal | null {
  if (force || status === 'available' || status === 'error') return null;
  return { code: 400, message: `Invalid snapshot: Snapshot ${orList(['available', 'error'], 'status must be %s and')} must not be part of a group.` };
}
