// Neutron's persistence behind one repository: resources (standard attributes as columns, the
// attribute map's values as JSON), their tags, IP allocations and quotas. Every method takes the
// unit of work it runs in, so a plugin's reads and writes for one request commit together.
import { holdUntilCommit, type Param, type Sql } from '../sql.ts';
import { firstFree, fromBig, toBig, type IpVersion, type Pool } from '../../domain/network/ip.ts';

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
  /** Ports holding this MAC address (with network_id: the one port of the network that may). */
  mac_address?: string;
  /** Ports of any of these devices (a page of servers at once). */
  device_ids?: string[];
  ids?: string[];
}

/** Where a listed field lives: a column of the resource row, or a key of its document. */
export interface Field {
  /** `seq` is creation order, the order of a list that asks for none. */
  column?: 'id' | 'project_id' | 'created_at' | 'updated_at' | 'revision_number' | 'seq';
  key?: string;
  /** How it sorts: text byte-wise, numbers and booleans by value. */
  type: 'text' | 'number' | 'boolean';
}

/**
 * One page of a collection, compiled to SQL: each filter matches any of its values (a list value
 * matches when it holds one; a null value matches '' and 'None'), tags as Neutron's four tag
 * filters, fixed IPs held by a port, the order (ending with id, so it is total), and a keyset
 * (`after`: the order's values of the row to start after) with a limit.
 */
export interface ListQuery {
  filters: { field: Field; values: string[] }[];
  tags?: { all: string[]; any: string[]; notAll: string[]; notAny: string[] };
  fixedIps?: { subnet_id?: string; ip_address?: string }[];
  order: { field: Field; desc: boolean }[];
  after?: unknown[];
  limit?: number;
}

export interface PagedRow {
  row: ResourceRow;
  /** The row's values of the query's order: the keyset to continue after it. */
  keys: unknown[];
}

export interface NetworkRepository {
  get(tx: Sql, kind: string, id: string): Promise<ResourceRow | undefined>;
  /** A page of `kind` as `q` asks, in its order. */
  page(tx: Sql, kind: string, q: ListQuery): Promise<PagedRow[]>;
  /** The order's values of one row (a marker), or undefined when it does not exist. */
  keysOf(tx: Sql, kind: string, id: string, order: ListQuery['order']): Promise<unknown[] | undefined>;
  list(tx: Sql, kind: string, filter?: ResourceFilter): Promise<ResourceRow[]>;
  count(tx: Sql, kind: string, project_id: string): Promise<number>;
  /** Inserts a new resource; false when the id already exists (idempotent seeds and defaults). */
  insert(tx: Sql, row: Omit<ResourceRow, 'revision_number' | 'updated_at'>): Promise<boolean>;
  /** Saves `doc` and bumps the revision; false when `expected_revision` no longer matches. */
  update(tx: Sql, kind: string, id: string, doc: Doc, now: number, expected_revision?: number): Promise<boolean>;
  delete(tx: Sql, kind: string, id: string): Promise<boolean>;
  setTags(tx: Sql, kind: string, id: string, tags: string[], now: number): Promise<void>;
  allocations(tx: Sql, by: { network_id?: string; subnet_id?: string; port_id?: string }): Promise<IpAllocation[]>;
  /**
   * The lowest address of the subnet's pools that no port holds and is not the gateway (in pool
   * order), or null when they are full. The caller allocates it in the same unit of work; two units
   * of work picking on one subnet take turns.
   */
  firstFreeIp(tx: Sql, s: { subnet_id: string; version: IpVersion; pools: Pool[]; gateway: string | null }): Promise<string | null>;
  /** Claims an address; false when another port holds it. */
  allocate(tx: Sql, a: IpAllocation): Promise<boolean>;
  release(tx: Sql, port_id: string, keep?: { subnet_id: string; ip_address: string }[]): Promise<void>;
  quotas(tx: Sql, project_id?: string): Promise<{ project_id: string; resource: string; hard_limit: number }[]>;
  setQuota(tx: Sql, project_id: string, resource: string, hard_limit: number): Promise<void>;
  deleteQuotas(tx: Sql, project_id: string): Promise<void>;
}

/** The indexed copy of a port's MAC address (null for every other kind). */
const macOf = (kind: string, doc: Doc): string | null => (kind === 'port' && typeof doc.mac_address === 'string' ? doc.mac_address : null);

type Raw = Omit<ResourceRow, 'doc' | 'tags'> & { doc: string; tags: string | null };

