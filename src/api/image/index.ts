// Glance v2 subset at /image: version discovery, images (list, show, create, upload, download,
// PATCH, delete), tags, members, deactivate/reactivate and the image schemas.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../../novabox.ts';
import { publicUrl } from '../../config.ts';
import { requireAuth, serviceErrorHandler } from '../auth.ts';
import { parseJsonBody } from '../json.ts';
import { serviceError } from '../faults.ts';
import type { AuthContext } from '../ports.ts';
import { IMPORT_METHODS, MAX_UPLOAD, SORT_KEYS, STATUSES, STORES, type Image, type ImageModel, type ImageOp, type ImageTask, type ListQuery, type Member, type MemberStatus, type SortKey } from './model.ts';
import { registerMetadefs } from './metadefs.ts';

/** Glance's timestamps: whole seconds, `Z`. */
export function glanceTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function imageView(img: Image): Record<string, unknown> {
  return {
    ...img.properties,
    id: img.id,
    name: img.name,
    status: img.status,
    visibility: img.visibility,
    protected: img.protected,
    os_hidden: img.os_hidden,
    checksum: img.checksum,
    os_hash_algo: img.os_hash_algo,
    os_hash_value: img.os_hash_value,
    owner: img.owner,
    size: img.size,
    virtual_size: img.virtual_size,
    min_ram: img.min_ram,
    min_disk: img.min_disk,
    disk_format: img.disk_format,
    container_format: img.container_format,
    created_at: glanceTime(img.created_at),
    updated_at: glanceTime(img.updated_at),
    tags: img.tags,
    ...(img.stores ? { stores: img.stores } : {}),
    self: `/v2/images/${img.id}`,
    file: `/v2/images/${img.id}/file`,
    schema: '/v2/schemas/image',
  };
}

/** What Glance's create answer advertises: the import methods and the stores. */
const importHeaders = (): Record<string, string> => ({ 'OpenStack-image-import-methods': IMPORT_METHODS.join(','), 'OpenStack-image-store-ids': STORES.map((x) => x.id).join(',') });

export function taskView(t: ImageTask): Record<string, unknown> {
  return {
    id: t.id, type: t.type, status: t.status, owner: t.owner, input: t.input, result: t.result, message: t.message, image_id: t.image_id,
    created_at: glanceTime(t.created_at), updated_at: glanceTime(t.updated_at), ...(t.expires_at ? { expires_at: glanceTime(t.expires_at) } : {}),
    request_id: t.request_id, user_id: t.user_id, self: `/v2/tasks/${t.id}`, schema: '/v2/schemas/task',
  };
}

const memberView = (m: Member): Record<string, unknown> => ({
  created_at: glanceTime(m.created_at), image_id: m.image_id, member_id: m.member, schema: '/v2/schemas/member', status: m.status, updated_at: glanceTime(m.updated_at),
});

/** Newest first, as Glance lists v2.16 down to v2.0. */
const VERSIONS = Array.from({ length: 17 }, (_, i) => 16 - i);
const DEFAULT_LIMIT = 25;
const API_LIMIT_MAX = 1000;
const PATCH_TYPES = ['application/openstack-images-v2.1-json-patch', 'application/openstack-images-v2.0-json-patch'];

const all = (v: unknown): string[] => (v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)]);
const one = (v: unknown): string | undefined => all(v)[0];

function intParam(name: string, v: string | undefined, min = 0): number | undefined {
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v)) throw serviceError(400, `${name} param must be an integer`);
  const n = Number(v);
  if (n < min) throw serviceError(400, `${name} param must be positive`);
  return n;
}

function boolParam(name: string, v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  const s = v.toLowerCase();
  if (s === 'true' || s === '1' || s === 'yes' || s === 'on') return true;
  if (s === 'false' || s === '0' || s === 'no' || s === 'off') return false;
  throw serviceError(400, `Invalid value '${v}' for '${name}': must be a boolean.`);
}

