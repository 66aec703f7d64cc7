// Image model (Glance v2 subset): records, tags, members and small uploaded payloads in SQLite,
// with Glance's default visibility and ownership rules. Compute reaches it through ImagePort.
import { createHash, randomUUID } from 'node:crypto';
import type { Config } from '../../config.ts';
import type { Clock } from '../../engine/clock.ts';
import type { Db } from '../../store/db.ts';
import { allows, isAdmin, type Credentials } from '../../domain/policy.ts';
import { ServiceError, serviceError } from '../faults.ts';
import type { ImagePort, ImageRecord } from '../ports.ts';

export interface Image extends ImageRecord {
  virtual_size: number | null;
  checksum: string | null;
  os_hash_algo: string | null;
  os_hash_value: string | null;
  os_hidden: boolean;
  tags: string[];
}

export interface Member { image_id: string; member: string; status: MemberStatus; created_at: number; updated_at: number }
export type MemberStatus = 'pending' | 'accepted' | 'rejected';

export const DISK_FORMATS = ['ami', 'ari', 'aki', 'vhd', 'vhdx', 'vmdk', 'raw', 'qcow2', 'vdi', 'iso', 'ploop'];
export const CONTAINER_FORMATS = ['ami', 'ari', 'aki', 'bare', 'ovf', 'ova', 'docker', 'compressed'];
export const VISIBILITIES = ['public', 'private', 'shared', 'community'] as const;
export const STATUSES = ['queued', 'saving', 'active', 'killed', 'deleted', 'pending_delete', 'deactivated', 'uploading', 'importing'];
export const SORT_KEYS = ['name', 'status', 'container_format', 'disk_format', 'size', 'virtual_size', 'id', 'created_at', 'updated_at', 'visibility', 'owner', 'min_disk', 'min_ram'] as const;
export type SortKey = (typeof SORT_KEYS)[number];
/** Attributes the server computes: a client setting one gets 403, as from Glance. */
export const READ_ONLY = ['status', 'size', 'virtual_size', 'checksum', 'os_hash_algo', 'os_hash_value', 'created_at', 'updated_at', 'self', 'file', 'schema', 'direct_url', 'locations', 'deleted', 'deleted_at', 'stores'];
/** Settable attributes with a type of their own; anything else is a free-form string property. */
export const BASE_ATTRS = ['id', 'name', 'visibility', 'container_format', 'disk_format', 'min_disk', 'min_ram', 'protected', 'os_hidden', 'tags', 'owner'];
export const MAX_UPLOAD = 32 * 1024 * 1024;

/** Everything a list request can say, already parsed (see the routes for Glance's query syntax). */
export interface ListQuery {
  visibility?: 'public' | 'private' | 'shared' | 'community' | 'all';
  member_status: 'accepted' | 'pending' | 'rejected' | 'all';
  os_hidden: boolean;
  /** Attribute filters: each value is a set of accepted strings (`in:` gives several). */
  attrs: Partial<Record<'name' | 'status' | 'owner' | 'container_format' | 'disk_format' | 'id', string[]>>;
  tags: string[];
  size_min?: number;
  size_max?: number;
  protected?: boolean;
  min_disk?: number;
  min_ram?: number;
  /** created_at / updated_at comparisons, e.g. ['gt', ms]. */
  times: { key: 'created_at' | 'updated_at'; op: 'gt' | 'gte' | 'lt' | 'lte' | 'eq' | 'neq'; at: number }[];
  properties: Record<string, string>;
  sort: { key: SortKey; dir: 'asc' | 'desc' }[];
  limit: number;
  marker?: string;
}

