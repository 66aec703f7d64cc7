// The scheduler's pure rules, after Nova's filter scheduler: hosts pass every filter (compute up
// and enabled, availability zone, RAM/disk/vCPU capacity with allocation ratios, server-group
// affinity and anti-affinity, requested host), then the weighers rank them (free RAM, soft
// affinity and anti-affinity). No host left is NoValidHost.

/** A host's availability zone: the zone of an aggregate it belongs to, else its own default. */
export function effectiveZones(hosts: { name: string; availability_zone: string }[], aggregates: { hosts: string[]; availability_zone: string | null }[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const h of hosts) {
    const zones = aggregates.filter((a) => a.availability_zone !== null && a.hosts.includes(h.name)).map((a) => a.availability_zone!);
    out.set(h.name, zones.length ? [...new Set(zones)].sort().join(',') : h.availability_zone);
  }
  return out;
}

/** What the scheduler knows of one compute host. */
export interface HostState {
  name: string;
  /** One zone, or several joined by ',' (a host in aggregates of more than one zone). */
  zone: string;
  up: boolean;
  disabled: boolean;
  forced_down: boolean;
  vcpus: number;
  memory_mb: number;
  local_gb: number;
  used: { vcpus: number; memory_mb: number; disk_gb: number };
}

/** Nova's allocation ratios and reserved host resources (placement inventory). */
export interface Capacity {
  cpu_allocation_ratio: number;
  ram_allocation_ratio: number;
  disk_allocation_ratio: number;
  reserved_host_memory_mb: number;
  reserved_host_disk_mb: number;
}

export const DEFAULT_CAPACITY: Capacity = {
  cpu_allocation_ratio: 4.0, ram_allocation_ratio: 1.0, disk_allocation_ratio: 1.0, reserved_host_memory_mb: 512, reserved_host_disk_mb: 0,
};

export type GroupPolicy = 'affinity' | 'anti-affinity' | 'soft-affinity' | 'soft-anti-affinity';

/** A server group as the scheduler sees it: its policy and where its other members are (one entry per member). */
export interface GroupState {
  policy: GroupPolicy;
  max_server_per_host?: number;
  member_hosts: string[];
}

export interface PlacementRequest {
  flavor: { vcpus: number; memory_mb: number; root_gb: number; ephemeral_gb: number; swap: number };
  zone?: string | null;
  /** A host the request must land on (2.74 host/hypervisor_hostname, a migration's target). */
  requested?: string | null;
  /** Hosts the server must not land on (the source of a move). */
  exclude?: string[];
  group?: GroupState | null;
  /** Scheduler hints same_host / different_host, as the hosts of the servers they name. */
  same_host?: string[];
  different_host?: string[];
  /**
   * A destination the caller forces (live migration and evacuate with `force`, or naming a host
   * below 2.30 / 2.29): Nova's conductor skips the scheduler's filters and only checks that the host
   * is up and is not the source, and claims the server's resources there in placement.
   */
  force?: boolean;
}

export type Placement = { host: string } | { noValidHost: string; rejected: Record<string, string> };

export const NO_VALID_HOST = 'No valid host was found. There are not enough hosts available.';

type Filter = (h: HostState, r: PlacementRequest, c: Capacity) => string | null;

const count = (list: string[], host: string) => list.filter((x) => x === host).length;

