// The scheduler's seam: which compute hosts exist and their status (cached here, dropped on a host
// change here and at every lease beat for changes by other processes), whether a host is up, and the choice of a host for a build or a move
// (Nova's scheduler: an enabled, up host in the zone, round robin). The engine, the transitions and
// the views ask this module; a smarter scheduler (filters, weights, server groups) replaces pickHost.
import type { ComputeHostRow, ComputeStore } from '../store/store.ts';
import type { Sql } from '../store/sql.ts';
import { effectiveZones } from '../domain/scheduler.ts';

/** Host aggregates' zones, read through the database or a unit of work's executor. */
export type ZoneSource = (q?: Sql) => Promise<{ hosts: string[]; availability_zone: string | null }[]>;

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
  /** A unit of work's executor: aggregates are read through it too. */
  sql?: Sql;
}

export class Scheduling {
  /** The hosts as last read, for the synchronous status used while rendering views. */
  private cache: ComputeHostRow[] | undefined;
  private rr = 0;

  constructor(private readonly store: Pick<ComputeStore, 'listHosts' | 'upsertHost'>, private readonly zones?: ZoneSource) {}

  /**
   * Every compute host. Inside a unit of work pass it as `tx` (on SQLite a read through the store
   * would wait for that very unit of work).
   */
  async hosts(tx?: HostSource): Promise<ComputeHostRow[]> {
    if (!this.cache) {
      const rows = await (tx ?? this.store).listHosts();
      // Each host is in its aggregate's zone, else the configured one.
      const zones = effectiveZones(rows, this.zones ? await this.zones(tx?.sql) : []);
      this.cache = rows.map((h) => ({ ...h, availability_zone: zones.get(h.name) ?? h.availability_zone }));
    }
    return this.cache;
  }

  /** Forget the hosts last read (a host changed). */
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