export interface ImageModel extends ImagePort {
  seed(): Promise<void>;
  /** A live image the credentials may see (Glance answers 404 for the rest). */
  show(id: string, creds: Credentials): Image;
  list(creds: Credentials, q: ListQuery): { images: Image[]; more: boolean };
  create(input: Record<string, unknown>, creds: Credentials): Image;
  /** Applies JSON-patch operations in order, all or nothing. */
  update(id: string, creds: Credentials, ops: ImageOp[]): Image;
  upload(id: string, creds: Credentials, data: Buffer): Image;
  download(id: string, creds: Credentials): { image: Image; data: Buffer | null };
  remove(id: string, creds: Credentials): void;
  setActive(id: string, creds: Credentials, active: boolean): void;
  addTag(id: string, creds: Credentials, tag: string): void;
  removeTag(id: string, creds: Credentials, tag: string): void;
  members(id: string, creds: Credentials): Member[];
  member(id: string, creds: Credentials, member: string): Member;
  addMember(id: string, creds: Credentials, member: string): Member;
  setMemberStatus(id: string, creds: Credentials, member: string, status: MemberStatus): Member;
  removeMember(id: string, creds: Credentials, member: string): void;
}

/** One JSON-patch operation on a top-level attribute or property. */
export interface ImageOp { op: 'add' | 'replace' | 'remove'; attr: string; value?: unknown }

