// The action table: one row per server action, as Nova's compute API and manager behave.
// A row says who may act, in which states, what the API sets on acceptance, and the steps the
// compute walks through. The engine applies rows; nothing else decides whether an action runs.
import type { ServerPatch, ServerRecord } from './server.ts';
import type { TaskState, VmState } from './states.ts';
import { POWER_STATE } from './states.ts';

export type Policy = 'reader' | 'member' | 'manager' | 'admin';

/** Virt driver operations; each has a duration and is a point where a fault can be injected. */
export const DRIVER_OPS = {
  schedule: 350,
  allocate_network: 250,
  block_device_mapping: 150,
  spawn: 1000,
  terminate: 300,
  soft_delete: 250,
  restore: 300,
  reboot_prepare: 100,
  reboot: 400,
  rebuild_prepare: 300,
  rebuild_spawn: 900,
  power_off: 330,
  power_on: 480,
  pause: 340,
  unpause: 320,
  suspend: 500,
  resume: 500,
  rescue: 900,
  unrescue: 700,
  snapshot: 300,
  image_upload: 500,
  shelve_offload: 300,
  unshelve_spawn: 1500,
  migrate_prepare: 600,
  migrate_disk: 1200,
  finish_resize: 1300,
  confirm_resize: 1800,
  revert_resize: 900,
  finish_revert: 700,
  live_migration: 2000,
  set_admin_password: 150,
  crash_dump: 50,
  reclaim: 0, // the wait is the reclaim interval itself
  shelved_offload: 0, // the wait is shelved_offload_time
} as const;
export type DriverOp = keyof typeof DRIVER_OPS;

/** Timestamps the engine fills in with its clock when a step applies. */
export type Stamp = 'launched_at' | 'terminated_at' | 'deleted_at';

export interface Step {
  op: DriverOp;
  /** An instance-action event that begins with this step (the previous one finishes). */
  event?: string;
  /** A fixed wait in ms instead of the op's scaled duration (reclaim, shelved offload). */
  wait_ms?: number;
  set: ServerPatch;
  stamp?: Stamp[];
  /** Status of the migration record this action drives, after this step. */
  migration?: MigrationStatus;
  /** Status of the image this action produces, after this step. */
  image?: 'saving' | 'active';
  /** The server's host when the step is done ('target' = the migration's destination). */
  host?: 'target' | 'source' | 'none' | 'scheduled';
  /** How a failure of this step ends, when it differs from the plan's (e.g. a scheduling step). */
  onFailure?: OnFailure;
  /** Nova's periodic work after the action (reclaim, shelved offload): the action finishes before it. */
  background?: boolean;
}

export type MigrationStatus =
  | 'pre-migrating' | 'migrating' | 'post-migrating' | 'finished' | 'confirming' | 'confirmed'
  | 'reverting' | 'reverted' | 'preparing' | 'running' | 'completed' | 'done' | 'error' | 'failed' | 'accepted';

/** What happens to the server when a step fails (Nova's per-action error handling). */
export type OnFailure =
  | { kind: 'error' } // vm_state error, task null, fault shown
  | { kind: 'revert'; set: ServerPatch } // back to a stable state, task null, fault kept hidden
  | { kind: 'reverse_host'; set: ServerPatch };

export interface Plan {
  /** Applied in the accepting transaction (what Nova's API writes before it casts). */
  accept: ServerPatch;
  steps: Step[];
  onFailure: OnFailure;
  migration?: { type: 'resize' | 'migration' | 'live-migration' | 'evacuation'; status: MigrationStatus };
  /** Where the compute work runs: the server's own host (default) or the migration's destination. */
  runs_on?: 'host' | 'target';
  /** Work on other resources once the action succeeds. */
  after?: 'delete_shelved_image' | 'rotate_backups';
}

/** Everything a plan may depend on besides the server itself; all pure values. */
export interface PlanInput {
  params: Record<string, unknown>;
  microversion: [number, number];
  reclaim_instance_interval: number; // seconds; 0 = hard delete
  shelved_offload_time: number; // seconds; 0 = at once, -1 = never
}