/** `in:a,b` selects several values; a plain value selects one. */
const choices = (v: string): string[] => (v.startsWith('in:') ? v.slice(3).split(',').map((s) => s.trim().replace(/^"(.*)"$/, '$1')) : [v]);

const HANDLED = new Set(['limit', 'marker', 'sort_key', 'sort_dir', 'sort', 'visibility', 'member_status', 'os_hidden', 'tag', 'size', 'size_min', 'size_max', 'protected',
  'name', 'status', 'owner', 'container_format', 'disk_format', 'id', 'created_at', 'updated_at', 'min_disk', 'min_ram']);

/** Glance's list query: filters, `sort_key`/`sort_dir` or `sort=k:dir,…`, `limit` and `marker`. */
export function parseListQuery(qs: Record<string, unknown>): ListQuery {
  const lq: ListQuery = { member_status: 'accepted', os_hidden: false, attrs: {}, tags: all(qs.tag), times: [], properties: {}, sort: [], limit: DEFAULT_LIMIT };
  const limit = intParam('limit', one(qs.limit));
  if (limit !== undefined) lq.limit = Math.min(limit, API_LIMIT_MAX);
  lq.marker = one(qs.marker);
  const vis = one(qs.visibility);
  if (vis !== undefined) {
    if (!['public', 'private', 'shared', 'community', 'all'].includes(vis)) throw serviceError(400, `Invalid visibility value: ${vis}`);
    lq.visibility = vis as ListQuery['visibility'];
  }
  const ms = one(qs.member_status);
  if (ms !== undefined) {
    if (!['accepted', 'pending', 'rejected', 'all'].includes(ms)) throw serviceError(400, `Invalid status value: ${ms}`);
    lq.member_status = ms as ListQuery['member_status'];
  }
  lq.os_hidden = boolParam('os_hidden', one(qs.os_hidden)) ?? false;
  lq.protected = boolParam('protected', one(qs.protected));
  lq.size_min = intParam('size_min', one(qs.size_min));
  lq.size_max = intParam('size_max', one(qs.size_max));
  // `size` is an attribute like the others: an exact match.
  const size = intParam('size', one(qs.size));
  if (size !== undefined) lq.size_min = lq.size_max = size;
  lq.min_disk = intParam('min_disk', one(qs.min_disk));
  lq.min_ram = intParam('min_ram', one(qs.min_ram));
  for (const k of ['name', 'status', 'owner', 'container_format', 'disk_format', 'id'] as const) {
    const v = one(qs[k]);
    if (v === undefined) continue;
    lq.attrs[k] = choices(v);
    if (k === 'status') for (const s of lq.attrs[k]!) if (!STATUSES.includes(s)) throw serviceError(400, `Invalid status value: ${s}`);
  }
  for (const key of ['created_at', 'updated_at'] as const) {
    for (const v of all(qs[key])) {
      const m = /^(?:(gt|gte|lt|lte|eq|neq):)?(.*)$/s.exec(v)!;
      const at = m[2] === '' ? NaN : Date.parse(m[2]);
      if (Number.isNaN(at)) throw serviceError(400, `Invalid value for '${key}': ${v}`);
      lq.times.push({ key, op: (m[1] ?? 'eq') as ListQuery['times'][number]['op'], at });
    }
  }
  for (const [k, v] of Object.entries(qs)) if (!HANDLED.has(k)) lq.properties[k] = one(v) ?? '';

  const checkKey = (k: string): SortKey => {
    if (!(SORT_KEYS as readonly string[]).includes(k)) throw serviceError(400, `Invalid sort key: ${k}. It must be one of the following: ${SORT_KEYS.join(', ')}.`);
    return k as SortKey;
  };
  const checkDir = (d: string): 'asc' | 'desc' => {
    if (d !== 'asc' && d !== 'desc') throw serviceError(400, `Invalid sort direction: ${d}`);
    return d;
  };
  if (qs.sort !== undefined) {
    if (qs.sort_key !== undefined || qs.sort_dir !== undefined) throw serviceError(400, 'The "sort" param cannot be combined with "sort_key" or "sort_dir".');
    for (const part of all(qs.sort).join(',').split(',').map((s) => s.trim()).filter(Boolean)) {
      const [k, d] = part.split(':');
      lq.sort.push({ key: checkKey(k), dir: checkDir(d ?? 'desc') });
    }
  } else {
    const keys = all(qs.sort_key);
    const dirs = all(qs.sort_dir).map(checkDir);
    if (dirs.length > 1 && dirs.length !== keys.length) throw serviceError(400, 'Number of sort dirs does not match the number of sort keys');
    keys.forEach((k, i) => lq.sort.push({ key: checkKey(k), dir: dirs[i] ?? dirs[0] ?? 'desc' }));
    if (keys.length === 0 && dirs.length === 1) lq.sort.push({ key: 'created_at', dir: dirs[0] });
  }
  // Glance always ends with created_at and id, so pages are stable.
  const tail = lq.sort.length ? lq.sort[lq.sort.length - 1].dir : 'desc';
  for (const k of ['created_at', 'id'] as const) if (!lq.sort.some((s) => s.key === k)) lq.sort.push({ key: k, dir: tail });
  return lq;
}

