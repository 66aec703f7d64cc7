// Durable timers: due steps of accepted tasks are fired in order, each exactly once. A step's
// work is done by the driver, then its state change, events and the next timer are written in one
// transaction guarded by the task's (action, step): a replaced or cancelled task's step is dropped.
import { encryptedGuestPassword } from './guest-password.ts';
import { SqlPasswordRepository } from '../store/compute/passwords.ts';
import { ACTIONS, type ActionName, type Step } from '../domain/actions.ts';
import type { ServerPatch, ServerRecord } from '../domain/server.ts';
import { DriverFault } from '../drivers/driver.ts';
import type { ComputeTx, TaskRow } from '../store/store.ts';
import type { ComputeEngine } from './compute.ts';
import { DueTimer } from './due-timer.ts';

/** Due steps claimed at once. */
const BATCH = 32;
/**
 * The runner yields to the event loop once it has run steps for this long (ms), so requests are
 * answered during a burst of work; a few steps (one build, one action) still run in one go.
 */
const SLICE_MS = 8;

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export class Transitions {
  private readonly due: DueTimer;

  constructor(private readonly engine: ComputeEngine) {
    this.due = new DueTimer({ clock: engine.clock, nextDueAt: () => this.engine.store.nextDueAt(), runDue: () => this.runDue() });
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

  /** Apply every step due now, in bounded batches that yield to the event loop; returns how many were applied. */
  async runDue(): Promise<number> {
    let applied = 0;
    let slice = performance.now();
    for (;;) {
      const due = await this.engine.store.claimDueTasks(this.engine.clock.now(), BATCH);
      if (due.length === 0) return applied;
      for (const t of due) {
        await this.runStep(t);
        applied++;
        if (performance.now() - slice > SLICE_MS) {
          await yieldToEventLoop();
          slice = performance.now();
        }
      }
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
    await this.due.idle();
    for (let i = 0; i < 10000; i++) {
      if ((await this.runDue()) === 0) break;
    }
  }

  private async runStep(t: TaskRow): Promise<void> {
    const { engine } = this;
    const step = t.plan.steps[t.step];
    const server = await engine.store.transaction((tx) => tx.getServerById(t.server_id));
    if (!server || !step) {
      await engine.store.transaction(async (tx) => tx.deleteTask(t.server_id));
      return;
    }
    // A cast to a compute service that is down waits in the queue until the service is back: the
    // task is parked for that host and woken when the host comes up (engine.setHost, the lease beat).
    const worker = t.plan.runs_on === 'target' ? t.context.target_host ?? null : server.host;
    if (worker && step.host !== 'scheduled' && !(await engine.hostIsUp(worker))) {
      await engine.store.transaction(async (tx) => {
        const cur = await tx.getTask(t.server_id);
        if (cur && this.sameClaim(cur, t)) await tx.parkTask(t.server_id, worker);
      });
      return;
    }
    let fault: DriverFault | null = null;
    let host: string | null | undefined;
    try {
      host = await this.resolveHost(t, step, server);
      await engine.driver.perform(step.op, t.action, server);
    } catch (e) {
      fault = e instanceof DriverFault ? e : new DriverFault(e instanceof Error ? e.message : String(e));
    }
    const imageStatus: { id: string; status: 'saving' | 'active' | 'delete' }[] = [];
    let finished: { task: TaskRow; server: ServerRecord } | undefined;
    await engine.store.transaction(async (tx) => {
      const cur = await tx.getTask(t.server_id);
      if (!cur || !this.sameClaim(cur, t)) return; // replaced, cancelled, or taken over by another process
      const s = (await tx.getServerById(t.server_id))!;
      const now = engine.clock.now();
      if (fault) {
        await this.fail(tx, cur, s, step, fault, now);
        if (cur.context.image_id) imageStatus.push({ id: cur.context.image_id, status: 'delete' });
        return;
      }
      const ctx = cur.context;
      // An event spans its steps: it began when its first step began (the first step's when the
      // action was accepted) and ends when the next event's step begins, or with the action.
      if (step.event && cur.step === 0 && !ctx.event_id && cur.action_id !== null) {
        ctx.event_id = await tx.startEvent(cur.action_id, step.event, Math.min(now, cur.due_at - engine.stepWait(cur.plan, 0, cur.action)), s.host);
      }
      const patch: ServerPatch = { ...step.set };
      for (const k of step.stamp ?? []) patch[k] = now;
      if (host !== undefined) {
        patch.host = host;
        patch.node = host;
      }
      if (step.migration && ctx.migration_id) await tx.updateMigration(ctx.migration_id, step.migration, now);
      if (step.image && ctx.image_id) imageStatus.push({ id: ctx.image_id, status: step.image });
      await tx.updateServer(s.id, patch, now);
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
        await tx.putTask({ ...cur, action_id, step: next, context: ctx, due_at: Math.min(cur.due_at, now) + engine.stepWait(cur.plan, next, cur.action) });
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
  }

  /**
   * The task is still the one claimed: same action and step (Nova's expected_task_state), and no
   * other process took it over meanwhile (its lease would have expired).
   */
  private sameClaim(cur: TaskRow, t: TaskRow): boolean {
    return cur.step === t.step && cur.action_id === t.action_id && cur.action === t.action && (cur.owner ?? null) === (t.owner ?? null);
  }

  /** Where the server lives after a step that moves it; undefined when the step does not. */
  private async resolveHost(t: TaskRow, step: Step, s: ServerRecord): Promise<string | null | undefined> {
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
        const host = await this.engine.pickHost({ zone, requested, server: s });
        if (!host) throw new DriverFault('No valid host was found. There are not enough hosts available.');
        return host;
      }
    }
  }

  /** Nova's error handling per action: ERROR with a fault, or back to a stable state. */
  private async fail(tx: ComputeTx, t: TaskRow, s: ServerRecord, step: Step, fault: DriverFault, now: number): Promise<void> {
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
    await tx.updateServer(s.id, patch, now);
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
