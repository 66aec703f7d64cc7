// Glance's metadata definitions catalog at /image/v2/metadefs, with its schemas under
// /v2/schemas/metadefs/: namespaces (with their resource type associations, properties, objects and
// tags, given on create or added one by one), resource types, and the objects, properties and tags
// of a namespace. Glance's default policy: everyone reads what is visible to them (public
// namespaces, and private ones of their own project), only an admin writes. A protected namespace
// and its contents cannot be deleted (403) until `protected` is turned off.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isAdmin, type Credentials } from '../../domain/policy.ts';
import { ServiceError, serviceError } from '../faults.ts';
import type { AuthContext } from '../ports.ts';
import type { Services } from '../../novabox.ts';
import { isUniqueViolation } from '../../store/table.ts';
import { SqlMetadefStore, type MetadefAssociation, type MetadefItem, type MetadefKind, type MetadefNamespace } from '../../store/image/metadefs.ts';
import { glanceTime } from './index.ts';

/** The resource types Glance's shipped definitions register (devstack loads them). */
export const RESOURCE_TYPES = ['OS::Glance::Image', 'OS::Cinder::Volume', 'OS::Nova::Flavor', 'OS::Nova::Aggregate', 'OS::Nova::Server'];
const PROPERTY_TYPES = ['array', 'boolean', 'integer', 'number', 'object', 'string'];
const DEFAULT_LIMIT = 25;
const MAX_LIMIT = 1000;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const notAllowed = (action: string): ServiceError => serviceError(403, `You are not authorized to complete ${action} action.`);
const noMatch = (schema: string, reason: string): ServiceError => serviceError(400, `Provided object does not match schema '${schema}': ${reason}`);
const nsNotFound = (ns: string): ServiceError => serviceError(404, `Metadata definition namespace=${ns} was not found.`);
const WHAT: Record<MetadefKind, string> = { object: 'object', property: 'property', tag: 'tag' };
const itemNotFound = (kind: MetadefKind, name: string, ns: string): ServiceError =>
  serviceError(404, `The metadata definition ${WHAT[kind]} with name=${name} was not found in namespace=${ns}.`);
const duplicateItem = (kind: MetadefKind, name: string, ns: string): ServiceError =>
  serviceError(409, kind === 'tag' ? `A metadata tag with name=${name} already exists in namespace=${ns}. (Please note that metadata tag names are case insensitive).` : `A metadata definition ${WHAT[kind]} with name=${name} already exists in namespace=${ns}.`);

/** Checks a body against a flat schema: allowed keys, their JSON types, required ones and string lengths. */
type Kind = 'string' | 'boolean' | 'array' | 'object' | 'any';
function check(schema: string, body: unknown, fields: Record<string, { type: Kind; max?: number; enum?: readonly string[]; nullable?: boolean }>, required: string[], readOnly: string[] = []): Record<string, unknown> {
  if (!isObj(body)) throw noMatch(schema, `${JSON.stringify(body)} is not of type 'object'`);
  for (const k of readOnly) if (k in body) throw serviceError(403, `Attribute '${k}' is read-only.`);
  for (const [k, v] of Object.entries(body)) {
    const f = fields[k];
    if (!f) throw noMatch(schema, `Additional properties are not allowed ('${k}' was unexpected)`);
    if (v === null && f.nullable) continue;
    const actual = Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v;
    if (f.type !== 'any' && actual !== f.type) throw noMatch(schema, `${JSON.stringify(v)} is not of type '${f.type}'`);
    if (f.max !== undefined && typeof v === 'string' && v.length > f.max) throw noMatch(schema, `'${v}' is too long`);
    if (f.enum && !f.enum.includes(v as string)) throw noMatch(schema, `'${String(v)}' is not one of ${JSON.stringify(f.enum)}`);
  }
  for (const k of required) if (body[k] === undefined) throw noMatch(schema, `'${k}' is a required property`);
  const name = body.name ?? body.namespace;
  if (typeof name === 'string' && name.trim() === '') throw noMatch(schema, `'${name}' is too short`);
  return body;
}