/** `/name` → `name`; Glance patches top-level attributes only. */
function pointer(path: unknown): string {
  if (typeof path !== 'string' || !path.startsWith('/') || path.length < 2) throw serviceError(400, `Invalid JSON pointer for this resource: '${String(path)}'`);
  const parts = path.slice(1).split('/');
  if (parts.length !== 1) throw serviceError(400, `Invalid JSON pointer for this resource: '${path}'`);
  return parts[0].replace(/~1/g, '/').replace(/~0/g, '~');
}

export function parsePatch(body: unknown): ImageOp[] {
  if (!Array.isArray(body)) throw serviceError(400, 'Request body must be a JSON array of operation objects.');
  return body.map((o) => {
    if (typeof o !== 'object' || o === null || Array.isArray(o)) throw serviceError(400, 'Operations must be JSON objects.');
    const rec = o as Record<string, unknown>;
    // The draft-4 form Glance also accepts (tempest sends it): {"replace": "/name", "value": …}.
    const d4 = rec.op === undefined ? (['add', 'replace', 'remove'] as const).filter((k) => k in rec) : [];
    const op = d4.length === 1 ? d4[0] : rec.op;
    const path = d4.length === 1 ? rec[d4[0]] : rec.path;
    if (op !== 'add' && op !== 'replace' && op !== 'remove') throw serviceError(400, `Invalid operation: '${String(op)}'; must be one of add, replace, remove.`);
    const attr = pointer(path);
    if (op !== 'remove' && !('value' in o)) throw serviceError(400, `Operation "${op}" requires a member named "value".`);
    return { op, attr, value: (o as Record<string, unknown>).value };
  });
}

function imageSchema(): Record<string, unknown> {
  const str = { type: ['null', 'string'], maxLength: 255 };
  return {
    name: 'image',
    additionalProperties: { type: 'string' },
    links: [{ href: '{self}', rel: 'self' }, { href: '{file}', rel: 'enclosure' }, { href: '{schema}', rel: 'describedby' }],
    properties: {
      id: { type: 'string', pattern: '^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$' },
      name: str,
      status: { type: 'string', readOnly: true, enum: STATUSES },
      visibility: { type: 'string', enum: ['community', 'public', 'private', 'shared'] },
      protected: { type: 'boolean' },
      os_hidden: { type: 'boolean' },
      checksum: { ...str, readOnly: true },
      os_hash_algo: { ...str, readOnly: true },
      os_hash_value: { type: ['null', 'string'], readOnly: true },
      owner: str,
      size: { type: ['null', 'integer'], readOnly: true },
      virtual_size: { type: ['null', 'integer'], readOnly: true },
      container_format: { type: ['null', 'string'] },
      disk_format: { type: ['null', 'string'] },
      created_at: { type: 'string', readOnly: true },
      updated_at: { type: 'string', readOnly: true },
      tags: { type: 'array', items: { type: 'string', maxLength: 255 } },
      self: { type: 'string', readOnly: true },
      file: { type: 'string', readOnly: true },
      schema: { type: 'string', readOnly: true },
      min_ram: { type: 'integer' },
      min_disk: { type: 'integer' },
    },
  };
}