export type ActionName =
  | 'create' | 'delete' | 'forceDelete' | 'restore' | 'reboot_soft' | 'reboot_hard' | 'rebuild'
  | 'resize' | 'confirmResize' | 'revertResize' | 'start' | 'stop' | 'pause' | 'unpause'
  | 'suspend' | 'resume' | 'lock' | 'unlock' | 'rescue' | 'unrescue' | 'shelve' | 'shelveOffload'
  | 'unshelve' | 'migrate' | 'live_migrate' | 'evacuate' | 'changePassword' | 'createImage'
  | 'createBackup' | 'resetState' | 'trigger_crash_dump' | 'reclaim' | 'power_sync_stop';

export interface ActionRule {
  name: ActionName;
  /** The name Nova's 409 message uses ("Cannot '<name>' instance …"). */
  message_name: string;
  /** The instance-action record name, or null when Nova records none. */
  record: string | null;
  policy: Policy;
  /** Whether a lock refuses non-admin callers. */
  lock: boolean;
  vm_states: readonly VmState[] | 'any';
  task_states: readonly (TaskState | null)[] | 'any';
  /** launched_at must be set. */
  launched: boolean;
  /** Success status code of the API call. */
  http: 200 | 202 | 204;
  /** Whether accepting this action cancels a pending durable task of the server. */
  replaces_task: boolean;
  /** The policy rule Nova names in its 403 message. */
  rule: string;
  /** An event recorded as started and finished at acceptance (actions done by the API alone). */
  instant_event?: string;
  plan(s: ServerRecord, input: PlanInput): Plan;
}

const P = POWER_STATE;
const NULL_ONLY = [null] as const;
const REVERT_TASK = (s: ServerRecord): OnFailure => ({ kind: 'revert', set: { vm_state: s.vm_state, task_state: null } });
const ERROR: OnFailure = { kind: 'error' };

/** Nova's hard-reboot allowed task states: a hard reboot may pre-empt these. */
export const HARD_REBOOT_TASK_STATES: readonly (TaskState | null)[] = [
  null, 'rebooting', 'reboot_pending', 'reboot_started', 'resuming', 'rebooting_hard', 'unpausing', 'pausing', 'suspending',
];

/** A one-step action: task on acceptance, one driver op, then the final state. */
function simple(task: TaskState, op: DriverOp, event: string, final: ServerPatch, fail: 'revert' | 'error' = 'revert') {
  return (s: ServerRecord): Plan => ({
    accept: { task_state: task },
    steps: [{ op, event, set: { task_state: null, ...final } }],
    onFailure: fail === 'error' ? ERROR : REVERT_TASK(s),
  });
}

function rebuildSteps(s: ServerRecord, endStopped: boolean): Step[] {
  const steps: Step[] = [
    { op: 'rebuild_prepare', event: 'conductor_rebuild_server', set: { task_state: 'rebuild_block_device_mapping' } },
    { op: 'rebuild_prepare', event: 'compute_rebuild_instance', set: { task_state: 'rebuild_spawning' } },
  ];
  if (endStopped) {
    steps.push({ op: 'rebuild_spawn', set: { vm_state: 'active', task_state: 'powering-off', power_state: P.RUNNING }, stamp: ['launched_at'] });
    steps.push({ op: 'power_off', set: { vm_state: 'stopped', task_state: null, power_state: P.SHUTDOWN } });
  } else {
    steps.push({ op: 'rebuild_spawn', set: { vm_state: 'active', task_state: null, power_state: P.RUNNING }, stamp: ['launched_at'] });
  }
  return steps;
}

function resizeSteps(s: ServerRecord, flavorChange: boolean): Step[] {
  const power = s.vm_state === 'stopped' ? P.SHUTDOWN : P.RUNNING;
  const finish: ServerPatch = { vm_state: 'resized', task_state: null, power_state: power };
  if (flavorChange && s.new_flavor) finish.flavor = s.new_flavor;
  // A resize or migration that cannot be scheduled goes back to how it was, with a hidden fault.
  const unscheduled: OnFailure = { kind: 'revert', set: { vm_state: s.vm_state, task_state: null, new_flavor: null, old_flavor: null } };
  return [
    { op: 'migrate_prepare', event: 'conductor_migrate_server', set: { task_state: 'resize_migrating' }, migration: 'migrating', onFailure: unscheduled },
    { op: 'migrate_disk', event: 'compute_resize_instance', set: { task_state: 'resize_migrated' }, migration: 'post-migrating' },
    { op: 'finish_resize', event: 'compute_finish_resize', set: { task_state: 'resize_finish' }, host: 'target' },
    { op: 'finish_resize', set: finish, migration: 'finished' },
  ];
}

