// The one generic controller (Neutron's api/v2/base.py): every resource's create, update, show,
// list and delete, its tags, and If-Match revision checks are served from its attribute map; the
// plugin handlers add only their business rules.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Attribute, ResourceDef } from '../../domain/network/attributes.ts';
import { badRequest, conflict, invalidAttribute, NeutronFault, policyNotAuthorized } from '../../domain/network/errors.ts';
import { convert, validate } from '../../domain/network/validators.ts';
import type { Doc, ResourceRow } from '../../store/network/repository.ts';
import type { Unit } from './unit.ts';
import type { Handler } from './plugin/handler.ts';
import { isOwner } from './plugin/handler.ts';
import { iso } from './plugin/security-groups.ts';
import type { NetworkService } from './service.ts';

type Query = Record<string, string | string[] | undefined>;
const isObj = (v: unknown): v is Doc => typeof v === 'object' && v !== null && !Array.isArray(v);
const many = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** The full view of a row as the caller may see it (admin-only attributes hidden from others). */
export async function render(u: Unit, h: Handler, row: ResourceRow): Promise<Doc> {
  const extra = h.extend ? await h.extend(u, row) : {};
  const out: Doc = {};
  const all: Doc = { ...row.doc, ...extra, id: row.id, tenant_id: row.project_id, project_id: row.project_id, tags: row.tags, created_at: iso(row.created_at), updated_at: iso(row.updated_at), revision_number: row.revision_number };
  for (const [k, a] of Object.entries(h.def.attributes)) {
    if (!a.is_visible || (a.admin_read && !u.ctx.admin)) continue;
    out[k] = all[k] ?? (Array.isArray(a.default) ? [] : null);
  }
  return out;
}

function pick(view: Doc, fields: string[]): Doc {
  if (!fields.length) return view;
  const out: Doc = {};
  for (const f of fields) if (f in view) out[f] = view[f];
  return out;
}

/** Converts and validates one attribute value, as the API layer does before the plugin sees it. */
function check(name: string, a: Attribute, value: unknown): unknown {
  let v = value;
  if (a.convert) {
    const c = convert(a.convert, v);
    if ('error' in c) throw invalidAttribute(name, c.error);
    v = c.value;
  }
  if (a.validate) {
    const why = validate(a.validate, v);
    if (why) throw invalidAttribute(name, why);
  }
  return v;
}

/** Neutron's prepare_request_body: unknown, read-only and missing attributes, defaults, policy. */
export function prepareBody(u: Unit, def: ResourceDef, body: unknown, create: boolean): Doc {
  if (!isObj(body) || !(def.member in body)) {
    throw badRequest(body === undefined || body === null ? 'Resource body required' : `Unable to find '${def.member}' in request body`);
  }
  const given = body[def.member];
  if (!isObj(given)) throw badRequest(`Invalid input for ${def.member}. Reason: Resource body required.`);
  const unknown = Object.keys(given).filter((k) => !(k in def.attributes));
  if (unknown.length) throw badRequest(`Unrecognized attribute(s) '${unknown.join(', ')}'`);
  const out: Doc = {};
  for (const [k, v] of Object.entries(given)) {
    const a = def.attributes[k];
    if (create && !a.allow_post) throw badRequest(`Attribute '${k}' not allowed in POST`);
    if (!create && !a.allow_put) throw badRequest(`Cannot update read-only attribute ${k}`);
    out[k] = check(k, a, v);
    if (a.policy === 'admin' && !u.ctx.admin && !(create && JSON.stringify(out[k]) === JSON.stringify(a.default))) {
      throw policyNotAuthorized(`${create ? 'create' : 'update'}_${def.member}:${k}`);
    }
  }
  if (!create) {
    delete out.tenant_id;
    delete out.project_id;
    return out;
  }
  // The project: the caller's, or another one for admins only.
  const asked = (out.project_id ?? out.tenant_id) as string | undefined;
  if (out.project_id !== undefined && out.tenant_id !== undefined && out.project_id !== out.tenant_id) {
    throw badRequest("Invalid input for operation: 'project_id' and 'tenant_id' do not match.");
  }
  if (asked !== undefined && asked !== u.ctx.project_id && !u.ctx.admin) {
    throw badRequest("Specifying 'project_id' or 'tenant_id' other than the authenticated project in request requires admin privileges");
  }
  out.project_id = asked ?? u.ctx.project_id;
  delete out.tenant_id;
  for (const [k, a] of Object.entries(def.attributes)) {
    if (k in out || !a.allow_post || a.computed || k === 'tenant_id' || k === 'project_id') continue;
    if (a.default === undefined) throw badRequest(`Failed to parse request. Required attribute '${k}' not specified`);
    out[k] = structuredClone(a.default);
  }
  return out;
}