const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** A name-based UUID (version 5 layout over SHA-1): the seeded images keep their ids in every database. */
export function stableUuid(name: string): string {
  const h = createHash('sha1').update(`novabox-image:${name}`).digest();
  h[6] = (h[6] & 0x0f) | 0x50;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

export const SEED_IMAGES = [
  { name: 'cirros-0.6.2-x86_64-disk', variant: 0 },
  { name: 'cirros-0.6.2-x86_64-disk-alt', variant: 1 },
].map((s) => ({ ...s, id: stableUuid(s.name) }));

const CIRROS_VIRTUAL_SIZE = 117440512;

/** A small payload with a real qcow2 header, so virtual_size reads like CirrOS's. */
function cirrosLikePayload(variant: number): Buffer {
  const b = Buffer.alloc(4096);
  b.write('QFI\xfb', 0, 'latin1');
  b.writeUInt32BE(3, 4);
  b.writeBigUInt64BE(BigInt(CIRROS_VIRTUAL_SIZE), 24);
  b.writeUInt32BE(16, 20);
  b.write(`novabox cirros-like image ${variant}`, 512, 'utf8');
  return b;
}

/** qcow2 keeps the virtual size at offset 24; raw images are their own size. */
function virtualSize(data: Buffer, disk_format: string | null): number | null {
  if (data.length >= 32 && data.readUInt32BE(0) === 0x514649fb) return Number(data.readBigUInt64BE(24));
  if (disk_format === 'raw' || disk_format === 'iso') return data.length;
  return null;
}

type Row = Record<string, unknown>;

const notFound = (id: string): ServiceError => serviceError(404, `No image found with ID ${id}`);
const policyDenied = (action: string): ServiceError => serviceError(403, `You are not authorized to complete ${action} action.`);

export function createImageModel(db: Db, _config: Config, clock: Clock): ImageModel {
  const q = {
    byId: db.prepare('SELECT * FROM images WHERE id = ? AND deleted = 0'),
    anyById: db.prepare('SELECT id FROM images WHERE id = ?'),
    live: db.prepare('SELECT * FROM images WHERE deleted = 0'),
    tagsOf: db.prepare('SELECT tag FROM image_tags WHERE image_id = ? ORDER BY rowid'),
    allTags: db.prepare('SELECT t.image_id, t.tag FROM image_tags t JOIN images i ON i.id = t.image_id WHERE i.deleted = 0 ORDER BY t.rowid'),
    memberOf: db.prepare('SELECT * FROM image_members WHERE image_id = ? AND member = ?'),
    membersOf: db.prepare('SELECT * FROM image_members WHERE image_id = ? ORDER BY created_at, member'),
    membershipsOf: db.prepare('SELECT image_id, status FROM image_members WHERE member = ?'),
    data: db.prepare('SELECT data FROM image_data WHERE image_id = ?'),
    putData: db.prepare('INSERT OR REPLACE INTO image_data (image_id, data) VALUES (?, ?)'),
    dropData: db.prepare('DELETE FROM image_data WHERE image_id = ?'),
    insert: db.prepare(`INSERT INTO images (id, name, status, visibility, owner, container_format, disk_format, size, virtual_size, checksum, os_hash_algo, os_hash_value,
      min_disk, min_ram, protected, os_hidden, properties, created_at, updated_at)
      VALUES (@id, @name, @status, @visibility, @owner, @container_format, @disk_format, @size, @virtual_size, @checksum, @os_hash_algo, @os_hash_value,
      @min_disk, @min_ram, @protected, @os_hidden, @properties, @created_at, @updated_at)`),
    markDeleted: db.prepare("UPDATE images SET deleted = 1, status = 'deleted', deleted_at = ?, updated_at = ? WHERE id = ? AND deleted = 0"),
  };

  function toImage(r: Row, tags?: string[]): Image {
    return {
      id: String(r.id),
      name: (r.name as string | null) ?? null,
      status: r.status as Image['status'],
      visibility: r.visibility as Image['visibility'],
      owner: (r.owner as string | null) ?? null,
      container_format: (r.container_format as string | null) ?? null,
      disk_format: (r.disk_format as string | null) ?? null,
      size: (r.size as number | null) ?? null,
      virtual_size: (r.virtual_size as number | null) ?? null,
      checksum: (r.checksum as string | null) ?? null,
      os_hash_algo: (r.os_hash_algo as string | null) ?? null,
      os_hash_value: (r.os_hash_value as string | null) ?? null,
      min_disk: Number(r.min_disk),
      min_ram: Number(r.min_ram),
      protected: r.protected === 1,
      os_hidden: r.os_hidden === 1,
      properties: JSON.parse(String(r.properties)) as Record<string, string>,
      created_at: Number(r.created_at),
      updated_at: Number(r.updated_at),
      tags: tags ?? (q.tagsOf.all(r.id) as { tag: string }[]).map((t) => t.tag),
    };
  }

  const load = (id: string): Image | undefined => {
    const r = q.byId.get(id) as Row | undefined;
    return r && toImage(r);
  };

  function visible(img: Image, c: Credentials): boolean {
    if (isAdmin(c)) return true;
    if (img.visibility === 'public' || img.visibility === 'community') return true;
    if (c.project_id && img.owner === c.project_id) return true;
    return img.visibility === 'shared' && !!c.project_id && !!q.memberOf.get(img.id, c.project_id);
  }

  /** The image if the caller may see it, else Glance's 404. */
  function seen(id: string, c: Credentials): Image {
    const img = load(id);
    if (!img || !visible(img, c)) throw notFound(id);
    return img;
  }

  /** Glance's default for changing an image: admin, or a member of the owning project. */
  function owned(id: string, c: Credentials, action: string): Image {
    const img = seen(id, c);
    if (!allows('member', c, { project_id: img.owner ?? '' })) throw policyDenied(action);
    return img;
  }

  function write(img: Image): void {
    db.prepare(`UPDATE images SET name = @name, status = @status, visibility = @visibility, owner = @owner, container_format = @container_format,
      disk_format = @disk_format, size = @size, virtual_size = @virtual_size, checksum = @checksum, os_hash_algo = @os_hash_algo, os_hash_value = @os_hash_value,
      min_disk = @min_disk, min_ram = @min_ram, protected = @protected, os_hidden = @os_hidden, properties = @properties, updated_at = @updated_at WHERE id = @id`).run(params(img));
  }

  function params(img: Image): Record<string, unknown> {
    const { tags: _t, ...rest } = img;
    return { ...rest, protected: img.protected ? 1 : 0, os_hidden: img.os_hidden ? 1 : 0, properties: JSON.stringify(img.properties) };
  }

  function setTags(id: string, tags: string[]): void {
    db.prepare('DELETE FROM image_tags WHERE image_id = ?').run(id);
    const ins = db.prepare('INSERT OR IGNORE INTO image_tags (image_id, tag) VALUES (?, ?)');
    for (const t of tags) ins.run(id, t);
  }

  function storeData(img: Image, data: Buffer): Image {
    img.size = data.length;
    img.virtual_size = virtualSize(data, img.disk_format);
    img.checksum = createHash('md5').update(data).digest('hex');
    img.os_hash_algo = 'sha512';
    img.os_hash_value = createHash('sha512').update(data).digest('hex');
    img.status = 'active';
    img.updated_at = clock.now();
    db.transaction(() => {
      q.putData.run(img.id, data);
      write(img);
    })();
    return img;
  }

  /** Validates and applies settable attributes onto an image (create and PATCH share it). */
  function applyAttrs(img: Image, attrs: Record<string, unknown>, c: Credentials): void {
    for (const [k, v] of Object.entries(attrs)) {
      switch (k) {
        case 'name':
          if (v !== null && (typeof v !== 'string' || v.length > 255)) throw serviceError(400, `Invalid value for 'name': must be a string of at most 255 characters or null.`);
          img.name = v as string | null;
          break;
        case 'visibility':
          if (!VISIBILITIES.includes(v as Image['visibility'])) throw serviceError(400, `Invalid value '${String(v)}' for 'visibility': must be one of ${VISIBILITIES.join(', ')}.`);
          if (v === 'public' && img.visibility !== 'public' && !isAdmin(c)) throw policyDenied('publicize_image');
          img.visibility = v as Image['visibility'];
          break;
        case 'container_format':
        case 'disk_format': {
          const allowed = k === 'disk_format' ? DISK_FORMATS : CONTAINER_FORMATS;
          if (v !== null && !allowed.includes(v as string)) throw serviceError(400, `Invalid value '${String(v)}' for '${k}': must be one of ${allowed.join(', ')}.`);
          if (img.status !== 'queued' && img[k] !== v) throw serviceError(403, `Attribute '${k}' can be only replaced for a queued image.`);
          img[k] = v as string | null;
          break;
        }
        case 'min_disk':
        case 'min_ram':
          if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 2 ** 31 - 1) throw serviceError(400, `Invalid value for '${k}': must be a non-negative integer.`);
          img[k] = v as number;
          break;
        case 'protected':
        case 'os_hidden':
          if (typeof v !== 'boolean') throw serviceError(400, `Invalid value for '${k}': ${JSON.stringify(v)} is not of type 'boolean'.`);
          img[k] = v;
          break;
        case 'tags':
          if (!Array.isArray(v) || !v.every((t) => typeof t === 'string' && t.length > 0 && t.length <= 255)) throw serviceError(400, `Invalid value for 'tags': must be a list of strings of 1 to 255 characters.`);
          img.tags = [...new Set(v as string[])];
          break;
        case 'owner':
          if (v !== null && typeof v !== 'string') throw serviceError(400, `Invalid value for 'owner': must be a string or null.`);
          if (v !== img.owner && !isAdmin(c)) throw serviceError(403, `You are not permitted to create images owned by '${String(v)}'.`);
          img.owner = v as string | null;
          break;
        case 'id':
          throw serviceError(403, `Attribute 'id' is read-only.`);
        default:
          checkPropertyName(k);
          if (typeof v !== 'string') throw serviceError(400, `Invalid value for property '${k}': ${JSON.stringify(v)} is not of type 'string'.`);
          img.properties[k] = v;
      }
    }
  }

  function checkPropertyName(k: string): void {
    if (READ_ONLY.includes(k)) throw serviceError(403, `Attribute '${k}' is read-only.`);
    if (k.startsWith('os_glance')) throw serviceError(403, `Attribute '${k}' is reserved.`);
    if (k.length === 0 || k.length > 255) throw serviceError(400, `Invalid property name '${k}'.`);
  }

  const memberView = (r: Row): Member => ({ image_id: String(r.image_id), member: String(r.member), status: r.status as MemberStatus, created_at: Number(r.created_at), updated_at: Number(r.updated_at) });

  /** Shared-image membership rules: only the owner manages the list, only a member answers it. */
  function sharedOwned(id: string, c: Credentials, action: string): Image {
    const img = seen(id, c);
    if (img.visibility !== 'shared') throw serviceError(403, `Only shared images have members.`);
    if (!allows('member', c, { project_id: img.owner ?? '' })) throw policyDenied(action);
    return img;
  }

  const model: ImageModel = {
    async seed() {
      const adminProject = db.prepare("SELECT id FROM projects WHERE domain_id = 'default' AND name = 'admin'").get() as { id: string } | undefined;
      const now = clock.now();
      db.transaction(() => {
        for (const s of SEED_IMAGES) {
          // Deleted seeds stay deleted: the row keeps the id even after DELETE.
          if (q.anyById.get(s.id)) continue;
          const img: Image = {
            id: s.id, name: s.name, status: 'queued', visibility: 'public', owner: adminProject?.id ?? null, container_format: 'bare', disk_format: 'qcow2',
            size: null, virtual_size: null, checksum: null, os_hash_algo: null, os_hash_value: null, min_disk: 0, min_ram: 0, protected: false, os_hidden: false,
            properties: {}, created_at: now + s.variant, updated_at: now + s.variant, tags: [],
          };
          q.insert.run(params(img));
          storeData(img, cirrosLikePayload(s.variant));
        }
      })();
    },

    async getImage(id, creds) {
      const img = load(id);
      return img && visible(img, creds) ? img : undefined;
    },

    async createSnapshot(input) {
      const now = clock.now();
      const img: Image = {
        id: randomUUID(), name: input.name, status: 'queued', visibility: 'private', owner: input.owner, container_format: 'bare', disk_format: 'qcow2',
        size: null, virtual_size: null, checksum: null, os_hash_algo: null, os_hash_value: null, min_disk: input.min_disk ?? 0, min_ram: input.min_ram ?? 0,
        protected: false, os_hidden: false, properties: { ...input.properties }, created_at: now, updated_at: now, tags: [],
      };
      q.insert.run(params(img));
      return img;
    },

    async setStatus(id, status) {
      if (status === 'deleted') return model.deleteImage(id);
      const img = load(id);
      if (!img) return;
      // A snapshot's bytes never exist here: it becomes active with an empty payload.
      if (status === 'active' && img.size === null) {
        storeData(img, Buffer.alloc(0));
        return;
      }
      img.status = status;
      img.updated_at = clock.now();
      write(img);
    },

    async deleteImage(id) {
      const now = clock.now();
      db.transaction(() => {
        q.markDeleted.run(now, now, id);
        q.dropData.run(id);
      })();
    },

    async findByProperties(owner, properties) {
      const rows = db.prepare('SELECT * FROM images WHERE owner = ? AND deleted = 0 ORDER BY created_at, id').all(owner) as Row[];
      return rows.map((r) => toImage(r)).filter((img) => Object.entries(properties).every(([k, v]) => img.properties[k] === v));
    },

    show: seen,

    list(c, lq) {
      const admin = isAdmin(c);
      const memberships = new Map<string, MemberStatus>();
      if (c.project_id) for (const m of q.membershipsOf.all(c.project_id) as { image_id: string; status: MemberStatus }[]) memberships.set(m.image_id, m.status);
      const sharedWithMe = (img: Image): boolean => {
        const st = memberships.get(img.id);
        return img.visibility === 'shared' && st !== undefined && (lq.member_status === 'all' || st === lq.member_status);
      };
      const mine = (img: Image): boolean => !!c.project_id && img.owner === c.project_id;
      const inScope = (img: Image): boolean => {
        switch (lq.visibility) {
          case undefined:
            return admin || img.visibility === 'public' || mine(img) || sharedWithMe(img);
          case 'all':
            return admin || img.visibility === 'public' || img.visibility === 'community' || mine(img) || sharedWithMe(img);
          case 'public':
          case 'community':
            return img.visibility === lq.visibility;
          case 'private':
            return img.visibility === 'private' && (admin || mine(img));
          case 'shared':
            return img.visibility === 'shared' && (admin || mine(img) || sharedWithMe(img));
        }
      };
      const tagsById = new Map<string, string[]>();
      for (const t of q.allTags.all() as { image_id: string; tag: string }[]) {
        const l = tagsById.get(t.image_id);
        if (l) l.push(t.tag);
        else tagsById.set(t.image_id, [t.tag]);
      }
      const all = (q.live.all() as Row[]).map((r) => toImage(r, tagsById.get(String(r.id)) ?? []));
      const matches = (img: Image): boolean => {
        if (!inScope(img) || img.os_hidden !== lq.os_hidden) return false;
        for (const [k, accepted] of Object.entries(lq.attrs)) if (!accepted.includes(String(img[k as keyof Image] ?? ''))) return false;
        if (!lq.tags.every((t) => img.tags.includes(t))) return false;
        if (lq.size_min !== undefined && (img.size === null || img.size < lq.size_min)) return false;
        if (lq.size_max !== undefined && (img.size === null || img.size > lq.size_max)) return false;
        if (lq.protected !== undefined && img.protected !== lq.protected) return false;
        if (lq.min_disk !== undefined && img.min_disk !== lq.min_disk) return false;
        if (lq.min_ram !== undefined && img.min_ram !== lq.min_ram) return false;
        for (const t of lq.times) {
          const v = img[t.key];
          const ok = { gt: v > t.at, gte: v >= t.at, lt: v < t.at, lte: v <= t.at, eq: v === t.at, neq: v !== t.at }[t.op];
          if (!ok) return false;
        }
        return Object.entries(lq.properties).every(([k, v]) => img.properties[k] === v);
      };
      const cmp = (a: Image, b: Image): number => {
        for (const { key, dir } of lq.sort) {
          const x = a[key] as string | number | null;
          const y = b[key] as string | number | null;
          if (x === y) continue;
          // NULLs sort first ascending, as in Glance's MySQL default.
          const d = x === null ? -1 : y === null ? 1 : x < y ? -1 : 1;
          return dir === 'asc' ? d : -d;
        }
        return 0;
      };
      const sorted = all.filter(matches).sort(cmp);
      let start = 0;
      if (lq.marker !== undefined) {
        // The marker must be an image the caller can see; the page starts after its sort position.
        const m = load(lq.marker);
        if (!m || !visible(m, c)) throw serviceError(400, `Invalid marker. Image ${lq.marker} could not be found.`);
        const after = sorted.findIndex((i) => cmp(i, m) > 0);
        start = after < 0 ? sorted.length : after;
      }
      const page = sorted.slice(start, start + lq.limit);
      return { images: page, more: start + lq.limit < sorted.length };
    },

    create(input, c) {
      if (!c.project_id && !isAdmin(c)) throw policyDenied('add_image');
      if (!allows('member', c, { project_id: c.project_id ?? '' })) throw policyDenied('add_image');
      for (const k of Object.keys(input)) if (READ_ONLY.includes(k)) throw serviceError(403, `Attribute '${k}' is read-only.`);
      let id: string = randomUUID();
      if (input.id !== undefined) {
        if (typeof input.id !== 'string' || !UUID_RE.test(input.id)) throw serviceError(400, `Invalid value for 'id': must be a UUID.`);
        id = input.id.toLowerCase();
        if (q.anyById.get(id)) throw serviceError(409, `Image with identifier ${id} already exists!`);
      }
      const now = clock.now();
      const img: Image = {
        id, name: null, status: 'queued', visibility: 'shared', owner: c.project_id, container_format: null, disk_format: null, size: null, virtual_size: null,
        checksum: null, os_hash_algo: null, os_hash_value: null, min_disk: 0, min_ram: 0, protected: false, os_hidden: false, properties: {}, created_at: now, updated_at: now, tags: [],
      };
      const { id: _id, ...attrs } = input;
      applyAttrs(img, attrs, c);
      db.transaction(() => {
        q.insert.run(params(img));
        setTags(img.id, img.tags);
      })();
      return load(img.id)!;
    },

    update(id, c, ops) {
      const img = owned(id, c, 'modify_image');
      for (const { op, attr, value } of ops) {
        if (READ_ONLY.includes(attr)) throw serviceError(403, `Attribute '${attr}' is read-only.`);
        const base = BASE_ATTRS.includes(attr);
        if (op === 'remove') {
          if (base) throw serviceError(403, `Attribute '${attr}' cannot be removed.`);
          checkPropertyName(attr);
          if (!(attr in img.properties)) throw serviceError(409, `Property ${attr} does not exist.`);
          delete img.properties[attr];
          continue;
        }
        if (op === 'replace' && !base && !(attr in img.properties)) throw serviceError(409, `Property ${attr} does not exist.`);
        applyAttrs(img, { [attr]: value }, c);
      }
      img.updated_at = clock.now();
      db.transaction(() => {
        write(img);
        setTags(img.id, img.tags);
      })();
      return load(id)!;
    },

    upload(id, c, data) {
      const img = owned(id, c, 'upload_image');
      if (img.status !== 'queued') throw serviceError(409, `Image status transition from ${img.status} to saving is not allowed`);
      if (!img.disk_format || !img.container_format) throw serviceError(400, 'Properties disk_format, container_format must be set prior to saving data.');
      return storeData(img, data);
    },

    download(id, c) {
      const image = seen(id, c);
      if (image.status === 'deactivated' && !isAdmin(c)) throw serviceError(403, 'The requested image has been deactivated. Image data download is forbidden.');
      const row = q.data.get(id) as { data: Buffer } | undefined;
      return { image, data: row && image.status === 'active' ? row.data : null };
    },

    remove(id, c) {
      const img = owned(id, c, 'delete_image');
      if (img.protected) throw serviceError(403, `Image ${id} is protected and cannot be deleted.`);
      void model.deleteImage(id);
    },

    setActive(id, c, active) {
      const img = seen(id, c);
      if (!isAdmin(c)) throw policyDenied(active ? 'reactivate' : 'deactivate');
      const from = active ? 'deactivated' : 'active';
      const to = active ? 'active' : 'deactivated';
      if (img.status === to) return;
      if (img.status !== from) throw serviceError(400, `Not allowed to ${active ? 'reactivate' : 'deactivate'} image in status '${img.status}'`);
      img.status = to;
      img.updated_at = clock.now();
      write(img);
    },

    addTag(id, c, tag) {
      const img = owned(id, c, 'modify_image');
      if (tag.length === 0 || tag.length > 255) throw serviceError(400, 'Tags must be 1 to 255 characters long.');
      if (!img.tags.includes(tag)) {
        db.prepare('INSERT OR IGNORE INTO image_tags (image_id, tag) VALUES (?, ?)').run(id, tag);
        db.prepare('UPDATE images SET updated_at = ? WHERE id = ?').run(clock.now(), id);
      }
    },

    removeTag(id, c, tag) {
      owned(id, c, 'modify_image');
      if (db.prepare('DELETE FROM image_tags WHERE image_id = ? AND tag = ?').run(id, tag).changes === 0) throw serviceError(404, `Tag ${tag} not found`);
      db.prepare('UPDATE images SET updated_at = ? WHERE id = ?').run(clock.now(), id);
    },

    members(id, c) {
      const img = seen(id, c);
      if (img.visibility !== 'shared') throw serviceError(403, 'Only shared images have members.');
      const all = (q.membersOf.all(id) as Row[]).map(memberView);
      // A member sees only its own membership; the owner and admins see the whole list.
      return isAdmin(c) || img.owner === c.project_id ? all : all.filter((m) => m.member === c.project_id);
    },

    member(id, c, member) {
      const found = model.members(id, c).find((m) => m.member === member);
      if (!found) throw serviceError(404, `Member ${member} not found`);
      return found;
    },

    addMember(id, c, member) {
      sharedOwned(id, c, 'add_member');
      if (q.memberOf.get(id, member)) throw serviceError(409, `Member ${member} already exists for image ${id}.`);
      const now = clock.now();
      db.prepare("INSERT INTO image_members (image_id, member, status, created_at, updated_at) VALUES (?, ?, 'pending', ?, ?)").run(id, member, now, now);
      return memberView(q.memberOf.get(id, member) as Row);
    },

    setMemberStatus(id, c, member, status) {
      seen(id, c);
      if (!q.memberOf.get(id, member)) throw serviceError(404, `Member ${member} not found`);
      if (c.project_id !== member) throw policyDenied('modify_member');
      if (!['pending', 'accepted', 'rejected'].includes(status)) throw serviceError(400, `Invalid status: ${String(status)}`);
      db.prepare('UPDATE image_members SET status = ?, updated_at = ? WHERE image_id = ? AND member = ?').run(status, clock.now(), id, member);
      return memberView(q.memberOf.get(id, member) as Row);
    },

    removeMember(id, c, member) {
      sharedOwned(id, c, 'delete_member');
      if (db.prepare('DELETE FROM image_members WHERE image_id = ? AND member = ?').run(id, member).changes === 0) throw serviceError(404, `Member ${member} not found`);
    },
  };
  return model;
}
