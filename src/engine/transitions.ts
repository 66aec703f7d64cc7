// Durable timers: due steps of accepted tasks are fired in order, each exactly once. A step's
// work is done by the driver, then its state change, events and the next timer are written in one
// transaction guarded by the task's (action, step): a replaced or cancelled task's step is dropped.
import { encryptedGuestPassword } from './guest-password.ts';
import { SqlPasswordRepository } from '../store/compute/passwords.ts';
import { ACTIONS, type ActionName, type Step } from '../domain/actions.ts';
import type { ServerPatch, ServerRecord } from '../domain/server.ts';
import { DriverFault } from '../drivers/driver.ts';
import type { VirtDriver } from '../drivers/driver.ts';
import type { ImagePort } from '../api/ports.ts';
import type { ComputeStore, ComputeTx, TaskRow } from '../store/store.ts';
import type { Clock } from './clock.ts';
import { DueTimer } from './due-timer.ts';
import { expectedTaskState, stepWait } from './plans.ts';
import type { Scheduling } from './scheduling.ts';

/** What the transitions use of the engine: the store, the driver, the clock, the image service and where hosts are. */
export interface TransitionsContext {
  readonly store: ComputeStore;
  readonly driver: VirtDriver;
  readonly clock: Clock;
  readonly images: ImagePort;
  readonly scheduling: Pick<Scheduling, 'isUp' | 'pickHost'>;
}

/** Due steps claimed at once. */
const BATCH = 32;
/**
 * The runner yields to the event loop once it has run steps for this long (ms), so requests are
 * answered during a burst of work; a few steps (one build, one action) still run in one go.
 */
const SLICE_MS = 8;

/** A task whose next step this process runs at once, with its server as the last step wrote it. */
interface Chained {
  task: TaskRow;
  server?: ServerRecord;
}

