// Neutron's persistence behind one repository: resources (standard attributes as columns, the
// attribute map's values as JSON), their tags, IP allocations and quotas. Every method takes the
// unit of work it runs in, so a plugin's reads and writes for one request commit together.
import type { Sql } from '../sql.ts';

export type Doc = Record<string, unknown>;

export interface ResourceRow {
  kind: string;
  id: string;
  project_id: string;
  created_at: number;
  updated_at: number;
  revision_number: number;
  doc: Doc;
  tags: string[];
}

export interface IpAllocation {
  subnet_id: string;
  ip_address: string;
  network_id: string;
  port_id: string;
}

export interface ResourceFilter {
  project_id?: string;
  network_id?: string;
  device_id?: string;
  ids?: string[];
}

export interface NetworkRepository {
  get(tx: Sql, kind: string, id: string): Promise<ResourceRow | undefined>;
  list(tx: Sql, kind: string, filter?: ResourceFilter): Promise<ResourceRow[]>;
  count(tx: Sql, kind: string, project_id: string): Promise<number>;
  /** Inserts a new resource; false when the id already exists (idempotent seeds and defaults). */
  insert(tx: Sql, row: Omit<ResourceRow, 'revision_number' | 'updated_at'>): Promise<boolean>;
  /** Saves `doc` and bumps the revision; false when `expected_revision` no longer matches. */
  update(tx: Sql, kind: string, id: string, doc: Doc, now: number, expected_revision?: number): Promise<boolean>;
  delete(tx: Sql, kind: string, id: string): Promise<boolean>;
  setTags(tx: Sql, kind: string, id: string, tags: string[], now: number): Promise<void>;
  allocations(tx: Sql, by: { network_id?: string; subnet_id?: string; port_id?: string }): Promise<IpAllocation[]>;
  /** Claims an address; false when another port holds it. */
  allocate(tx: Sql, a: IpAllocation): Promise<boolean>;
  release(tx: Sql, port_id: string, keep?: { subnet_id: string; ip_address: string }[]): Promise<void>;
  quotas(tx: Sql, project_id?: string): Promise<{ project_id: string; resource: string; hard_limit: number }[]>;
  setQuota(tx: Sql, project_id: string, resource: string, hard_limit: number): Promise<void>;
  deleteQuotas(tx: Sql, project_id: string): Promise<void>;
}

type Raw = Omit<ResourceRow, 'doc' | 'tags'> & { doc: string; tags: string | null };

export class SqlNetworkRepository implements NetworkRepository {
  private select(tx: Sql): string {
    // Tags ride along as one text column (newline-separated), ordered, in both dialects.
    const agg = tx.dialect === 'postgres'
      ? "(SELECT string_agg(t.tag, E'\\n' ORDER BY t.tag) FROM neutron_tags t WHERE t.resource_id = r.id)"
      : "(SELECT group_concat(tag, char(10)) FROM (SELECT t.tag FROM neutron_tags t WHERE t.resource_id = r.id ORDER BY t.tag))";
    return `SELECT r.kind, r.id, r.project_id, r.created_at, r.updated_at, r.revision_number, r.doc, ${agg} AS tags FROM neutron_resources r`;
  }

  private row(r: Raw): ResourceRow {
    return {
      kind: r.kind, id: r.id, project_id: r.project_id, created_at: Number(r.created_at), updated_at: Number(r.updated_at),
      revision_number: Number(r.revision_number), doc: JSON.parse(r.doc) as Doc, tags: r.tags ? r.tags.split('\n') : [],
    };
  }

  async get(tx: Sql, kind: string, id: string): Promise<ResourceRow | undefined> {
    const r = await tx.get<Raw>(`${this.select(tx)} WHERE r.kind = ? AND r.id = ?`, [kind, id]);
    return r && this.row(r);
  }

  async list(tx: Sql, kind: string, f: ResourceFilter = {}): Promise<ResourceRow[]> {
    const where = ['r.kind = ?'];
    const params: string[] = [kind];
    for (const k of ['project_id', 'network_id', 'device_id'] as const) {
      if (f[k] !== undefined) {
        where.push(`r.${k} = ?`);
        params.push(f[k]!);
      }
    }
    if (f.ids) {
      if (f.ids.length === 0) return [];
      where.push(`r.id IN (${f.ids.map(() => '?').join(', ')})`);
      params.push(...f.ids);
    }
    const rows = await tx.all<Raw>(`${this.select(tx)} WHERE ${where.join(' AND ')} ORDER BY r.seq, r.id`, params);
    return rows.map((r) => this.row(r));
  }

  async count(tx: Sql, kind: string, project_id: string): Promise<number> {
    const r = await tx.get<{ n: number }>('SELECT COUNT(*) AS n FROM neutron_resources WHERE kind = ? AND project_id = ?', [kind, project_id]);
    return Number(r?.n ?? 0);
  }

