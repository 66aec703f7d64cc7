// The scheduler's seam: which compute hosts exist and their status (cached per process, dropped on
// any host change), whether a host is up, and the choice of a host for a build or a move
// (Nova's scheduler: an enabled, up host in the zone, round robin). The engine, the transitions and
// the views ask this module; a smarter scheduler (filters, weights, server groups) replaces pickHost.
import type { ComputeHostRow, ComputeStore } from '../store/store.ts';

export type HostStatus = 'UP' | 'DOWN' | 'MAINTENANCE' | 'UNKNOWN' | '';

export interface HostRequest {
  /** Availability zone the server must land in (null: any). */
  zone?: string | null;
  /** A host the server must leave (migrations, evacuate). */
  exclude?: string | null;
  /** A host the request names (admin's host hint, migrate/live-migrate/evacuate target). */
  requested?: string | null;
}

/** Where hosts are read from: the store, or a unit of work. */
export interface HostSource {
  listHosts(): Promise<ComputeHostRow[]>;
}

export class Scheduling {
  private cache: ComputeHostRow[] | undefined;
  private rr = 0;

  constructor(private readonly store: Pick<ComputeStore, 'listHosts' | 'upsertHost'>) {}

  /**
   * Every compute host, read once and kept until a host changes. Inside a unit of work pass it as
   * `tx` (on SQLite a read through the store would wait for that very unit of work).
   */
  async hosts(tx?: HostSource): Promise<ComputeHostRow[]> {
    if (!this.cache) this.cache = await (tx ?? this.store).listHosts();
    return this.cache;
  }

  /** Forget the cached hosts (a host changed here or in another process). */
  invalidate(): void {
    this.cache = undefined;
  }

  /** Nova's host_status: UP, DOWN (forced down), MAINTENANCE (disabled), UNKNOWN (not reporting), '' without a host. */
  statusSync(host: string | null): HostStatus {
    if (!host) return '';
    const h = this.cache?.find((x) => x.name === host);
    if (!h) return 'UNKNOWN';
    if (h.forced_down) return 'DOWN';
    if (!h.up) return 'UNKNOWN';
    if (h.disabled) return 'MAINTENANCE';
    return 'UP';
  }

  async status(host: string | null): Promise<HostStatus> {
    await this.hosts();
    return this.statusSync(host);
  }

  async isUp(host: string | null, tx?: HostSource): Promise<boolean> {
    if (!host) return false;
    const h = (await this.hosts(tx)).find((x) => x.name === host);
    return !!h && h.up && !h.forced_down;
  }

  /** An enabled, up host in the zone (round robin), or null (NoValidHost). */
  async pickHost(req: HostRequest, tx?: HostSource): Promise<string | null> {
    const candidates = (await this.hosts(tx)).filter(
      (h) => h.up && !h.forced_down && !h.disabled && (!req.zone || h.availability_zone === req.zone) && h.name !== req.exclude && (!req.requested || h.name === req.requested),
    );
    if (candidates.length === 0) return null;
    return candidates[this.rr++ % candidates.length].name;
  }
}