/** The task row is still the step claimed: same action and step, and no other process took it over. */
const sameTask = (cur: TaskRow, t: TaskRow) =>
  cur.step === t.step && cur.action_id === t.action_id && cur.action === t.action && (cur.owner ?? null) === (t.owner ?? null);

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export class Transitions {
  private readonly due: DueTimer;

  constructor(private readonly engine: TransitionsContext) {
    this.due = new DueTimer({ clock: engine.clock, nextDueAt: () => this.engine.store.nextDueAt(), runDue: () => this.runDue(), skipsLocked: engine.store.sql.dialect === 'postgres' });
  }

  start(): void {
    this.due.start();
  }

  async stop(): Promise<void> {
    await this.due.stop();
  }

  /** Something changed: (re)arm the timer for the earliest due step. */
  kick(): void {
    this.due.kick();
  }

  /**
   * Apply every step due now, in bounded batches that yield to the event loop; returns how many were
   * applied. A task whose next step is due at once (instant timings) goes on in the same batch with
   * the task and server as its last step wrote them: no claim and no read between its steps, since
   * this process holds its lease and the write re-reads both under the unit of work.
   */
  async runDue(): Promise<number> {
    let applied = 0;
    let slice = performance.now();
    for (;;) {
      const due: Chained[] = (await this.engine.store.claimDueTasks(this.engine.clock.now(), BATCH)).map((task) => ({ task }));
      if (due.length === 0) return applied;
      // A short batch was all that was due: no claim that would find nothing afterwards (a step that
      // falls due meanwhile kicks the timer, which runs again after this run and re-arms).
      const last = due.length < BATCH;
      for (let i = 0; i < due.length; i++) {
        const next = await this.runStep(due[i].task, due[i].server);
        applied++;
        if (next) due.push(next);
        if (performance.now() - slice > SLICE_MS) {
          await yieldToEventLoop();
          slice = performance.now();
        }
      }
      if (last) return applied;
    }
  }

  /** Apply the single earliest due step, if any (tests observe every intermediate state). */
  async runOne(): Promise<boolean> {
    const [t] = await this.engine.store.claimDueTasks(this.engine.clock.now(), 1);
    if (!t) return false;
    await this.runStep(t);
    return true;
  }

  /** Run due steps until none is due at the current time (instant mode and tests). */
  async settle(): Promise<void> {
    await this.due.settle();
  }

  /**
   * Runs one step: the driver's work on the server as last committed (`known`: as this process's
   * previous step of the task wrote it), then one unit of work that re-reads the server and the task,
   * and writes the step only while the task is still the one claimed. Returns the task's next step
   * when it is due already, with the server as written.
   */
  private async runStep(t: TaskRow, known?: ServerRecord): Promise<Chained | undefined> {
    const { engine } = this;
    const step = t.plan.steps[t.step];
    const server = known ?? (await engine.store.getServerById(t.server_id));
    if (!server || !step) {
      await engine.store.transaction(async (tx) => {
        const cur = await tx.getTask(t.server_id);
        if (cur && sameTask(cur, t)) await tx.deleteTask(t.server_id);
      });
      return;
    }
    // A cast to a compute service that is down waits in the queue until the service is back: the
    // task is parked for that host and woken when the host comes up (engine.setHost, the lease beat).
    const worker = t.plan.runs_on === 'target' ? t.context.target_host ?? null : server.host;
    if (worker && step.host !== 'scheduled' && !(await engine.scheduling.isUp(worker))) {
      await engine.store.transaction(async (tx) => {
        if ((await this.claimed(tx, t)).task) await tx.parkTask(t.server_id, worker);
      });
      return;
    }
    let fault: DriverFault | null = null;
    let host: string | null | undefined;
    try {
      // A scheduled host is chosen in the unit of work that writes it (below): the claim on its usage holds until commit.
      if (step.host !== 'scheduled') host = await this.resolveHost(t, step, server);
      await engine.driver.perform(step.op, t.action, server);
    } catch (e) {
      fault = e instanceof DriverFault ? e : new DriverFault(e instanceof Error ? e.message : String(e));
    }
    const imageStatus: { id: string; status: 'saving' | 'active' | 'delete' }[] = [];
    let finished: { task: TaskRow; server: ServerRecord } | undefined;
    let chained: Chained | undefined;
    await engine.store.transaction(async (tx) => {
      const claimed = await this.claimed(tx, t);
      if (!claimed.task) return; // replaced, cancelled, or taken over by another process
      if (!claimed.server) {
        await tx.deleteTask(t.server_id); // its server is gone
        return;
      }
      const { task: cur, server: s } = claimed;
      const now = engine.clock.now();
      const expected = expectedTaskState(cur.plan, cur.step);
      if (expected !== undefined && s.task_state !== expected) {
        // Something changed the server's task state without replacing its task (Nova's
        // UnexpectedTaskStateError in the compute manager): the task ends, the server stays as it is.
        if (!cur.context.event_id && step.event && cur.action_id !== null) cur.context.event_id = await tx.startEvent(cur.action_id, step.event, now, s.host);
        await endTask(tx, cur, now, `Unexpected task state: expecting ${expected ?? 'None'} but the actual state is ${s.task_state ?? 'None'}`);
        if (cur.context.image_id) imageStatus.push({ id: cur.context.image_id, status: 'delete' });
        return;
      }
      const save = async (patch: ServerPatch) => {
        if (!(await tx.updateServer(s.id, patch, now, expected === undefined ? undefined : [expected]))) throw new Error(`server ${s.uuid} changed under its lock`);
      };
      if (!fault && step.host === 'scheduled') {
        try {
          host = await this.resolveHost(cur, step, s, tx);
        } catch (e) {
          fault = e instanceof DriverFault ? e : new DriverFault(e instanceof Error ? e.message : String(e));
        }
      }
      if (fault) {
        await this.fail(tx, cur, s, step, fault, now, save);
        if (cur.context.image_id) imageStatus.push({ id: cur.context.image_id, status: 'delete' });
        return;
      }
      const ctx = cur.context;
      // An event spans its steps: it began when its first step began (the first step's when the
      // action was accepted) and ends when the next event's step begins, or with the action.
      if (step.event && cur.step === 0 && !ctx.event_id && cur.action_id !== null) {
        ctx.event_id = await tx.startEvent(cur.action_id, step.event, Math.min(now, cur.due_at - stepWait(engine.driver, cur.plan, 0, cur.action)), s.host);
      }
      const patch: ServerPatch = { ...step.set };
      for (const k of step.stamp ?? []) patch[k] = now;
      if (host !== undefined) {
        patch.host = host;
        patch.node = host;
      }
      if (step.migration && ctx.migration_id) await tx.updateMigration(ctx.migration_id, step.migration, now);
      if (step.image && ctx.image_id) imageStatus.push({ id: ctx.image_id, status: step.image });
      await save(patch);
      const next = cur.step + 1;
      if (next < cur.plan.steps.length) {
        const nextStep = cur.plan.steps[next];
        let action_id = cur.action_id;
        if (nextStep.background) {
          // What follows is Nova's periodic work (reclaim, shelved offload), no part of the action:
          // the action ends here, and a later action (restore, unshelve) finds nothing to supersede.
          if (ctx.event_id) await tx.finishEvent(ctx.event_id, now, 'Success');
          if (action_id !== null) await tx.finishAction(action_id, now, null);
          ctx.event_id = null;
          action_id = null;
        } else if (nextStep.event) {
          if (ctx.event_id) await tx.finishEvent(ctx.event_id, now, 'Success');
          ctx.event_id = action_id !== null ? await tx.startEvent(action_id, nextStep.event, now, host ?? s.host) : null;
        }
        const task: TaskRow = { ...cur, action_id, step: next, context: ctx, due_at: Math.min(cur.due_at, now) + stepWait(engine.driver, cur.plan, next, cur.action) };
        await tx.putTask(task);
        if (task.due_at <= now) chained = { task: { ...task, owner: engine.store.lease.owner, parked_host: null }, server: { ...s, ...patch } as ServerRecord };
        return;
      }
      await tx.deleteTask(s.id);
      if (ctx.event_id) await tx.finishEvent(ctx.event_id, now, 'Success');
      if (cur.action_id !== null) await tx.finishAction(cur.action_id, now, null);
      finished = { task: cur, server: s };
    });
    if (finished) await this.afterSuccess(finished.task, finished.server, imageStatus);
    for (const u of imageStatus) {
      if (u.status === 'delete') await engine.images.deleteImage(u.id).catch(() => undefined);
      else await engine.images.setStatus(u.id, u.status).catch(() => undefined);
    }
    return chained;
  }

  /**
   * The server, locked, and its task if that is still the one claimed: same action and step, and
   * no other process took it over meanwhile (its lease would have expired). The server is locked
   * before the task is read, as every writer of a task does, so a task replaced by an action
   * committing meanwhile is seen replaced, never read stale.
   */
  private async claimed(tx: ComputeTx, t: TaskRow): Promise<{ task?: TaskRow; server?: ServerRecord }> {
    const server = await tx.getServerById(t.server_id);
    const cur = await tx.getTask(t.server_id);
    return cur && sameTask(cur, t) ? { task: cur, server } : {};
  }

  /** Where the server lives after a step that moves it; undefined when the step does not. */
  private async resolveHost(t: TaskRow, step: Step, s: ServerRecord, tx?: ComputeTx): Promise<string | null | undefined> {
    switch (step.host) {
      case undefined:
        return undefined;
      case 'none':
        return null;
      case 'source':
        return t.context.source_host ?? s.host;
      case 'target':
      case 'scheduled': {
        const requested = t.context.target_host ?? null;
        if (step.host === 'target') {
          if (!requested) throw new DriverFault('No valid host was found. There are not enough hosts available.');
          return requested;
        }
        const zone = (t.context.params?.zone as string | null | undefined) ?? null;
        const host = await this.engine.scheduling.pickHost({ zone, requested, server: s }, tx);
        if (!host) throw new DriverFault('No valid host was found. There are not enough hosts available.');
        return host;
      }
    }
  }

  /** Nova's error handling per action: ERROR with a fault, or back to a stable state. */
  private async fail(tx: ComputeTx, t: TaskRow, s: ServerRecord, step: Step, fault: DriverFault, now: number, save: (p: ServerPatch) => Promise<void>): Promise<void> {
    const plan = t.plan;
    let patch: ServerPatch;
    const rule = ACTIONS[t.action as ActionName];
    const onFailure = step.onFailure ?? plan.onFailure;
    if (onFailure.kind === 'error') {
      patch = { vm_state: 'error', task_state: null };
    } else if (onFailure.kind === 'reverse_host') {
      patch = { ...onFailure.set, host: null, node: null };
    } else {
      patch = { ...onFailure.set };
    }
    await save(patch);
    await tx.insertFault({
      server_uuid: s.uuid, code: fault.code, message: fault.message.slice(0, 255),
      details: fault.code === 500 ? `Traceback (most recent call last):\n  novabox simulated driver, ${rule?.name ?? t.action}/${step.op}\n${fault.message}` : null,
      host: s.host, created_at: now,
    });
    const ctx = t.context;
    if (t.action_id !== null) {
      const ev = ctx.event_id ?? (step.event ? await tx.startEvent(t.action_id, step.event, now, s.host) : null);
      if (ev) await tx.finishEvent(ev, now, 'Error', fault.message, fault.code === 500 ? 'simulated driver fault' : null);
      await tx.finishAction(t.action_id, now, 'Error');
    }
    if (ctx.migration_id) await tx.updateMigration(ctx.migration_id, 'error', now);
    await tx.deleteTask(s.id);
  }

  /** Side effects of a finished action beyond the server row (images it made or used). */
  private async afterSuccess(t: TaskRow, s: ServerRecord, imageStatus: { id: string; status: 'saving' | 'active' | 'delete' }[]): Promise<void> {
    const { engine } = this;
    // A guest booted with an RSA key posts its encrypted password to the metadata service.
    if (t.action === 'create') {
      const blob = encryptedGuestPassword(s.key_data);
      if (blob) await new SqlPasswordRepository(engine.store.sql).set(s.uuid, blob);
    }
    if (t.plan.after === 'delete_shelved_image' && s.system_metadata.shelved_image_id) {
      imageStatus.push({ id: s.system_metadata.shelved_image_id, status: 'delete' });
    }
    if (t.plan.after === 'rotate_backups') {
      const rotation = Number(t.context.params?.rotation ?? 0);
      const backups = await engine.images.findByProperties(s.project_id, { instance_uuid: s.uuid, image_type: 'backup', backup_type: String(t.context.params?.backup_type) });
      const live = backups.filter((b) => b.status !== 'deleted').sort((a, b) => b.created_at - a.created_at);
      for (const old of live.slice(rotation)) if (old.id !== t.context.image_id || rotation === 0) imageStatus.push({ id: old.id, status: 'delete' });
    }
  }
}

/**
 * A task ends without finishing (replaced by a new action, or its server changed under it): its
 * open event and its action finish as failed, its migration is in error, and the task is gone.
 */
export async function endTask(tx: ComputeTx, t: TaskRow, now: number, details: string): Promise<void> {
  if (t.context.event_id) await tx.finishEvent(t.context.event_id, now, 'Error', details);
  if (t.action_id !== null) await tx.finishAction(t.action_id, now, 'Error');
  if (t.context.migration_id) await tx.updateMigration(t.context.migration_id, 'error', now);
  await tx.deleteTask(t.server_id);
}
