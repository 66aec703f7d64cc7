// Image service (Glance v2): the rules over the image repository (src/store/image/), with Glance's
// default visibility, ownership and membership policy, uploads, staging and interoperable import
// (glance-direct, copy-image) run as import tasks. Compute reaches it through ImagePort.
import { createHash, randomUUID } from 'node:crypto';
import type { Config } from '../../config.ts';
import type { Clock } from '../../engine/clock.ts';
import type { Image, ImageStore, ImageTask, Member, MemberStatus } from '../../store/image/repository.ts';
import { allows, isAdmin, type Credentials } from '../../domain/policy.ts';
import { ServiceError, serviceError } from '../faults.ts';
import type { ImagePort } from '../ports.ts';

export type { Image, ImageTask, Member, MemberStatus } from '../../store/image/repository.ts';

/** The stores data can live in (one backend, two names, so copy-image has somewhere to copy to). */
export const STORES = [
  { id: 'local', description: 'Image data kept in the novabox database.', default: true },
  { id: 'backup', description: 'A second store on the same backend, for copy-image.' },
];
export const IMPORT_METHODS = ['glance-direct', 'copy-image'];
/** Glance's image_member_quota. */
export const MEMBER_QUOTA = 128;

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
/** Largest image payload accepted (upload or stage): Glance's image_size_cap for this embedded store. */
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
  readonly store: ImageStore;
  /** Seeds the CirrOS-like images, owned by `owner` (the admin project). */
  seed(owner: string | null): Promise<void>;
  /** A live image the credentials may see (Glance answers 404 for the rest). */
  show(id: string, creds: Credentials): Promise<Image>;
  list(creds: Credentials, q: ListQuery): Promise<{ images: Image[]; more: boolean }>;
  create(input: Record<string, unknown>, creds: Credentials): Promise<Image>;
  /** Applies JSON-patch operations in order, all or nothing. */
  update(id: string, creds: Credentials, ops: ImageOp[]): Promise<Image>;
  upload(id: string, creds: Credentials, data: Buffer): Promise<Image>;
  download(id: string, creds: Credentials): Promise<{ image: Image; data: Buffer | null }>;
  remove(id: string, creds: Credentials): Promise<void>;
  setActive(id: string, creds: Credentials, active: boolean): Promise<void>;
  addTag(id: string, creds: Credentials, tag: string): Promise<void>;
  removeTag(id: string, creds: Credentials, tag: string): Promise<void>;
  members(id: string, creds: Credentials): Promise<Member[]>;
  member(id: string, creds: Credentials, member: string): Promise<Member>;
  addMember(id: string, creds: Credentials, member: string): Promise<Member>;
  setMemberStatus(id: string, creds: Credentials, member: string, status: MemberStatus): Promise<Member>;
  removeMember(id: string, creds: Credentials, member: string): Promise<void>;
  /** glance-direct's first half: the data waits in the staging area, the image is `uploading`. */
  stage(id: string, creds: Credentials, data: Buffer): Promise<void>;
  /** Starts an import task (glance-direct or copy-image); it runs after the call returns. */
  startImport(id: string, creds: Credentials, req: { method: string; stores: string[] | null; all_stores: boolean; all_stores_must_succeed: boolean; request_id: string }): Promise<ImageTask>;
  tasksOf(id: string, creds: Credentials): Promise<ImageTask[]>;
  task(id: string, creds: Credentials): Promise<ImageTask>;
  /** Resolves when every import started so far has ended (tests and shutdown). */
  settled(): Promise<void>;
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

const notFound = (id: string): ServiceError => serviceError(404, `No image found with ID ${id}`);
const policyDenied = (action: string): ServiceError => serviceError(403, `You are not authorized to complete ${action} action.`);

