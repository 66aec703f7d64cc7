// Durable, leased timers for volume and snapshot steps (the pattern of ./transitions.ts, on the
// volume_tasks table): a due task is leased to this process, the block driver does the step's work,
// then the step's status change and the next step's timer commit together, guarded by the task's
// (action, step) so a replaced task's step is dropped. A restart resumes every task where its last
// committed step left it; another replica takes a task over once its lease has expired.
import { randomUUID } from 'node:crypto';
import type { BlockOp } from '../domain/volume/actions.ts';
import type { VolumeTask } from '../store/volume/repository.ts';
import type { VolumeEngine } from './volume.ts';
import { DueTimer } from './due-timer.ts';

const BATCH = 100;
/** How long a claimed step stays ours before another process may take it (ms). */
const LEASE_MS = 30_000;

export class VolumeTimers {
  readonly owner = `volume-${randomUUID()}`;
  private readonly due: DueTimer;

  constructor(private readonly engine: VolumeEngine) {
    this.due = new DueTimer({
      clock: engine.clock,
      nextDueAt: () => this.engine.store.nextDueAt(this.engine.sql),
      runDue: () => this.runDue(),
      // A failed batch (database closed at shutdown) leaves its tasks to the next start.
      onError: () => undefined,
    });
  }

  async start(): Promise<void> {
    // One process owns an SQLite file: leases left by a dead predecessor are released at once.
    if (this.engine.sql.dialect === 'sqlite') await this.engine.sql.run('UPDATE volume_tasks SET locked_by = NULL, locked_until = NULL');
    this.due.start();
  }

  async stop(): Promise<void> {
    await this.due.stop();
  }

  /** Something changed: (re)arm the timer for the earliest due step. */
  kick(): void {
    this.due.kick();
  }

  private claim(limit: number): Promise<VolumeTask[]> {
    const now = this.engine.clock.now();
    return this.engine.sql.transaction((tx) => this.engine.store.claimDue(tx, now, this.owner, now + LEASE_MS, limit));
  }

  /** Apply every step due now; returns how many were applied. */
  async runDue(): Promise<number> {
    let applied = 0;
    for (;;) {
      if (this.due.isStopped && applied > 0) return applied;
      const due = await this.claim(BATCH);
      if (due.length === 0) return applied;
      for (const t of due) {
        await this.runStep(t);
        applied++;
      }
    }
  }

  /** Apply the single earliest due step, if any (tests observe every intermediate status). */
  async runOne(): Promise<boolean> {
    const [t] = await this.claim(1);
    if (!t) return false;
    await this.runStep(t);
    return true;
  }

  /** Run due steps until none is due at the current time. */
  async settle(): Promise<void> {
    await this.due.settle();
  }

  private async runStep(t: VolumeTask): Promise<void> {
    const { engine } = this;
    const step = t.plan.steps[t.step];
    let fault: Error | null = null;
    if (step) {
      try {
        await engine.driver.perform(step.op as BlockOp, t.action, t.resource_id);
      } catch (e) {
        fault = e as Error;
      }
    }
    const after = await engine.sql.transaction(async (tx) => {
      const cur = await engine.store.getTask(tx, t.resource_id);
      if (!cur || cur.step !== t.step || cur.action !== t.action) return undefined;
      const r = await engine.applyStep(tx, cur, fault);
      if (r.next) {
        const next = cur.plan.steps[cur.step + 1];
        await engine.store.putTask(tx, { ...cur, step: cur.step + 1, due_at: engine.clock.now() + engine.driver.duration(next.op as BlockOp), locked_by: null, locked_until: null });
      } else {
        await engine.store.deleteTask(tx, cur.resource_id);
      }
      return r.after;
    });
    if (after) await after().catch(() => undefined);
  }
}
