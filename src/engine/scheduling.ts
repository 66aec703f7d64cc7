// The scheduler's seam: which compute hosts exist and their status (cached here; every read first
// checks the hosts' cache generation in the database, which any process's host or aggregate change
// moves, so a host disabled through another replica is seen at once), whether a host is up, and the choice of a host for a build or a move
// (Nova's scheduler: an enabled, up host in the zone, round robin). The engine, the transitions and
// the views ask this module; a smarter scheduler (filters, weights, server groups) replaces pickHost.
import type { ComputeHostRow, ComputeStore } from '../store/store.ts';
import type { Sql } from '../store/sql.ts';
import { effectiveZones, schedule, type Capacity, type GroupPolicy, type GroupState, type HostState, type PlacementRequest } from '../domain/scheduler.ts';
import type { FlavorSnapshot, ServerRecord } from '../domain/server.ts';
import type { HostConfig } from '../config.ts';
import { SqlHostUsageRepository } from '../store/compute/host-usage.ts';
import { SqlServerGroupRepository } from '../store/compute/server-groups.ts';
import { CacheGeneration, readGeneration } from '../store/generations.ts';

/** What the filter scheduler needs beyond the host rows: sizes, allocation ratios, and where servers are. */
export interface PlacementSource {
  hosts: HostConfig[];
  capacity: Capacity;
  sql: Sql;
}

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
  /** The requested host is forced: the scheduler's filters are bypassed (src/domain/scheduler.ts FORCED_CHECKS). */
  force?: boolean;
}

/** Where hosts are read from: the store, or a unit of work. */
export interface HostSource {
  listHosts(): Promise<ComputeHostRow[]>;
  /** A unit of work's executor: aggregates are read through it too. */
  sql?: Sql;
}

export class Scheduling {
  /** The hosts as read at the current generation. */
  private cache: ComputeHostRow[] | undefined;
  /** The hosts the latest hosts() answered, for the synchronous status used while rendering views. */
  private last: ComputeHostRow[] | undefined;
  private rr = 0;

  private readonly generation = new CacheGeneration('hosts', () => {
    this.cache = undefined;
  });

  constructor(
    private readonly store: Pick<ComputeStore, 'listHosts' | 'upsertHost' | 'sql'>,
    private readonly zones?: ZoneSource,
    private readonly placement?: PlacementSource,
  ) {}

  /**
   * Every compute host. Inside a unit of work pass it as `tx`: the hosts are then read through it,
   * not the cache, since what they say decides the unit of work's writes (another process may have
   * taken a host down since the cache was filled); the cache is refreshed with what was read.
   */
  async hosts(tx?: HostSource): Promise<ComputeHostRow[]> {
    const q = tx?.sql ?? this.store.sql;
    const g = await this.generation.check((name) => readGeneration(q, name));
    if (this.cache && !tx) return (this.last = this.cache);
    const rows = await (tx ?? this.store).listHosts();
    // Each host is in its aggregate's zone, else the configured one.
    const zones = effectiveZones(rows, this.zones ? await this.zones(tx?.sql) : []);
    const hosts = rows.map((h) => ({ ...h, availability_zone: zones.get(h.name) ?? h.availability_zone }));
    if (this.generation.current(g)) this.cache = hosts;
    this.last = hosts;
    return hosts;
  }

  /** Forget the hosts last read (a host changed). */
  invalidate(): void {
    this.cache = undefined;
    this.generation.forget();
  }

  /** Nova's host_status: UP, DOWN (forced down), MAINTENANCE (disabled), UNKNOWN (not reporting), '' without a host. */
  statusSync(host: string | null): HostStatus {
    if (!host) return '';
    const h = this.last?.find((x) => x.name === host);
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
        (h) => h.up && !h.forced_down && h.name !== req.exclude && (!req.requested || h.name === req.requested) &&
          ((req.force && req.requested) || (!h.disabled && (!req.zone || h.availability_zone.split(',').includes(req.zone)))),
      );
      if (candidates.length === 0) return null;
      return candidates[this.rr++ % candidates.length].name;
    }
    const sql = tx?.sql ?? this.placement.sql;
    const usage = new SqlHostUsageRepository(sql);
    // Nova's placement: the filters see what every process has claimed (host_usage, kept by the
    // database in the units of work that place, resize, move or delete servers), not a snapshot.
    const used = await usage.claimed();
    const flavor = req.flavor ?? req.server?.flavor;
    const r: PlacementRequest = {
      flavor: flavor ?? { vcpus: 0, memory_mb: 0, root_gb: 0, ephemeral_gb: 0, swap: 0 },
      zone: req.zone, requested: req.requested, exclude: req.exclude ? [req.exclude] : [], force: req.force,
      ...(req.server ? await this.hints(sql, req.server) : {}),
    };
    const locked = new Set<string>();
    for (;;) {
      const states: HostState[] = hosts.map((h) => {
        const cfg = this.placement!.hosts.find((c) => c.name === h.name);
        const u = used.get(h.name);
        return {
          name: h.name, zone: h.availability_zone, up: h.up, disabled: h.disabled, forced_down: h.forced_down,
          vcpus: cfg?.vcpus ?? 0, memory_mb: cfg?.memory_mb ?? 0, local_gb: cfg?.local_gb ?? 0,
          used: { vcpus: u?.vcpus ?? 0, memory_mb: u?.memory_mb ?? 0, disk_gb: u?.disk_gb ?? 0 },
        };
      });
      const placed = schedule(states, r, this.placement.capacity);
      if (!('host' in placed)) return null;
      // Outside a unit of work nothing is claimed (a preview); inside one, the chosen host's usage
      // is locked and read again, and the choice made again on it: a host another process filled
      // meanwhile fails its filters now and the next host is tried (Nova retries an alternate on a
      // failed claim), until a locked host passes or none does (NoValidHost).
      if (!tx || !flavor || locked.has(placed.host)) return placed.host;
      locked.add(placed.host);
      used.set(placed.host, await usage.lockHost(placed.host));
    }
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
