// The default virt driver: no guests, just step timings and injected faults.
import { DRIVER_OPS, type DriverOp } from '../domain/actions.ts';
import type { ServerRecord } from '../domain/server.ts';
import { DriverFault, type VirtDriver } from './driver.ts';

export interface InjectedFault {
  /** Engine action name (e.g. 'create', 'resize', 'reboot_soft'), or '*' for any. */
  action: string;
  /** Driver op to fail (e.g. 'spawn', 'migrate_disk'), or '*' for the action's first step. */
  op: string;
  /** Only this server, when set. */
  server_uuid?: string;
  message?: string;
  code?: number;
  /** How many times it fires before it is used up; default once. */
  times?: number;
}

export interface SimulatedOptions {
  /** Multiplies every default duration; 0 = instant. */
  timeScale: number;
  /** Per-op durations in ms at scale 1, overriding the defaults calibrated on a live Nova. */
  durations?: Partial<Record<DriverOp, number>>;
}

export class SimulatedDriver implements VirtDriver {
  private faults: (InjectedFault & { left: number; id: number })[] = [];
  private seq = 0;
  constructor(private opts: SimulatedOptions) {}

  duration(op: DriverOp): number {
    return Math.round((this.opts.durations?.[op] ?? DRIVER_OPS[op]) * this.opts.timeScale);
  }

  setTimeScale(scale: number): void {
    this.opts.timeScale = scale;
  }

  inject(f: InjectedFault): number {
    const id = ++this.seq;
    this.faults.push({ ...f, left: f.times ?? 1, id });
    return id;
  }

  listFaults(): (InjectedFault & { id: number; left: number })[] {
    return this.faults.map((f) => ({ ...f }));
  }

  clearFaults(): void {
    this.faults = [];
  }

  get timeScale(): number {
    return this.opts.timeScale;
  }

  async perform(op: DriverOp, action: string, server: ServerRecord): Promise<void> {
    this.throwInjected(op, action, server.uuid);
  }

  /** Fails with the first pending fault matching (action, op, resource), using it up; the block driver shares the list. */
  throwInjected(op: string, action: string, resourceId: string): void {
    const i = this.faults.findIndex(
      (f) => (f.action === '*' || f.action === action) && (f.op === '*' || f.op === op) && (!f.server_uuid || f.server_uuid === resourceId),
    );
    if (i < 0) return;
    const f = this.faults[i];
    if (--f.left <= 0) this.faults.splice(i, 1);
    throw new DriverFault(f.message ?? `Injected fault in ${action}/${op}`, f.code ?? 500);
  }
}
