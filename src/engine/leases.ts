// Durable tasks are held by the engine of one process under a lease (owner, expiry) that this
// module renews while the process lives. A process that dies stops renewing; once its leases
// expire (at once for a process on this machine whose pid is gone) the other processes on the same
// database claim its tasks and carry them on. The same beat wakes tasks parked for a host that is
// back, and kicks the timers: the polling fallback for work freed or woken by another process.
import type { ComputeStore } from '../store/store.ts';
import { ownerIsDead } from '../store/lease-owner.ts';

export class Leases {
  private timer: NodeJS.Timeout | null = null;
  private beating: Promise<void> | null = null;

  constructor(
    private readonly store: ComputeStore,
    private readonly beat: () => Promise<void>,
  ) {}

  get owner(): string {
    return this.store.lease.owner;
  }

  /** Ends the leases of processes on this machine that are gone, so their tasks are free now. */
  async reapDead(): Promise<void> {
    for (const o of await this.store.otherOwners()) if (ownerIsDead(o)) await this.store.releaseLeases(o);
  }

  start(): void {
    if (this.timer) return;
    const every = Math.max(50, Math.floor(this.store.lease.ms / 3));
    this.timer = setInterval(() => {
      if (this.beating) return;
      this.beating = (async () => {
        try {
          await this.store.renewLeases();
          await this.reapDead();
          await this.beat();
        } catch {
          // A busy or briefly unreachable database: the next beat tries again (the lease has slack).
        } finally {
          this.beating = null;
        }
      })();
    }, every);
    this.timer.unref();
  }

  /** Stops renewing and hands every task this process holds back (a clean shutdown loses nothing). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.beating;
    await this.store.releaseLeases(this.owner);
  }
}