export class SqlNetworkRepository implements NetworkRepository {
  private select(tx: Sql): string {
    // Tags ride along as one text column (newline-separated), ordered, in both dialects.
    const agg = tx.dialect === 'postgres'
      ? "(SELECT string_agg(t.tag, E'\\n' ORDER BY t.tag) FROM neutron_tags t WHERE t.resource_id = r.id)"
      : "(SELECT group_concat(tag, char(10)) FROM (SELECT t.tag FROM neutron_tags t WHERE t.resource_id = r.id ORDER BY t.tag))";
    return `SELECT r.kind, r.id, r.project_id, r.created_at, r.updated_at, r.revision_number, r.doc, ${agg} AS tags FROM neutron_resources r`;
  }

  private selectWith(tx: Sql, extra: string): string {
    return this.select(tx).replace(' FROM neutron_resources r', `${extra} FROM neutron_resources r`);
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
    for (const k of ['project_id', 'network_id', 'device_id', 'mac_address'] as const) {
      if (f[k] !== undefined) {
        where.push(`r.${k} = ?`);
        params.push(f[k]!);
      }
    }
    for (const [col, values] of [['id', f.ids], ['device_id', f.device_ids]] as const) {
      if (!values) continue;
      if (values.length === 0) return [];
      where.push(`r.${col} IN (${values.map(() => '?').join(', ')})`);
      params.push(...values);
    }
    const rows = await tx.all<Raw>(`${this.select(tx)} WHERE ${where.join(' AND ')} ORDER BY r.seq, r.id`, params);
    return rows.map((r) => this.row(r));
  }

  async page(tx: Sql, kind: string, q: ListQuery): Promise<PagedRow[]> {
    const pg = tx.dialect === 'postgres';
    const where = ['r.kind = ?'];
    const params: unknown[] = [kind];
    for (const f of q.filters) {
      const alts = f.values.map((v) => {
        const m = matchSql(pg, f.field, v);
        params.push(...m.params);
        return m.sql;
      });
      where.push(alts.length ? `(${alts.join(' OR ')})` : '1 = 0');
    }
    const tagged = (tags: string[]) => {
      params.push(...tags);
      return `SELECT 1 FROM neutron_tags t WHERE t.resource_id = r.id AND t.tag IN (${tags.map(() => '?').join(', ')})`;
    };
    const t = q.tags;
    if (t) {
      for (const tag of t.all) where.push(`EXISTS (${tagged([tag])})`);
      if (t.any.length) where.push(`EXISTS (${tagged(t.any)})`);
      if (t.notAll.length) where.push(`NOT (${t.notAll.map((tag) => `EXISTS (${tagged([tag])})`).join(' AND ')})`);
      if (t.notAny.length) where.push(`NOT EXISTS (${tagged(t.notAny)})`);
    }
    for (const f of q.fixedIps ?? []) {
      const cond = ['a.port_id = r.id'];
      for (const k of ['subnet_id', 'ip_address'] as const) {
        if (f[k] === undefined) continue;
        cond.push(`a.${k} = ?`);
        params.push(f[k]);
      }
      where.push(`EXISTS (SELECT 1 FROM neutron_ipallocations a WHERE ${cond.join(' AND ')})`);
    }
    const exprs = q.order.map((o) => sortSql(pg, o.field));
    if (q.after) {
      // Keyset: rows after the marker in this order (NULLs first ascending, last descending).
      const ors: string[] = [];
      q.order.forEach((o, i) => {
        const ands: string[] = [];
        for (let j = 0; j < i; j++) ands.push(eqSql(pg, exprs[j], q.order[j].field, q.after![j], params));
        const v = q.after![i];
        if (v === null || v === undefined) {
          if (o.desc) return;
          ands.push(`${exprs[i]} IS NOT NULL`);
        } else {
          params.push(keyParam(pg, o.field, v));
          ands.push(o.desc ? `(${exprs[i]} < ${placeholder(pg, o.field)} OR ${exprs[i]} IS NULL)` : `${exprs[i]} > ${placeholder(pg, o.field)}`);
        }
        ors.push(`(${ands.join(' AND ')})`);
      });
      where.push(ors.length ? `(${ors.join(' OR ')})` : '1 = 0');
    }
    const order = q.order.map((o, i) => `${exprs[i]} ${o.desc ? 'DESC NULLS LAST' : 'ASC NULLS FIRST'}`).join(', ');
    const keys = exprs.map((e, i) => `, ${e} AS k${i}`).join('');
    // A limit past any table (limit=99999999999999999999) is no limit: PostgreSQL's LIMIT is a BIGINT.
    const limit = q.limit === undefined ? '' : ` LIMIT ${Math.min(Number.MAX_SAFE_INTEGER, Math.max(0, Math.floor(q.limit)))}`;
    const rows = await tx.all<Raw & Record<string, unknown>>(
      `${this.selectWith(tx, keys)} WHERE ${where.join(' AND ')} ORDER BY ${order}${limit}`, params as Param[],
    );
    return rows.map((r) => ({ row: this.row(r), keys: q.order.map((_o, i) => r[`k${i}`] ?? null) }));
  }

