// What the compute stores share: how a server record maps to its row (columns, the JSON `doc`, tag
// and address side tables), row readers, and the SQL of a server list page in either dialect.
import type { FlavorSnapshot, ServerRecord } from '../domain/server.ts';
import type { TaskState } from '../domain/states.ts';
import { BadRequest } from '../domain/errors.ts';
import type { HostChange, ServerColumn, ServerQuery, TaskRow, Usage } from './store.ts';
import { SERVER_COLUMNS } from './store.ts';
import type { Dialect } from './sql.ts';

/** Record fields kept in the JSON `doc` column rather than their own columns. */
export const DOC_FIELDS = [
  'flavor', 'old_flavor', 'new_flavor', 'image_properties', 'key_data', 'user_data', 'metadata', 'system_metadata',
  'tags', 'addresses', 'security_groups', 'block_device_mapping', 'scheduler_hints', 'trusted_image_certificates',
  'locked_reason', 'pinned_availability_zone',
] as const satisfies readonly (keyof ServerRecord)[];
export type DocField = (typeof DOC_FIELDS)[number];
export const DOC_SET = new Set<string>(DOC_FIELDS);

/** Record fields stored as columns of the same name (booleans as 0/1). */
export const COLUMN_FIELDS = [
  'uuid', 'project_id', 'user_id', 'display_name', 'display_description', 'hostname', 'vm_state', 'task_state',
  'power_state', 'host', 'node', 'availability_zone', 'image_ref', 'key_name', 'reservation_id', 'launch_index',
  'locked_by', 'access_ip_v4', 'access_ip_v6', 'config_drive', 'auto_disk_config', 'progress', 'created_at',
  'updated_at', 'launched_at', 'terminated_at', 'deleted_at',
] as const satisfies readonly (keyof ServerRecord)[];

export interface ServerRow {
  id: number;
  [k: string]: unknown;
  doc: string;
}

export function rowToServer(r: ServerRow): ServerRecord {
  const doc = JSON.parse(r.doc) as Pick<ServerRecord, DocField>;
  const s = { id: r.id } as Record<string, unknown>;
  for (const f of COLUMN_FIELDS) s[f] = r[f];
  s.auto_disk_config = r.auto_disk_config === 1;
  s.deleted = r.deleted !== 0;
  Object.assign(s, doc);
  return s as unknown as ServerRecord;
}

export function docOf(s: Pick<ServerRecord, DocField>): string {
  const d: Record<string, unknown> = {};
  for (const f of DOC_FIELDS) d[f] = s[f];
  return JSON.stringify(d);
}

export function flavorRow(r: Record<string, unknown>): FlavorSnapshot {
  return {
    id: r.id as number, flavorid: r.flavorid as string, name: r.name as string, vcpus: r.vcpus as number,
    memory_mb: r.memory_mb as number, root_gb: r.root_gb as number, ephemeral_gb: r.ephemeral_gb as number,
    swap: r.swap as number, rxtx_factor: r.rxtx_factor as number, is_public: r.is_public === 1, disabled: r.disabled === 1,
    description: (r.description as string | null) ?? null, extra_specs: JSON.parse(r.extra_specs as string),
  };
}

export function taskRow(r: Record<string, unknown>): TaskRow {
  return {
    server_id: r.server_id as number, action: r.action as string, action_id: r.action_id as number | null,
    step: r.step as number, due_at: r.due_at as number, plan: JSON.parse(r.plan as string), context: JSON.parse(r.context as string),
    owner: (r.owner as string | null) ?? null, lease_until: Number(r.lease_until ?? 0), parked_host: (r.parked_host as string | null) ?? null,
  };
}


export const SORT_COLUMN: Record<ServerColumn, string> = Object.fromEntries(SERVER_COLUMNS.map((c) => [c, c])) as Record<ServerColumn, string>;
// Columns the schema does not have: Nova's instances carry them but novabox's servers are always blank.
SORT_COLUMN.kernel_id = "''";
SORT_COLUMN.ramdisk_id = "''";
SORT_COLUMN.root_device_name = "'/dev/vda'";

/** Sort columns the schema declares NOT NULL (and the id tie-breaker). */
export const NOT_NULL_SORT = new Set([
  's.id', 'uuid', 'project_id', 'user_id', 'display_name', 'hostname', 'vm_state', 'power_state', 'image_ref', 'instance_type_id',
  'reservation_id', 'launch_index', 'locked', 'access_ip_v4', 'access_ip_v6', 'config_drive', 'auto_disk_config', 'progress', 'created_at',
]);