function memberSchema(): Record<string, unknown> {
  return {
    name: 'member',
    properties: {
      member_id: { type: 'string', description: 'An identifier for the image member (tenantId)' },
      image_id: { type: 'string', pattern: '^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$' },
      status: { type: 'string', enum: ['pending', 'accepted', 'rejected'], description: 'The status of this image member' },
      created_at: { type: 'string' },
      updated_at: { type: 'string' },
      schema: { type: 'string', readOnly: true },
    },
  };
}

function taskSchema(): Record<string, unknown> {
  const ro = (type: unknown): Record<string, unknown> => ({ type, readOnly: true });
  return {
    name: 'task',
    properties: {
      id: { type: 'string', pattern: '^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$' },
      type: { type: 'string', enum: ['import', 'api_image_import'] },
      status: { type: 'string', enum: ['pending', 'processing', 'success', 'failure'] },
      input: { type: ['null', 'object'] },
      result: { type: ['null', 'object'] },
      owner: { type: ['null', 'string'] },
      message: { type: 'string' },
      image_id: ro('string'),
      request_id: ro('string'),
      user_id: ro('string'),
      expires_at: { type: ['null', 'string'] },
      created_at: ro('string'),
      updated_at: ro('string'),
      self: ro('string'),
      schema: ro('string'),
    },
  };
}

