// The one generic controller (Neutron's api/v2/base.py): every resource's create, update, show,
// list and delete, its tags, and If-Match revision checks are served from its attribute map; the
// plugin handlers add only their business rules.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Attribute, ResourceDef } from '../../domain/network/attributes.ts';
import { badRequest, conflict, invalidAttribute, NeutronFault, policyNotAuthorized } from '../../domain/network/errors.ts';
import { convert, validate } from '../../domain/network/validators.ts';
import type { Doc, Field, ListQuery, ResourceRow } from '../../store/network/repository.ts';
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

const PAGING = new Set(['fields', 'sort_key', 'sort_dir', 'limit', 'marker', 'page_reverse', 'tags', 'tags-any', 'not-tags', 'not-tags-any']);

const COLUMNS: Record<string, NonNullable<Field['column']>> = {
  id: 'id', project_id: 'project_id', tenant_id: 'project_id', created_at: 'created_at', updated_at: 'updated_at', revision_number: 'revision_number',
};

/** Where an attribute lives and how it sorts, from its declaration. */
function fieldOf(name: string, a: Attribute): Field {
  const column = COLUMNS[name];
  if (column) return { column, type: column === 'id' || column === 'project_id' ? 'text' : 'number' };
  const numeric = a.convert === 'int' || a.convert === 'int_or_none' || a.validate?.kind === 'range' || a.validate?.kind === 'range_or_none';
  return { key: name, type: a.convert === 'boolean' ? 'boolean' : numeric ? 'number' : 'text' };
}

/** A query value as the stored value is written as text (booleans as Neutron converts them); null when it cannot match. */
function queryValue(a: Attribute, wanted: string): string | null {
  if (a.convert !== 'boolean') return wanted;
  const c = convert('boolean', wanted);
  return 'value' in c ? String(c.value) : null;
}

/** Does a rendered (derived) value match one query value? */
function matches(a: Attribute, value: unknown, wanted: string): boolean {
  if (Array.isArray(value)) return value.map(String).includes(wanted);
  if (value === null || value === undefined) return wanted === '' || wanted === 'None';
  if (typeof value === 'boolean') return queryValue({ ...a, convert: 'boolean' }, wanted) === String(value);
  return String(value) === wanted;
}

/**
 * GET on a collection (Neutron's native sorting and pagination): the query is checked against the
 * attribute map, then filters, tags, sorting and the keyset after the marker run in the store's
 * SQL; visibility (the default policy) and filters on derived attributes are applied to the rows
 * as they come, a page at a time, until the limit is reached. Links as Neutron gives them.
 */
export async function listResources(u: Unit, h: Handler, q: Query, selfUrl: string): Promise<Doc> {
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
  const marker = limit === undefined ? undefined : many(q.marker)[0];

  // Filters: stored attributes in SQL, derived ones (and timestamps, rendered as text) on the rendered rows.
  const filters: ListQuery['filters'] = [];
  const later: [string, string[]][] = [];
  let fixedIps: ListQuery['fixedIps'];
  for (const [key, raw] of Object.entries(q)) {
    if (PAGING.has(key)) continue;
    const a = def.attributes[key];
    const wanted = many(raw);
    if (key === 'fixed_ips') {
      // Each `subnet_id=…` or `ip_address=…` must be held by the port; any other form matches nothing.
      fixedIps = [];
      for (const w of wanted) {
        const [k, v] = w.split('=');
        if (k === 'subnet_id' || k === 'ip_address') fixedIps.push({ [k]: v });
        else filters.push({ field: { column: 'id', type: 'text' }, values: [] });
      }
      continue;
    }
    if (a.derived || key === 'created_at' || key === 'updated_at') {
      later.push([key, wanted]);
      continue;
    }
    filters.push({ field: fieldOf(key, a), values: wanted.map((w) => queryValue(a, w)).filter((w): w is string => w !== null) });
  }
  const list = (k: string) => many(q[k]).flatMap((x) => x.split(','));
  const tags = { all: list('tags'), any: list('tags-any'), notAll: list('not-tags'), notAny: list('not-tags-any') };

  // The order: the sort keys (id ascending appended, as Neutron's native pagination does), or creation order.
  const order: ListQuery['order'] = sortKeys.map((k, i) => ({ field: fieldOf(k, def.attributes[k]), desc: (sortDirs[i] ?? 'asc') === 'desc' }));
  if (!sortKeys.includes('id')) order.push(...(sortKeys.length || limit !== undefined ? [] : [{ field: { column: 'seq' as const, type: 'number' as const }, desc: false }]), { field: { column: 'id', type: 'text' }, desc: false });
  const walk = reverse ? order.map((o) => ({ ...o, desc: !o.desc })) : order;

  let after: unknown[] | undefined;
  if (marker) {
    const m = await u.get(def.member, marker);
    after = m && (await h.visible(u, m)) ? await u.repo.keysOf(u.tx, def.member, marker, walk) : undefined;
    if (!after) throw new NeutronFault(404, def.notFound.type, def.notFound.message(marker));
  }
  const batch = limit === undefined ? undefined : u.ctx.admin ? limit : Math.max(limit, 64);
  const items: { row: ResourceRow; view: Doc }[] = [];
  for (;;) {
    const got = await u.repo.page(u.tx, def.member, { filters, tags, fixedIps, order: walk, after, limit: batch });
    for (const { row } of got) {
      if (limit !== undefined && items.length === limit) break;
      if (!(await h.visible(u, row))) continue;
      const view = await render(u, h, row);
      if (later.some(([key, wanted]) => !wanted.some((w) => matches(def.attributes[key], view[key], w)))) continue;
      items.push({ row, view });
    }
    if (batch === undefined || got.length < batch || items.length === limit) break;
    after = got[got.length - 1].keys;
  }
  if (reverse) items.reverse();

  const fields = many(q.fields);
  const body: Doc = { [def.collection.replace(/-/g, '_')]: items.map((x) => pick(x.view, fields)) };
  if (limit !== undefined) {
    // Neutron's links: next unless a short forward page, previous unless a short reverse page.
    const links: Doc[] = [];
    const link = (rel: string, at: ResourceRow | undefined, rev: boolean) => {
      const p = new URLSearchParams();
      for (const [k, v] of Object.entries(q)) if (k !== 'marker' && k !== 'page_reverse') for (const x of many(v)) p.append(k, x);
      if (at) p.set('marker', at.id);
      if (rev) p.set('page_reverse', 'True');
      return { rel, href: `${selfUrl}?${p.toString()}` };
    };
    if (!(items.length < limit && !reverse)) links.push(link('next', items[items.length - 1]?.row, false));
    if (!(items.length < limit && reverse)) links.push(link('previous', items[0]?.row, true));
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

/** One create as POST does it (body preparation, policy, quota, the plugin): Nova's proxies call it too. */
export async function createResource(u: Unit, svc: NetworkService, h: Handler, attrs: Doc): Promise<ResourceRow> {
  const prepared = prepareBody(u, h.def, { [h.def.member]: attrs }, true);
  await quotaCheck(u, svc, h.def, String(prepared.project_id), 1);
  const tags = (prepared.tags as string[] | undefined) ?? [];
  delete prepared.tags;
  return h.create(u, prepared, tags);
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
