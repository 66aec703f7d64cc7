// One clock timer armed for the earliest due step of a durable task table, shared by the server
// transitions and the volume timers: `kick` after any change re-arms it, a firing runs every due
// step (again while kicks arrive meanwhile), then re-arms for the next one.
import type { Clock } from './clock.ts';

export interface DueTimerSource {
  clock: Clock;
  /** The earliest due time of any task, or null when none is waiting. */
  nextDueAt(): Promise<number | null>;
  /** Runs the steps due now. */
  runDue(): Promise<unknown>;
  /** A failed run or arming (e.g. the database closed at shutdown); the tasks stay for the next start. */
  onError?(err: unknown): void;
}

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