function shelveSteps(s: ServerRecord, input: PlanInput): Step[] {
  const steps: Step[] = [
    { op: 'snapshot', event: 'compute_shelve_instance', set: { task_state: 'shelving_image_pending_upload' }, image: 'saving' },
    { op: 'image_upload', set: { task_state: 'shelving_image_uploading' } },
  ];
  if (input.shelved_offload_time === 0) {
    steps.push({ op: 'power_off', set: { vm_state: 'shelved', task_state: 'shelving_offloading', power_state: P.SHUTDOWN }, image: 'active' });
    steps.push({ op: 'shelve_offload', set: { vm_state: 'shelved_offloaded', task_state: null }, host: 'none' });
  } else {
    steps.push({ op: 'power_off', set: { vm_state: 'shelved', task_state: null, power_state: P.SHUTDOWN }, image: 'active' });
    if (input.shelved_offload_time > 0) {
      // Nova's periodic _poll_shelved_instances offloads it later; the wait is the configured time.
      steps.push({ op: 'shelved_offload', wait_ms: input.shelved_offload_time * 1000, set: { task_state: 'shelving_offloading' }, background: true });
      steps.push({ op: 'shelve_offload', set: { vm_state: 'shelved_offloaded', task_state: null }, host: 'none' });
    }
  }
  return steps;
}

function evacuateEndsStopped(s: ServerRecord, mv: [number, number]): boolean {
  const v295 = mv[0] > 2 || (mv[0] === 2 && mv[1] >= 95);
  if (v295) return s.vm_state !== 'error';
  return s.vm_state === 'stopped';
}

const ANY = 'any' as const;

