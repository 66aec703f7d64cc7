// Block storage repositories against the portable executor: every method takes the `Sql` it runs on
// (the database, or a unit of work), so the engine can read and write in one transaction.
import { holdUntilCommit, type Param, type Sql } from '../sql.ts';
import type { AttachmentRecord, SnapshotRecord, VolumeRecord, VolumeTypeRecord } from '../../domain/volume/states.ts';

type Row = Record<string, unknown>;
const JSON_COLS = new Set(['metadata', 'image_metadata', 'admin_metadata', 'connector', 'connection_info', 'extra_specs', 'plan']);
const BOOL_COLS = new Set(['bootable', 'multiattach', 'readonly', 'is_public']);

function fromRow<T>(r: Row | undefined): T | undefined {
  if (!r) return undefined;
  const out: Row = {};
  for (const [k, v] of Object.entries(r)) {
    if (JSON_COLS.has(k)) out[k] = v === null || v === undefined ? null : JSON.parse(String(v));
    else if (BOOL_COLS.has(k)) out[k] = Boolean(Number(v));
    else out[k] = v;
  }
  return out as T;
}

function toParam(k: string, v: unknown): Param {
  if (JSON_COLS.has(k)) return v === null || v === undefined ? null : JSON.stringify(v);
  if (BOOL_COLS.has(k)) return v ? 1 : 0;
  return (v ?? null) as Param;
}

async function insert(sql: Sql, table: string, rec: object): Promise<void> {
  const entries = Object.entries(rec);
  await sql.run(
    `INSERT INTO ${table} (${entries.map(([k]) => k).join(', ')}) VALUES (${entries.map(() => '?').join(', ')})`,
    entries.map(([k, v]) => toParam(k, v)),
  );
}

/** UPDATE … SET patch WHERE id = ? [AND status IN (expected)]; true when a row changed. */
async function update(sql: Sql, table: string, key: string, id: string, patch: object, expected?: { column: string; values: readonly string[] }): Promise<boolean> {
  const entries = Object.entries(patch).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return true;
  let where = `${key} = ?`;
  const params: Param[] = [...entries.map(([k, v]) => toParam(k, v)), id];
  if (expected) {
    where += ` AND ${expected.column} IN (${expected.values.map(() => '?').join(', ')})`;
    params.push(...expected.values);
  }
  const r = await sql.run(`UPDATE ${table} SET ${entries.map(([k]) => `${k} = ?`).join(', ')} WHERE ${where}`, params);
  return r.changes > 0;
}

export type VolumePatch = Partial<Omit<VolumeRecord, 'id' | 'project_id' | 'created_at'>>;
export type SnapshotPatch = Partial<Omit<SnapshotRecord, 'id' | 'volume_id' | 'project_id' | 'created_at'>>;
export type AttachmentPatch = Partial<Omit<AttachmentRecord, 'id' | 'volume_id' | 'created_at'>>;

export interface VolumeTask {
  resource_id: string;
  kind: 'volume' | 'snapshot';
  action: string;
  step: number;
  due_at: number;
  plan: { steps: { op: string; set: string; attach?: string }[]; on_fault: string; previous: string | null; attachment_id?: string | null; server_uuid?: string | null; new_size?: number; new_type?: string; image_id?: string };
  locked_by: string | null;
  locked_until: number | null;
}

/** The block storage repositories (one implementation: the portable SQL one below). */
export interface VolumeStore {
  insertVolume(sql: Sql, v: VolumeRecord): Promise<void>;
  getVolume(sql: Sql, id: string): Promise<VolumeRecord | undefined>;
  /** Conditional update (Cinder's `conditional_update`): false when the status was not one of `expected`. */
  updateVolume(sql: Sql, id: string, patch: VolumePatch, expectedStatus?: readonly string[]): Promise<boolean>;
  destroyVolume(sql: Sql, id: string): Promise<void>;
  listVolumes(sql: Sql, projectId: string | null): Promise<VolumeRecord[]>;

  insertSnapshot(sql: Sql, s: SnapshotRecord): Promise<void>;
  getSnapshot(sql: Sql, id: string): Promise<SnapshotRecord | undefined>;
  updateSnapshot(sql: Sql, id: string, patch: SnapshotPatch, expectedStatus?: readonly string[]): Promise<boolean>;
  destroySnapshot(sql: Sql, id: string): Promise<void>;
  listSnapshots(sql: Sql, projectId: string | null): Promise<SnapshotRecord[]>;
  snapshotsOf(sql: Sql, volumeId: string): Promise<SnapshotRecord[]>;

  insertAttachment(sql: Sql, a: AttachmentRecord): Promise<void>;
  getAttachment(sql: Sql, id: string): Promise<AttachmentRecord | undefined>;
  updateAttachment(sql: Sql, id: string, patch: AttachmentPatch): Promise<void>;
  destroyAttachment(sql: Sql, id: string): Promise<void>;
  attachmentsOf(sql: Sql, volumeId: string): Promise<AttachmentRecord[]>;
  attachmentsOfServer(sql: Sql, serverUuid: string): Promise<AttachmentRecord[]>;
  listAttachments(sql: Sql): Promise<AttachmentRecord[]>;

