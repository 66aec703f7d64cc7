// The block driver contract (Cinder's volume driver, reduced to what the engine needs) and the
// simulated implementation: no disks, just step timings and injected faults, sharing the virt
// driver's time scale and fault list so `/novabox/v1/faults` and `/time-scale` reach volumes too
// (a fault's `action` is a volume action such as `extend` or `volume.create`, `server_uuid` may name a volume).
import { BLOCK_OPS, type BlockOp } from '../domain/volume/actions.ts';
import type { SimulatedDriver } from './simulated.ts';

export interface BlockDriver {
  /** Milliseconds the operation takes (the engine waits this long before it applies the step). */
  duration(op: BlockOp): number;
  /** Do the work of one step on a volume or snapshot; throw DriverFault when it fails. */
  perform(op: BlockOp, action: string, resourceId: string): Promise<void>;
}

export class SimulatedBlockDriver implements BlockDriver {
  constructor(private readonly virt: SimulatedDriver, private readonly durations: Partial<Record<BlockOp, number>> = {}) {}

  duration(op: BlockOp): number {
    // The timing profile's `instant` holds for volumes too; the others keep the block calibration.
    if (this.virt.timings === 'instant') return 0;
    return Math.round((this.durations[op] ?? BLOCK_OPS[op]) * this.virt.timeScale);
  }

  async perform(op: BlockOp, action: string, resourceId: string): Promise<void> {
    this.virt.throwInjected(op, action, resourceId);
  }
}