  async keysOf(tx: Sql, kind: string, id: string, order: ListQuery['order']): Promise<unknown[] | undefined> {
    const pg = tx.dialect === 'postgres';
    const exprs = order.map((o) => sortSql(pg, o.field));
    const r = await tx.get<Record<string, unknown>>(`SELECT ${exprs.map((e, i) => `${e} AS k${i}`).join(', ')} FROM neutron_resources r WHERE r.kind = ? AND r.id = ?`, [kind, id]);
    return r && order.map((_o, i) => r[`k${i}`] ?? null);
  }

  async count(tx: Sql, kind: string, project_id: string): Promise<number> {
    const r = await tx.get<{ n: number }>('SELECT COUNT(*) AS n FROM neutron_resources WHERE kind = ? AND project_id = ?', [kind, project_id]);
    return Number(r?.n ?? 0);
  }

  async insert(tx: Sql, row: Omit<ResourceRow, 'revision_number' | 'updated_at'>): Promise<boolean> {
    const doc = row.doc;
    const res = await tx.run(
      `INSERT INTO neutron_resources (kind, id, project_id, network_id, device_id, mac_address, seq, created_at, updated_at, revision_number, doc)
       VALUES (?, ?, ?, ?, ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM neutron_resources), ?, ?, 0, ?) ON CONFLICT (kind, id) DO NOTHING`,
      [row.kind, row.id, row.project_id, (doc.network_id as string | undefined) ?? null, (doc.device_id as string | undefined) ?? null, macOf(row.kind, doc), row.created_at, row.created_at, JSON.stringify(doc)],
    );
    if (res.changes === 0) return false;
    for (const tag of row.tags) await tx.run('INSERT INTO neutron_tags (resource_id, tag) VALUES (?, ?) ON CONFLICT DO NOTHING', [row.id, tag]);
    return true;
  }