  insertType(sql: Sql, t: VolumeTypeRecord): Promise<void>;
  getType(sql: Sql, id: string): Promise<VolumeTypeRecord | undefined>;
  getTypeByName(sql: Sql, name: string): Promise<VolumeTypeRecord | undefined>;
  updateType(sql: Sql, id: string, patch: Partial<Omit<VolumeTypeRecord, 'id' | 'created_at'>>): Promise<void>;
  deleteType(sql: Sql, id: string): Promise<void>;
  listTypes(sql: Sql): Promise<VolumeTypeRecord[]>;
  typeAccess(sql: Sql, typeId: string): Promise<string[]>;
  addTypeAccess(sql: Sql, typeId: string, projectId: string): Promise<boolean>;
  removeTypeAccess(sql: Sql, typeId: string, projectId: string): Promise<boolean>;

  /** Holds the project's usage until the unit of work ends, so two quota checks cannot pass on one count. */
  holdUsage(sql: Sql, projectId: string): Promise<void>;
  quotaOverrides(sql: Sql, projectId: string): Promise<Record<string, number>>;
  setQuota(sql: Sql, projectId: string, resource: string, limit: number): Promise<void>;
  clearQuotas(sql: Sql, projectId: string): Promise<void>;

  putTask(sql: Sql, t: VolumeTask): Promise<void>;
  getTask(sql: Sql, resourceId: string): Promise<VolumeTask | undefined>;
  deleteTask(sql: Sql, resourceId: string): Promise<void>;
  nextDueAt(sql: Sql): Promise<number | null>;
  /** Leases up to `limit` due tasks whose lease is free or expired, to `owner` until `until`. */
  claimDue(sql: Sql, now: number, owner: string, until: number, limit: number): Promise<VolumeTask[]>;
}

export class SqlVolumeStore implements VolumeStore {
  insertVolume = (sql: Sql, v: VolumeRecord) => insert(sql, 'volumes', v);
  getVolume = async (sql: Sql, id: string) => fromRow<VolumeRecord>(await sql.get('SELECT * FROM volumes WHERE id = ?', [id]));
  updateVolume = (sql: Sql, id: string, patch: VolumePatch, expected?: readonly string[]) =>
    update(sql, 'volumes', 'id', id, patch, expected ? { column: 'status', values: expected } : undefined);
  destroyVolume = async (sql: Sql, id: string) => {
    await sql.run('DELETE FROM volumes WHERE id = ?', [id]);
  };
  listVolumes = async (sql: Sql, projectId: string | null) =>
    (projectId === null
      ? await sql.all<Row>('SELECT * FROM volumes ORDER BY created_at DESC, id DESC')
      : await sql.all<Row>('SELECT * FROM volumes WHERE project_id = ? ORDER BY created_at DESC, id DESC', [projectId])
    ).map((r) => fromRow<VolumeRecord>(r)!);

  insertSnapshot = (sql: Sql, s: SnapshotRecord) => insert(sql, 'volume_snapshots', s);
  getSnapshot = async (sql: Sql, id: string) => fromRow<SnapshotRecord>(await sql.get('SELECT * FROM volume_snapshots WHERE id = ?', [id]));
  updateSnapshot = (sql: Sql, id: string, patch: SnapshotPatch, expected?: readonly string[]) =>
    update(sql, 'volume_snapshots', 'id', id, patch, expected ? { column: 'status', values: expected } : undefined);
  destroySnapshot = async (sql: Sql, id: string) => {
    await sql.run('DELETE FROM volume_snapshots WHERE id = ?', [id]);
  };
  listSnapshots = async (sql: Sql, projectId: string | null) =>
    (projectId === null
      ? await sql.all<Row>('SELECT * FROM volume_snapshots ORDER BY created_at DESC, id DESC')
      : await sql.all<Row>('SELECT * FROM volume_snapshots WHERE project_id = ? ORDER BY created_at DESC, id DESC', [projectId])
    ).map((r) => fromRow<SnapshotRecord>(r)!);
  snapshotsOf = async (sql: Sql, volumeId: string) =>
    (await sql.all<Row>('SELECT * FROM volume_snapshots WHERE volume_id = ? ORDER BY created_at, id', [volumeId])).map((r) => fromRow<SnapshotRecord>(r)!);

  insertAttachment = (sql: Sql, a: AttachmentRecord) => insert(sql, 'volume_attachments', a);
  getAttachment = async (sql: Sql, id: string) => fromRow<AttachmentRecord>(await sql.get('SELECT * FROM volume_attachments WHERE id = ?', [id]));
  updateAttachment = async (sql: Sql, id: string, patch: AttachmentPatch) => {
    await update(sql, 'volume_attachments', 'id', id, patch);
  };
  destroyAttachment = async (sql: Sql, id: string) => {
    await sql.run('DELETE FROM volume_attachments WHERE id = ?', [id]);
  };
  attachmentsOf = async (sql: Sql, volumeId: string) =>
    (await sql.all<Row>('SELECT * FROM volume_attachments WHERE volume_id = ? ORDER BY created_at, id', [volumeId])).map((r) => fromRow<AttachmentRecord>(r)!);
  attachmentsOfServer = async (sql: Sql, serverUuid: string) =>
    (await sql.all<Row>('SELECT * FROM volume_attachments WHERE instance_uuid = ? ORDER BY created_at, id', [serverUuid])).map((r) => fromRow<AttachmentRecord>(r)!);
  listAttachments = async (sql: Sql) =>
    (await sql.all<Row>('SELECT * FROM volume_attachments ORDER BY created_at DESC, id DESC')).map((r) => fromRow<AttachmentRecord>(r)!);