export async function registerImage(app: FastifyInstance, svc: Services): Promise<void> {
  const model: ImageModel = svc.images;
  const auth = requireAuth(svc);
  const creds = (req: FastifyRequest): AuthContext => req.auth as AuthContext;
  const versions = (): Record<string, unknown> => ({
    versions: VERSIONS.map((n) => ({ id: `v2.${n}`, status: n === 16 ? 'CURRENT' : 'SUPPORTED', links: [{ rel: 'self', href: `${publicUrl(svc.config)}/image/v2/` }] })),
  });

  await app.register(async (r) => {
    r.setErrorHandler(serviceErrorHandler);
    r.setNotFoundHandler((_req, reply) => reply.code(404).send({ error: { code: 404, title: 'Not Found', message: 'The resource could not be found.' } }));
    // Image bytes arrive raw; PATCH bodies use Glance's JSON-patch media types.
    r.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: MAX_UPLOAD }, (_req, body, done) => done(null, body));
    r.addContentTypeParser(PATCH_TYPES, { parseAs: 'string' }, (_req, body, done) => {
      const parsed = parseJsonBody(String(body));
      if (parsed.ok) done(null, parsed.value);
      else done(serviceError(400, 'Malformed JSON in request body.'), undefined);
    });

    r.get('/', async (_req, reply) => reply.code(300).send(versions()));
    r.get('/versions', async () => versions());

    await r.register(async (v2) => {
      v2.addHook('onRequest', auth);
      type Id = { Params: { id: string } };

      v2.get('/schemas/image', async () => imageSchema());
      v2.get('/schemas/images', async () => ({
        name: 'images', properties: { images: { type: 'array', items: imageSchema() }, schema: { type: 'string' }, first: { type: 'string' }, next: { type: 'string' } },
        links: [{ href: '{first}', rel: 'first' }, { href: '{next}', rel: 'next' }, { href: '{schema}', rel: 'describedby' }],
      }));
      v2.get('/schemas/member', async () => memberSchema());
      v2.get('/schemas/members', async () => ({
        name: 'members', properties: { members: { type: 'array', items: memberSchema() }, schema: { type: 'string' } }, links: [{ href: '{schema}', rel: 'describedby' }],
      }));
      v2.get('/schemas/task', async () => taskSchema());
      v2.get('/schemas/tasks', async () => ({
        name: 'tasks', properties: { tasks: { type: 'array', items: taskSchema() }, schema: { type: 'string' }, first: { type: 'string' }, next: { type: 'string' } },
        links: [{ href: '{schema}', rel: 'describedby' }, { href: '{first}', rel: 'first' }, { href: '{next}', rel: 'next' }],
      }));

      // Metadata definitions (and their schemas under /schemas/metadefs/).
      await registerMetadefs(v2, svc);

      // Interoperable import: discovery, staging (glance-direct), the import call and its tasks.
      v2.get('/info/import', async () => ({ 'import-methods': { description: 'Import methods available.', type: 'array', value: IMPORT_METHODS } }));
      v2.get('/info/stores', async () => ({ stores: STORES }));
      v2.put<Id>('/images/:id/stage', { bodyLimit: MAX_UPLOAD }, async (req, reply) => {
        const data = req.body === undefined ? Buffer.alloc(0) : req.body;
        if (!Buffer.isBuffer(data)) throw serviceError(415, 'Unsupported Content-Type; image data must be application/octet-stream');
        await model.stage(req.params.id, creds(req), data);
        return reply.code(204).send();
      });
      v2.post<Id>('/images/:id/import', async (req, reply) => {
        const b = req.body;
        if (typeof b !== 'object' || b === null || Array.isArray(b)) throw serviceError(400, 'Request body must be a JSON object.');
        const body = b as Record<string, unknown>;
        const method = body.method as Record<string, unknown> | undefined;
        if (typeof method !== 'object' || method === null || typeof method.name !== 'string') throw serviceError(400, "Invalid input: 'method' with a 'name' is required.");
        const header = req.headers['x-image-meta-store'];
        let stores: string[] | null = null;
        if (body.stores !== undefined) {
          if (!Array.isArray(body.stores) || !body.stores.every((x) => typeof x === 'string')) throw serviceError(400, "Invalid input: 'stores' must be a list of store ids.");
          stores = body.stores as string[];
        } else if (typeof header === 'string' && header) stores = [header];
        for (const k of ['all_stores', 'all_stores_must_succeed'] as const) {
          if (body[k] !== undefined && typeof body[k] !== 'boolean') throw serviceError(400, `Invalid input: '${k}' must be a boolean.`);
        }
        if (body.all_stores === true && stores) throw serviceError(400, 'All_stores parameter can\'t be used with x-image-meta-store header or stores parameter');
        const task = await model.startImport(req.params.id, creds(req), {
          method: method.name, stores, all_stores: body.all_stores === true, all_stores_must_succeed: body.all_stores_must_succeed !== false, request_id: req.requestId,
        });
        return reply.code(202).header('X-Openstack-Request-Id', req.requestId).header('Location', `/v2/tasks/${task.id}`).send();
      });
      v2.get<Id>('/images/:id/tasks', async (req) => ({ tasks: (await model.tasksOf(req.params.id, creds(req))).map(taskView) }));
      v2.get<Id>('/tasks/:id', async (req) => taskView(await model.task(req.params.id, creds(req))));

      v2.get('/images', async (req) => {
        const qs = req.query as Record<string, unknown>;
        const { images, more } = await model.list(creds(req), parseListQuery(qs));
        const body: Record<string, unknown> = { images: images.map(imageView), first: '/v2/images', schema: '/v2/schemas/images' };
        if (more && images.length > 0) {
          const params = new URLSearchParams(req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '');
          params.delete('marker');
          params.append('marker', images[images.length - 1].id);
          body.next = `/v2/images?${params.toString()}`;
        }
        return body;
      });
      v2.post('/images', async (req, reply) => {
        const body = req.body;
        if (typeof body !== 'object' || body === null || Array.isArray(body)) throw serviceError(400, 'Request body must be a JSON object.');
        const img = await model.create(body as Record<string, unknown>, creds(req));
        return reply.code(201).header('Location', `${publicUrl(svc.config)}/image/v2/images/${img.id}`).headers(importHeaders()).send(imageView(img));
      });
      v2.get<Id>('/images/:id', async (req) => imageView(await model.show(req.params.id, creds(req))));
      v2.patch<Id>('/images/:id', async (req) => {
        const ct = String(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
        if (!PATCH_TYPES.includes(ct)) throw serviceError(415, `Unsupported Content-Type; use ${PATCH_TYPES[0]}`);
        return imageView(await model.update(req.params.id, creds(req), parsePatch(req.body)));
      });
      v2.delete<Id>('/images/:id', async (req, reply) => {
        await model.remove(req.params.id, creds(req));
        return reply.code(204).send();
      });
      v2.put<Id>('/images/:id/file', { bodyLimit: MAX_UPLOAD }, async (req, reply) => {
        const data = req.body === undefined ? Buffer.alloc(0) : req.body;
        if (!Buffer.isBuffer(data)) throw serviceError(415, 'Unsupported Content-Type; image data must be application/octet-stream');
        await model.upload(req.params.id, creds(req), data);
        return reply.code(204).send();
      });
      v2.get<Id>('/images/:id/file', async (req, reply: FastifyReply) => {
        const { image, data } = await model.download(req.params.id, creds(req));
        if (!data) return reply.code(204).send();
        return reply.header('Content-Type', 'application/octet-stream').header('Content-MD5', image.checksum ?? '').send(data);
      });
      v2.post<{ Params: { id: string; action: string } }>('/images/:id/actions/:action', async (req, reply) => {
        const { action } = req.params;
        if (action !== 'deactivate' && action !== 'reactivate') throw serviceError(404, `Unknown image action: ${action}`);
        await model.setActive(req.params.id, creds(req), action === 'reactivate');
        return reply.code(204).send();
      });
      v2.put<{ Params: { id: string; tag: string } }>('/images/:id/tags/:tag', async (req, reply) => {
        await model.addTag(req.params.id, creds(req), req.params.tag);
        return reply.code(204).send();
      });
      v2.delete<{ Params: { id: string; tag: string } }>('/images/:id/tags/:tag', async (req, reply) => {
        await model.removeTag(req.params.id, creds(req), req.params.tag);
        return reply.code(204).send();
      });

      type M = { Params: { id: string; member: string } };
      v2.get<Id>('/images/:id/members', async (req) => ({ members: (await model.members(req.params.id, creds(req))).map(memberView), schema: '/v2/schemas/members' }));
      v2.post<Id>('/images/:id/members', async (req) => {
        const member = (req.body as Record<string, unknown> | undefined)?.member;
        if (typeof member !== 'string' || member === '') throw serviceError(400, "Request body must contain a 'member' string.");
        return memberView(await model.addMember(req.params.id, creds(req), member));
      });
      v2.get<M>('/images/:id/members/:member', async (req) => memberView(await model.member(req.params.id, creds(req), req.params.member)));
      v2.put<M>('/images/:id/members/:member', async (req) => {
        const status = (req.body as Record<string, unknown> | undefined)?.status;
        if (typeof status !== 'string') throw serviceError(400, "Request body must contain a 'status' string.");
        return memberView(await model.setMemberStatus(req.params.id, creds(req), req.params.member, status as MemberStatus));
      });
      v2.delete<M>('/images/:id/members/:member', async (req, reply) => {
        await model.removeMember(req.params.id, creds(req), req.params.member);
        return reply.code(204).send();
      });
    }, { prefix: '/v2' });
  }, { prefix: '/image' });
}