export const ACTIONS: Record<ActionName, ActionRule> = {
  create: {
    name: 'create', rule: 'os_compute_api:servers:create', message_name: 'create', record: 'create', policy: 'member', lock: false,
    vm_states: ANY, task_states: ANY, launched: false, http: 202, replaces_task: false,
    plan: () => ({
      accept: { vm_state: 'building', task_state: 'scheduling', power_state: P.NOSTATE },
      steps: [
        {
          op: 'schedule', event: 'conductor_schedule_and_build_instances', set: { task_state: null }, host: 'scheduled',
          onFailure: { kind: 'revert', set: { vm_state: 'error', task_state: null, host: null, node: null } },
        },
        { op: 'allocate_network', event: 'compute__do_build_and_run_instance', set: { task_state: 'networking' } },
        { op: 'block_device_mapping', set: { task_state: 'block_device_mapping' } },
        { op: 'block_device_mapping', set: { task_state: 'spawning' } },
        { op: 'spawn', set: { vm_state: 'active', task_state: null, power_state: P.RUNNING }, stamp: ['launched_at'] },
      ],
      onFailure: ERROR,
    }),
  },
  delete: {
    name: 'delete', rule: 'os_compute_api:servers:delete', message_name: 'delete', record: 'delete', policy: 'member', lock: true,
    vm_states: ANY, task_states: ANY, launched: false, http: 204, replaces_task: true,
    plan: (s, input) => {
      // Soft delete only for servers that have launched; others are hard-deleted (Nova).
      if (input.reclaim_instance_interval > 0 && s.launched_at !== null) {
        return {
          accept: { task_state: 'soft-deleting' },
          steps: [
            { op: 'soft_delete', event: 'compute_soft_delete_instance', set: { vm_state: 'soft-delete', task_state: null, power_state: P.SHUTDOWN } },
            { op: 'reclaim', wait_ms: input.reclaim_instance_interval * 1000, background: true, ...hardDeleted() },
          ],
          onFailure: ERROR,
        };
      }
      return { accept: { task_state: 'deleting' }, steps: [{ op: 'terminate', event: 'compute_terminate_instance', ...hardDeleted() }], onFailure: ERROR };
    },
  },
  forceDelete: {
    name: 'forceDelete', rule: 'os_compute_api:os-deferred-delete:force', message_name: 'forceDelete', record: 'delete', policy: 'member', lock: true,
    vm_states: ANY, task_states: ANY, launched: false, http: 202, replaces_task: true,
    plan: () => ({ accept: { task_state: 'deleting' }, steps: [{ op: 'terminate', event: 'compute_terminate_instance', ...hardDeleted() }], onFailure: ERROR }),
  },
  restore: {
    name: 'restore', rule: 'os_compute_api:os-deferred-delete:restore', message_name: 'restore', record: 'restore', policy: 'member', lock: true,
    vm_states: ['soft-delete'], task_states: NULL_ONLY, launched: true, http: 202, replaces_task: true,
    plan: simple('restoring', 'restore', 'compute_restore_instance', { vm_state: 'active', power_state: P.RUNNING }),
  },
  reboot_soft: {
    name: 'reboot_soft', rule: 'os_compute_api:servers:reboot', message_name: 'reboot', record: 'reboot', policy: 'member', lock: true,
    vm_states: ['active'], task_states: NULL_ONLY, launched: true, http: 202, replaces_task: true,
    plan: () => ({
      accept: { task_state: 'rebooting' },
      steps: [
        { op: 'reboot_prepare', event: 'compute_reboot_instance', set: { task_state: 'reboot_pending' } },
        { op: 'reboot_prepare', set: { task_state: 'reboot_started' } },
        { op: 'reboot', set: { vm_state: 'active', task_state: null, power_state: P.RUNNING } },
      ],
      // A failed reboot of a guest that still runs returns it to active with a fault recorded.
      onFailure: { kind: 'revert', set: { vm_state: 'active', task_state: null } },
    }),
  },
  reboot_hard: {
    name: 'reboot_hard', rule: 'os_compute_api:servers:reboot', message_name: 'reboot', record: 'reboot', policy: 'member', lock: true,
    vm_states: ['active', 'stopped', 'paused', 'suspended', 'error'], task_states: HARD_REBOOT_TASK_STATES,
    launched: true, http: 202, replaces_task: true,
    plan: () => ({
      accept: { task_state: 'rebooting_hard' },
      steps: [
        { op: 'reboot_prepare', event: 'compute_reboot_instance', set: { task_state: 'reboot_pending_hard' } },
        { op: 'reboot_prepare', set: { task_state: 'reboot_started_hard' } },
        { op: 'reboot', set: { vm_state: 'active', task_state: null, power_state: P.RUNNING } },
      ],
      onFailure: ERROR,
    }),
  },
  rebuild: {
    name: 'rebuild', rule: 'os_compute_api:servers:rebuild', message_name: 'rebuild', record: 'rebuild', policy: 'member', lock: true,
    vm_states: ['active', 'stopped', 'error'], task_states: NULL_ONLY, launched: true, http: 202, replaces_task: true,
    plan: (s) => ({ accept: { task_state: 'rebuilding' }, steps: rebuildSteps(s, s.vm_state === 'stopped'), onFailure: ERROR }),
  },
  resize: {
    name: 'resize', rule: 'os_compute_api:servers:resize', message_name: 'resize', record: 'resize', policy: 'member', lock: true,
    vm_states: ['active', 'stopped'], task_states: NULL_ONLY, launched: true, http: 202, replaces_task: true,
    plan: (s) => ({
      accept: { task_state: 'resize_prep' },
      steps: resizeSteps(s, true),
      // A scheduling failure puts the server back as it was; compute failures set ERROR (see engine).
      onFailure: ERROR,
      migration: { type: 'resize', status: 'pre-migrating' },
    }),
  },
  confirmResize: {
    name: 'confirmResize', rule: 'os_compute_api:servers:confirm_resize', message_name: 'confirmResize', record: 'confirmResize', policy: 'member', lock: true,
    vm_states: ['resized'], task_states: NULL_ONLY, launched: true, http: 204, replaces_task: true,
    plan: (s) => ({
      accept: {},
      steps: [{
        op: 'confirm_resize', event: 'compute_confirm_resize', migration: 'confirmed',
        set: { vm_state: s.power_state === P.SHUTDOWN ? 'stopped' : 'active', task_state: null, old_flavor: null, new_flavor: null },
      }],
      onFailure: ERROR,
    }),
  },
  revertResize: {
    name: 'revertResize', rule: 'os_compute_api:servers:revert_resize', message_name: 'revertResize', record: 'revertResize', policy: 'member', lock: true,
    vm_states: ['resized'], task_states: NULL_ONLY, launched: true, http: 202, replaces_task: true,
    plan: (s) => {
      const wasStopped = s.system_metadata.old_vm_state === 'stopped';
      return {
        accept: { task_state: 'resize_reverting' },
        steps: [
          { op: 'revert_resize', event: 'compute_revert_resize', set: {}, migration: 'reverting', host: 'source' },
          {
            op: 'finish_revert', event: 'compute_finish_revert_resize', migration: 'reverted',
            set: {
              vm_state: wasStopped ? 'stopped' : 'active', task_state: null,
              power_state: wasStopped ? P.SHUTDOWN : P.RUNNING,
              ...(s.old_flavor ? { flavor: s.old_flavor } : {}), old_flavor: null, new_flavor: null,
            },
          },
        ],
        onFailure: ERROR,
      };
    },
  },
  start: {
    name: 'start', rule: 'os_compute_api:servers:start', message_name: 'start', record: 'start', policy: 'member', lock: true,
    vm_states: ['stopped'], task_states: NULL_ONLY, launched: true, http: 202, replaces_task: true,
    plan: simple('powering-on', 'power_on', 'compute_start_instance', { vm_state: 'active', power_state: P.RUNNING }),
  },
  stop: {
    name: 'stop', rule: 'os_compute_api:servers:stop', message_name: 'stop', record: 'stop', policy: 'member', lock: true,
    vm_states: ['active', 'error'], task_states: NULL_ONLY, launched: true, http: 202, replaces_task: true,
    plan: simple('powering-off', 'power_off', 'compute_stop_instance', { vm_state: 'stopped', power_state: P.SHUTDOWN }),
  },
  pause: {
    name: 'pause', rule: 'os_compute_api:os-pause-server:pause', message_name: 'pause', record: 'pause', policy: 'member', lock: true,
    vm_states: ['active'], task_states: NULL_ONLY, launched: true, http: 202, replaces_task: true,
    plan: simple('pausing', 'pause', 'compute_pause_instance', { vm_state: 'paused', power_state: P.PAUSED }),
  },
  unpause: {
    name: 'unpause', rule: 'os_compute_api:os-pause-server:unpause', message_name: 'unpause', record: 'unpause', policy: 'member', lock: true,
    vm_states: ['paused'], task_states: NULL_ONLY, launched: true, http: 202, replaces_task: true,
    plan: simple('unpausing', 'unpause', 'compute_unpause_instance', { vm_state: 'active', power_state: P.RUNNING }),
  },
  suspend: {
    name: 'suspend', rule: 'os_compute_api:os-suspend-server:suspend', message_name: 'suspend', record: 'suspend', policy: 'member', lock: true,
    vm_states: ['active'], task_states: NULL_ONLY, launched: true, http: 202, replaces_task: true,
    // libvirt's managed save leaves the domain shut off: power_state 4.
    plan: simple('suspending', 'suspend', 'compute_suspend_instance', { vm_state: 'suspended', power_state: P.SHUTDOWN }),
  },
  resume: {
    name: 'resume', rule: 'os_compute_api:os-suspend-server:resume', message_name: 'resume', record: 'resume', policy: 'member', lock: true,
    vm_states: ['suspended'], task_states: NULL_ONLY, launched: true, http: 202, replaces_task: true,
    plan: simple('resuming', 'resume', 'compute_resume_instance', { vm_state: 'active', power_state: P.RUNNING }),
  },
  lock: {
    name: 'lock', rule: 'os_compute_api:os-lock-server:lock', message_name: 'lock', record: 'lock', policy: 'member', lock: false,
    vm_states: ANY, task_states: ANY, launched: false, http: 202, replaces_task: false,
    instant_event: 'api_lock',
    plan: () => ({ accept: {}, steps: [], onFailure: ERROR }),
  },
  unlock: {
    name: 'unlock', rule: 'os_compute_api:os-lock-server:unlock', message_name: 'unlock', record: 'unlock', policy: 'member', lock: false,
    vm_states: ANY, task_states: ANY, launched: false, http: 202, replaces_task: false,
    instant_event: 'api_unlock',
    plan: () => ({ accept: { locked_by: null, locked_reason: null }, steps: [], onFailure: ERROR }),
  },
  rescue: {
    name: 'rescue', rule: 'os_compute_api:os-rescue', message_name: 'rescue', record: 'rescue', policy: 'member', lock: true,
    vm_states: ['active', 'stopped', 'error'], task_states: NULL_ONLY, launched: true, http: 200, replaces_task: true,
    plan: (s) => ({
      accept: { task_state: 'rescuing', system_metadata: { ...s.system_metadata, old_vm_state: s.vm_state } },
      steps: [{ op: 'rescue', event: 'compute_rescue_instance', set: { vm_state: 'rescued', task_state: null, power_state: P.RUNNING } }],
      onFailure: ERROR,
    }),
  },
  unrescue: {
    name: 'unrescue', rule: 'os_compute_api:os-unrescue', message_name: 'unrescue', record: 'unrescue', policy: 'member', lock: true,
    vm_states: ['rescued'], task_states: NULL_ONLY, launched: true, http: 202, replaces_task: true,
    plan: simple('unrescuing', 'unrescue', 'compute_unrescue_instance', { vm_state: 'active', power_state: P.RUNNING }, 'error'),
  },
  shelve: {
    name: 'shelve', rule: 'os_compute_api:os-shelve:shelve', message_name: 'shelve', record: 'shelve', policy: 'member', lock: true,
    vm_states: ['active', 'stopped', 'paused', 'suspended'], task_states: NULL_ONLY, launched: true, http: 202, replaces_task: true,
    plan: (s, input) => ({ accept: { task_state: 'shelving' }, steps: shelveSteps(s, input), onFailure: REVERT_TASK(s) }),
  },
  shelveOffload: {
    name: 'shelveOffload', rule: 'os_compute_api:os-shelve:shelve_offload', message_name: 'shelveOffload', record: 'shelveOffload', policy: 'admin', lock: true,
    vm_states: ['shelved'], task_states: NULL_ONLY, launched: true, http: 202, replaces_task: true,
    plan: (s) => ({
      accept: { task_state: 'shelving_offloading' },
      steps: [{ op: 'shelve_offload', event: 'compute_shelve_offload_instance', set: { vm_state: 'shelved_offloaded', task_state: null, power_state: P.SHUTDOWN }, host: 'none' }],
      onFailure: REVERT_TASK(s),
    }),
  },
  unshelve: {
    name: 'unshelve', rule: 'os_compute_api:os-shelve:unshelve', message_name: 'unshelve', record: 'unshelve', policy: 'member', lock: true,
    vm_states: ['shelved', 'shelved_offloaded'], task_states: NULL_ONLY, launched: true, http: 202, replaces_task: true,
    plan: (s) => {
      if (s.vm_state === 'shelved') {
        return {
          accept: { task_state: 'unshelving' },
          steps: [
            { op: 'power_on', event: 'compute_start_instance', set: { task_state: 'powering-on' } },
            { op: 'power_on', set: { vm_state: 'active', task_state: null, power_state: P.RUNNING } },
          ],
          onFailure: REVERT_TASK(s),
          after: 'delete_shelved_image',
        };
      }
      return {
        accept: { task_state: 'unshelving' },
        after: 'delete_shelved_image',
        steps: [
          { op: 'schedule', event: 'get_image_info', set: {} },
          { op: 'schedule', event: 'schedule_instances', set: {}, host: 'scheduled' },
          { op: 'unshelve_spawn', event: 'compute_unshelve_instance', set: { task_state: 'spawning' } },
          { op: 'unshelve_spawn', set: { vm_state: 'active', task_state: null, power_state: P.RUNNING } },
        ],
        // NoValidHost or a failed spawn: back to shelved_offloaded with its host cleared.
        onFailure: { kind: 'reverse_host', set: { vm_state: 'shelved_offloaded', task_state: null } },
      };
    },
  },
  migrate: {
    name: 'migrate', rule: 'os_compute_api:os-migrate-server:migrate', message_name: 'migrate', record: 'migrate', policy: 'manager', lock: true,
    vm_states: ['active', 'stopped'], task_states: NULL_ONLY, launched: true, http: 202, replaces_task: true,
    plan: (s) => ({
      accept: { task_state: 'resize_prep' },
      steps: resizeSteps(s, false),
      onFailure: ERROR,
      migration: { type: 'migration', status: 'pre-migrating' },
    }),
  },
  live_migrate: {
    name: 'live_migrate', rule: 'os_compute_api:os-migrate-server:migrate_live', message_name: 'os-migrateLive', record: 'live-migration', policy: 'manager', lock: true,
    vm_states: ['active', 'paused'], task_states: NULL_ONLY, launched: true, http: 202, replaces_task: true,
    plan: (s) => ({
      accept: { task_state: 'migrating' },
      steps: [
        { op: 'migrate_prepare', event: 'conductor_live_migrate_instance', set: {}, migration: 'running' },
        { op: 'live_migration', event: 'compute_live_migration', set: {}, migration: 'post-migrating' },
        { op: 'migrate_prepare', event: 'compute_post_live_migration_at_destination', set: { task_state: null }, host: 'target', migration: 'completed' },
      ],
      onFailure: { kind: 'revert', set: { vm_state: s.vm_state, task_state: null } },
      migration: { type: 'live-migration', status: 'preparing' },
    }),
  },
  evacuate: {
    name: 'evacuate', rule: 'os_compute_api:os-evacuate', message_name: 'evacuate', record: 'evacuate', policy: 'admin', lock: false,
    vm_states: ['active', 'stopped', 'error'], task_states: ANY, launched: true, http: 200, replaces_task: true,
    plan: (s, input) => ({
      accept: { task_state: 'rebuilding' },
      steps: rebuildSteps(s, evacuateEndsStopped(s, input.microversion)).map((st, i) => (i === 0 ? { ...st, host: 'target' as const, migration: 'done' as const } : st)),
      onFailure: ERROR,
      migration: { type: 'evacuation', status: 'accepted' },
      runs_on: 'target',
    }),
  },
  changePassword: {
    name: 'changePassword', rule: 'os_compute_api:os-admin-password', message_name: 'changePassword', record: 'changePassword', policy: 'member', lock: true,
    vm_states: ['active'], task_states: NULL_ONLY, launched: true, http: 202, replaces_task: true,
    plan: simple('updating_password', 'set_admin_password', 'compute_set_admin_password', {}),
  },
  createImage: {
    name: 'createImage', rule: 'os_compute_api:servers:create_image', message_name: 'createImage', record: 'createImage', policy: 'member', lock: false,
    vm_states: ['active', 'stopped', 'paused', 'suspended'], task_states: NULL_ONLY, launched: true, http: 202, replaces_task: true,
    plan: (s) => ({
      accept: { task_state: 'image_snapshot_pending' },
      steps: [
        { op: 'snapshot', event: 'compute_snapshot_instance', set: { task_state: 'image_snapshot' }, image: 'saving' },
        { op: 'snapshot', set: { task_state: 'image_pending_upload' } },
        { op: 'image_upload', set: { task_state: 'image_uploading' } },
        { op: 'image_upload', set: { task_state: null }, image: 'active' },
      ],
      onFailure: REVERT_TASK(s),
    }),
  },
  createBackup: {
    name: 'createBackup', rule: 'os_compute_api:os-create-backup', message_name: 'createBackup', record: 'createBackup', policy: 'member', lock: false,
    vm_states: ['active', 'stopped', 'paused', 'suspended'], task_states: NULL_ONLY, launched: true, http: 202, replaces_task: true,
    plan: (s) => ({
      accept: { task_state: 'image_backup' },
      steps: [
        { op: 'snapshot', event: 'compute_backup_instance', set: { task_state: 'image_pending_upload' }, image: 'saving' },
        { op: 'image_upload', set: { task_state: 'image_uploading' } },
        { op: 'image_upload', set: { task_state: null }, image: 'active' },
      ],
      onFailure: REVERT_TASK(s),
      after: 'rotate_backups',
    }),
  },
  resetState: {
    name: 'resetState', rule: 'os_compute_api:os-admin-actions:reset_state', message_name: 'os-resetState', record: 'resetState', policy: 'admin', lock: false,
    vm_states: ANY, task_states: ANY, launched: false, http: 202, replaces_task: true,
    plan: (_s, input) => ({ accept: { vm_state: input.params.state as VmState, task_state: null }, steps: [], onFailure: ERROR }),
  },
  trigger_crash_dump: {
    name: 'trigger_crash_dump', rule: 'os_compute_api:servers:trigger_crash_dump', message_name: 'trigger_crash_dump', record: 'trigger_crash_dump', policy: 'member', lock: true,
    vm_states: ['active', 'paused', 'rescued', 'resized', 'error'], task_states: NULL_ONLY, launched: true, http: 202, replaces_task: false,
    instant_event: 'compute_trigger_crash_dump',
    plan: () => ({ accept: {}, steps: [], onFailure: ERROR }),
  },
  // Internal: Nova's power-state sync stops an active server whose guest is no longer running.
  power_sync_stop: {
    name: 'power_sync_stop', rule: 'os_compute_api:servers:stop', message_name: 'stop', record: 'stop', policy: 'admin', lock: false,
    vm_states: ['active', 'paused'], task_states: NULL_ONLY, launched: false, http: 202, replaces_task: false,
    plan: simple('powering-off', 'power_off', 'compute_stop_instance', { vm_state: 'stopped', power_state: P.SHUTDOWN }),
  },
  // Internal: the reclaim of soft-deleted servers runs as the second step of delete; this row
  // exists so that the table names every path a server can take.
  reclaim: {
    name: 'reclaim', rule: 'os_compute_api:servers:delete', message_name: 'delete', record: 'delete', policy: 'admin', lock: false,
    vm_states: ['soft-delete'], task_states: NULL_ONLY, launched: false, http: 204, replaces_task: true,
    plan: () => ({ accept: { task_state: 'deleting' }, steps: [{ op: 'terminate', event: 'compute_terminate_instance', ...hardDeleted() }], onFailure: ERROR }),
  },
};