/** The If-Match header's revision_number constraint, if any. */
function ifMatch(req: FastifyRequest): number | undefined {
  const h = req.headers['if-match'];
  if (!h) return undefined;
  const m = /revision_number=(\d+)/.exec(String(h));
  if (!m) throw badRequest(`Could not parse If-Match header: ${h}`);
  return Number(m[1]);
}

function text(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  return String(v);
}

/** Does a rendered value match one query value of a filter (booleans and numbers as Neutron converts them)? */
function matches(a: Attribute | undefined, value: unknown, wanted: string): boolean {
  if (typeof value === 'boolean') {
    const c = convert('boolean', wanted);
    return 'value' in c && c.value === value;
  }
  if (Array.isArray(value)) return value.map(String).includes(wanted);
  if (typeof value === 'number') return String(value) === wanted;
  if (value === null) return wanted === '' || wanted === 'None';
  void a;
  return text(value) === wanted;
}

function compare(x: unknown, y: unknown): number {
  if (x === y) return 0;
  if (x === null || x === undefined) return -1;
  if (y === null || y === undefined) return 1;
  if (typeof x === 'number' && typeof y === 'number') return x - y;
  if (typeof x === 'boolean' && typeof y === 'boolean') return Number(x) - Number(y);
  return String(x) < String(y) ? -1 : 1;
}

const PAGING = new Set(['fields', 'sort_key', 'sort_dir', 'limit', 'marker', 'page_reverse', 'tags', 'tags-any', 'not-tags', 'not-tags-any']);

/** GET on a collection: visibility, filters on any attribute, tags, sorting, paging with links. */
export async function listResources(u: Unit, h: Handler, q: Query, selfUrl: string, extraFilter?: (r: ResourceRow) => boolean): Promise<Doc> {
  const def = h.def;
  for (const key of Object.keys(q)) {
    if (PAGING.has(key)) continue;
    const a = def.attributes[key];
    if (!a || a.is_filter === false || !a.is_visible) throw badRequest(`${key} is invalid attribute for filtering`);
  }
  const sortKeys = many(q.sort_key);
  const sortDirs = many(q.sort_dir);
  if (sortDirs.length && sortDirs.length !== sortKeys.length) throw badRequest('The number of sort_keys and sort_dirs must be same');
  for (const k of sortKeys) if (!def.attributes[k]?.is_sort_key) throw badRequest(`${k} is invalid attribute for sort_key`);
  for (const d of sortDirs) if (d !== 'asc' && d !== 'desc') throw badRequest(`${d} is invalid value for sort_dir, valid value is 'asc' and 'desc'`);
  let limit: number | undefined;
  if (q.limit !== undefined) {
    const l = many(q.limit)[0];
    if (!/^-?\d+$/.test(l)) throw badRequest(`Limit must be an integer 0 or greater and not '${l}'`);
    limit = Number(l);
    if (limit < 0) throw badRequest(`Limit must be an integer 0 or greater and not '${l}'`);
    if (limit === 0) limit = undefined;
  }
  const reverse = many(q.page_reverse)[0]?.toLowerCase() === 'true';
  const marker = many(q.marker)[0];

  const rows: { row: ResourceRow; view: Doc }[] = [];
  for (const row of await u.list(def.member, u.ctx.admin ? {} : undefined)) {
    if (extraFilter && !extraFilter(row)) continue;
    if (!(await h.visible(u, row))) continue;
    rows.push({ row, view: await render(u, h, row) });
  }
  let items = rows.filter(({ row, view }) => {
    for (const [key, raw] of Object.entries(q)) {
      if (PAGING.has(key)) continue;
      const wanted = many(raw);
      if (key === 'fixed_ips') {
        const ips = view.fixed_ips as { subnet_id: string; ip_address: string }[];
        for (const w of wanted) {
          const [k, v] = w.split('=');
          if (!ips.some((f) => (f as Doc)[k] === v)) return false;
        }
        continue;
      }
      if (!wanted.some((w) => matches(def.attributes[key], view[key] ?? row.doc[key], w))) return false;
    }
    const tags = new Set(row.tags);
    const list = (k: string) => many(q[k]).flatMap((x) => x.split(','));
    if (q.tags !== undefined && !list('tags').every((t) => tags.has(t))) return false;
    if (q['tags-any'] !== undefined && !list('tags-any').some((t) => tags.has(t))) return false;
    if (q['not-tags'] !== undefined && list('not-tags').every((t) => tags.has(t))) return false;
    if (q['not-tags-any'] !== undefined && list('not-tags-any').some((t) => tags.has(t))) return false;
    return true;
  });
  const keys = sortKeys.length ? sortKeys.map((k, i) => [k, sortDirs[i] ?? 'asc'] as const) : limit || marker ? [['id', 'asc'] as const] : [];
  if (keys.length && !keys.some(([k]) => k === 'id')) (keys as (readonly [string, string])[]).push(['id', keys[0][1]]);
  if (keys.length) {
    items.sort((x, y) => {
      for (const [k, d] of keys) {
        const c = compare(k in x.view ? x.view[k] : x.row.doc[k], k in y.view ? y.view[k] : y.row.doc[k]);
        if (c) return d === 'asc' ? c : -c;
      }
      return 0;
    });
  }
  let hasPrev = false;
  let hasNext = false;
  if (reverse) items.reverse();
  if (marker) {
    const at = items.findIndex((x) => x.row.id === marker);
    if (at < 0) {
      throw new NeutronFault(404, def.notFound.type, def.notFound.message(marker));
    }
    items = items.slice(at + 1);
    hasPrev = true;
  }
  if (limit !== undefined && items.length > limit) {
    items = items.slice(0, limit);
    hasNext = true;
  }
  if (reverse) {
    items.reverse();
    [hasPrev, hasNext] = [hasNext, hasPrev];
  }
  const fields = many(q.fields);
  const body: Doc = { [def.collection.replace(/-/g, '_')]: items.map((x) => pick(x.view, fields)) };
  if (limit !== undefined) {
    const links: Doc[] = [];
    const base = new URLSearchParams();
    for (const [k, v] of Object.entries(q)) if (k !== 'marker' && k !== 'page_reverse') for (const x of many(v)) base.append(k, x);
    const link = (rel: string, m: string, rev: boolean) => {
      const p = new URLSearchParams(base);
      p.set('marker', m);
      if (rev) p.set('page_reverse', 'True');
      return { rel, href: `${selfUrl}?${p.toString()}` };
    };
    if (hasNext && items.length) links.push(link('next', items[items.length - 1].row.id, false));
    if (hasPrev && items.length) links.push(link('previous', items[0].row.id, true));
    if (links.length) body[`${def.collection.replace(/-/g, '_')}_links`] = links;
  }
  return body;
}