  async update(tx: Sql, kind: string, id: string, doc: Doc, now: number, expected?: number): Promise<boolean> {
    const guard = expected === undefined ? '' : ' AND revision_number = ?';
    const params = [JSON.stringify(doc), (doc.device_id as string | undefined) ?? null, macOf(kind, doc), now, kind, id, ...(expected === undefined ? [] : [expected])];
    const res = await tx.run(`UPDATE neutron_resources SET doc = ?, device_id = ?, mac_address = ?, updated_at = ?, revision_number = revision_number + 1 WHERE kind = ? AND id = ?${guard}`, params);
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

  async firstFreeIp(tx: Sql, s: { subnet_id: string; version: IpVersion; pools: Pool[]; gateway: string | null }): Promise<string | null> {
    await holdUntilCommit(tx, `ipam:${s.subnet_id}`);
    const key = JSON.stringify([s.pools, s.gateway]);
    const ranges = s.pools.map((p) => [toBig(p.start), toBig(p.end)] as const);
    // The cursor says "every pool address below is taken", which names the first free one only
    // when the pools ascend without overlapping (Neutron's pools always do once validated).
    const ascending = ranges.every(([a, b], i) => a <= b && (i === 0 || ranges[i - 1][1] < a));
    let ip: string | null | undefined;
    let from: string | undefined;
    if (ascending) {
      const cur = await tx.get<{ pools: string; next_ip: string }>('SELECT pools, next_ip FROM neutron_ip_cursors WHERE subnet_id = ?', [s.subnet_id]);
      if (cur && cur.pools === key) {
        from = cur.next_ip;
        ip = await this.walkFrom(tx, s.subnet_id, s.version, ranges, toBig(from), s.gateway === null ? null : toBig(s.gateway));
      }
    }
    if (ip === undefined) {
      // No cursor (or it gave up): read the subnet's allocations once; the cursor starts after the pick.
      const taken = new Set((await this.allocations(tx, { subnet_id: s.subnet_id })).map((a) => a.ip_address));
      if (s.gateway !== null) taken.add(s.gateway);
      ip = firstFree(s.version, s.pools, taken);
    }
    if (ascending && ip !== null) {
      const n = toBig(ip);
      const next = n < ranges[ranges.length - 1][1] ? fromBig(s.version, n + 1n) : ip;
      // Moved on only from where it was read: a release that moved it back meanwhile (PostgreSQL) wins.
      if (from !== undefined) await tx.run('UPDATE neutron_ip_cursors SET next_ip = ? WHERE subnet_id = ? AND pools = ? AND next_ip = ?', [next, s.subnet_id, key, from]);
      else {
        await tx.run(
          'INSERT INTO neutron_ip_cursors (subnet_id, pools, next_ip) VALUES (?, ?, ?) ON CONFLICT (subnet_id) DO UPDATE SET pools = excluded.pools, next_ip = excluded.next_ip',
          [s.subnet_id, key, next],
        );
      }
    }
    return ip;
  }

  /** The first free pool address at or after `from` by point lookups; undefined after a few taken ones (then the caller reads them all). */
  private async walkFrom(tx: Sql, subnet_id: string, version: IpVersion, ranges: (readonly [bigint, bigint])[], from: bigint, gateway: bigint | null): Promise<string | null | undefined> {
    let budget = 16;
    for (const [a, b] of ranges) {
      for (let n = a > from ? a : from; n <= b; n++) {
        if (n === gateway) continue;
        const text = fromBig(version, n);
        if (!(await tx.get('SELECT 1 AS held FROM neutron_ipallocations WHERE subnet_id = ? AND ip_address = ?', [subnet_id, text]))) return text;
        if (--budget === 0) return undefined;
      }
    }
    return null;
  }

  async release(tx: Sql, port_id: string, keep: { subnet_id: string; ip_address: string }[] = []): Promise<void> {
    const held = await this.allocations(tx, { port_id });
    for (const a of held) {
      if (keep.some((k) => k.subnet_id === a.subnet_id && k.ip_address === a.ip_address)) continue;
      await tx.run('DELETE FROM neutron_ipallocations WHERE subnet_id = ? AND ip_address = ? AND port_id = ?', [a.subnet_id, a.ip_address, port_id]);
      // A freed address below the subnet's cursor is its lowest free one now.
      const cur = await tx.get<{ next_ip: string }>('SELECT next_ip FROM neutron_ip_cursors WHERE subnet_id = ?', [a.subnet_id]);
      if (cur && toBig(a.ip_address) < toBig(cur.next_ip)) await tx.run('UPDATE neutron_ip_cursors SET next_ip = ? WHERE subnet_id = ?', [a.ip_address, a.subnet_id]);
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

// ---- the list query's SQL, per dialect (documents are JSON text; PostgreSQL reads them as jsonb)

const quoteKey = (k: string) => k.replace(/"/g, '""');
const jsonPath = (k: string) => `'$."${quoteKey(k).replace(/'/g, "''")}"'`;
const pgKey = (k: string) => `'${k.replace(/'/g, "''")}'`;

/** A field as text, the way a query value is written (booleans as true/false). */
function textSql(pg: boolean, f: Field): string {
  if (f.column) return `CAST(r.${f.column} AS TEXT)`;
  const k = f.key!;
  return pg
    ? `(r.doc::jsonb ->> ${pgKey(k)})`
    : `(CASE json_type(r.doc, ${jsonPath(k)}) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(json_extract(r.doc, ${jsonPath(k)}) AS TEXT) END)`;
}

/** One filter value: equal as text, or held by a list; '' and 'None' also match null. */
function matchSql(pg: boolean, f: Field, value: string): { sql: string; params: unknown[] } {
  const text = textSql(pg, f);
  const isNull = value === '' || value === 'None' ? ` OR ${text} IS NULL` : '';
  if (f.column) return { sql: `(${text} = ?${isNull})`, params: [value] };
  const k = f.key!;
  const inList = pg
    ? `(jsonb_typeof(r.doc::jsonb -> ${pgKey(k)}) = 'array' AND EXISTS (SELECT 1 FROM jsonb_array_elements_text(r.doc::jsonb -> ${pgKey(k)}) e WHERE e = ?))`
    : `(json_type(r.doc, ${jsonPath(k)}) = 'array' AND EXISTS (SELECT 1 FROM json_each(r.doc, ${jsonPath(k)}) e WHERE CAST(e.value AS TEXT) = ?))`;
  return { sql: `(${inList} OR ${text} = ?${isNull})`, params: [value, value] };
}

/** The sort expression of a field: text byte-wise, numbers and booleans by value; JSON null is NULL. */
function sortSql(pg: boolean, f: Field): string {
  if (f.column) return pg && (f.column === 'id' || f.column === 'project_id') ? `r.${f.column} COLLATE "C"` : `r.${f.column}`;
  const k = f.key!;
  if (!pg) return `json_extract(r.doc, ${jsonPath(k)})`;
  return f.type === 'text' ? `((r.doc::jsonb ->> ${pgKey(k)}) COLLATE "C")` : `NULLIF(r.doc::jsonb -> ${pgKey(k)}, 'null'::jsonb)`;
}

const placeholder = (pg: boolean, f: Field) => (pg && !f.column && f.type !== 'text' ? 'CAST(? AS jsonb)' : '?');
const keyParam = (pg: boolean, f: Field, v: unknown): unknown => (pg && !f.column && f.type !== 'text' ? JSON.stringify(v) : typeof v === 'boolean' ? Number(v) : v);

function eqSql(pg: boolean, expr: string, f: Field, v: unknown, params: unknown[]): string {
  if (v === null || v === undefined) return `${expr} IS NULL`;
  params.push(keyParam(pg, f, v));
  return `${expr} = ${placeholder(pg, f)}`;
}