const NAMESPACE_FIELDS = {
  namespace: { type: 'string', max: 80 }, display_name: { type: 'string', max: 80, nullable: true }, description: { type: 'string', max: 500, nullable: true },
  visibility: { type: 'string', enum: ['public', 'private'] }, protected: { type: 'boolean' }, owner: { type: 'string', max: 255 },
  resource_type_associations: { type: 'array' }, properties: { type: 'object' }, objects: { type: 'array' }, tags: { type: 'array' },
} as const;
const READ_ONLY = ['created_at', 'updated_at', 'schema', 'self'];
const OBJECT_FIELDS = { name: { type: 'string', max: 80 }, description: { type: 'string', nullable: true }, required: { type: 'array' }, properties: { type: 'object' } } as const;
const PROPERTY_FIELDS = Object.fromEntries(
  ['name', 'title', 'description', 'type', 'pattern', 'default', 'minimum', 'maximum', 'minLength', 'maxLength', 'enum', 'confidential', 'readonly', 'operators', 'items', 'uniqueItems', 'minItems', 'maxItems', 'additionalItems']
    .map((k) => [k, { type: k === 'name' || k === 'title' || k === 'type' ? 'string' : 'any', max: k === 'name' ? 255 : undefined } as { type: Kind; max?: number }]),
);
const TAG_FIELDS = { name: { type: 'string', max: 255 } } as const;
const ASSOCIATION_FIELDS = { name: { type: 'string', max: 80 }, prefix: { type: 'string', max: 80, nullable: true }, properties_target: { type: 'string', max: 100, nullable: true } } as const;

function checkProperty(body: unknown, name?: string): Record<string, unknown> {
  const b = check('property', body, PROPERTY_FIELDS, name === undefined ? ['name', 'title', 'type'] : ['title', 'type']);
  if (!PROPERTY_TYPES.includes(b.type as string)) throw noMatch('property', `'${String(b.type)}' is not one of ${JSON.stringify(PROPERTY_TYPES)}`);
  if (b.enum !== undefined && !Array.isArray(b.enum)) throw noMatch('property', `${JSON.stringify(b.enum)} is not of type 'array'`);
  return b;
}

