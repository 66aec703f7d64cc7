// Start-up recovery of servers caught mid-action, following Nova's ComputeManager._init_instance
// (reference §8) where Nova has a rule; every other task resumes from its last persisted step,
// so no server is left stuck in a transitional state.
import { ACTIONS } from '../domain/actions.ts';
import type { ServerPatch, ServerRecord } from '../domain/server.ts';
import { POWER_STATE, type TaskState } from '../domain/states.ts';
import type { Config } from '../config.ts';
import type { VirtDriver } from '../drivers/driver.ts';
import type { ImagePort } from '../api/ports.ts';
import type { ComputeStore, TaskRow } from '../store/store.ts';
import type { Clock } from './clock.ts';
import { planInput, stepWait } from './plans.ts';

/** What recovery uses of the engine: the store, the clock, the durations of the driver's steps, the plan's settings, the image service. */
export interface RecoveryContext {
  readonly store: ComputeStore;
  readonly clock: Clock;
  readonly driver: Pick<VirtDriver, 'duration'>;
  readonly config: Pick<Config, 'reclaim_instance_interval' | 'shelved_offload_time'>;
  readonly images: Pick<ImagePort, 'deleteImage'>;
}

const BUILD_TASKS: (TaskState | null)[] = ['scheduling', 'block_device_mapping', 'networking', 'spawning'];
const REBUILD_TASKS: (TaskState | null)[] = ['rebuilding', 'rebuild_block_device_mapping', 'rebuild_spawning'];
const SNAPSHOT_TASKS: (TaskState | null)[] = ['image_snapshot_pending', 'image_snapshot', 'image_pending_upload', 'image_uploading'];
const SOFT_REBOOT_TASKS: (TaskState | null)[] = ['rebooting', 'reboot_pending', 'reboot_started'];
const REBOOT_TASKS: (TaskState | null)[] = ['rebooting', 'rebooting_hard', 'reboot_started', 'reboot_started_hard'];
const CLEAR_IF_RUNNING: (TaskState | null)[] = ['reboot_started', 'reboot_started_hard', 'rebooting_hard', 'rebooting', 'pausing', 'unpausing'];

export type Recovery =
  | { kind: 'resume' }
  | { kind: 'settle'; patch: ServerPatch; result: 'Error' | 'Success' }
  | { kind: 'reboot'; hard: boolean };

/** The pure decision: what Nova's compute does on start-up with a server in this state. */
export function recoveryFor(s: Pick<ServerRecord, 'vm_state' | 'task_state' | 'power_state' | 'system_metadata'>): Recovery {
  const { vm_state: vm, task_state: task, power_state: power } = s;
  if (vm === 'soft-delete' || (vm === 'error' && task !== 'resize_migrating' && task !== 'deleting')) return { kind: 'resume' };
  if (vm === 'building' || BUILD_TASKS.includes(task)) return { kind: 'settle', patch: { vm_state: 'error', task_state: null }, result: 'Error' };
  if ((vm === 'active' || vm === 'stopped') && REBUILD_TASKS.includes(task)) return { kind: 'settle', patch: { vm_state: 'error', task_state: null }, result: 'Error' };
  if (SNAPSHOT_TASKS.includes(task)) return { kind: 'settle', patch: { task_state: null }, result: 'Error' };
  if (task === 'resize_prep') return { kind: 'settle', patch: { task_state: null }, result: 'Error' };
  if (task === 'deleting') return { kind: 'resume' };
  const hardList = (ACTIONS.reboot_hard.vm_states as readonly string[]);
  if ((task === 'reboot_pending' && vm === 'active') || (task === 'reboot_pending_hard' && hardList.includes(vm)) || (REBOOT_TASKS.includes(task) && power !== POWER_STATE.RUNNING)) {
    const soft = power === POWER_STATE.RUNNING && SOFT_REBOOT_TASKS.includes(task);
    return { kind: 'reboot', hard: !soft };
  }
  if (power === POWER_STATE.RUNNING && CLEAR_IF_RUNNING.includes(task)) return { kind: 'settle', patch: { vm_state: 'active', task_state: null }, result: 'Success' };
  if (task === 'resize_migrating') {
    const stopped = s.system_metadata.old_vm_state === 'stopped';
    return { kind: 'settle', patch: { task_state: null, power_state: stopped ? POWER_STATE.SHUTDOWN : POWER_STATE.RUNNING, new_flavor: null }, result: 'Error' };
  }
  if (task === 'migrating') return { kind: 'settle', patch: { task_state: null }, result: 'Error' };
  // powering-on/off, unpausing and every state Nova would leave stuck: carry on where it stopped.
  return { kind: 'resume' };
}