function hardDeleted(): { set: ServerPatch; stamp: Stamp[]; host: 'none' } {
  return {
    set: { vm_state: 'deleted', task_state: null, power_state: P.NOSTATE, deleted: true },
    stamp: ['terminated_at', 'deleted_at'],
    host: 'none',
  };
}

/** Actions a client can ask for (the internal rows are driven by the engine itself). */
export const PUBLIC_ACTIONS: ActionName[] = (Object.keys(ACTIONS) as ActionName[]).filter(
  (a) => a !== 'power_sync_stop' && a !== 'reclaim',
);

export interface StateCheckFailure {
  attr: 'vm_state' | 'task_state' | 'launched_at';
  value: string;
}

/** Nova's check_instance_state: vm_state, then task_state, then launched_at; first failure wins. */
export function checkState(rule: ActionRule, s: Pick<ServerRecord, 'vm_state' | 'task_state' | 'launched_at'>): StateCheckFailure | null {
  if (rule.vm_states !== 'any' && !rule.vm_states.includes(s.vm_state)) return { attr: 'vm_state', value: s.vm_state };
  if (rule.task_states !== 'any' && !rule.task_states.includes(s.task_state)) return { attr: 'task_state', value: s.task_state ?? 'None' };
  if (rule.launched && s.launched_at === null) return { attr: 'launched_at', value: 'None' };
  return null;
}

export function stateConflictMessage(rule: ActionRule, uuid: string, f: StateCheckFailure): string {
  return `Cannot '${rule.message_name}' instance ${uuid} while it is in ${f.attr} ${f.value}`;
}