  async insert(tx: Sql, row: Omit<ResourceRow, 'revision_number' | 'updated_at'>): Promise<boolean> {
    const doc = row.doc;
    const res = await tx.run(
      `INSERT INTO neutron_resources (kind, id, project_id, network_id, device_id, seq, created_at, updated_at, revision_number, doc)
       VALUES (?, ?, ?, ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM neutron_resources), ?, ?, 0, ?) ON CONFLICT (kind, id) DO NOTHING`,
      [row.kind, row.id, row.project_id, (doc.network_id as string | undefined) ?? null, (doc.device_id as string | undefined) ?? null, row.created_at, row.created_at, JSON.stringify(doc)],
    );
    if (res.changes === 0) return false;
    for (const tag of row.tags) await tx.run('INSERT INTO neutron_tags (resource_id, tag) VALUES (?, ?) ON CONFLICT DO NOTHING', [row.id, tag]);
    return true;
  }

  async update(tx: Sql, kind: string, id: string, doc: Doc, now: number, expected?: number): Promise<boolean> {
    const guard = expected === undefined ? '' : ' AND revision_number = ?';
    const params = [JSON.stringify(doc), (doc.device_id as string | undefined) ?? null, now, kind, id, ...(expected === undefined ? [] : [expected])];
    const res = await tx.run(`UPDATE neutron_resources SET doc = ?, device_id = ?, updated_at = ?, revision_number = revision_number + 1 WHERE kind = ? AND id = ?${guard}`, params);
    return res.changes > 0;
  }

  async delete(tx: Sql, kind: string, id: string): Promise<boolean> {
    await tx.run('DELETE FROM neutron_tags WHERE resource_id = ?', [id]);
    return (await tx.run('DELETE FROM neutron_resources WHERE kind = ? AND id = ?', [kind, id])).changes > 0;
  }

  async setTags(tx: Sql, kind: string, id: string, tags: string[], now: number): Promise<void> {
    await tx.run('DELETE FROM neutron_tags WHERE resource_id = ?', [id]);
    for (const tag of new Set(tags)) await tx.run('INSERT INTO neutron_tags (resource_id, tag) VALUES (?, ?)', [id, tag]);
    await tx.run('UPDATE neutron_resources SET updated_at = ?, revision_number = revision_number + 1 WHERE kind = ? AND id = ?', [now, kind, id]);
  }

  async allocations(tx: Sql, by: { network_id?: string; subnet_id?: string; port_id?: string }): Promise<IpAllocation[]> {
    const [k, v] = Object.entries(by).find(([, x]) => x !== undefined) ?? [];
    if (!k) return tx.all<IpAllocation>('SELECT subnet_id, ip_address, network_id, port_id FROM neutron_ipallocations');
    return tx.all<IpAllocation>(`SELECT subnet_id, ip_address, network_id, port_id FROM neutron_ipallocations WHERE ${k} = ?`, [v as string]);
  }

  async allocate(tx: Sql, a: IpAllocation): Promise<boolean> {
    const res = await tx.run(
      'INSERT INTO neutron_ipallocations (subnet_id, ip_address, network_id, port_id) VALUES (?, ?, ?, ?) ON CONFLICT (subnet_id, ip_address) DO NOTHING',
      [a.subnet_id, a.ip_address, a.network_id, a.port_id],
    );
    return res.changes > 0;
  }

  async release(tx: Sql, port_id: string, keep: { subnet_id: string; ip_address: string }[] = []): Promise<void> {
    const held = await this.allocations(tx, { port_id });
    for (const a of held) {
      if (keep.some((k) => k.subnet_id === a.subnet_id && k.ip_address === a.ip_address)) continue;
      await tx.run('DELETE FROM neutron_ipallocations WHERE subnet_id = ? AND ip_address = ? AND port_id = ?', [a.subnet_id, a.ip_address, port_id]);
    }
  }

  async quotas(tx: Sql, project_id?: string): Promise<{ project_id: string; resource: string; hard_limit: number }[]> {
    if (project_id === undefined) return tx.all('SELECT project_id, resource, hard_limit FROM neutron_quotas ORDER BY project_id, resource');
    return tx.all('SELECT project_id, resource, hard_limit FROM neutron_quotas WHERE project_id = ? ORDER BY resource', [project_id]);
  }

  async setQuota(tx: Sql, project_id: string, resource: string, hard_limit: number): Promise<void> {
    await tx.run(
      'INSERT INTO neutron_quotas (project_id, resource, hard_limit) VALUES (?, ?, ?) ON CONFLICT (project_id, resource) DO UPDATE SET hard_limit = excluded.hard_limit',
      [project_id, resource, hard_limit],
    );
  }

  async deleteQuotas(tx: Sql, project_id: string): Promise<void> {
    await tx.run('DELETE FROM neutron_quotas WHERE project_id = ?', [project_id]);
  }
}