  insertType = (sql: Sql, t: VolumeTypeRecord) => insert(sql, 'volume_types', t);
  getType = async (sql: Sql, id: string) => fromRow<VolumeTypeRecord>(await sql.get('SELECT * FROM volume_types WHERE id = ?', [id]));
  getTypeByName = async (sql: Sql, name: string) => fromRow<VolumeTypeRecord>(await sql.get('SELECT * FROM volume_types WHERE name = ?', [name]));
  updateType = async (sql: Sql, id: string, patch: Partial<Omit<VolumeTypeRecord, 'id' | 'created_at'>>) => {
    await update(sql, 'volume_types', 'id', id, patch);
  };
  deleteType = async (sql: Sql, id: string) => {
    await sql.run('DELETE FROM volume_type_access WHERE volume_type_id = ?', [id]);
    await sql.run('DELETE FROM volume_types WHERE id = ?', [id]);
  };
  listTypes = async (sql: Sql) => (await sql.all<Row>('SELECT * FROM volume_types ORDER BY name')).map((r) => fromRow<VolumeTypeRecord>(r)!);
  typeAccess = async (sql: Sql, typeId: string) =>
    (await sql.all<{ project_id: string }>('SELECT project_id FROM volume_type_access WHERE volume_type_id = ? ORDER BY project_id', [typeId])).map((r) => r.project_id);
  addTypeAccess = async (sql: Sql, typeId: string, projectId: string) =>
    (await sql.run('INSERT INTO volume_type_access (volume_type_id, project_id) VALUES (?, ?) ON CONFLICT DO NOTHING', [typeId, projectId])).changes > 0;
  removeTypeAccess = async (sql: Sql, typeId: string, projectId: string) =>
    (await sql.run('DELETE FROM volume_type_access WHERE volume_type_id = ? AND project_id = ?', [typeId, projectId])).changes > 0;

  holdUsage = (sql: Sql, projectId: string) => holdUntilCommit(sql, `volume-usage:${projectId}`);
  quotaOverrides = async (sql: Sql, projectId: string) => {
    const rows = await sql.all<{ resource: string; hard_limit: number }>('SELECT resource, hard_limit FROM volume_quotas WHERE project_id = ?', [projectId]);
    return Object.fromEntries(rows.map((r) => [r.resource, Number(r.hard_limit)]));
  };
  setQuota = async (sql: Sql, projectId: string, resource: string, limit: number) => {
    await sql.run(
      'INSERT INTO volume_quotas (project_id, resource, hard_limit) VALUES (?, ?, ?) ON CONFLICT (project_id, resource) DO UPDATE SET hard_limit = excluded.hard_limit',
      [projectId, resource, limit],
    );
  };
  clearQuotas = async (sql: Sql, projectId: string) => {
    await sql.run('DELETE FROM volume_quotas WHERE project_id = ?', [projectId]);
  };

  putTask = async (sql: Sql, t: VolumeTask) => {
    await sql.run('DELETE FROM volume_tasks WHERE resource_id = ?', [t.resource_id]);
    await insert(sql, 'volume_tasks', t);
  };
  getTask = async (sql: Sql, id: string) => fromRow<VolumeTask>(await sql.get('SELECT * FROM volume_tasks WHERE resource_id = ?', [id]));
  deleteTask = async (sql: Sql, id: string) => {
    await sql.run('DELETE FROM volume_tasks WHERE resource_id = ?', [id]);
  };
  nextDueAt = async (sql: Sql) => {
    const r = await sql.get<{ m: number | null }>('SELECT MIN(due_at) AS m FROM volume_tasks');
    return r?.m === null || r?.m === undefined ? null : Number(r.m);
  };
  claimDue = async (sql: Sql, now: number, owner: string, until: number, limit: number) => {
    const lock = sql.dialect === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : '';
    const rows = await sql.all<Row>(
      `SELECT * FROM volume_tasks WHERE due_at <= ? AND (locked_until IS NULL OR locked_until < ? OR locked_by = ?) ORDER BY due_at, resource_id LIMIT ${Math.max(1, Math.floor(limit))}${lock}`,
      [now, now, owner],
    );
    for (const r of rows) await sql.run('UPDATE volume_tasks SET locked_by = ?, locked_until = ? WHERE resource_id = ?', [owner, until, String(r.resource_id)]);
    return rows.map((r) => ({ ...fromRow<VolumeTask>(r)!, locked_by: owner, locked_until: until }));
  };
}