/** What a server adds to its project's quota usage (the `usage` statement's rule). */
export function usageOf(r: { deleted: number; vm_state: string; vcpus: number; memory_mb: number } | undefined): Usage {
  return !r || r.deleted !== 0 || r.vm_state === 'soft-delete' ? { instances: 0, cores: 0, ram: 0 } : { instances: 1, cores: r.vcpus, ram: r.memory_mb };
}

export function serverParams(s: Omit<ServerRecord, 'id'>): Record<string, unknown> {
  const p: Record<string, unknown> = {};
  for (const f of COLUMN_FIELDS) p[f] = s[f];
  p.auto_disk_config = s.auto_disk_config ? 1 : 0;
  p.instance_type_id = s.flavor.id;
  p.vcpus = s.flavor.vcpus;
  p.memory_mb = s.flavor.memory_mb;
  p.locked = s.locked_by ? 1 : 0;
  p.deleted = s.deleted ? 1 : 0;
  p.doc = docOf(s);
  return p;
  }

/**
 * The SELECT of a server list page in either dialect: filters, sort keys plus the id tie-breaker,
 * and keyset pagination after `marker` (the previous page's last row, looked up by the caller).
 */
export function listServersSql(q: ServerQuery, dialect: Dialect, marker: ServerRow | undefined): { sql: string; params: unknown[] } {
  const pg = dialect === 'postgres';
  const FALSE = pg ? 'FALSE' : '0';
  const where: string[] = [];
  const params: unknown[] = [];
  if (q.project_id !== undefined) {
    where.push('s.project_id = ?');
    params.push(q.project_id);
}
  switch (q.deleted) {
    case 'exclude':
      where.push("s.deleted = 0 AND s.vm_state <> 'soft-delete'");
      break;
    case 'include_soft':
      where.push('s.deleted = 0');
      break;
    case 'only':
      where.push("(s.deleted <> 0 OR s.vm_state = 'soft-delete')");
      break;
    case 'include':
      break;
}
  if (q.vm_states) {
    where.push(`s.vm_state IN (${q.vm_states.map(() => '?').join(', ')})`);
    params.push(...q.vm_states);
}
  if (q.task_states) {
    const vals = q.task_states.filter((t): t is string => t !== null);
    const parts: string[] = [];
    if (vals.length) {
      parts.push(`s.task_state IN (${vals.map(() => '?').join(', ')})`);
      params.push(...vals);
    }
    if (q.task_states.includes(null)) parts.push('s.task_state IS NULL');
    where.push(parts.length ? `(${parts.join(' OR ')})` : FALSE);
}
  for (const f of q.exact ?? []) {
    const col = SORT_COLUMN[f.column];
    const vals = f.values.filter((v) => v !== null);
    const parts: string[] = [];
    if (vals.length) {
      parts.push(`${col} IN (${vals.map(() => '?').join(', ')})`);
      params.push(...vals);
    }
    if (f.values.includes(null)) parts.push(`${col} IS NULL`);
    where.push(parts.length ? `(${parts.join(' OR ')})` : FALSE);
}
  for (const f of q.regex ?? []) {
    // Some regex filters name integer columns (power_state, progress, created_at …): PostgreSQL matches their text, as SQLite's regexp() does.
    where.push(pg ? `CAST(${SORT_COLUMN[f.column]} AS TEXT) ~ ?` : `regexp(?, ${SORT_COLUMN[f.column]})`);
    params.push(f.pattern);
}
  if (q.changes_since !== undefined) {
    where.push('COALESCE(s.updated_at, s.created_at) >= ?');
    params.push(q.changes_since);
}
  if (q.changes_before !== undefined) {
    where.push('COALESCE(s.updated_at, s.created_at) <= ?');
    params.push(q.changes_before);
}
  for (const [ip, version] of [[q.ip, 4], [q.ip6, 6]] as const) {
    if (ip === undefined) continue;
    where.push(`EXISTS (SELECT 1 FROM server_ips i WHERE i.server_id = s.id AND i.version = ? AND ${pg ? 'strpos' : 'instr'}(i.address, ?) > 0)`);
    params.push(version, ip);
}
  const tagCount = (tags: string[]) => {
    params.push(...tags);
    return `(SELECT COUNT(*) FROM server_tags t WHERE t.server_id = s.id AND t.tag IN (${tags.map(() => '?').join(', ')}))`;
  };
  if (q.tags?.length) {
    const n = new Set(q.tags).size;
    where.push(`${tagCount([...new Set(q.tags)])} = ${n}`);
}
  if (q.tags_any?.length) where.push(`${tagCount(q.tags_any)} > 0`);
  if (q.not_tags?.length) {
    const n = new Set(q.not_tags).size;
    where.push(`${tagCount([...new Set(q.not_tags)])} < ${n}`);
}
  if (q.not_tags_any?.length) where.push(`${tagCount(q.not_tags_any)} = 0`);
  if (q.locked !== undefined) {
    where.push('s.locked = ?');
    params.push(q.locked ? 1 : 0);
}

  // Keyset pagination: the sort keys plus the id tie-breaker, compared lexicographically.
  const sort = [...q.sort.map((s) => ({ col: SORT_COLUMN[s.key], dir: s.dir })).filter((x) => !pg || !x.col.startsWith("'")), { col: 's.id', dir: q.sort[0]?.dir ?? 'desc' }];
  if (q.marker !== undefined) {
    const m = marker;
    if (!m) throw new BadRequest(`marker [${q.marker}] not found`);
    const mv = (col: string): unknown => {
      if (col === 's.id') return m.id;
      if (col === 'locked') return m.locked;
      if (col.startsWith("'")) return col.slice(1, -1);
      return m[col];
    };
    if (sort.every((x) => NOT_NULL_SORT.has(x.col) && x.dir === sort[0].dir)) {
      // Same order as the expansion below when no key can be NULL, and SQLite seeks the index
      // with a row value (a deep page costs what the first does; the OR form scans up to the marker).
      where.push(`(${sort.map((x) => x.col).join(', ')}) ${sort[0].dir === 'asc' ? '>' : '<'} (${sort.map(() => '?').join(', ')})`);
      params.push(...sort.map((x) => mv(x.col)));
    } else {
      const ors: string[] = [];
      for (let i = 0; i < sort.length; i++) {
        const ands: string[] = [];
        for (let j = 0; j < i; j++) {
          ands.push(`${sort[j].col} ${pg ? 'IS NOT DISTINCT FROM' : 'IS'} ?`);
          params.push(mv(sort[j].col));
        }
        const v = mv(sort[i].col);
        // NULL sorts first ascending (as SQLite and Nova's MySQL do).
        if (sort[i].dir === 'asc') {
          if (v === null) ands.push(`${sort[i].col} IS NOT NULL`);
          else {
            ands.push(`${sort[i].col} > ?`);
            params.push(v);
          }
        } else {
          if (v === null) ands.push(FALSE);
          else {
            ands.push(`(${sort[i].col} < ? OR ${sort[i].col} IS NULL)`);
            params.push(v);
          }
        }
        ors.push(`(${ands.join(' AND ')})`);
      }
      where.push(`(${ors.join(' OR ')})`);
    }
}
  const order = sort.map((s) => `${s.col} ${s.dir.toUpperCase()}`).join(', ');
  const sql = `SELECT s.* FROM servers s ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY ${order} LIMIT ?`;
  params.push(q.limit);
  return { sql, params };
  }

