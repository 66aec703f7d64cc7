// Glance's records and the repository that keeps them (SQLite or PostgreSQL through `Sql`): image
// records with their tags, members, uploaded and staged bytes (apart, so listing never reads them)
// and import tasks. The image service decides; this only reads and writes.
import type { Sql, SqlDatabase } from '../sql.ts';
import { Table, type Filter } from '../table.ts';

export type ImageStatus = 'queued' | 'saving' | 'active' | 'killed' | 'deleted' | 'pending_delete' | 'deactivated' | 'uploading' | 'importing';

export interface Image {
  id: string;
  name: string | null;
  status: ImageStatus;
  visibility: 'public' | 'private' | 'shared' | 'community';
  owner: string | null;
  container_format: string | null;
  disk_format: string | null;
  size: number | null;
  virtual_size: number | null;
  checksum: string | null;
  os_hash_algo: string | null;
  os_hash_value: string | null;
  min_disk: number;
  min_ram: number;
  protected: boolean;
  os_hidden: boolean;
  properties: Record<string, string>;
  created_at: number;
  updated_at: number;
  /** The stores holding the data (comma-separated), null before any upload. */
  stores: string | null;
  tags: string[];
}

export type MemberStatus = 'pending' | 'accepted' | 'rejected';
export interface Member { image_id: string; member: string; status: MemberStatus; created_at: number; updated_at: number }

export interface ImageTask {
  id: string;
  type: string;
  status: 'pending' | 'processing' | 'success' | 'failure';
  owner: string | null;
  image_id: string | null;
  input: Record<string, unknown>;
  result: Record<string, unknown> | null;
  message: string;
  created_at: number;
  updated_at: number;
  expires_at: number | null;
  /** The request that started the task and its user (Glance shows them from API 2.12). */
  request_id: string | null;
  user_id: string | null;
}

type ImageRow = Omit<Image, 'tags'> & { deleted: boolean; deleted_at: number | null };
const images = new Table<ImageRow>('images', {
  id: 'text', name: 'text', status: 'text', visibility: 'text', owner: 'text', container_format: 'text', disk_format: 'text', size: 'int', virtual_size: 'int',
  checksum: 'text', os_hash_algo: 'text', os_hash_value: 'text', min_disk: 'int', min_ram: 'int', protected: 'bool', os_hidden: 'bool', properties: 'json',
  created_at: 'int', updated_at: 'int', stores: 'text', deleted: 'bool', deleted_at: 'int',
});
const members = new Table<Member>('image_members', { image_id: 'text', member: 'text', status: 'text', created_at: 'int', updated_at: 'int' });
const tasks = new Table<ImageTask>('image_tasks', {
  id: 'text', type: 'text', status: 'text', owner: 'text', image_id: 'text', input: 'json', result: 'json', message: 'text', created_at: 'int', updated_at: 'int', expires_at: 'int',
  request_id: 'text', user_id: 'text',
});

export interface ImageStore {
  transaction<T>(fn: (s: ImageStore) => Promise<T>): Promise<T>;
  /** A live (not deleted) image with its tags. */
  get(id: string): Promise<Image | undefined>;
  /** True when the id was ever used, deleted or not (Glance never reuses an image id). */
  exists(id: string): Promise<boolean>;
  /** Every live image, with tags. */
  listLive(): Promise<Image[]>;
  listByOwner(owner: string): Promise<Image[]>;
  insert(img: Image): Promise<void>;
  /** Writes every attribute and the tag list. */
  update(img: Image): Promise<void>;
  markDeleted(id: string, at: number): Promise<boolean>;
  addTag(id: string, tag: string): Promise<boolean>;
  removeTag(id: string, tag: string): Promise<boolean>;
  touch(id: string, at: number): Promise<void>;

  putData(id: string, data: Buffer): Promise<void>;
  getData(id: string): Promise<Buffer | undefined>;
  putStaging(id: string, data: Buffer, at: number): Promise<void>;
  getStaging(id: string): Promise<Buffer | undefined>;
  dropStaging(id: string): Promise<void>;

  member(image_id: string, member: string): Promise<Member | undefined>;
  members(image_id: string): Promise<Member[]>;
  membershipsOf(member: string): Promise<Member[]>;
  insertMember(m: Member): Promise<void>;
  updateMember(image_id: string, member: string, patch: Partial<Member>): Promise<void>;
  deleteMember(image_id: string, member: string): Promise<boolean>;

  insertTask(t: ImageTask): Promise<void>;
  getTask(id: string): Promise<ImageTask | undefined>;
  listTasks(f?: Filter<ImageTask>): Promise<ImageTask[]>;
  updateTask(id: string, patch: Partial<ImageTask>): Promise<void>;
}

export class SqlImageStore implements ImageStore {
  constructor(private readonly db: SqlDatabase, private readonly sql: Sql = db, private readonly inTx = false) {}

  transaction<T>(fn: (s: ImageStore) => Promise<T>): Promise<T> {
    if (this.inTx) return fn(this);
    return this.db.transaction((tx) => fn(new SqlImageStore(this.db, tx, true)));
  }