/** A row the caller may see, or the resource's 404. */
export async function visibleRow(u: Unit, h: Handler, id: string): Promise<ResourceRow> {
  const row = await u.get(h.def.member, id);
  if (!row || !(await h.visible(u, row))) throw new NeutronFault(404, h.def.notFound.type, h.def.notFound.message(id));
  return row;
}

async function modifiable(u: Unit, h: Handler, id: string, action: string): Promise<ResourceRow> {
  const row = await visibleRow(u, h, id);
  const ok = h.mayModify ? await h.mayModify(u, row) : isOwner(u, row);
  if (!ok) throw policyNotAuthorized(`${action}_${h.def.member}`);
  return row;
}

async function quotaCheck(u: Unit, svc: NetworkService, def: ResourceDef, project_id: string, n: number): Promise<void> {
  if (!def.quota || !project_id) return;
  const limit = await svc.quotaLimit(u, project_id, def.quota);
  if (limit < 0) return;
  if ((await u.repo.count(u.tx, def.member, project_id)) + n > limit) {
    throw conflict('OverQuota', `Quota exceeded for resources: ['${def.quota}'].`);
  }
}

/** Registers the routes of one resource under `scope` (already at /networking/v2.0). */
export function registerResource(scope: FastifyInstance, svc: NetworkService, h: Handler): void {
  const def = h.def;
  const path = `/${def.collection}`;
  const url = (req: FastifyRequest) => `${svc.baseUrl()}/v2.0${path}`;
  const id = (req: FastifyRequest) => (req.params as { id: string }).id;

  scope.get(path, async (req) => svc.read(req, (u) => listResources(u, h, req.query as Query, url(req))));
  scope.get(`${path}/:id`, async (req) =>
    svc.read(req, async (u) => ({ [def.member]: pick(await render(u, h, await visibleRow(u, h, id(req))), many((req.query as Query).fields)) })));

  scope.post(path, async (req, reply) => {
    const body = req.body as Doc | undefined;
    const bulk = isObj(body) && Array.isArray(body[def.collection.replace(/-/g, '_')]);
    const out = await svc.write(req, async (u) => {
      const items = bulk ? (body![def.collection.replace(/-/g, '_')] as unknown[]).map((x) => ({ [def.member]: x })) : [body];
      const made: Doc[] = [];
      const prepared = items.map((it) => prepareBody(u, def, it, true));
      const perProject = new Map<string, number>();
      for (const p of prepared) perProject.set(String(p.project_id), (perProject.get(String(p.project_id)) ?? 0) + 1);
      for (const [project, n] of perProject) await quotaCheck(u, svc, def, project, n);
      for (const attrs of prepared) {
        const tags = (attrs.tags as string[] | undefined) ?? [];
        delete attrs.tags;
        made.push(await render(u, h, await h.create(u, attrs, tags)));
      }
      return bulk ? { [def.collection.replace(/-/g, '_')]: made } : { [def.member]: made[0] };
    });
    return reply.code(201).send(out);
  });

  scope.put(`${path}/:id`, async (req) =>
    svc.write(req, async (u) => {
      const row = await modifiable(u, h, id(req), 'update');
      const changes = prepareBody(u, def, req.body, false);
      const rev = ifMatch(req);
      if (rev !== undefined && rev !== row.revision_number) {
        throw new NeutronFault(412, 'RevisionNumberConstraintFailed', `Constrained to ${rev}, but current revision is ${row.revision_number}`);
      }
      return { [def.member]: await render(u, h, await h.update(u, row, changes, rev)) };
    }));

  scope.delete(`${path}/:id`, async (req, reply) => {
    await svc.write(req, async (u) => {
      const row = await modifiable(u, h, id(req), 'delete');
      const rev = ifMatch(req);
      if (rev !== undefined && rev !== row.revision_number) {
        throw new NeutronFault(412, 'RevisionNumberConstraintFailed', `Constrained to ${rev}, but current revision is ${row.revision_number}`);
      }
      await h.delete(u, row);
    });
    return reply.code(204).send();
  });

  if (!('tags' in def.attributes)) return;
  // Tags (standard-attr-tag): the whole set, or one tag at a time.
  const tagRow = (u: Unit, req: FastifyRequest, write: boolean) => (write ? modifiable(u, h, id(req), 'update') : visibleRow(u, h, id(req)));
  const checkTag = (t: unknown) => {
    if (typeof t !== 'string' || t.length === 0 || t.length > 255 || t.includes(',') || t.includes('/')) throw badRequest(`Invalid input for tags. Reason: '${String(t)}' is not a valid tag.`);
  };
  scope.get(`${path}/:id/tags`, async (req) => svc.read(req, async (u) => ({ tags: (await tagRow(u, req, false)).tags })));
  scope.put(`${path}/:id/tags`, async (req) =>
    svc.write(req, async (u) => {
      const row = await tagRow(u, req, true);
      const body = req.body as Doc | undefined;
      if (!isObj(body) || !Array.isArray(body.tags)) throw badRequest("Invalid input for tags. Reason: 'tags' is a required list.");
      body.tags.forEach(checkTag);
      await u.repo.setTags(u.tx, def.member, row.id, body.tags as string[], u.now);
      return { tags: [...new Set(body.tags as string[])].sort() };
    }));
  scope.delete(`${path}/:id/tags`, async (req, reply) => {
    await svc.write(req, async (u) => u.repo.setTags(u.tx, def.member, (await tagRow(u, req, true)).id, [], u.now));
    return reply.code(204).send();
  });
  scope.get(`${path}/:id/tags/:tag`, async (req, reply) => {
    const tag = (req.params as { tag: string }).tag;
    await svc.read(req, async (u) => {
      if (!(await tagRow(u, req, false)).tags.includes(tag)) throw new NeutronFault(404, 'TagNotFound', `Tag ${tag} could not be found.`);
    });
    return reply.code(204).send();
  });
  scope.put(`${path}/:id/tags/:tag`, async (req, reply) => {
    const tag = (req.params as { tag: string }).tag;
    checkTag(tag);
    await svc.write(req, async (u) => {
      const row = await tagRow(u, req, true);
      if (!row.tags.includes(tag)) await u.repo.setTags(u.tx, def.member, row.id, [...row.tags, tag], u.now);
    });
    return reply.code(201).send();
  });
  scope.delete(`${path}/:id/tags/:tag`, async (req, reply: FastifyReply) => {
    const tag = (req.params as { tag: string }).tag;
    await svc.write(req, async (u) => {
      const row = await tagRow(u, req, true);
      if (!row.tags.includes(tag)) throw new NeutronFault(404, 'TagNotFound', `Tag ${tag} could not be found.`);
      await u.repo.setTags(u.tx, def.member, row.id, row.tags.filter((t) => t !== tag), u.now);
    });
    return reply.code(204).send();
  });
}