/** The filters, in Nova's order; each returns why it rejects a host, or null. */
export const FILTERS: [string, Filter][] = [
  ['ComputeFilter', (h) => (!h.up || h.forced_down ? 'compute service is down' : h.disabled ? 'compute service is disabled' : null)],
  ['AvailabilityZoneFilter', (h, r) => (r.zone && !h.zone.split(',').includes(r.zone) ? `not in availability zone ${r.zone}` : null)],
  ['RequestedHostFilter', (h, r) => (r.requested && h.name !== r.requested ? `not the requested host ${r.requested}` : null)],
  ['SourceHostFilter', (h, r) => (r.exclude?.includes(h.name) ? 'the server is already there' : null)],
  ['VCPUFilter', (h, r, c) => (h.vcpus * c.cpu_allocation_ratio - h.used.vcpus < r.flavor.vcpus ? 'not enough VCPU' : null)],
  ['RamFilter', (h, r, c) => ((h.memory_mb - c.reserved_host_memory_mb) * c.ram_allocation_ratio - h.used.memory_mb < r.flavor.memory_mb ? 'not enough MEMORY_MB' : null)],
  ['DiskFilter', (h, r, c) => {
    const need = r.flavor.root_gb + r.flavor.ephemeral_gb + Math.ceil(r.flavor.swap / 1024);
    return (h.local_gb - c.reserved_host_disk_mb / 1024) * c.disk_allocation_ratio - h.used.disk_gb < need ? 'not enough DISK_GB' : null;
  }],
  ['ServerGroupAffinityFilter', (h, r) => {
    const g = r.group;
    if (!g || g.policy !== 'affinity' || g.member_hosts.length === 0) return null;
    return g.member_hosts.includes(h.name) ? null : 'not the host of the affinity group';
  }],
  ['ServerGroupAntiAffinityFilter', (h, r) => {
    const g = r.group;
    if (!g || g.policy !== 'anti-affinity') return null;
    return count(g.member_hosts, h.name) >= (g.max_server_per_host ?? 1) ? 'anti-affinity group already has max_server_per_host members there' : null;
  }],
  ['SameHostFilter', (h, r) => (r.same_host?.length && !r.same_host.includes(h.name) ? 'not the host of the same_host servers' : null)],
  ['DifferentHostFilter', (h, r) => (r.different_host?.includes(h.name) ? 'a different_host server is there' : null)],
];

/** What a forced destination still has to pass: its compute service up (disabled is fine), named, not the source, and room for the claim. */
export const FORCED_CHECKS: [string, Filter][] = [
  ['ComputeServiceUp', (h) => (!h.up || h.forced_down ? 'compute service is down' : null)],
  ...FILTERS.filter(([name]) => ['RequestedHostFilter', 'SourceHostFilter', 'VCPUFilter', 'RamFilter', 'DiskFilter'].includes(name)),
];

type Weigher = { name: string; multiplier: number; weigh: (h: HostState, r: PlacementRequest, c: Capacity) => number };

/** The weighers: free RAM (spread), then soft affinity (more members better) and soft anti-affinity (fewer better). */
export const WEIGHERS: Weigher[] = [
  { name: 'RAMWeigher', multiplier: 1.0, weigh: (h, _r, c) => (h.memory_mb - c.reserved_host_memory_mb) * c.ram_allocation_ratio - h.used.memory_mb },
  { name: 'ServerGroupSoftAffinityWeigher', multiplier: 1.0, weigh: (h, r) => (r.group?.policy === 'soft-affinity' ? count(r.group.member_hosts, h.name) : 0) },
  { name: 'ServerGroupSoftAntiAffinityWeigher', multiplier: 1.0, weigh: (h, r) => (r.group?.policy === 'soft-anti-affinity' ? -count(r.group.member_hosts, h.name) : 0) },
];

/**
 * Nova's filter scheduler for one server: keep the hosts every filter passes, weigh them (each
 * weigher normalised to 0..1 across the candidates, times its multiplier), take the heaviest (ties
 * by name). No candidate: NoValidHost, with each host's first rejection. A forced destination
 * passes only FORCED_CHECKS.
 */
export function schedule(hosts: HostState[], r: PlacementRequest, c: Capacity = DEFAULT_CAPACITY): Placement {
  const rejected: Record<string, string> = {};
  const checks = r.force && r.requested ? FORCED_CHECKS : FILTERS;
  const candidates = hosts.filter((h) => {
    for (const [name, f] of checks) {
      const why = f(h, r, c);
      if (why !== null) {
        rejected[h.name] = `${name}: ${why}`;
        return false;
      }
    }
    return true;
  });
  if (candidates.length === 0) return { noValidHost: NO_VALID_HOST, rejected };
  const totals = new Map(candidates.map((h) => [h.name, 0]));
  for (const w of WEIGHERS) {
    const raw = candidates.map((h) => w.weigh(h, r, c));
    const lo = Math.min(...raw);
    const hi = Math.max(...raw);
    candidates.forEach((h, i) => totals.set(h.name, totals.get(h.name)! + w.multiplier * (hi === lo ? 0 : (raw[i] - lo) / (hi - lo))));
  }
  const best = [...candidates].sort((a, b) => totals.get(b.name)! - totals.get(a.name)! || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))[0];
  return { host: best.name };
}
