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