/** A task no live process holds: free, or its holder's lease expired (or was released). */
export function orphaned(t: TaskRow, wallNow: number): boolean {
  return !t.owner || (t.lease_until ?? 0) <= wallNow;
}

/** What start-up found: tasks left in flight, and how many resumed, were rebooted again, or ended (as Error or Success). */
export interface RecoverySummary { tasks: number; resumed: number; rebooted: number; error: number; success: number }

type Outcome = 'resume' | 'reboot' | 'Error' | 'Success' | 'skipped';

export async function recoverAll(engine: RecoveryContext): Promise<RecoverySummary> {
  const tasks = (await engine.store.allTasks()).filter((t) => orphaned(t, Date.now()));
  const summary: RecoverySummary = { tasks: 0, resumed: 0, rebooted: 0, error: 0, success: 0 };
  for (const t of tasks) {
    const r = await recoverOne(engine, t);
    if (r === 'skipped') continue;
    summary.tasks++;
    if (r === 'reboot') summary.rebooted++;
    else if (r === 'Error') summary.error++;
    else if (r === 'Success') summary.success++;
    else summary.resumed++;
  }
  return summary;
}

async function recoverOne(engine: RecoveryContext, t: TaskRow): Promise<Outcome> {
  let image: string | undefined;
  const outcome = await engine.store.transaction(async (tx): Promise<Outcome> => {
    // Another process may have taken the task over since it was listed.
    // The server is locked before its task is read, as every writer of a task does.
    const s = await tx.getServerById(t.server_id);
    const cur = await tx.getTask(t.server_id);
    if (!cur || cur.owner !== t.owner || !orphaned(cur, Date.now())) return 'skipped';
    if (!s) {
      await tx.deleteTask(t.server_id);
      return 'skipped';
    }
    const r = recoveryFor(s);
    const now = engine.clock.now();
    if (r.kind === 'resume') return 'resume';
    if (r.kind === 'reboot') {
      const rule = r.hard ? ACTIONS.reboot_hard : ACTIONS.reboot_soft;
      const plan = rule.plan(s, planInput(engine.config, [2, 1], {}));
      // A soft state that must become hard is first moved to reboot_pending_hard.
      const skip = r.hard ? 1 : 0;
      const steps = plan.steps.slice(skip);
      const pending = r.hard ? 'reboot_pending_hard' : 'rebooting';
      await tx.updateServer(s.id, { task_state: pending }, now, [s.task_state]);
      // The rewritten plan starts from the state just written, which its first step's save expects.
      await tx.putTask({ ...t, action: rule.name, step: 0, plan: { ...plan, accept: { ...plan.accept, task_state: pending }, steps }, context: { ...t.context, event_id: t.context.event_id }, due_at: now + stepWait(engine.driver, { ...plan, steps }, 0, rule.name) });
      return 'reboot';
    }
    await tx.updateServer(s.id, r.patch, now, [s.task_state]);
    if (t.context.event_id) await tx.finishEvent(t.context.event_id, now, r.result, r.result === 'Error' ? 'Interrupted by a restart of the compute service' : null);
    if (t.action_id !== null) await tx.finishAction(t.action_id, now, r.result === 'Error' ? 'Error' : null);
    if (t.context.migration_id) await tx.updateMigration(t.context.migration_id, 'error', now);
    await tx.deleteTask(s.id);
    image = t.context.image_id;
    return r.result;
  });
  if (image) await engine.images.deleteImage(image).catch(() => undefined);
  return outcome;
}