const schemaOf = (name: string, properties: Record<string, unknown>, required: string[] = []): Record<string, unknown> => ({ name, properties, required, additionalProperties: false });
const str = (description: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ type: 'string', description, ...extra });
const times = { created_at: str('Date and time of creation (READ-ONLY)', { format: 'date-time' }), updated_at: str('Date and time of the last modification (READ-ONLY)', { format: 'date-time' }) };
const associationSchema = (): Record<string, unknown> => schemaOf('resource_type_association', {
  name: str('Resource type names should be aligned with Heat resource types whenever possible', { maxLength: 80 }),
  prefix: str('Specifies the prefix to use for the given resource type', { maxLength: 80 }),
  properties_target: str('Some resource types allow more than one key / value pair per instance', { maxLength: 100 }), ...times,
}, ['name']);
const propertySchema = (): Record<string, unknown> => schemaOf('property', {
  name: { type: 'string', maxLength: 255 }, title: { type: 'string' }, description: { type: 'string' }, operators: { type: 'array', items: { type: 'string' } },
  type: { type: 'string', enum: [...PROPERTY_TYPES, null] }, required: { type: 'array', items: { type: 'string' } }, minimum: { type: 'number' }, maximum: { type: 'number' },
  maxLength: { type: 'integer', minimum: 0 }, minLength: { type: 'integer', minimum: 0 }, pattern: { type: 'string', format: 'regex' }, enum: { type: 'array' },
  readonly: { type: 'boolean' }, default: {}, items: { type: 'object' }, maxItems: { type: 'integer', minimum: 0 }, minItems: { type: 'integer', minimum: 0 },
  uniqueItems: { type: 'boolean', default: false }, additionalItems: { type: 'boolean' },
}, ['type', 'title']);
const objectSchema = (): Record<string, unknown> => schemaOf('object', {
  name: { type: 'string', maxLength: 80 }, description: { type: 'string' }, required: { type: 'array', items: { type: 'string' } },
  properties: { type: 'object', additionalProperties: propertySchema() }, schema: { type: 'string', readOnly: true }, self: { type: 'string', readOnly: true }, ...times,
}, ['name']);
const tagSchema = (): Record<string, unknown> => schemaOf('tag', { name: { type: 'string', maxLength: 255 }, ...times }, ['name']);
const namespaceSchema = (): Record<string, unknown> => schemaOf('namespace', {
  namespace: str('The unique namespace text.', { maxLength: 80 }), display_name: str('The user friendly name for the namespace. Used by UI if available.', { maxLength: 80 }),
  description: str('Provides a user friendly description of the namespace.', { maxLength: 500 }),
  visibility: str('Scope of namespace accessibility.', { enum: ['public', 'private'] }), protected: { type: 'boolean', description: 'If true, namespace will not be deletable.' },
  owner: str('Owner of the namespace.', { maxLength: 255 }), schema: { type: 'string', readOnly: true }, self: { type: 'string', readOnly: true },
  resource_type_associations: { type: 'array', items: associationSchema() }, properties: { type: 'object', additionalProperties: propertySchema() },
  objects: { type: 'array', items: objectSchema() }, tags: { type: 'array', items: tagSchema() }, ...times,
}, ['namespace']);
const listSchema = (name: string, key: string, item: Record<string, unknown>, paged: boolean): Record<string, unknown> => ({
  name, properties: { [key]: key === 'properties' ? { type: 'object', additionalProperties: item } : { type: 'array', items: item }, schema: { type: 'string' }, ...(paged ? { first: { type: 'string' }, next: { type: 'string' } } : {}) },
  links: [...(paged ? [{ rel: 'first', href: '{first}' }, { rel: 'next', href: '{next}' }] : []), { rel: 'describedby', href: '{schema}' }],
});
/** Every schema under /v2/schemas/metadefs/, by the path segment that names it. */
export const METADEF_SCHEMAS: Record<string, () => Record<string, unknown>> = {
  namespace: namespaceSchema, namespaces: () => listSchema('namespaces', 'namespaces', namespaceSchema(), true),
  resource_type: associationSchema, resource_types: () => listSchema('resource_type_associations', 'resource_type_associations', associationSchema(), false),
  object: objectSchema, objects: () => listSchema('objects', 'objects', objectSchema(), true),
  property: propertySchema, properties: () => listSchema('properties', 'properties', propertySchema(), false),
  tag: tagSchema, tags: () => listSchema('tags', 'tags', tagSchema(), true),
};