/**
 * The condition of a compare-and-set save (Nova's expected_task_state): appended to `WHERE id = ?`,
 * it matches only a row whose task_state is one of `expected` (null meaning none). Empty without one.
 */
export function expectedTaskState(expected: readonly (TaskState | null)[] | undefined): { sql: string; params: string[] } {
  if (!expected) return { sql: '', params: [] };
  const states = expected.filter((t): t is TaskState => t !== null);
  const parts: string[] = [];
  if (states.length > 0) parts.push(`task_state IN (${states.map(() => '?').join(', ')})`);
  if (states.length < expected.length) parts.push('task_state IS NULL');
  return { sql: ` AND (${parts.join(' OR ') || 'FALSE'})`, params: states };
}

/** The SET list and parameters of a host change (booleans as 0/1), for both stores. */
export function hostChangeSql(change: HostChange, now: number): { sets: string; params: (string | number | null)[] } {
  const cols: string[] = [];
  const params: (string | number | null)[] = [];
  for (const k of ['disabled', 'disabled_reason', 'forced_down', 'up'] as const) {
    const v = change[k];
    if (v === undefined) continue;
    cols.push(`${k} = ?`);
    params.push(typeof v === 'boolean' ? (v ? 1 : 0) : v);
  }
  cols.push('updated_at = ?');
  params.push(now);
  return { sets: cols.join(', '), params };
}
