// The virt driver contract: small enough that a real driver (QEMU, containers) can implement it.
import type { DriverOp } from '../domain/actions.ts';
import type { ServerRecord } from '../domain/server.ts';

export class DriverFault extends Error {
  constructor(message: string, readonly code = 500) {
    super(message);
  }
}

export interface VirtDriver {
  /** Milliseconds the operation takes for this server (the engine waits this long before it applies the step). */
  duration(op: DriverOp, action: string): number;
  /** Do the work of one step; throw DriverFault when it fails. */
  perform(op: DriverOp, action: string, server: ServerRecord): Promise<void>;
}