export async function registerMetadefs(v2: FastifyInstance, svc: Services): Promise<void> {
  const store = new SqlMetadefStore(svc.sql);
  const now = (): number => svc.clock.now();
  await store.seedResourceTypes(RESOURCE_TYPES, now());
  const creds = (req: FastifyRequest): Credentials => req.auth as AuthContext;
  const requireAdmin = (req: FastifyRequest, action: string): void => {
    if (!isAdmin(creds(req))) throw notAllowed(action);
  };
  const visible = (n: MetadefNamespace, c: Credentials): boolean => n.visibility === 'public' || isAdmin(c) || (n.owner !== null && n.owner === c.project_id);
  /** The namespace as the caller may see it (404 otherwise), checked before the write policy as Glance does. */
  const seen = async (s: SqlMetadefStore, ns: string, req: FastifyRequest): Promise<MetadefNamespace> => {
    const n = await s.getNamespace(ns);
    if (!n || !visible(n, creds(req))) throw nsNotFound(ns);
    return n;
  };
  const writable = async (s: SqlMetadefStore, ns: string, req: FastifyRequest, action: string): Promise<MetadefNamespace> => {
    const n = await seen(s, ns, req);
    requireAdmin(req, action);
    return n;
  };
  const unique = (err: ServiceError) => (e: unknown): never => {
    throw isUniqueViolation(e) ? err : e;
  };
  const base = (ns: string): string => `/v2/metadefs/namespaces/${ns}`;

  const itemView = (i: MetadefItem): Record<string, unknown> => {
    if (i.kind === 'property') return { name: i.name, ...i.body };
    if (i.kind === 'tag') return { name: i.name, created_at: glanceTime(i.created_at), updated_at: glanceTime(i.updated_at) };
    return {
      name: i.name, ...i.body, schema: '/v2/schemas/metadefs/object', self: `${base(i.namespace)}/objects/${i.name}`,
      created_at: glanceTime(i.created_at), updated_at: glanceTime(i.updated_at),
    };
  };
  const associationView = (a: MetadefAssociation): Record<string, unknown> => ({
    name: a.resource_type, ...(a.prefix !== null ? { prefix: a.prefix } : {}), ...(a.properties_target !== null ? { properties_target: a.properties_target } : {}),
    created_at: glanceTime(a.created_at), updated_at: glanceTime(a.updated_at),
  });
  const namespaceView = async (s: SqlMetadefStore, n: MetadefNamespace, full: boolean): Promise<Record<string, unknown>> => {
    const out: Record<string, unknown> = { namespace: n.namespace };
    if (n.display_name !== null) out.display_name = n.display_name;
    if (n.description !== null) out.description = n.description;
    Object.assign(out, { visibility: n.visibility, protected: n.protected, owner: n.owner, created_at: glanceTime(n.created_at), updated_at: glanceTime(n.updated_at) });
    const assoc = await s.listAssociations(n.namespace);
    if (assoc.length) out.resource_type_associations = assoc.map(associationView);
    if (full) {
      const props = await s.listItems(n.namespace, 'property');
      if (props.length) out.properties = Object.fromEntries(props.map((p) => [p.name, p.body]));
      const objects = await s.listItems(n.namespace, 'object');
      if (objects.length) out.objects = objects.map((o) => ({ name: o.name, ...o.body }));
      const tags = await s.listItems(n.namespace, 'tag');
      if (tags.length) out.tags = tags.map((t) => ({ name: t.name }));
    }
    return { ...out, schema: '/v2/schemas/metadefs/namespace', self: base(n.namespace) };
  };

  /** Inserts one object, property or tag (names of tags compare without case). */
  const addItem = async (s: SqlMetadefStore, ns: string, kind: MetadefKind, name: string, body: Record<string, unknown>): Promise<MetadefItem> => {
    const dup = duplicateItem(kind, name, ns);
    const same = (await s.listItems(ns, kind)).some((x) => (kind === 'tag' ? x.name.toLowerCase() === name.toLowerCase() : x.name === name));
    if (same) throw dup;
    const t = now();
    const item: MetadefItem = { namespace: ns, kind, name, body, created_at: t, updated_at: t };
    await s.insertItem(item).catch(unique(dup));
    return item;
  };
  const addAssociation = async (s: SqlMetadefStore, ns: string, body: unknown): Promise<MetadefAssociation> => {
    const b = check('resource_type_association', body, ASSOCIATION_FIELDS, ['name'], READ_ONLY);
    const name = b.name as string;
    if (!(await s.getResourceType(name))) throw serviceError(404, `The metadata definition resource-type with name=${name}, was not found.`);
    const dup = serviceError(409, `The metadata definition resource-type association of resource-type=${name} to namespace=${ns}, already exists.`);
    if (await s.getAssociation(ns, name)) throw dup;
    const t = now();
    const a: MetadefAssociation = { namespace: ns, resource_type: name, prefix: (b.prefix as string | null) ?? null, properties_target: (b.properties_target as string | null) ?? null, created_at: t, updated_at: t };
    await s.insertAssociation(a).catch(unique(dup));
    return a;
  };
  const objectBody = (b: Record<string, unknown>): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    if (b.description !== undefined && b.description !== null) out.description = b.description;
    if (b.required !== undefined) out.required = b.required;
    if (b.properties !== undefined) {
      for (const [k, v] of Object.entries(b.properties as Record<string, unknown>)) checkProperty({ name: k, ...(isObj(v) ? v : {}) });
      out.properties = b.properties;
    }
    return out;
  };
  const propertyBody = ({ name: _n, ...rest }: Record<string, unknown>): Record<string, unknown> => rest;
  /** Creates the nested parts a namespace body may carry. */
  const addContents = async (s: SqlMetadefStore, ns: string, b: Record<string, unknown>): Promise<void> => {
    for (const a of (b.resource_type_associations as unknown[] | undefined) ?? []) await addAssociation(s, ns, a);
    for (const [k, v] of Object.entries((b.properties as Record<string, unknown> | undefined) ?? {})) await addItem(s, ns, 'property', k, propertyBody(checkProperty({ ...(isObj(v) ? v : {}), name: k })));
    for (const o of (b.objects as unknown[] | undefined) ?? []) {
      const ob = check('object', o, OBJECT_FIELDS, ['name'], READ_ONLY);
      await addItem(s, ns, 'object', ob.name as string, objectBody(ob));
    }
    for (const tg of (b.tags as unknown[] | undefined) ?? []) await addItem(s, ns, 'tag', check('tag', tg, TAG_FIELDS, ['name'], READ_ONLY).name as string, {});
  };
  const protectedDelete = (n: MetadefNamespace, what: string): void => {
    if (n.protected) throw serviceError(403, `${what} is protected and cannot be deleted.`);
  };

  // ---- schemas ----
  v2.get<{ Params: { name: string } }>('/schemas/metadefs/:name', async (req) => {
    const schema = METADEF_SCHEMAS[req.params.name];
    if (!schema) throw serviceError(404, 'Not Found');
    return schema();
  });

  // ---- resource types ----
  v2.get('/metadefs/resource_types', async () => ({
    resource_types: (await store.listResourceTypes()).map((r) => ({ name: r.name, created_at: glanceTime(r.created_at), updated_at: glanceTime(r.updated_at) })),
  }));

  // ---- namespaces ----
  type Ns = { Params: { ns: string } };
  v2.get('/metadefs/namespaces', async (req) => {
    const q = req.query as Record<string, unknown>;
    const c = creds(req);
    const one = (k: string): string | undefined => (Array.isArray(q[k]) ? String((q[k] as unknown[])[0]) : q[k] === undefined ? undefined : String(q[k]));
    let limit = DEFAULT_LIMIT;
    if (one('limit') !== undefined) {
      limit = Number(one('limit'));
      if (!/^\d+$/.test(one('limit')!)) throw serviceError(400, 'limit param must be an integer');
      limit = Math.min(limit, MAX_LIMIT);
    }
    const sortKey = one('sort_key') ?? 'created_at';
    if (!['created_at', 'updated_at', 'namespace', 'display_name', 'id'].includes(sortKey)) throw serviceError(400, `Invalid sort key: ${sortKey}.`);
    const sortDir = one('sort_dir') ?? 'desc';
    if (sortDir !== 'asc' && sortDir !== 'desc') throw serviceError(400, `Invalid sort direction: ${sortDir}`);
    const visibility = one('visibility');
    if (visibility !== undefined && !['public', 'private'].includes(visibility)) throw serviceError(400, `Invalid visibility value: ${visibility}`);
    const types = one('resource_types')?.split(',').map((t) => t.trim()).filter(Boolean);
    let list = (await store.listNamespaces()).filter((n) => visible(n, c) && (visibility === undefined || n.visibility === visibility));
    if (types?.length) {
      const assoc = await store.listAssociations();
      list = list.filter((n) => assoc.some((a) => a.namespace === n.namespace && types.includes(a.resource_type)));
    }
    const key = (sortKey === 'id' ? 'namespace' : sortKey) as keyof MetadefNamespace;
    list.sort((a, b) => {
      const x = a[key] ?? '';
      const y = b[key] ?? '';
      const d = x < y ? -1 : x > y ? 1 : a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : 0;
      return sortDir === 'asc' ? d : -d;
    });
    const marker = one('marker');
    let start = 0;
    if (marker !== undefined) {
      const at = list.findIndex((n) => n.namespace === marker);
      if (at < 0) throw nsNotFound(marker);
      start = at + 1;
    }
    const page = list.slice(start, start + limit);
    const body: Record<string, unknown> = { namespaces: [] as unknown[], first: '/v2/metadefs/namespaces', schema: '/v2/schemas/metadefs/namespaces' };
    for (const n of page) (body.namespaces as unknown[]).push(await namespaceView(store, n, false));
    if (page.length > 0 && page.length === limit) {
      // As for images: a full page links the next one.
      const params = new URLSearchParams(req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '');
      params.set('marker', page[page.length - 1].namespace);
      body.next = `/v2/metadefs/namespaces?${params.toString()}`;
    }
    return body;
  });
  v2.post('/metadefs/namespaces', async (req, reply) => {
    requireAdmin(req, 'add_metadef_namespace');
    const b = check('namespace', req.body, NAMESPACE_FIELDS, ['namespace'], READ_ONLY);
    const ns = b.namespace as string;
    const t = now();
    const n: MetadefNamespace = {
      namespace: ns, display_name: (b.display_name as string | null) ?? null, description: (b.description as string | null) ?? null,
      visibility: (b.visibility as 'public' | 'private' | undefined) ?? 'private', protected: (b.protected as boolean | undefined) ?? false,
      owner: (b.owner as string | undefined) ?? creds(req).project_id, created_at: t, updated_at: t,
    };
    const dup = serviceError(409, `The metadata definition namespace=${ns} already exists.`);
    const view = await store.transaction(async (s) => {
      if (await s.getNamespace(ns)) throw dup;
      await s.insertNamespace(n).catch(unique(dup));
      await addContents(s, ns, b);
      return namespaceView(s, n, true);
    });
    return reply.code(201).header('Location', base(ns)).send(view);
  });
  v2.get<Ns>('/metadefs/namespaces/:ns', async (req) => namespaceView(store, await seen(store, req.params.ns, req), true));
  v2.put<Ns>('/metadefs/namespaces/:ns', async (req) => {
    return store.transaction(async (s) => {
      const cur = await writable(s, req.params.ns, req, 'modify_metadef_namespace');
      const b = check('namespace', req.body, NAMESPACE_FIELDS, ['namespace'], READ_ONLY);
      for (const k of ['resource_type_associations', 'properties', 'objects', 'tags']) if (k in b) throw noMatch('namespace', `'${k}' cannot be changed through a namespace update`);
      const renamed = b.namespace as string;
      if (renamed !== cur.namespace && (await s.getNamespace(renamed))) throw serviceError(409, `The metadata definition namespace=${renamed} already exists.`);
      // Glance's update replaces the namespace: what the body leaves out goes back to its default.
      const patch: Partial<MetadefNamespace> = {
        namespace: renamed, display_name: (b.display_name as string | null) ?? null, description: (b.description as string | null) ?? null,
        visibility: (b.visibility as 'public' | 'private' | undefined) ?? 'private', protected: (b.protected as boolean | undefined) ?? false,
        owner: (b.owner as string | undefined) ?? cur.owner, updated_at: now(),
      };
      await s.updateNamespace(cur.namespace, patch);
      return namespaceView(s, (await s.getNamespace(renamed))!, true);
    });
  });
  v2.delete<Ns>('/metadefs/namespaces/:ns', async (req, reply) => {
    await store.transaction(async (s) => {
      const n = await writable(s, req.params.ns, req, 'delete_metadef_namespace');
      protectedDelete(n, `Metadata definition namespace ${n.namespace}`);
      await s.deleteNamespace(n.namespace);
    });
    return reply.code(204).send();
  });

  // ---- resource type associations ----
  type Rt = { Params: { ns: string; name: string } };
  v2.get<Ns>('/metadefs/namespaces/:ns/resource_types', async (req) => {
    await seen(store, req.params.ns, req);
    return { resource_type_associations: (await store.listAssociations(req.params.ns)).map(associationView) };
  });
  v2.post<Ns>('/metadefs/namespaces/:ns/resource_types', async (req, reply) => {
    const a = await store.transaction(async (s) => {
      await writable(s, req.params.ns, req, 'add_metadef_resource_type_association');
      const made = await addAssociation(s, req.params.ns, req.body);
      await s.updateNamespace(req.params.ns, { updated_at: now() });
      return made;
    });
    return reply.code(201).send(associationView(a));
  });
  v2.delete<Rt>('/metadefs/namespaces/:ns/resource_types/:name', async (req, reply) => {
    await store.transaction(async (s) => {
      const n = await writable(s, req.params.ns, req, 'remove_metadef_resource_type_association');
      if (!(await s.getAssociation(n.namespace, req.params.name))) {
        throw serviceError(404, `The metadata definition resource-type association of resource-type=${req.params.name} to namespace=${n.namespace}, was not found.`);
      }
      protectedDelete(n, `Metadata definition resource-type-association ${req.params.name}`);
      await s.deleteAssociation(n.namespace, req.params.name);
    });
    return reply.code(204).send();
  });

  // ---- objects, properties and tags: one set of routes per kind ----
  type It = { Params: { ns: string; name: string } };
  const itemRoutes = (kind: MetadefKind, plural: string, action: string): void => {
    const path = `/metadefs/namespaces/:ns/${plural}`;
    const parse = (body: unknown, name?: string): { name: string; body: Record<string, unknown> } => {
      if (kind === 'property') {
        const b = checkProperty(body, name);
        return { name: (b.name as string | undefined) ?? name!, body: propertyBody(b) };
      }
      if (kind === 'tag') return { name: check('tag', body, TAG_FIELDS, ['name'], READ_ONLY).name as string, body: {} };
      const b = check('object', body, OBJECT_FIELDS, ['name'], READ_ONLY);
      return { name: b.name as string, body: objectBody(b) };
    };
    const mustItem = async (s: SqlMetadefStore, ns: string, name: string): Promise<MetadefItem> => {
      const found = kind === 'tag' ? (await s.listItems(ns, kind)).find((x) => x.name.toLowerCase() === name.toLowerCase()) : await s.getItem(ns, kind, name);
      if (!found) throw itemNotFound(kind, name, ns);
      return found;
    };
    v2.get<Ns>(path, async (req) => {
      await seen(store, req.params.ns, req);
      const list = await store.listItems(req.params.ns, kind);
      if (kind === 'property') return { properties: Object.fromEntries(list.map((p) => [p.name, itemView(p)])), schema: '/v2/schemas/metadefs/properties' };
      return { [plural]: list.map(itemView), schema: `/v2/schemas/metadefs/${plural}` };
    });
    v2.get<It>(`${path}/:name`, async (req) => {
      await seen(store, req.params.ns, req);
      return itemView(await mustItem(store, req.params.ns, req.params.name));
    });
    const create = async (req: FastifyRequest<It>, reply: FastifyReply, fromPath: boolean): Promise<FastifyReply> => {
      const made = await store.transaction(async (s) => {
        await writable(s, req.params.ns, req, `add_metadef_${action}`);
        const p = fromPath ? { name: req.params.name, body: {} } : parse(req.body);
        if (fromPath && p.name.length > 255) throw noMatch('tag', `'${p.name}' is too long`);
        return addItem(s, req.params.ns, kind, p.name, p.body);
      });
      return reply.code(201).send(itemView(made));
    };
    // A tag is created by its name alone (POST on the list replaces them all, below).
    if (kind === 'tag') v2.post<It>(`${path}/:name`, (req, reply) => create(req, reply, true));
    else v2.post<It>(path, (req, reply) => create(req, reply, false));
    v2.put<It>(`${path}/:name`, async (req) => {
      return itemView(await store.transaction(async (s) => {
        await writable(s, req.params.ns, req, `modify_metadef_${action}`);
        const cur = await mustItem(s, req.params.ns, req.params.name);
        const p = parse(req.body, kind === 'property' ? req.params.name : undefined);
        if (p.name !== cur.name && (await s.listItems(req.params.ns, kind)).some((x) => (kind === 'tag' ? x.name.toLowerCase() === p.name.toLowerCase() : x.name === p.name) && x.name !== cur.name)) {
          throw duplicateItem(kind, p.name, req.params.ns);
        }
        await s.updateItem(req.params.ns, kind, cur.name, { name: p.name, body: p.body, updated_at: now() });
        return (await s.getItem(req.params.ns, kind, p.name))!;
      }));
    });
    v2.delete<It>(`${path}/:name`, async (req, reply) => {
      await store.transaction(async (s) => {
        const n = await writable(s, req.params.ns, req, `remove_metadef_${action}`);
        const cur = await mustItem(s, n.namespace, req.params.name);
        protectedDelete(n, `Metadata definition ${WHAT[kind]} ${cur.name}`);
        await s.deleteItem(n.namespace, kind, cur.name);
      });
      return reply.code(204).send();
    });
  };
  itemRoutes('object', 'objects', 'object');
  itemRoutes('property', 'properties', 'property');
  itemRoutes('tag', 'tags', 'tag');

  // Tags in bulk: replace them all (or add with X-Openstack-Append: true), list, delete them all.
  v2.post<Ns>('/metadefs/namespaces/:ns/tags', async (req, reply) => {
    const made = await store.transaction(async (s) => {
      await writable(s, req.params.ns, req, 'add_metadef_tags');
      const b = check('tags', req.body, { tags: { type: 'array' } }, ['tags']);
      const names = (b.tags as unknown[]).map((t) => check('tag', t, TAG_FIELDS, ['name'], READ_ONLY).name as string);
      const lower = names.map((x) => x.toLowerCase());
      const twice = names.find((x, i) => lower.indexOf(x.toLowerCase()) !== i);
      if (twice !== undefined) throw duplicateItem('tag', twice, req.params.ns);
      const append = String(req.headers['x-openstack-append'] ?? '').toLowerCase() === 'true';
      if (!append) await s.deleteItems(req.params.ns, 'tag');
      const out: MetadefItem[] = [];
      for (const name of names) out.push(await addItem(s, req.params.ns, 'tag', name, {}));
      return out;
    });
    return reply.code(201).send({ tags: made.map((t) => ({ name: t.name })) });
  });
  v2.delete<Ns>('/metadefs/namespaces/:ns/tags', async (req, reply) => {
    await store.transaction(async (s) => {
      const n = await writable(s, req.params.ns, req, 'delete_metadef_tags');
      protectedDelete(n, `Metadata definition namespace ${n.namespace}`);
      await s.deleteItems(n.namespace, 'tag');
    });
    return reply.code(204).send();
  });
  // Objects and properties of a namespace go all at once too.
  for (const [kind, plural] of [['object', 'objects'], ['property', 'properties']] as const) {
    v2.delete<Ns>(`/metadefs/namespaces/:ns/${plural}`, async (req, reply) => {
      await store.transaction(async (s) => {
        const n = await writable(s, req.params.ns, req, `delete_metadef_${plural}`);
        protectedDelete(n, `Metadata definition namespace ${n.namespace}`);
        await s.deleteItems(n.namespace, kind);
      });
      return reply.code(204).send();
    });
  }
}
