// Time is injected: the system clock in production, a manual clock in tests.
export interface Clock {
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer: (fn, ms) => {
    const t = setTimeout(fn, Math.max(0, Math.min(ms, 2 ** 31 - 1)));
    t.unref?.();
    return t;
  },
  clearTimer: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** A clock that moves only when told to; timers fire in due order on advance(). */
export class ManualClock implements Clock {
  private t: number;
  private timers = new Map<number, { at: number; fn: () => void }>();
  private seq = 0;
  constructor(start = Date.UTC(2026, 0, 1)) {
    this.t = start;
  }
  now(): number {
    return this.t;
  }
  setTimer(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn });
    return id;
  }
  clearTimer(h: unknown): void {
    this.timers.delete(h as number);
  }
  /** Move time forward by ms, firing due timers in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].fn();
    }
    this.t = end;
  }
}

/**
 * Move a manual clock forward by `ms`, stopping at every instant a step falls due and letting
 * `settle` run everything due then, so steps run in order and each sees its own time. Calls are
 * serialized: a second advance starts where the first one ended.
 */
export function clockAdvancer(clock: ManualClock, steps: { settle(): Promise<void>; nextDueAt(): Promise<number | null> }): (ms: number) => Promise<void> {
  let chain: Promise<unknown> = Promise.resolve();
  const run = async (ms: number) => {
    const end = clock.now() + ms;
    for (;;) {
      await steps.settle();
      const next = await steps.nextDueAt();
      if (next === null || next > end) break;
      // Still due after settling means it cannot run now (leased elsewhere): stop stepping.
      if (next <= clock.now()) break;
      clock.advance(next - clock.now());
    }
    if (end > clock.now()) clock.advance(end - clock.now());
    await steps.settle();
  };
  return (ms) => {
    const p = chain.then(() => run(ms));
    chain = p.catch(() => undefined);
    return p;
  };
}
