// Nova's three state axes and the API status derived from them
// (nova/compute/vm_states.py, task_states.py, power_state.py, api/openstack/common.py).

export const VM_STATES = [
  'active', 'building', 'paused', 'suspended', 'stopped', 'rescued', 'resized',
  'soft-delete', 'deleted', 'error', 'shelved', 'shelved_offloaded',
] as const;
export type VmState = (typeof VM_STATES)[number];

export const TASK_STATES = [
  'scheduling', 'block_device_mapping', 'networking', 'spawning',
  'image_snapshot', 'image_snapshot_pending', 'image_pending_upload', 'image_uploading', 'image_backup',
  'updating_password',
  'resize_prep', 'resize_migrating', 'resize_migrated', 'resize_finish', 'resize_reverting', 'resize_confirming',
  'rebooting', 'reboot_pending', 'reboot_started', 'rebooting_hard', 'reboot_pending_hard', 'reboot_started_hard',
  'pausing', 'unpausing', 'suspending', 'resuming',
  'powering-off', 'powering-on',
  'rescuing', 'unrescuing',
  'rebuilding', 'rebuild_block_device_mapping', 'rebuild_spawning',
  'migrating',
  'deleting', 'soft-deleting', 'restoring',
  'shelving', 'shelving_image_pending_upload', 'shelving_image_uploading', 'shelving_offloading', 'unshelving',
] as const;
export type TaskState = (typeof TASK_STATES)[number];

export const POWER_STATE = {
  NOSTATE: 0,
  RUNNING: 1,
  PAUSED: 3,
  SHUTDOWN: 4,
  CRASHED: 6,
  SUSPENDED: 7,
} as const;
export type PowerState = (typeof POWER_STATE)[keyof typeof POWER_STATE];
export const POWER_STATES: readonly PowerState[] = [0, 1, 3, 4, 6, 7];

export const STATUSES = [
  'ACTIVE', 'BUILD', 'DELETED', 'ERROR', 'HARD_REBOOT', 'MIGRATING', 'PASSWORD', 'PAUSED', 'REBOOT',
  'REBUILD', 'RESCUE', 'RESIZE', 'REVERT_RESIZE', 'SHELVED', 'SHELVED_OFFLOADED', 'SHUTOFF',
  'SOFT_DELETED', 'SUSPENDED', 'UNKNOWN', 'VERIFY_RESIZE',
] as const;
export type Status = (typeof STATUSES)[number];

const REBOOT: TaskState[] = ['rebooting', 'reboot_pending', 'reboot_started'];
const HARD_REBOOT: TaskState[] = ['rebooting_hard', 'reboot_pending_hard', 'reboot_started_hard'];
const REBUILD: TaskState[] = ['rebuilding', 'rebuild_block_device_mapping', 'rebuild_spawning'];
const RESIZE: TaskState[] = ['resize_prep', 'resize_migrating', 'resize_migrated', 'resize_finish'];

function overrides(...groups: [TaskState[], Status][]): Partial<Record<TaskState, Status>> {
  const out: Partial<Record<TaskState, Status>> = {};
  for (const [tasks, status] of groups) for (const t of tasks) out[t] = status;
  return out;
}

/** Nova's _STATE_MAP: per vm_state a default status and task_state overrides. */
export const STATE_MAP: Record<VmState, { default: Status; tasks: Partial<Record<TaskState, Status>> }> = {
  active: {
    default: 'ACTIVE',
    tasks: overrides(
      [REBOOT, 'REBOOT'], [HARD_REBOOT, 'HARD_REBOOT'], [['updating_password'], 'PASSWORD'],
      [REBUILD, 'REBUILD'], [['migrating'], 'MIGRATING'], [RESIZE, 'RESIZE'],
    ),
  },
  building: { default: 'BUILD', tasks: {} },
  stopped: { default: 'SHUTOFF', tasks: overrides([RESIZE, 'RESIZE'], [REBUILD, 'REBUILD']) },
  // resize_confirming is deliberately not mapped in Nova: it stays VERIFY_RESIZE.
  resized: { default: 'VERIFY_RESIZE', tasks: overrides([['resize_reverting'], 'REVERT_RESIZE']) },
  paused: { default: 'PAUSED', tasks: overrides([['migrating'], 'MIGRATING']) },
  suspended: { default: 'SUSPENDED', tasks: {} },
  rescued: { default: 'RESCUE', tasks: {} },
  error: { default: 'ERROR', tasks: overrides([REBUILD, 'REBUILD']) },
  deleted: { default: 'DELETED', tasks: {} },
  'soft-delete': { default: 'SOFT_DELETED', tasks: {} },
  shelved: { default: 'SHELVED', tasks: {} },
  shelved_offloaded: { default: 'SHELVED_OFFLOADED', tasks: {} },
};

/** The API status of a server (Nova's status_from_state, with the deleted-row rule first). */
export function statusOf(vm_state: string, task_state: string | null, deleted = false): Status {
  if (deleted) return 'DELETED';
  const entry = STATE_MAP[vm_state as VmState];
  if (!entry) return 'UNKNOWN';
  if (task_state !== null && entry.tasks[task_state as TaskState]) return entry.tasks[task_state as TaskState]!;
  return entry.default;
}

/**
 * Translate status filter values into vm_state / task_state filters, as Nova's
 * servers API does: every (vm_state, task_state) pair whose status matches contributes
 * both values; a vm_state default match means "no task_state restriction".
 * Returns undefined when no value matched any status.
 */
export function statusFilter(values: string[]): { vm_states: VmState[]; task_states: (TaskState | null)[] | null } | undefined {
  const wanted = new Set(values.map((v) => v.toUpperCase()));
  const vm = new Set<VmState>();
  const tasks = new Set<TaskState | null>();
  let anyDefault = false;
  for (const [vmState, entry] of Object.entries(STATE_MAP) as [VmState, (typeof STATE_MAP)[VmState]][]) {
    if (wanted.has(entry.default)) {
      vm.add(vmState);
      anyDefault = true;
    }
    for (const [task, status] of Object.entries(entry.tasks) as [TaskState, Status][]) {
      if (wanted.has(status)) {
        vm.add(vmState);
        tasks.add(task);
      }
    }
  }
  if (vm.size === 0) return undefined;
  return { vm_states: [...vm], task_states: anyDefault ? null : [...tasks] };
}

/** Statuses at which Nova shows `progress` in the server view. */
export const PROGRESS_STATUSES: ReadonlySet<Status> = new Set(['ACTIVE', 'BUILD', 'REBUILD', 'RESIZE', 'VERIFY_RESIZE', 'MIGRATING']);