export function createImageModel(store: ImageStore, _config: Config, clock: Clock): ImageModel {
  const running = new Set<Promise<void>>();

  function visible(img: Image, c: Credentials, member: Member | undefined): boolean {
    if (isAdmin(c)) return true;
    if (img.visibility === 'public' || img.visibility === 'community') return true;
    if (c.project_id && img.owner === c.project_id) return true;
    return img.visibility === 'shared' && !!member;
  }
  const memberOf = async (img: Image, c: Credentials, s: ImageStore = store): Promise<Member | undefined> =>
    img.visibility === 'shared' && c.project_id ? s.member(img.id, c.project_id) : undefined;

  // Inside a unit of work, pass its store `s`: on SQLite a statement outside it would wait for it.
  /** The image if the caller may see it, else Glance's 404. */
  async function seen(id: string, c: Credentials, s: ImageStore = store): Promise<Image> {
    const img = await s.get(id);
    if (!img || !visible(img, c, await memberOf(img, c, s))) throw notFound(id);
    return img;
  }

  /** Glance's default for changing an image: admin, or a member of the owning project. */
  async function owned(id: string, c: Credentials, action: string, s: ImageStore = store): Promise<Image> {
    const img = await seen(id, c, s);
    if (!allows('member', c, { project_id: img.owner ?? '' })) throw policyDenied(action);
    return img;
  }

  /** Size, checksums and virtual size computed from the data itself. */
  function describeData(img: Image, data: Buffer): void {
    img.size = data.length;
    img.virtual_size = virtualSize(data, img.disk_format);
    img.checksum = createHash('md5').update(data).digest('hex');
    img.os_hash_algo = 'sha512';
    img.os_hash_value = createHash('sha512').update(data).digest('hex');
  }

  /** The `stores` attribute: each store once, sorted (the form clients' waiters compare with). */
  const storeList = (ids: Iterable<string>): string => [...new Set(ids)].sort().join(',');

  async function storeData(s: ImageStore, img: Image, data: Buffer, stores = 'local'): Promise<Image> {
    describeData(img, data);
    img.status = 'active';
    img.stores = stores;
    img.updated_at = clock.now();
    await s.putData(img.id, data);
    await s.update(img);
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

  /** Shared-image membership rules: only the owner manages the list, only a member answers it. */
  async function sharedOwned(id: string, c: Credentials, action: string): Promise<Image> {
    const img = await seen(id, c);
    if (img.visibility !== 'shared') throw serviceError(403, 'Only shared images have members.');
    if (!allows('member', c, { project_id: img.owner ?? '' })) throw policyDenied(action);
    return img;
  }

  /** Runs an import task's work after the request that started it has been answered. */
  function runTask(task: ImageTask, work: (s: ImageStore) => Promise<Record<string, unknown>>, onFailure: (s: ImageStore, err: Error) => Promise<void>): void {
    const p = (async () => {
      await new Promise((r) => setImmediate(r));
      await store.updateTask(task.id, { status: 'processing', updated_at: clock.now() });
      try {
        const result = await store.transaction(work);
        await store.updateTask(task.id, { status: 'success', result, updated_at: clock.now() });
      } catch (err) {
        const e = err as Error;
        await store.transaction((s) => onFailure(s, e)).catch(() => undefined);
        await store.updateTask(task.id, { status: 'failure', message: e.message, updated_at: clock.now() }).catch(() => undefined);
      }
    })().catch(() => undefined);
    running.add(p);
    void p.finally(() => running.delete(p));
  }

  const model: ImageModel = {
    store,

    async seed(owner) {
      const now = clock.now();
      await store.transaction(async (s) => {
        for (const seedImg of SEED_IMAGES) {
          // Deleted seeds stay deleted: the row keeps the id even after DELETE.
          if (await s.exists(seedImg.id)) continue;
          const img: Image = {
            id: seedImg.id, name: seedImg.name, status: 'queued', visibility: 'public', owner, container_format: 'bare', disk_format: 'qcow2',
            size: null, virtual_size: null, checksum: null, os_hash_algo: null, os_hash_value: null, min_disk: 0, min_ram: 0, protected: false, os_hidden: false,
            properties: {}, created_at: now + seedImg.variant, updated_at: now + seedImg.variant, stores: null, tags: [],
          };
          await s.insert(img);
          await storeData(s, img, cirrosLikePayload(seedImg.variant));
        }
      });
    },

    async getImage(id, creds) {
      const img = await store.get(id);
      return img && visible(img, creds, await memberOf(img, creds)) ? img : undefined;
    },

    async createSnapshot(input) {
      const now = clock.now();
      const img: Image = {
        id: randomUUID(), name: input.name, status: 'queued', visibility: 'private', owner: input.owner, container_format: 'bare', disk_format: 'qcow2',
        size: null, virtual_size: null, checksum: null, os_hash_algo: null, os_hash_value: null, min_disk: input.min_disk ?? 0, min_ram: input.min_ram ?? 0,
        protected: false, os_hidden: false, properties: { ...input.properties }, created_at: now, updated_at: now, stores: null, tags: [],
      };
      await store.insert(img);
      return img;
    },

    // The port's writes open no unit of work of their own: compute may call them from inside its own.
    async setStatus(id, status) {
      if (status === 'deleted') return model.deleteImage(id);
      const img = await store.get(id);
      if (!img) return;
      // A snapshot's bytes never exist here: it becomes active with an empty payload.
      if (status === 'active' && img.size === null) {
        await storeData(store, img, Buffer.alloc(0));
        return;
      }
      img.status = status;
      img.updated_at = clock.now();
      await store.update(img);
    },

    async deleteImage(id) {
      await store.markDeleted(id, clock.now());
    },

    async findByProperties(owner, properties) {
      return (await store.listByOwner(owner)).filter((img) => Object.entries(properties).every(([k, v]) => img.properties[k] === v));
    },

    show: (id, c) => seen(id, c),

    async list(c, lq) {
      const admin = isAdmin(c);
      const memberships = new Map<string, MemberStatus>();
      if (c.project_id) for (const m of await store.membershipsOf(c.project_id)) memberships.set(m.image_id, m.status);
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
      const all = await store.listLive();
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
        const m = await store.get(lq.marker);
        if (!m || !visible(m, c, await memberOf(m, c))) throw serviceError(400, `Invalid marker. Image ${lq.marker} could not be found.`);
        const after = sorted.findIndex((i) => cmp(i, m) > 0);
        start = after < 0 ? sorted.length : after;
      }
      const page = sorted.slice(start, start + lq.limit);
      // Glance offers the next page whenever this one is full, even when nothing follows it.
      return { images: page, more: page.length > 0 && page.length === lq.limit };
    },

    async create(input, c) {
      if (!c.project_id && !isAdmin(c)) throw policyDenied('add_image');
      if (!allows('member', c, { project_id: c.project_id ?? '' })) throw policyDenied('add_image');
      for (const k of Object.keys(input)) if (READ_ONLY.includes(k)) throw serviceError(403, `Attribute '${k}' is read-only.`);
      let id: string = randomUUID();
      if (input.id !== undefined) {
        if (typeof input.id !== 'string' || !UUID_RE.test(input.id)) throw serviceError(400, `Invalid value for 'id': must be a UUID.`);
        id = input.id.toLowerCase();
      }
      const now = clock.now();
      const img: Image = {
        id, name: null, status: 'queued', visibility: 'shared', owner: c.project_id, container_format: null, disk_format: null, size: null, virtual_size: null,
        checksum: null, os_hash_algo: null, os_hash_value: null, min_disk: 0, min_ram: 0, protected: false, os_hidden: false, properties: {}, created_at: now, updated_at: now,
        stores: null, tags: [],
      };
      const { id: _id, ...attrs } = input;
      applyAttrs(img, attrs, c);
      await store.transaction(async (s) => {
        if (await s.exists(id)) throw serviceError(409, `Image with identifier ${id} already exists!`);
        await s.insert(img);
      });
      return (await store.get(img.id))!;
    },

    async update(id, c, ops) {
      return store.transaction(async (s) => {
        const img = await owned(id, c, 'modify_image', s);
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
        await s.update(img);
        return (await s.get(id))!;
      });
    },

    async upload(id, c, data) {
      return store.transaction(async (s) => {
        const img = await owned(id, c, 'upload_image', s);
        if (img.status !== 'queued') throw serviceError(409, `Image status transition from ${img.status} to saving is not allowed`);
        if (!img.disk_format || !img.container_format) throw serviceError(400, 'Properties disk_format, container_format must be set prior to saving data.');
        return storeData(s, img, data);
      });
    },

    async download(id, c) {
      const image = await seen(id, c);
      if (image.status === 'deactivated' && !isAdmin(c)) throw serviceError(403, 'The requested image has been deactivated. Image data download is forbidden.');
      const data = image.status === 'active' || image.status === 'deactivated' ? await store.getData(id) : undefined;
      return { image, data: data ?? null };
    },

    async remove(id, c) {
      const img = await owned(id, c, 'delete_image');
      if (img.protected) throw serviceError(403, `Image ${id} is protected and cannot be deleted.`);
      await store.transaction((s) => s.markDeleted(id, clock.now()));
    },

    async setActive(id, c, active) {
      // Glance's default: an admin, or a member of the owning project.
      const img = await owned(id, c, active ? 'reactivate' : 'deactivate');
      const from = active ? 'deactivated' : 'active';
      const to = active ? 'active' : 'deactivated';
      if (img.status === to) return;
      if (img.status !== from) throw serviceError(400, `Not allowed to ${active ? 'reactivate' : 'deactivate'} image in status '${img.status}'`);
      img.status = to;
      img.updated_at = clock.now();
      await store.transaction((s) => s.update(img));
    },

    async addTag(id, c, tag) {
      const img = await owned(id, c, 'modify_image');
      if (tag.length === 0 || tag.length > 255) throw serviceError(400, 'Tags must be 1 to 255 characters long.');
      if (img.tags.includes(tag)) return;
      if (img.tags.length >= 128) throw serviceError(413, 'Maximum tag count exceeded, 128.');
      await store.transaction(async (s) => {
        await s.addTag(id, tag);
        await s.touch(id, clock.now());
      });
    },

    async removeTag(id, c, tag) {
      await owned(id, c, 'modify_image');
      await store.transaction(async (s) => {
        if (!(await s.removeTag(id, tag))) throw serviceError(404, `Tag ${tag} not found`);
        await s.touch(id, clock.now());
      });
    },

    async members(id, c) {
      const img = await seen(id, c);
      if (img.visibility !== 'shared') throw serviceError(403, 'Only shared images have members.');
      const all = await store.members(id);
      // A member sees only its own membership; the owner and admins see the whole list.
      return isAdmin(c) || img.owner === c.project_id ? all : all.filter((m) => m.member === c.project_id);
    },

    async member(id, c, member) {
      const found = (await model.members(id, c)).find((m) => m.member === member);
      if (!found) throw serviceError(404, `Member ${member} not found`);
      return found;
    },

    async addMember(id, c, member) {
      await sharedOwned(id, c, 'add_member');
      return store.transaction(async (s) => {
        if (await s.member(id, member)) throw serviceError(409, `Member ${member} already exists for image ${id}.`);
        if ((await s.members(id)).length >= MEMBER_QUOTA) throw serviceError(413, `The number of members exceeds the limit of ${MEMBER_QUOTA}.`);
        const now = clock.now();
        const m: Member = { image_id: id, member, status: 'pending', created_at: now, updated_at: now };
        await s.insertMember(m);
        return m;
      });
    },

    async setMemberStatus(id, c, member, status) {
      await seen(id, c);
      // Glance's policy: only the member itself answers (accepts, rejects, or puts back to pending).
      if (!(await store.member(id, member))) throw serviceError(404, `Member ${member} not found`);
      if (c.project_id !== member) throw policyDenied('modify_member');
      if (!['pending', 'accepted', 'rejected'].includes(status)) throw serviceError(400, `Invalid status: ${String(status)}`);
      return store.transaction(async (s) => {
        await s.updateMember(id, member, { status, updated_at: clock.now() });
        return (await s.member(id, member))!;
      });
    },

    async removeMember(id, c, member) {
      await sharedOwned(id, c, 'delete_member');
      if (!(await store.transaction((s) => s.deleteMember(id, member)))) throw serviceError(404, `Member ${member} not found`);
    },

    async stage(id, c, data) {
      await store.transaction(async (s) => {
        const img = await owned(id, c, 'upload_image', s);
        if (img.status !== 'queued') throw serviceError(409, `Image status transition from ${img.status} to uploading is not allowed`);
        await s.putStaging(id, data, clock.now());
        img.status = 'uploading';
        img.updated_at = clock.now();
        await s.update(img);
      });
    },

    async startImport(id, c, req) {
      const method = req.method;
      if (!IMPORT_METHODS.includes(method)) throw serviceError(400, `Import method ${method} is not valid.`);
      const known = STORES.map((x) => x.id);
      for (const st of req.stores ?? []) if (!known.includes(st)) throw serviceError(400, `Unknown store(s): ${st}`);
      const now = clock.now();
      const task: ImageTask = {
        id: randomUUID(), type: 'api_image_import', status: 'pending', owner: c.project_id, image_id: id,
        input: { image_id: id, import_req: { method: { name: method }, ...(req.stores ? { stores: req.stores } : {}), all_stores: req.all_stores, all_stores_must_succeed: req.all_stores_must_succeed }, backend: req.stores ?? [] },
        result: null, message: '', created_at: now, updated_at: now, expires_at: now + 48 * 3600 * 1000, request_id: req.request_id, user_id: c.user_id,
      };
      if (method === 'glance-direct') {
        // Glance imports to the stores asked for, to every store with all_stores, else to the default one.
        const target = (req.all_stores ? known : req.stores ?? ['local']).join(',');
        await store.transaction(async (s) => {
          const img = await owned(id, c, 'import_image', s);
          if (img.status !== 'uploading') throw serviceError(409, `Image needs to be staged before 'glance-direct' method can be used`);
          if (!img.disk_format || !img.container_format) throw serviceError(400, 'Properties disk_format, container_format must be set prior to importing data.');
          img.status = 'importing';
          img.properties.os_glance_import_task = task.id;
          img.properties.os_glance_importing_to_stores = target;
          img.updated_at = now;
          await s.update(img);
          await s.insertTask(task);
        });
        runTask(task, async (s) => {
          const img = await s.get(id);
          const data = await s.getStaging(id);
          if (!img || img.status !== 'importing') throw new Error('Image was deleted or changed during import.');
          if (!data) throw new Error('Staged data is gone.');
          img.properties.os_glance_importing_to_stores = '';
          img.properties.os_glance_failed_import = '';
          await storeData(s, img, data, storeList(target.split(',')));
          await s.dropStaging(id);
          return { image_id: id };
        }, async (s, err) => {
          const img = await s.get(id);
          if (!img || img.status !== 'importing') return;
          // A failed import leaves the image queued again, as Glance reverts it, with the store named as failed.
          img.status = 'queued';
          img.properties.os_glance_importing_to_stores = '';
          img.properties.os_glance_failed_import = target;
          img.updated_at = clock.now();
          await s.update(img);
          await s.dropStaging(id);
          void err;
        });
        return task;
      }
      // copy-image: an active image's data goes to more stores; only an admin or the owner may ask.
      const targets = req.all_stores ? known : req.stores ?? [];
      await store.transaction(async (s) => {
        const img = await owned(id, c, 'copy_image', s);
        if (!isAdmin(c)) throw policyDenied('copy_image');
        if (img.status !== 'active') throw serviceError(409, `Image status is '${img.status}'; 'copy-image' requires an active image.`);
        if (targets.length === 0) throw serviceError(400, 'Stores parameter or all_stores must be specified for copy-image.');
        const have = (img.stores ?? '').split(',').filter(Boolean);
        const missing = targets.filter((t) => !have.includes(t));
        if (!req.all_stores && missing.length < targets.length) throw serviceError(409, `Image is already present at store '${targets.find((t) => have.includes(t))}'`);
        img.properties.os_glance_import_task = task.id;
        img.properties.os_glance_importing_to_stores = missing.join(',');
        img.updated_at = now;
        await s.update(img);
        await s.insertTask(task);
      });
      runTask(task, async (s) => {
        const img = await s.get(id);
        if (!img) throw new Error('Image was deleted during copy.');
        const have = (img.stores ?? '').split(',').filter(Boolean);
        img.stores = storeList([...have, ...targets]);
        img.properties.os_glance_importing_to_stores = '';
        img.properties.os_glance_failed_import = '';
        img.updated_at = clock.now();
        await s.update(img);
        return { image_id: id };
      }, async () => undefined);
      return task;
    },

    async tasksOf(id, c) {
      await seen(id, c);
      return store.listTasks({ image_id: id });
    },

    async task(id, c) {
      const t = await store.getTask(id);
      if (!t || (!isAdmin(c) && t.owner !== c.project_id)) throw serviceError(404, `Task with the given ID ${id} not found`);
      return t;
    },

    async settled() {
      while (running.size) await Promise.all([...running]);
    },
  };
  return model;
}
