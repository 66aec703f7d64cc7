// The scheduler's seam: which compute hosts exist and their status (cached here, dropped on a host
// change here and at every lease beat for changes by other processes), whether a host is up, and the choice of a host for a build or a move
// (Nova's scheduler: an enabled, up host in the zone, round robin). The engine, the transitions and
// the views ask this module; a smarter scheduler (filters, weights, server groups) replaces pickHost.
import type { ComputeHostRow, ComputeStore } from '../store/store.ts';
import type { Sql } from '../store/sql.ts';
import { effectiveZones, schedule, type Capacity, type GroupPolicy, type GroupState, type HostState, type PlacementRequest } from '../domain/scheduler.ts';
import type { FlavorSnapshot, ServerRecord } from '../domain/server.ts';
import type { HostConfig } from '../config.ts';
import { perHost, SqlHostUsageRepository } from '../store/compute/host-usage.ts';
import { SqlServerGroupRepository } from '../store/compute/server-groups.ts';

/** What the filter scheduler needs beyond the host rows: sizes, allocation ratios, and where servers are. */
export interface PlacementSource {
  hosts: HostConfig[];
  capacity: Capacity;
  sql: Sql;
}

/** How long a snapshot of the hosts' usage serves before it is read again (placements made meanwhile are added to it). */
const USAGE_TTL_MS = 5000;

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
  /** The server to place: its server group and same_host/different_host hints apply. */
  server?: ServerRecord;
  /** The flavor it needs room for (default: the server's). */
  flavor?: FlavorSnapshot | null;
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

  private usage: { at: number; by: Map<string, { vcpus: number; memory_mb: number; disk_gb: number }> } | undefined;

  constructor(
    private readonly store: Pick<ComputeStore, 'listHosts' | 'upsertHost'>,
    private readonly zones?: ZoneSource,
    private readonly placement?: PlacementSource,
  ) {}

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
    this.usage = undefined;
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

  /**
   * Where a server goes: Nova's filter scheduler (src/domain/scheduler.ts) over the hosts, their
   * sizes and usage, the server's group and hints; null is NoValidHost. Without a placement source
   * (bare engines in tests): an enabled, up host in the zone, round robin.
   */
  async pickHost(req: HostRequest, tx?: HostSource): Promise<string | null> {
    const hosts = await this.hosts(tx);
    if (!this.placement) {
      const candidates = hosts.filter(
        (h) => h.up && !h.forced_down && !h.disabled && (!req.zone || h.availability_zone.split(',').includes(req.zone)) && h.name !== req.exclude && (!req.requested || h.name === req.requested),
      );
      if (candidates.length === 0) return null;
      return candidates[this.rr++ % candidates.length].name;
    }
    const sql = tx?.sql ?? this.placement.sql;
    const now = Date.now();
    if (!this.usage || now - this.usage.at > USAGE_TTL_MS) {
      this.usage = { at: now, by: perHost(await new SqlHostUsageRepository(sql).perHostAndProject()) };
    }
    const states: HostState[] = hosts.map((h) => {
      const cfg = this.placement!.hosts.find((c) => c.name === h.name);
      const u = this.usage!.by.get(h.name);
      return {
        name: h.name, zone: h.availability_zone, up: h.up, disabled: h.disabled, forced_down: h.forced_down,
        vcpus: cfg?.vcpus ?? 0, memory_mb: cfg?.memory_mb ?? 0, local_gb: cfg?.local_gb ?? 0,
        used: { vcpus: u?.vcpus ?? 0, memory_mb: u?.memory_mb ?? 0, disk_gb: u?.disk_gb ?? 0 },
      };
    });
    const flavor = req.flavor ?? req.server?.flavor;
    const r: PlacementRequest = {
      flavor: flavor ?? { vcpus: 0, memory_mb: 0, root_gb: 0, ephemeral_gb: 0, swap: 0 },
      zone: req.zone, requested: req.requested, exclude: req.exclude ? [req.exclude] : [],
      ...(req.server ? await this.hints(sql, req.server) : {}),
    };
    const placed = schedule(states, r, this.placement.capacity);
    if (!('host' in placed)) return null;
    // Nova's consume_from_request: the snapshot counts what was just placed.
    if (flavor) {
      const u = this.usage.by.get(placed.host) ?? { vcpus: 0, memory_mb: 0, disk_gb: 0 };
      this.usage.by.set(placed.host, { vcpus: u.vcpus + flavor.vcpus, memory_mb: u.memory_mb + flavor.memory_mb, disk_gb: u.disk_gb + flavor.root_gb + flavor.ephemeral_gb });
    }
    return placed.host;
  }

  /** The server's group (policy, rules, where its other members are) and its same_host/different_host hints. */
  private async hints(sql: Sql, s: ServerRecord): Promise<Pick<PlacementRequest, 'group' | 'same_host' | 'different_host'>> {
    const hints = s.scheduler_hints ?? {};
    const usage = new SqlHostUsageRepository(sql);
    const out: Pick<PlacementRequest, 'group' | 'same_host' | 'different_host'> = {};
    const groupId = hints.group?.[0];
    if (groupId) {
      const groups = new SqlServerGroupRepository(sql);
      const g = await groups.get(groupId);
      if (g) {
        const members = (await groups.members(g.id)).filter((m) => m !== s.uuid);
        const where = await usage.hostsOf(members);
        let rules: { max_server_per_host?: number | string } = {};
        try {
          rules = JSON.parse(g.rules || '{}') as typeof rules;
        } catch {
          rules = {};
        }
        const group: GroupState = { policy: g.policy as GroupPolicy, member_hosts: members.map((m) => where.get(m)).filter((h): h is string => !!h) };
        if (rules.max_server_per_host !== undefined) group.max_server_per_host = Number(rules.max_server_per_host);
        out.group = group;
      }
    }
    for (const key of ['same_host', 'different_host'] as const) {
      const uuids = hints[key];
      if (uuids?.length) out[key] = [...(await usage.hostsOf(uuids)).values()];
    }
    return out;
  }
}
