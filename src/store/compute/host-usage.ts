// What the servers on each compute host use, summed per host and project in the database (the
// hypervisor, os-hosts and scheduler views need sums, not the servers themselves).
import type { Sql } from '../sql.ts';

export interface HostProjectUsage {
  host: string;
  project_id: string;
  instances: number;
  vcpus: number;
  memory_mb: number;
  disk_gb: number;
}

export interface HostUsageRepository {
  /** Live servers placed on a host, per host and project. */
  perHostAndProject(): Promise<HostProjectUsage[]>;
  /** The host of each live server named (servers not on a host are left out). */
  hostsOf(server_uuids: string[]): Promise<Map<string, string>>;
  /** Placement's usage per host (the host_usage rows that triggers keep exact, migration 008-host-usage). */
  claimed(): Promise<Map<string, HostUsage>>;
  /**
   * Claims room on `host`: its usage row is locked until the unit of work this repository runs in
   * ends (SELECT … FOR UPDATE on PostgreSQL; a SQLite unit of work already excludes every other
   * writer), and read again, so what the caller places there is decided on usage nobody else moves.
   */
  lockHost(host: string): Promise<HostUsage>;
}

export interface HostUsage {
  instances: number;
  vcpus: number;
  memory_mb: number;
  disk_gb: number;
}

const usageOf = (r: HostUsage | undefined): HostUsage => ({
  instances: Number(r?.instances ?? 0), vcpus: Number(r?.vcpus ?? 0), memory_mb: Number(r?.memory_mb ?? 0), disk_gb: Number(r?.disk_gb ?? 0),
});

export class SqlHostUsageRepository implements HostUsageRepository {
  constructor(private readonly db: Sql) {}

  async perHostAndProject(): Promise<HostProjectUsage[]> {
    const rows = await this.db.all<HostProjectUsage>(
      `SELECT s.host AS host, s.project_id AS project_id, COUNT(*) AS instances, SUM(s.vcpus) AS vcpus, SUM(s.memory_mb) AS memory_mb,
              SUM(COALESCE(f.root_gb, 0) + COALESCE(f.ephemeral_gb, 0)) AS disk_gb
         FROM servers s LEFT JOIN flavors f ON f.id = s.instance_type_id
        WHERE s.deleted = 0 AND s.host IS NOT NULL
        GROUP BY s.host, s.project_id
        ORDER BY s.host, s.project_id`,
    );
    return rows.map((r) => ({ host: r.host, project_id: r.project_id, instances: Number(r.instances), vcpus: Number(r.vcpus), memory_mb: Number(r.memory_mb), disk_gb: Number(r.disk_gb) }));
  }

  async claimed(): Promise<Map<string, HostUsage>> {
    const rows = await this.db.all<HostUsage & { host: string }>('SELECT host, instances, vcpus, memory_mb, disk_gb FROM host_usage');
    return new Map(rows.map((r) => [r.host, usageOf(r)]));
  }

  async lockHost(host: string): Promise<HostUsage> {
    if (this.db.dialect === 'postgres') {
      // A host nobody has used yet has no row to lock: make it (a second maker waits, then finds it).
      await this.db.run('INSERT INTO host_usage (host) VALUES (?) ON CONFLICT (host) DO NOTHING', [host]);
      return usageOf(await this.db.get<HostUsage>('SELECT instances, vcpus, memory_mb, disk_gb FROM host_usage WHERE host = ? FOR UPDATE', [host]));
    }
    return usageOf(await this.db.get<HostUsage>('SELECT instances, vcpus, memory_mb, disk_gb FROM host_usage WHERE host = ?', [host]));
  }

  async hostsOf(server_uuids: string[]): Promise<Map<string, string>> {
    if (server_uuids.length === 0) return new Map();
    const rows = await this.db.all<{ uuid: string; host: string }>(
      `SELECT uuid, host FROM servers WHERE deleted = 0 AND host IS NOT NULL AND uuid IN (${server_uuids.map(() => '?').join(', ')})`, server_uuids,
    );
    return new Map(rows.map((r) => [r.uuid, r.host]));
  }
}

/** Per-host totals of the rows above. */
export function perHost(rows: HostProjectUsage[]): Map<string, { instances: number; vcpus: number; memory_mb: number; disk_gb: number }> {
  const out = new Map<string, { instances: number; vcpus: number; memory_mb: number; disk_gb: number }>();
  for (const r of rows) {
    const t = out.get(r.host) ?? { instances: 0, vcpus: 0, memory_mb: 0, disk_gb: 0 };
    t.instances += r.instances;
    t.vcpus += r.vcpus;
    t.memory_mb += r.memory_mb;
    t.disk_gb += r.disk_gb;
    out.set(r.host, t);
  }
  return out;
}
