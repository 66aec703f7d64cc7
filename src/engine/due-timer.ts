// One clock timer armed for the earliest due step of a durable task table, shared by the server
// transitions and the volume timers: `kick` after any change re-arms it, a firing runs every due
// step (again while kicks arrive meanwhile), then re-arms for the next one.
import type { Clock } from './clock.ts';

export interface DueTimerSource {
  clock: Clock;
  /** The earliest due time of any task, or null when none is waiting. */
  nextDueAt(): Promise<number | null>;
  /** Runs the steps due now; says how many it applied. */
  runDue(): Promise<number>;
  /**
   * Claims skip rows other statements hold (PostgreSQL's SKIP LOCKED): settle looks again when a pass
   * found nothing but nextDueAt (which must then leave out steps another live process holds) says a step is due.
   */
  skipsLocked?: boolean;
  /** A failed run or arming (e.g. the database closed at shutdown); the tasks stay for the next start. */
  onError?(err: unknown): void;
}

/** How many passes in a row that applied nothing settle makes while a step is still due. */
const EMPTY_PASSES = 20;

export class DueTimer {
  private timer: unknown = null;
  private timerAt = Infinity;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = true;

  constructor(private readonly source: DueTimerSource) {}

  get isStopped(): boolean {
    return this.stopped;
  }

  start(): void {
    this.stopped = false;
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) this.source.clock.clearTimer(this.timer);
    this.timer = null;
    this.timerAt = Infinity;
    await this.idle();
  }

  /** Resolves once no run is in progress. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /**
   * Runs due steps until none is due at the current time (instant mode and tests). Each pass takes
   * the timer's run slot, so a firing meanwhile waits rather than racing it. On PostgreSQL a claim
   * skips rows another statement holds (SKIP LOCKED; a lease renewal, say), so a pass that applied
   * nothing ends settle only when no step is due either, or after a few such passes (a step another
   * live process holds stays due and is not ours to wait for).
   */
  async settle(): Promise<void> {
    let empty = 0;
    try {
      for (let i = 0; i < 10000; i++) {
        await this.idle();
        let applied = 0;
        this.running = (async () => {
          try {
            applied = await this.source.runDue();
          } finally {
            this.running = null;
          }
        })();
        await this.running;
        if (applied > 0) {
          empty = 0;
          continue;
        }
        if (!this.source.skipsLocked) break;
        const next = await this.source.nextDueAt();
        if (next === null || next > this.source.clock.now() || ++empty > EMPTY_PASSES) break;
        await new Promise((r) => setTimeout(r, 1));
      }
    } finally {
      this.kick();
    }
  }

  /** Something changed: (re)arm the timer for the earliest due step. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    void this.arm().catch((err) => this.failed(err));
  }

  private failed(err: unknown): void {
    if (this.source.onError) this.source.onError(err);
    else throw err;
  }

  private async arm(): Promise<void> {
    const { clock } = this.source;
    const next = await this.source.nextDueAt();
    if (this.stopped || next === null) return;
    if (next >= this.timerAt && this.timer !== null) return;
    if (this.timer !== null) clock.clearTimer(this.timer);
    this.timerAt = next;
    this.timer = clock.setTimer(() => {
      this.timer = null;
      this.timerAt = Infinity;
      void this.fire();
    }, next - clock.now());
  }

  async fire(): Promise<void> {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.source.runDue();
        } while (this.again && !this.stopped);
      } catch (err) {
        this.failed(err);
      } finally {
        this.running = null;
      }
    })();
    await this.running;
    this.kick();
  }
}