  private async withTags(rows: ImageRow[]): Promise<Image[]> {
    if (rows.length === 0) return [];
    const byId = new Map<string, string[]>();
    const ids = rows.map((r) => r.id);
    // One query for every tag of the page (chunked under SQLite's parameter limit).
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const tags = await this.sql.all<{ image_id: string; tag: string }>(`SELECT image_id, tag FROM image_tags WHERE image_id IN (${chunk.map(() => '?').join(', ')}) ORDER BY position, tag`, chunk);
      for (const t of tags) byId.set(t.image_id, [...(byId.get(t.image_id) ?? []), t.tag]);
    }
    return rows.map(({ deleted: _d, deleted_at: _a, ...r }) => ({ ...r, tags: byId.get(r.id) ?? [] }));
  }

  async get(id: string) {
    const row = await images.get(this.sql, { id, deleted: false });
    return row ? (await this.withTags([row]))[0] : undefined;
  }
  async exists(id: string) {
    return !!(await this.sql.get('SELECT id FROM images WHERE id = ?', [id]));
  }
  async listLive() {
    return this.withTags(await images.list(this.sql, { deleted: false }, 'created_at, id'));
  }
  async listByOwner(owner: string) {
    return this.withTags(await images.list(this.sql, { owner, deleted: false }, 'created_at, id'));
  }
  async insert(img: Image) {
    const { tags, ...rest } = img;
    await images.insert(this.sql, { ...rest, deleted: false, deleted_at: null });
    await this.setTags(img.id, tags);
  }
  async update(img: Image) {
    const { tags, id, ...rest } = img;
    await images.update(this.sql, { id }, rest);
    await this.setTags(id, tags);
  }
  private async setTags(id: string, tags: string[]): Promise<void> {
    await this.sql.run('DELETE FROM image_tags WHERE image_id = ?', [id]);
    let i = 0;
    for (const t of tags) await this.sql.run('INSERT INTO image_tags (image_id, tag, position) VALUES (?, ?, ?) ON CONFLICT DO NOTHING', [id, t, i++]);
  }
  async markDeleted(id: string, at: number) {
    const n = await images.update(this.sql, { id, deleted: false }, { deleted: true, status: 'deleted', deleted_at: at, updated_at: at });
    await this.sql.run('DELETE FROM image_data WHERE image_id = ?', [id]);
    await this.sql.run('DELETE FROM image_staging WHERE image_id = ?', [id]);
    return n > 0;
  }
  async addTag(id: string, tag: string) {
    const next = await this.sql.get<{ n: number }>('SELECT COALESCE(MAX(position), -1) + 1 AS n FROM image_tags WHERE image_id = ?', [id]);
    return (await this.sql.run('INSERT INTO image_tags (image_id, tag, position) VALUES (?, ?, ?) ON CONFLICT DO NOTHING', [id, tag, Number(next?.n ?? 0)])).changes > 0;
  }
  async removeTag(id: string, tag: string) {
    return (await this.sql.run('DELETE FROM image_tags WHERE image_id = ? AND tag = ?', [id, tag])).changes > 0;
  }
  async touch(id: string, at: number) {
    await images.update(this.sql, { id }, { updated_at: at });
  }

  async putData(id: string, data: Buffer) {
    await this.sql.run('INSERT INTO image_data (image_id, data) VALUES (?, ?) ON CONFLICT (image_id) DO UPDATE SET data = excluded.data', [id, data]);
  }
  async getData(id: string) {
    const row = await this.sql.get<{ data: Buffer }>('SELECT data FROM image_data WHERE image_id = ?', [id]);
    return row ? Buffer.from(row.data) : undefined;
  }
  async putStaging(id: string, data: Buffer, at: number) {
    await this.sql.run('INSERT INTO image_staging (image_id, data, created_at) VALUES (?, ?, ?) ON CONFLICT (image_id) DO UPDATE SET data = excluded.data, created_at = excluded.created_at', [id, data, at]);
  }
  async getStaging(id: string) {
    const row = await this.sql.get<{ data: Buffer }>('SELECT data FROM image_staging WHERE image_id = ?', [id]);
    return row ? Buffer.from(row.data) : undefined;
  }
  async dropStaging(id: string) {
    await this.sql.run('DELETE FROM image_staging WHERE image_id = ?', [id]);
  }

  member(image_id: string, member: string) { return members.get(this.sql, { image_id, member }); }
  members(image_id: string) { return members.list(this.sql, { image_id }, 'created_at, member'); }
  membershipsOf(member: string) { return members.list(this.sql, { member }); }
  async insertMember(m: Member) { await members.insert(this.sql, m); }
  async updateMember(image_id: string, member: string, patch: Partial<Member>) { await members.update(this.sql, { image_id, member }, patch); }
  async deleteMember(image_id: string, member: string) { return (await members.delete(this.sql, { image_id, member })) > 0; }

  async insertTask(t: ImageTask) { await tasks.insert(this.sql, t); }
  getTask(id: string) { return tasks.get(this.sql, { id }); }
  listTasks(f: Filter<ImageTask> = {}) { return tasks.list(this.sql, f, 'created_at DESC, id'); }
  async updateTask(id: string, patch: Partial<ImageTask>) { await tasks.update(this.sql, { id }, patch); }
}
