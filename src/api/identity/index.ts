// Keystone v3 at /identity: version discovery, tokens (password, token, application_credential;
// project, domain, system and unscoped), the catalog, and the administration API: domains,
// projects (tags, parents), users, groups, roles and implied roles, grants and role assignments,
// services, endpoints, regions and application credentials.
// Policy is Keystone's default with enforce_scope off: `role:admin` administers, a system reader
// reads, and everyone reads and manages what is their own (user, project, domain, credentials).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../../novabox.ts';
import { publicUrl, type Config } from '../../config.ts';
import { effectiveRoles, isAdmin } from '../../domain/policy.ts';
import { requireAuth, serviceErrorHandler } from '../auth.ts';
import { ServiceError, serviceError } from '../faults.ts';
import type { AuthContext } from '../ports.ts';
import {
  DEFAULT_DOMAIN_ID, INTERFACES, PUBLIC_URL_MARK, conflict, newId, notFound, unauthorized, uniqueAs,
  type AppCredential, type Assignment, type AuthRequest, type Domain, type Endpoint, type Group, type IdentityModel, type NamedRef,
  type Project, type Region, type Role, type Service, type TargetType, type TokenInfo, type User,
} from './model.ts';

export { stableId } from './model.ts';

/** Keystone's token timestamps: `2026-01-01T00:00:00.000000Z`. */
export function keystoneTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export interface CatalogService { type: string; name: string; url: string }

/**
 * The services novabox serves, with the URLs clients expect behind devstack. This is the seed of the
 * stored catalog: every line becomes a service with a public, an internal and an admin endpoint.
 */
export function catalogServices(config: Config): CatalogService[] {
  const base = publicUrl(config);
  return [
    { type: 'identity', name: 'keystone', url: `${base}/identity` },
    { type: 'compute', name: 'nova', url: `${base}/compute/v2.1` },
    { type: 'image', name: 'glance', url: `${base}/image` },
    { type: 'network', name: 'neutron', url: `${base}/networking` },
    { type: 'block-storage', name: 'cinder', url: `${base}/volume/v3/$(project_id)s` },
    { type: 'volumev3', name: 'cinderv3', url: `${base}/volume/v3/$(project_id)s` },
  ];
}

/** The seed lines with the served address replaced by a mark (the port is known only once listening). */
export function catalogSeed(config: Config): CatalogService[] {
  return catalogServices({ ...config, public_url: PUBLIC_URL_MARK });
}

/** Keystone substitutes these in endpoint URLs when it renders a catalog. */
function endpointUrl(url: string, config: Config, project_id?: string | null): string {
  let out = url.split(PUBLIC_URL_MARK).join(publicUrl(config));
  if (project_id) out = out.replace(/\$\((?:project_id|tenant_id)\)s|%\((?:project_id|tenant_id)\)s/g, project_id);
  return out;
}

export async function renderCatalog(model: IdentityModel, config: Config, project_id?: string | null): Promise<unknown[]> {
  return (await model.catalog()).map(({ service, endpoints }) => ({
    // Without a project to put in the URL, Keystone leaves a `$(project_id)s` endpoint out.
    endpoints: endpoints.filter((e) => project_id || !/[$%]\((?:project_id|tenant_id)\)s/.test(e.url)).map((e) => ({ id: e.id, interface: e.interface, region: e.region_id, region_id: e.region_id, url: endpointUrl(e.url, config, project_id) })),
    id: service.id,
    type: service.type,
    name: service.name ?? '',
  }));
}

function versionDoc(config: Config): Record<string, unknown> {
  return {
    id: 'v3.14',
    status: 'stable',
    updated: '2020-04-07T00:00:00Z',
    links: [{ rel: 'self', href: `${publicUrl(config)}/identity/v3/` }],
    'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.identity-v3+json' }],
  };
}

/** An application credential's expiry (microseconds) as Keystone shows it: `2026-01-01T00:00:00.123456`. */
function microTime(us: number): string {
  return new Date(Math.floor(us / 1000)).toISOString().replace(/\.\d{3}Z$/, `.${String(us % 1_000_000).padStart(6, '0')}`);
}

const forbidden = (action: string): ServiceError => serviceError(403, `You are not authorized to perform the requested action: identity:${action}.`);
const badInput = (field: string, why: string): ServiceError => serviceError(400, `Invalid input for field '${field}': ${why}`);
const required = (prop: string): ServiceError => serviceError(400, `'${prop}' is a required property`);

/** Python's repr of a JSON value, as jsonschema words its errors. */
function pyRepr(v: unknown): string {
  if (v === null) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'string') return `'${v}'`;
  return JSON.stringify(v);
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
function optStr(o: Record<string, unknown>, k: string, opts: { nullable?: boolean; max?: number; min?: number } = {}): string | null | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (v === null && opts.nullable) return null;
  if (typeof v !== 'string') throw badInput(k, `${pyRepr(v)} is not of type 'string'${opts.nullable ? ", 'null'" : ''}`);
  if (opts.max !== undefined && v.length > opts.max) throw badInput(k, `${pyRepr(v)} is too long`);
  if (opts.min !== undefined && v.length < opts.min) throw badInput(k, `${pyRepr(v)} is too short`);
  return v;
}
const str = (o: Record<string, unknown>, k: string, max = 255): string | undefined => optStr(o, k, { max }) ?? undefined;
/** A name: required on create, 1 to 255 characters (64 for ids-as-names of domains and projects). */
function name(o: Record<string, unknown>, k = 'name', need = true, max = 255): string | undefined {
  const v = optStr(o, k, { max, min: 1 });
  if (v === undefined || v === null) {
    if (need) throw required(k);
    return undefined;
  }
  if (v.trim() === '') throw badInput(k, `${pyRepr(v)} does not match '[\\S]+'`);
  return v;
}
function optBool(o: Record<string, unknown>, k: string): boolean | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw badInput(k, `${pyRepr(v)} is not of type 'boolean'`);
  return v;
}
function optTags(o: Record<string, unknown>): string[] | undefined {
  const v = o.tags;
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw badInput('tags', `${pyRepr(v)} is not of type 'array'`);
  if (v.length > 80) throw badInput('tags', `${pyRepr(v)} is too long`);
  for (const t of v) checkTag(t);
  if (new Set(v).size !== v.length) throw badInput('tags', `${pyRepr(v)} has non-unique elements`);
  return v as string[];
}
function checkTag(t: unknown): string {
  if (typeof t !== 'string' || t.length === 0 || t.length > 255 || t.includes('/') || t.includes(',')) {
    throw serviceError(400, `Invalid input for field 'tags': ${pyRepr(t)} does not match '^[^,/]*$'`);
  }
  return t;
}

/** Keystone's user options and their types. */
const USER_OPTIONS: Record<string, 'boolean' | 'array'> = {
  ignore_change_password_upon_first_use: 'boolean', ignore_password_expiry: 'boolean', ignore_lockout_failure_attempts: 'boolean',
  lock_password: 'boolean', ignore_user_inactivity: 'boolean', multi_factor_auth_enabled: 'boolean', multi_factor_auth_rules: 'array',
};
function optOptions(o: Record<string, unknown>): Record<string, unknown> | undefined {
  const v = o.options;
  if (v === undefined) return undefined;
  if (!isObj(v)) throw badInput('options', `${pyRepr(v)} is not of type 'object'`);
  for (const [k, x] of Object.entries(v)) {
    const type = USER_OPTIONS[k];
    if (!type) throw badInput('options', `Additional properties are not allowed ('${k}' was unexpected)`);
    if (x !== null && (type === 'boolean' ? typeof x !== 'boolean' : !Array.isArray(x))) throw badInput(`options/${k}`, `${pyRepr(x)} is not of type '${type}', 'null'`);
  }
  return v;
}

/** Attributes Keystone keeps as "extra" on users and projects: everything not in the model. */
function extras(o: Record<string, unknown>, known: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([k]) => !known.includes(k)));
}

function namedRef(v: unknown, field: string): NamedRef {
  if (!isObj(v)) throw badInput(field, `${pyRepr(v)} is not of type 'object'`);
  const ref: NamedRef = { id: optStr(v, 'id') ?? undefined, name: optStr(v, 'name') ?? undefined };
  if (v.domain !== undefined) {
    if (!isObj(v.domain)) throw badInput(`${field}/domain`, `${pyRepr(v.domain)} is not of type 'object'`);
    ref.domain = { id: optStr(v.domain, 'id') ?? undefined, name: optStr(v.domain, 'name') ?? undefined };
  }
  return ref;
}

/** Reads `{"auth": {"identity": …, "scope": …}}` into a request the model understands. */
export function parseAuthBody(body: unknown): AuthRequest {
  if (!isObj(body) || !isObj(body.auth)) throw required('auth');
  const { identity, scope } = body.auth;
  if (!isObj(identity)) throw badInput('auth', "'identity' is a required property");
  const methods = identity.methods;
  if (!Array.isArray(methods) || methods.length === 0 || !methods.every((m) => typeof m === 'string')) throw badInput('identity', "'methods' is a required property");
  const out: AuthRequest = { scope: null };
  if (methods.includes('password')) {
    const pw = identity.password;
    if (!isObj(pw) || !isObj(pw.user)) throw badInput('identity/password', "'user' is a required property");
    const password = pw.user.password;
    if (typeof password !== 'string') throw badInput('identity/password/user/password', "'password' is a required property");
    out.password = { user: namedRef(pw.user, 'identity/password/user'), password };
  } else if (methods.includes('token')) {
    const t = identity.token;
    if (!isObj(t) || typeof t.id !== 'string') throw badInput('identity/token', "'id' is a required property");
    out.token = t.id;
  } else if (methods.includes('application_credential')) {
    const ac = identity.application_credential;
    if (!isObj(ac)) throw badInput('identity', "'application_credential' is a required property");
    if (typeof ac.secret !== 'string') throw badInput('identity/application_credential', "'secret' is a required property");
    const id = optStr(ac, 'id') ?? undefined;
    const acName = optStr(ac, 'name') ?? undefined;
    if (id === undefined && acName === undefined) throw serviceError(400, 'Could not find Application Credential: either id or name and user must be given.');
    out.application_credential = { id, name: acName, secret: ac.secret, user: ac.user === undefined ? undefined : namedRef(ac.user, 'identity/application_credential/user') };
  } else {
    throw unauthorized('Attempted to authenticate with an unsupported method.');
  }
  if (scope === undefined || scope === 'unscoped') return out;
  if (!isObj(scope)) throw badInput('scope', `${pyRepr(scope)} is not of type 'object'`);
  if (scope.project !== undefined) out.scope = { project: namedRef(scope.project, 'scope/project') };
  else if (scope.domain !== undefined) {
    const d = namedRef(scope.domain, 'scope/domain');
    out.scope = { domain: { id: d.id, name: d.name } };
  } else if (scope.system !== undefined) {
    if (!isObj(scope.system) || scope.system.all !== true) throw badInput('scope/system', "'all' must be true");
    out.scope = { system: true };
  } else if (scope['OS-TRUST:trust'] !== undefined) throw unauthorized();
  return out;
}

export async function renderToken(t: TokenInfo, model: IdentityModel, config: Config, withCatalog = true): Promise<Record<string, unknown>> {
  const ref = (d: Domain): { id: string; name: string } => ({ id: d.id, name: d.name });
  const token: Record<string, unknown> = {
    methods: t.methods,
    user: { domain: ref(t.user_domain), id: t.user.id, name: t.user.name, password_expires_at: null },
    audit_ids: [t.audit_id],
    expires_at: keystoneTime(t.expires_at),
    issued_at: keystoneTime(t.issued_at),
  };
  if (t.project && t.project_domain) {
    token.project = { domain: ref(t.project_domain), id: t.project.id, name: t.project.name };
    token.is_domain = false;
  }
  if (t.domain) token.domain = ref(t.domain);
  if (t.system) token.system = { all: true };
  if (t.app_cred) token.application_credential = { id: t.app_cred.id, name: t.app_cred.name, restricted: !t.app_cred.unrestricted };
  if (t.project || t.domain || t.system) {
    token.roles = t.roles.map((r) => ({ id: r.id, name: r.name }));
    if (withCatalog) token.catalog = await renderCatalog(model, config, t.project?.id);
  }
  return { token };
}

function first(v: unknown): string | undefined {
  if (Array.isArray(v)) return v.length ? String(v[0]) : undefined;
  return v === undefined ? undefined : String(v);
}
/** Keystone reads boolean query filters loosely: '0', 'false', 'no', 'off' are false. */
function boolParam(v: unknown): boolean | undefined {
  const s = first(v);
  if (s === undefined) return undefined;
  return !['0', 'false', 'f', 'no', 'n', 'off'].includes(s.toLowerCase());
}
/** A flag like `include_names` counts when present without a value. */
function flag(v: unknown): boolean {
  const s = first(v);
  return s !== undefined && (s === '' || boolParam(s) === true);
}
const csv = (v: unknown): string[] | undefined => {
  const s = first(v);
  return s === undefined ? undefined : s.split(',').filter(Boolean);
};

const must = async <T>(p: Promise<T | undefined>, what: string, id: string): Promise<T> => {
  const v = await p;
  if (v === undefined) throw notFound(what, id);
  return v;
};

export async function registerIdentity(app: FastifyInstance, svc: Services): Promise<void> {
  const { config } = svc;
  const model: IdentityModel = svc.identity;
  const store = model.store;
  const v3 = (): string => `${publicUrl(config)}/identity/v3`;
  const auth = requireAuth(svc);
  const ctx = (req: FastifyRequest): AuthContext => req.auth as AuthContext;
  const admin = (req: FastifyRequest): boolean => isAdmin(ctx(req));
  /** `role:reader and system_scope:all`: a system reader reads everything. */
  const systemReader = (req: FastifyRequest): boolean => ctx(req).system_scope === 'all' && effectiveRoles(ctx(req).roles).has('reader');
  const requireAdmin = (req: FastifyRequest, action: string): void => {
    if (!admin(req)) throw forbidden(action);
  };
  const requireReader = (req: FastifyRequest, action: string): void => {
    if (!admin(req) && !systemReader(req)) throw forbidden(action);
  };
  // Keystone strips a trailing slash before routing, so its links never have one.
  const selfLink = (req: FastifyRequest): string => `${publicUrl(config)}${req.url.replace(/\/+(?=\?|$)/, '')}`;
  const listLinks = (req: FastifyRequest): Record<string, string | null> => ({ self: selfLink(req), previous: null, next: null });
  const qs = (req: FastifyRequest): Record<string, unknown> => req.query as Record<string, unknown>;

  const domainView = (d: Domain): Record<string, unknown> => ({ id: d.id, name: d.name, description: d.description, enabled: d.enabled, tags: d.tags, options: {}, links: { self: `${v3()}/domains/${d.id}` } });
  const projectView = (p: Project): Record<string, unknown> => ({
    ...p.extra, id: p.id, name: p.name, domain_id: p.domain_id, description: p.description, enabled: p.enabled, parent_id: p.parent_id ?? p.domain_id, is_domain: false,
    tags: p.tags, options: {}, links: { self: `${v3()}/projects/${p.id}` },
  });
  const userView = (u: User): Record<string, unknown> => {
    const out: Record<string, unknown> = { ...u.extra, id: u.id, name: u.name, domain_id: u.domain_id, enabled: u.enabled, password_expires_at: null, options: u.options, links: { self: `${v3()}/users/${u.id}` } };
    if (u.default_project_id) out.default_project_id = u.default_project_id;
    if (u.email !== null) out.email = u.email;
    if (u.description !== null) out.description = u.description;
    return out;
  };
  const groupView = (g: Group): Record<string, unknown> => ({ id: g.id, name: g.name, domain_id: g.domain_id, description: g.description, links: { self: `${v3()}/groups/${g.id}` } });
  const roleView = (r: Role): Record<string, unknown> => ({ id: r.id, name: r.name, domain_id: r.domain_id, description: r.description, options: r.options, links: { self: `${v3()}/roles/${r.id}` } });
  const roleRef = (r: Role): Record<string, unknown> => ({ id: r.id, name: r.name, links: { self: `${v3()}/roles/${r.id}` } });
  const serviceView = (s: Service): Record<string, unknown> => ({ id: s.id, type: s.type, name: s.name ?? '', description: s.description ?? '', enabled: s.enabled, links: { self: `${v3()}/services/${s.id}` } });
  const endpointView = (e: Endpoint): Record<string, unknown> => ({
    id: e.id, interface: e.interface, region: e.region_id, region_id: e.region_id, service_id: e.service_id, url: endpointUrl(e.url, config), enabled: e.enabled,
    links: { self: `${v3()}/endpoints/${e.id}` },
  });
  const regionView = (r: Region): Record<string, unknown> => ({ id: r.id, description: r.description, parent_region_id: r.parent_region_id, links: { self: `${v3()}/regions/${r.id}` } });
  const appCredView = (a: AppCredential): Record<string, unknown> => ({
    id: a.id, name: a.name, description: a.description, user_id: a.user_id, project_id: a.project_id, roles: a.roles.map((r) => ({ ...r, domain_id: null })),
    expires_at: a.expires_at === null ? null : microTime(a.expires_at), unrestricted: a.unrestricted, access_rules: [],
    links: { self: `${v3()}/users/${a.user_id}/application_credentials/${a.id}` },
  });

  const mustProject = (id: string): Promise<Project> => must(store.getProject(id), 'project', id);
  const mustUser = (id: string): Promise<User> => must(store.getUser(id), 'user', id);
  const mustGroup = (id: string): Promise<Group> => must(store.getGroup(id), 'group', id);
  const mustRole = (id: string): Promise<Role> => must(store.getRole(id), 'role', id);
  const duplicateRole = (roleName: string, domain_id: string | null): ServiceError =>
    conflict('role', `Duplicate entry found with name ${roleName}${domain_id === null ? '' : ` at domain ID ${domain_id}`}`);
  const mustDomain = (id: string): Promise<Domain> => must(store.getDomain(id), 'domain', id);
  const wrapped = (body: unknown, key: string): Record<string, unknown> => {
    if (!isObj(body) || !isObj(body[key])) throw required(key);
    return body[key] as Record<string, unknown>;
  };
  /** Extra attributes and `null` descriptions are accepted on create and update, as by Keystone. */
  const description = (o: Record<string, unknown>): string | null | undefined => optStr(o, 'description', { nullable: true });

  await app.register(async (r) => {
    r.setErrorHandler(serviceErrorHandler);
    r.setNotFoundHandler((_req, reply) => reply.code(404).send({ error: { code: 404, title: 'Not Found', message: 'The resource could not be found.' } }));
    type Id = { Params: { id: string } };
    const on = { onRequest: auth };

    r.get('/', async (_req, reply) => reply.code(300).send({ versions: { values: [versionDoc(config)] } }));
    r.get('/v3', async () => ({ version: versionDoc(config) }));

    // ---- tokens ----
    r.post('/v3/auth/tokens', async (req, reply) => {
      const info = await model.authenticate(parseAuthBody(req.body));
      const nocatalog = qs(req).nocatalog !== undefined;
      return reply.code(201).header('X-Subject-Token', info.token).send(await renderToken(info, model, config, !nocatalog));
    });
    const subject = async (req: FastifyRequest): Promise<TokenInfo> => {
      const h = req.headers['x-subject-token'];
      const token = (Array.isArray(h) ? h[0] : h ?? '').trim();
      const info = token ? await model.tokenInfo(token) : null;
      // Keystone's default: an admin, a system reader or the token's own user may look at a token.
      if (info && !admin(req) && !systemReader(req) && info.user.id !== ctx(req).user_id) throw forbidden('validate_token');
      if (!info) throw serviceError(404, `Could not find token: ${token}.`);
      return info;
    };
    r.get('/v3/auth/tokens', on, async (req, reply) => {
      const info = await subject(req);
      const nocatalog = qs(req).nocatalog !== undefined;
      return reply.header('X-Subject-Token', info.token).send(await renderToken(info, model, config, !nocatalog));
    });
    r.delete('/v3/auth/tokens', on, async (req, reply) => {
      const info = await subject(req);
      await model.revokeToken(info.token);
      return reply.code(204).send();
    });
    r.get('/v3/auth/catalog', on, async (req) => {
      const a = ctx(req);
      if (!a.project_id && !a.domain_id && !a.system_scope) throw serviceError(403, 'A project-scoped token is required to produce a service catalog.');
      return { catalog: await renderCatalog(model, config, a.project_id), links: listLinks(req) };
    });
    r.get('/v3/auth/projects', on, async (req) => ({ projects: (await model.userProjects(ctx(req).user_id)).filter((p) => p.enabled).map(projectView), links: listLinks(req) }));
    r.get('/v3/auth/domains', on, async (req) => ({ domains: (await model.userDomains(ctx(req).user_id)).filter((d) => d.enabled).map(domainView), links: listLinks(req) }));
    r.get('/v3/auth/system', on, async (req) => {
      const has = (await model.rolesFor(ctx(req).user_id, 'system', 'all')).length > 0;
      return { system: has ? [{ all: true }] : [], links: listLinks(req) };
    });

    // ---- regions, services, endpoints ----
    r.get('/v3/regions', on, async (req) => ({ regions: (await store.listRegions({ parent_region_id: first(qs(req).parent_region_id) })).map(regionView), links: listLinks(req) }));
    r.get<Id>('/v3/regions/:id', on, async (req) => ({ region: regionView(await must(store.getRegion(req.params.id), 'region', req.params.id)) }));
    const putRegion = async (req: FastifyRequest, reply: FastifyReply, id: string | undefined): Promise<FastifyReply> => {
      requireAdmin(req, 'create_region');
      const b = wrapped(req.body, 'region');
      const rid = id ?? str(b, 'id') ?? newId();
      if (id !== undefined && b.id !== undefined && b.id !== id) throw serviceError(400, 'Conflicting region IDs specified: "' + String(b.id) + '" and "' + id + '"');
      const parent = optStr(b, 'parent_region_id', { nullable: true }) ?? null;
      const region: Region = { id: rid, description: optStr(b, 'description', { nullable: true }) ?? '', parent_region_id: parent, created_at: Date.now() };
      await model.write(async (s) => {
        if (parent && !(await s.getRegion(parent))) throw notFound('region', parent);
        if (await s.getRegion(rid)) throw conflict('region', `Duplicate ID, ${rid}`);
        await s.insertRegion(region);
      }).catch(uniqueAs(conflict('region', `Duplicate ID, ${rid}`)));
      return reply.code(201).send({ region: regionView(region) });
    };
    r.post('/v3/regions', on, (req, reply) => putRegion(req, reply, undefined));
    r.put<Id>('/v3/regions/:id', on, (req, reply) => putRegion(req, reply, req.params.id));
    r.patch<Id>('/v3/regions/:id', on, async (req) => {
      requireAdmin(req, 'update_region');
      const b = wrapped(req.body, 'region');
      await must(store.getRegion(req.params.id), 'region', req.params.id);
      const parent = optStr(b, 'parent_region_id', { nullable: true });
      if (parent === req.params.id) throw serviceError(400, `Circular reference or a repeated entry found in region tree - ${parent}.`);
      if (parent && !(await store.getRegion(parent))) throw notFound('region', parent);
      await model.write((s) => s.updateRegion(req.params.id, { description: optStr(b, 'description', { nullable: true }) ?? undefined, parent_region_id: parent }));
      return { region: regionView((await store.getRegion(req.params.id))!) };
    });
    r.delete<Id>('/v3/regions/:id', on, async (req, reply) => {
      requireAdmin(req, 'delete_region');
      await model.write(async (s) => {
        if ((await s.listRegions({ parent_region_id: req.params.id })).length) throw serviceError(403, 'Unable to delete region because it or its child regions have associated endpoints.');
        if ((await s.listEndpoints({ region_id: req.params.id })).length) throw serviceError(403, 'Unable to delete region because it or its child regions have associated endpoints.');
        if (!(await s.deleteRegion(req.params.id))) throw notFound('region', req.params.id);
      });
      return reply.code(204).send();
    });

    r.get('/v3/services', on, async (req) => {
      requireReader(req, 'list_services');
      const q = qs(req);
      let list = await store.listServices({ type: first(q.type) });
      if (first(q.name) !== undefined) list = list.filter((s) => s.name === first(q.name));
      return { services: list.map(serviceView), links: listLinks(req) };
    });
    r.get<Id>('/v3/services/:id', on, async (req) => {
      requireReader(req, 'get_service');
      return { service: serviceView(await must(store.getService(req.params.id), 'service', req.params.id)) };
    });
    r.post('/v3/services', on, async (req, reply) => {
      requireAdmin(req, 'create_service');
      const b = wrapped(req.body, 'service');
      const type = name(b, 'type', true) as string;
      const s: Service = { id: newId(), type, name: str(b, 'name') ?? null, description: optStr(b, 'description', { nullable: true }) ?? null, enabled: optBool(b, 'enabled') ?? true, created_at: Date.now() };
      await model.write((x) => x.insertService(s));
      return reply.code(201).send({ service: serviceView(s) });
    });
    r.patch<Id>('/v3/services/:id', on, async (req) => {
      requireAdmin(req, 'update_service');
      const b = wrapped(req.body, 'service');
      await must(store.getService(req.params.id), 'service', req.params.id);
      await model.write((s) => s.updateService(req.params.id, { type: name(b, 'type', false), name: str(b, 'name'), description: optStr(b, 'description', { nullable: true }), enabled: optBool(b, 'enabled') }));
      return { service: serviceView((await store.getService(req.params.id))!) };
    });
    r.delete<Id>('/v3/services/:id', on, async (req, reply) => {
      requireAdmin(req, 'delete_service');
      if (!(await model.write((s) => s.deleteService(req.params.id)))) throw notFound('service', req.params.id);
      return reply.code(204).send();
    });

    r.get('/v3/endpoints', on, async (req) => {
      requireReader(req, 'list_endpoints');
      const q = qs(req);
      const iface = first(q.interface);
      if (iface !== undefined && !(INTERFACES as readonly string[]).includes(iface)) throw badInput('interface', `${pyRepr(iface)} does not match '^(admin|internal|public)$'`);
      const list = await store.listEndpoints({ interface: iface, service_id: first(q.service_id), region_id: first(q.region_id) });
      return { endpoints: list.map(endpointView), links: listLinks(req) };
    });
    r.get<Id>('/v3/endpoints/:id', on, async (req) => {
      requireReader(req, 'get_endpoint');
      return { endpoint: endpointView(await must(store.getEndpoint(req.params.id), 'endpoint', req.params.id)) };
    });
    const endpointFields = async (b: Record<string, unknown>, creating: boolean): Promise<Partial<Endpoint>> => {
      const iface = str(b, 'interface');
      if (creating && iface === undefined) throw required('interface');
      if (iface !== undefined && !(INTERFACES as readonly string[]).includes(iface)) throw badInput('interface', `${pyRepr(iface)} does not match '^(admin|internal|public)$'`);
      const url = str(b, 'url', 1024);
      if (creating && url === undefined) throw required('url');
      if (url !== undefined && !/^[a-zA-Z0-9+.-]+:\/\/\S+$|^\$\(public_url\)s/.test(url)) throw badInput('url', `${pyRepr(url)} does not match '^[a-zA-Z0-9+.-]+:.+'`);
      const service_id = str(b, 'service_id', 64);
      if (creating && service_id === undefined) throw required('service_id');
      if (service_id !== undefined && !(await store.getService(service_id))) throw notFound('service', service_id);
      const byId = optStr(b, 'region_id', { nullable: true });
      const legacy = optStr(b, 'region', { nullable: true });
      const region_id = byId ?? legacy;
      if (region_id && !(await store.getRegion(region_id))) {
        // Keystone creates a region named only by the legacy `region` attribute, for old clients.
        if (byId) throw notFound('region', region_id);
        await model.write((s) => s.insertRegion({ id: region_id, description: '', parent_region_id: null, created_at: Date.now() })).catch(uniqueAs(conflict('region', `Duplicate ID, ${region_id}`)));
      }
      return { interface: iface, url, service_id, region_id, enabled: optBool(b, 'enabled') };
    };
    r.post('/v3/endpoints', on, async (req, reply) => {
      requireAdmin(req, 'create_endpoint');
      const f = await endpointFields(wrapped(req.body, 'endpoint'), true);
      const e: Endpoint = { id: newId(), service_id: f.service_id!, interface: f.interface!, region_id: f.region_id ?? null, url: f.url!, enabled: f.enabled ?? true, created_at: Date.now() };
      await model.write((s) => s.insertEndpoint(e));
      return reply.code(201).send({ endpoint: endpointView(e) });
    });
    r.patch<Id>('/v3/endpoints/:id', on, async (req) => {
      requireAdmin(req, 'update_endpoint');
      await must(store.getEndpoint(req.params.id), 'endpoint', req.params.id);
      const f = await endpointFields(wrapped(req.body, 'endpoint'), false);
      await model.write((s) => s.updateEndpoint(req.params.id, f));
      return { endpoint: endpointView((await store.getEndpoint(req.params.id))!) };
    });
    r.delete<Id>('/v3/endpoints/:id', on, async (req, reply) => {
      requireAdmin(req, 'delete_endpoint');
      if (!(await model.write((s) => s.deleteEndpoint(req.params.id)))) throw notFound('endpoint', req.params.id);
      return reply.code(204).send();
    });

    // ---- domains ----
    r.get('/v3/domains', on, async (req) => {
      requireReader(req, 'list_domains');
      const q = qs(req);
      return { domains: (await store.listDomains({ name: first(q.name), enabled: boolParam(q.enabled) })).map(domainView), links: listLinks(req) };
    });
    r.get<Id>('/v3/domains/:id', on, async (req) => {
      const a = ctx(req);
      const mine = a.domain_id === req.params.id || a.project_domain_id === req.params.id || a.user_domain_id === req.params.id;
      if (!admin(req) && !systemReader(req) && !mine) throw forbidden('get_domain');
      return { domain: domainView(await mustDomain(req.params.id)) };
    });
    r.post('/v3/domains', on, async (req, reply) => {
      requireAdmin(req, 'create_domain');
      const b = wrapped(req.body, 'domain');
      const d: Domain = {
        id: str(b, 'explicit_domain_id', 64) ?? newId(), name: name(b, 'name', true, 64) as string, description: description(b) ?? '', enabled: optBool(b, 'enabled') ?? true,
        tags: optTags(b) ?? [], created_at: Date.now(),
      };
      const dup = conflict('domain', `Duplicate entry found with name ${d.name}`);
      await model.write(async (s) => {
        if (await s.domainByName(d.name)) throw dup;
        await s.insertDomain(d);
      }).catch(uniqueAs(dup));
      return reply.code(201).send({ domain: domainView(d) });
    });
    r.patch<Id>('/v3/domains/:id', on, async (req) => {
      requireAdmin(req, 'update_domain');
      const b = wrapped(req.body, 'domain');
      const newName = name(b, 'name', false, 64);
      const enabled = optBool(b, 'enabled');
      await model.write(async (s) => {
        const cur = await s.getDomain(req.params.id);
        if (!cur) throw notFound('domain', req.params.id);
        if (cur.id === DEFAULT_DOMAIN_ID && enabled === false) throw serviceError(403, 'You are not authorized to perform the requested action: Cannot disable the default domain.');
        if (newName !== undefined && newName !== cur.name && (await s.domainByName(newName))) throw conflict('domain', `Duplicate entry found with name ${newName}`);
        await s.updateDomain(cur.id, { name: newName, description: description(b) ?? undefined, enabled, tags: optTags(b) });
        // Disabling a domain ends the tokens of its users and projects.
        if (enabled === false) {
          for (const u of await s.listUsers({ domain_id: cur.id })) await s.revokeTokens({ user_id: u.id });
          await s.revokeTokens({ domain_id: cur.id });
        }
      });
      return { domain: domainView(await mustDomain(req.params.id)) };
    });
    r.delete<Id>('/v3/domains/:id', on, async (req, reply) => {
      requireAdmin(req, 'delete_domain');
      await model.write(async (s) => {
        const cur = await s.getDomain(req.params.id);
        if (!cur) throw notFound('domain', req.params.id);
        if (cur.enabled) throw serviceError(403, 'You are not authorized to perform the requested action: Cannot delete a domain that is enabled, please disable it first.');
        await s.deleteDomain(cur.id);
      });
      return reply.code(204).send();
    });

    // ---- projects ----
    const tagFilter = (p: Project, q: Record<string, unknown>): boolean => {
      const all = csv(q.tags);
      const any = csv(q['tags-any']);
      const notAll = csv(q['not-tags']);
      const notAny = csv(q['not-tags-any']);
      if (all && !all.every((t) => p.tags.includes(t))) return false;
      if (any && !any.some((t) => p.tags.includes(t))) return false;
      if (notAll && notAll.every((t) => p.tags.includes(t))) return false;
      if (notAny && notAny.some((t) => p.tags.includes(t))) return false;
      return true;
    };
    r.get('/v3/projects', on, async (req) => {
      const q = qs(req);
      if (!admin(req) && !systemReader(req)) throw forbidden('list_projects');
      if (boolParam(q.is_domain) === true) return { projects: [], links: listLinks(req) };
      const parent = first(q.parent_id);
      let list = await store.listProjects({ name: first(q.name), domain_id: first(q.domain_id), enabled: boolParam(q.enabled) });
      if (parent !== undefined) list = list.filter((p) => (p.parent_id ?? p.domain_id) === parent);
      return { projects: list.filter((p) => tagFilter(p, q)).map(projectView), links: listLinks(req) };
    });
    r.post('/v3/projects', on, async (req, reply) => {
      requireAdmin(req, 'create_project');
      const b = wrapped(req.body, 'project');
      if (optBool(b, 'is_domain')) throw serviceError(400, 'Projects acting as domains are not supported.');
      const pname = name(b, 'name', true, 64) as string;
      const parentRef = optStr(b, 'parent_id', { nullable: true, max: 64 }) ?? null;
      let domain_id = optStr(b, 'domain_id', { nullable: true, max: 64 }) ?? null;
      let parent_id: string | null = null;
      if (parentRef) {
        const parentProject = await store.getProject(parentRef);
        if (parentProject) {
          if (domain_id && domain_id !== parentProject.domain_id) throw serviceError(400, 'Cannot create project, the parent project and the project to create must be in the same domain.');
          parent_id = parentProject.id;
          domain_id = parentProject.domain_id;
        } else if (await store.getDomain(parentRef)) {
          domain_id = domain_id ?? parentRef;
        } else throw notFound('project', parentRef);
      }
      domain_id = domain_id ?? ctx(req).project_domain_id ?? ctx(req).domain_id ?? DEFAULT_DOMAIN_ID;
      const p: Project = {
        id: newId(), name: pname, domain_id, description: description(b) ?? '', enabled: optBool(b, 'enabled') ?? true, parent_id, tags: optTags(b) ?? [],
        extra: extras(b, ['id', 'name', 'domain_id', 'description', 'enabled', 'parent_id', 'is_domain', 'tags', 'options', 'links']), created_at: Date.now(),
      };
      const dup = conflict('project', `Duplicate entry found with name ${pname} at domain ID ${domain_id}`);
      await model.write(async (s) => {
        if (!(await s.getDomain(p.domain_id))) throw serviceError(400, `Could not find domain: ${p.domain_id}.`);
        if (await s.projectByName(p.domain_id, p.name)) throw dup;
        await s.insertProject(p);
      }).catch(uniqueAs(dup));
      return reply.code(201).send({ project: projectView(p) });
    });
    r.get<Id>('/v3/projects/:id', on, async (req) => {
      if (!admin(req) && !systemReader(req) && ctx(req).project_id !== req.params.id) throw forbidden('get_project');
      return { project: projectView(await mustProject(req.params.id)) };
    });
    r.patch<Id>('/v3/projects/:id', on, async (req) => {
      requireAdmin(req, 'update_project');
      const b = wrapped(req.body, 'project');
      if (b.domain_id !== undefined) throw serviceError(400, 'Update of `domain_id` is not allowed.');
      if (b.parent_id !== undefined) throw serviceError(403, 'Update of `parent_id` is not allowed.');
      if (b.is_domain !== undefined) throw serviceError(400, 'Update of `is_domain` is not allowed.');
      const newName = name(b, 'name', false, 64);
      await model.write(async (s) => {
        const cur = await s.getProject(req.params.id);
        if (!cur) throw notFound('project', req.params.id);
        if (newName !== undefined && newName !== cur.name && (await s.projectByName(cur.domain_id, newName))) throw conflict('project', `Duplicate entry found with name ${newName} at domain ID ${cur.domain_id}`);
        const extra = { ...cur.extra, ...extras(b, ['id', 'name', 'domain_id', 'description', 'enabled', 'parent_id', 'is_domain', 'tags', 'options', 'links']) };
        const enabled = optBool(b, 'enabled');
        await s.updateProject(cur.id, { name: newName, description: description(b) ?? undefined, enabled, tags: optTags(b), extra });
        if (enabled === false) await s.revokeTokens({ project_id: cur.id });
      });
      return { project: projectView(await mustProject(req.params.id)) };
    });
    r.delete<Id>('/v3/projects/:id', on, async (req, reply) => {
      requireAdmin(req, 'delete_project');
      await model.write(async (s) => {
        if (!(await s.getProject(req.params.id))) throw notFound('project', req.params.id);
        if ((await s.listProjects({ parent_id: req.params.id })).length) {
          throw serviceError(403, `You are not authorized to perform the requested action: cannot delete the project ${req.params.id} since it is not a leaf in the hierarchy. Use the cascade option if you want to delete a whole subtree.`);
        }
        await s.deleteProject(req.params.id);
      });
      return reply.code(204).send();
    });
    // Project tags.
    type Tag = { Params: { id: string; tag: string } };
    r.get<Id>('/v3/projects/:id/tags', on, async (req) => {
      if (!admin(req) && !systemReader(req) && ctx(req).project_id !== req.params.id) throw forbidden('list_project_tags');
      return { tags: (await mustProject(req.params.id)).tags };
    });
    r.put<Id>('/v3/projects/:id/tags', on, async (req) => {
      requireAdmin(req, 'update_project_tags');
      const tags = optTags(isObj(req.body) ? req.body : {}) ?? [];
      await mustProject(req.params.id);
      await model.write((s) => s.updateProject(req.params.id, { tags }));
      return { tags };
    });
    r.delete<Id>('/v3/projects/:id/tags', on, async (req, reply) => {
      requireAdmin(req, 'delete_project_tags');
      await mustProject(req.params.id);
      await model.write((s) => s.updateProject(req.params.id, { tags: [] }));
      return reply.code(204).send();
    });
    r.get<Tag>('/v3/projects/:id/tags/:tag', on, async (req, reply) => {
      if (!admin(req) && !systemReader(req) && ctx(req).project_id !== req.params.id) throw forbidden('get_project_tag');
      if (!(await mustProject(req.params.id)).tags.includes(req.params.tag)) throw notFound('tag', req.params.tag);
      return reply.code(204).send();
    });
    r.put<Tag>('/v3/projects/:id/tags/:tag', on, async (req, reply) => {
      requireAdmin(req, 'create_project_tag');
      const tag = checkTag(req.params.tag);
      await model.write(async (s) => {
        const p = await s.getProject(req.params.id);
        if (!p) throw notFound('project', req.params.id);
        if (!p.tags.includes(tag)) {
          if (p.tags.length >= 80) throw serviceError(400, 'The number of tags is limited to 80.');
          await s.updateProject(p.id, { tags: [...p.tags, tag] });
        }
      });
      return reply.code(201).header('Location', `${v3()}/projects/${req.params.id}/tags/${encodeURIComponent(tag)}`).send();
    });
    r.delete<Tag>('/v3/projects/:id/tags/:tag', on, async (req, reply) => {
      requireAdmin(req, 'delete_project_tag');
      await model.write(async (s) => {
        const p = await s.getProject(req.params.id);
        if (!p) throw notFound('project', req.params.id);
        if (!p.tags.includes(req.params.tag)) throw notFound('tag', req.params.tag);
        await s.updateProject(p.id, { tags: p.tags.filter((t) => t !== req.params.tag) });
      });
      return reply.code(204).send();
    });

    // ---- users ----
    // `project_id` (which tempest sends) is not Keystone's attribute: it is kept and shown as an extra one.
    const USER_KNOWN = ['id', 'name', 'domain_id', 'password', 'email', 'description', 'default_project_id', 'enabled', 'options', 'links', 'password_expires_at'];
    r.get('/v3/users', on, async (req) => {
      requireReader(req, 'list_users');
      const q = qs(req);
      return { users: (await store.listUsers({ name: first(q.name), domain_id: first(q.domain_id), enabled: boolParam(q.enabled) })).map(userView), links: listLinks(req) };
    });
    r.post('/v3/users', on, async (req, reply) => {
      requireAdmin(req, 'create_user');
      const u = wrapped(req.body, 'user');
      const created = await model.createUser({
        name: name(u, 'name', true) as string,
        domain_id: optStr(u, 'domain_id', { max: 64 }) ?? ctx(req).project_domain_id ?? ctx(req).domain_id ?? DEFAULT_DOMAIN_ID,
        password: optStr(u, 'password', { nullable: true }) ?? null,
        email: optStr(u, 'email', { nullable: true }) ?? null,
        description: description(u) ?? null,
        default_project_id: optStr(u, 'default_project_id', { nullable: true, max: 64 }) ?? null,
        enabled: optBool(u, 'enabled'),
        options: optOptions(u) ?? {},
        extra: extras(u, USER_KNOWN),
      });
      return reply.code(201).send({ user: userView(created) });
    });
    r.get<Id>('/v3/users/:id', on, async (req) => {
      if (!admin(req) && !systemReader(req) && ctx(req).user_id !== req.params.id) throw forbidden('get_user');
      return { user: userView(await mustUser(req.params.id)) };
    });
    r.patch<Id>('/v3/users/:id', on, async (req) => {
      requireAdmin(req, 'update_user');
      const u = wrapped(req.body, 'user');
      if (u.domain_id !== undefined) throw serviceError(400, 'Update of `domain_id` is not allowed.');
      const updated = await model.updateUser(req.params.id, {
        name: name(u, 'name', false), password: optStr(u, 'password') ?? undefined, email: optStr(u, 'email', { nullable: true }),
        description: description(u), default_project_id: optStr(u, 'default_project_id', { nullable: true }), enabled: optBool(u, 'enabled'),
        options: optOptions(u), extra: extras(u, USER_KNOWN),
      });
      return { user: userView(updated) };
    });
    r.delete<Id>('/v3/users/:id', on, async (req, reply) => {
      requireAdmin(req, 'delete_user');
      if (!(await model.write((s) => s.deleteUser(req.params.id)))) throw notFound('user', req.params.id);
      return reply.code(204).send();
    });
    // Keystone's self-service change needs no token: the original password authenticates the call
    // (a wrong one, an unknown or a disabled user are all the same 401), and any token sent is ignored.
    r.post<Id>('/v3/users/:id/password', async (req, reply) => {
      const u = wrapped(req.body, 'user');
      const extra = Object.keys(u).find((k) => k !== 'password' && k !== 'original_password');
      if (extra !== undefined) throw badInput('user', `Additional properties are not allowed ('${extra}' was unexpected)`);
      const password = optStr(u, 'password');
      const original = optStr(u, 'original_password');
      if (typeof original !== 'string') throw required('original_password');
      if (typeof password !== 'string') throw required('password');
      await model.changePassword(req.params.id, original, password);
      return reply.code(204).send();
    });
    r.get<Id>('/v3/users/:id/projects', on, async (req) => {
      if (!admin(req) && !systemReader(req) && ctx(req).user_id !== req.params.id) throw forbidden('list_user_projects');
      await mustUser(req.params.id);
      return { projects: (await model.userProjects(req.params.id)).map(projectView), links: listLinks(req) };
    });
    r.get<Id>('/v3/users/:id/groups', on, async (req) => {
      if (!admin(req) && !systemReader(req) && ctx(req).user_id !== req.params.id) throw forbidden('list_groups_for_user');
      await mustUser(req.params.id);
      return { groups: (await store.groupsOfUser(req.params.id)).map(groupView), links: listLinks(req) };
    });

    // ---- application credentials (the user's own) ----
    type AC = { Params: { id: string; cid: string } };
    const ownCreds = (req: FastifyRequest, uid: string, action: string): void => {
      const a = ctx(req);
      if (a.user_id !== uid && !admin(req) && !systemReader(req)) throw forbidden(action);
      // A restricted application credential cannot manage others (Keystone's rule against escalation).
      if (a.app_cred_id && !a.app_cred_unrestricted) throw serviceError(403, `You are not authorized to perform the requested action: Using method 'application_credential' is not allowed for managing additional application credentials.`);
    };
    r.get<Id>('/v3/users/:id/application_credentials', on, async (req) => {
      ownCreds(req, req.params.id, 'list_application_credentials');
      await mustUser(req.params.id);
      const list = await store.listAppCredentials({ user_id: req.params.id, name: first(qs(req).name) });
      return { application_credentials: list.map(appCredView), links: listLinks(req) };
    });
    r.get<AC>('/v3/users/:id/application_credentials/:cid', on, async (req) => {
      ownCreds(req, req.params.id, 'get_application_credential');
      const c = await store.getAppCredential(req.params.cid);
      if (!c || c.user_id !== req.params.id) throw serviceError(404, `Could not find Application Credential: ${req.params.cid}.`);
      return { application_credential: appCredView(c) };
    });
    r.delete<AC>('/v3/users/:id/application_credentials/:cid', on, async (req, reply) => {
      ownCreds(req, req.params.id, 'delete_application_credential');
      const c = await store.getAppCredential(req.params.cid);
      if (!c || c.user_id !== req.params.id) throw serviceError(404, `Could not find Application Credential: ${req.params.cid}.`);
      await model.write((s) => s.deleteAppCredential(c.id));
      return reply.code(204).send();
    });
    r.post<Id>('/v3/users/:id/application_credentials', on, async (req, reply) => {
      const a = ctx(req);
      if (a.user_id !== req.params.id) throw forbidden('create_application_credential');
      ownCreds(req, req.params.id, 'create_application_credential');
      const b = wrapped(req.body, 'application_credential');
      const cname = name(b, 'name', true) as string;
      if (!a.project_id) throw serviceError(400, 'Application credentials must be created with a project-scoped token.');
      const secret = optStr(b, 'secret', { nullable: true }) ?? undefined;
      let expires_at: number | null = null;
      const exp = optStr(b, 'expires_at', { nullable: true });
      if (exp) {
        const t = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(exp) ? exp : `${exp}Z`);
        if (Number.isNaN(t)) throw badInput('expires_at', `${pyRepr(exp)} is not a 'date-time'`);
        if (t <= Date.now()) throw serviceError(400, 'The requested expiration time is in the past.');
        // Keystone keeps the microseconds it was given (clients compare the time they sent).
        const fraction = /T[^.]*\.(\d+)/.exec(exp)?.[1] ?? '';
        expires_at = Math.floor(t / 1000) * 1_000_000 + Number(fraction.padEnd(6, '0').slice(0, 6));
      }
      // Access rules are not served: a credential asked to be restricted by them is refused rather
      // than made without the restriction.
      if (b.access_rules !== undefined && !(Array.isArray(b.access_rules) && b.access_rules.length === 0)) {
        throw badInput('access_rules', 'access rules of application credentials are not supported by this cloud');
      }
      const unrestricted = optBool(b, 'unrestricted') ?? false;
      const held = await model.rolesFor(a.user_id, 'project', a.project_id);
      let roles = held;
      if (b.roles !== undefined) {
        if (!Array.isArray(b.roles)) throw badInput('roles', `${pyRepr(b.roles)} is not of type 'array'`);
        roles = [];
        for (const ref of b.roles) {
          if (!isObj(ref) || (typeof ref.id !== 'string' && typeof ref.name !== 'string')) throw badInput('roles', `${pyRepr(ref)} is not valid under any of the given schemas`);
          const role = held.find((x) => (typeof ref.id === 'string' ? x.id === ref.id : x.name === ref.name));
          if (!role) throw serviceError(404, `Could not find role assignment with role: ${String(ref.id ?? ref.name)}, user or group: ${a.user_id}, project, domain, or system: ${a.project_id}.`);
          roles.push(role);
        }
      } else {
        // Without a list, the credential gets the roles of the token that creates it.
        roles = held.filter((x) => a.roles.includes(x.name));
      }
      const { cred, secret: shown } = await model.createAppCredential({ user_id: a.user_id, project_id: a.project_id, name: cname, description: description(b) ?? null, secret, expires_at, unrestricted, roles });
      return reply.code(201).send({ application_credential: { ...appCredView(cred), secret: shown } });
    });

    // ---- groups ----
    r.get('/v3/groups', on, async (req) => {
      requireReader(req, 'list_groups');
      const q = qs(req);
      return { groups: (await store.listGroups({ name: first(q.name), domain_id: first(q.domain_id) })).map(groupView), links: listLinks(req) };
    });
    r.post('/v3/groups', on, async (req, reply) => {
      requireAdmin(req, 'create_group');
      const b = wrapped(req.body, 'group');
      const g: Group = { id: newId(), name: name(b, 'name', true, 64) as string, domain_id: optStr(b, 'domain_id', { max: 64 }) ?? ctx(req).project_domain_id ?? DEFAULT_DOMAIN_ID, description: description(b) ?? '', created_at: Date.now() };
      const dup = conflict('group', `Duplicate entry found with name ${g.name} at domain ID ${g.domain_id}`);
      await model.write(async (s) => {
        if (!(await s.getDomain(g.domain_id))) throw serviceError(400, `Could not find domain: ${g.domain_id}.`);
        if (await s.groupByName(g.domain_id, g.name)) throw dup;
        await s.insertGroup(g);
      }).catch(uniqueAs(dup));
      return reply.code(201).send({ group: groupView(g) });
    });
    r.get<Id>('/v3/groups/:id', on, async (req) => {
      requireReader(req, 'get_group');
      return { group: groupView(await mustGroup(req.params.id)) };
    });
    r.patch<Id>('/v3/groups/:id', on, async (req) => {
      requireAdmin(req, 'update_group');
      const b = wrapped(req.body, 'group');
      if (b.domain_id !== undefined) throw serviceError(400, 'Update of `domain_id` is not allowed.');
      const newName = name(b, 'name', false, 64);
      await model.write(async (s) => {
        const cur = await s.getGroup(req.params.id);
        if (!cur) throw notFound('group', req.params.id);
        if (newName !== undefined && newName !== cur.name && (await s.groupByName(cur.domain_id, newName))) throw conflict('group', `Duplicate entry found with name ${newName} at domain ID ${cur.domain_id}`);
        await s.updateGroup(cur.id, { name: newName, description: description(b) ?? undefined });
      });
      return { group: groupView(await mustGroup(req.params.id)) };
    });
    r.delete<Id>('/v3/groups/:id', on, async (req, reply) => {
      requireAdmin(req, 'delete_group');
      if (!(await model.write((s) => s.deleteGroup(req.params.id)))) throw notFound('group', req.params.id);
      return reply.code(204).send();
    });
    r.get<Id>('/v3/groups/:id/users', on, async (req) => {
      requireReader(req, 'list_users_in_group');
      await mustGroup(req.params.id);
      return { users: (await store.usersInGroup(req.params.id)).map(userView), links: listLinks(req) };
    });
    type GU = { Params: { id: string; uid: string } };
    r.put<GU>('/v3/groups/:id/users/:uid', on, async (req, reply) => {
      requireAdmin(req, 'add_user_to_group');
      await mustGroup(req.params.id);
      await mustUser(req.params.uid);
      await model.write((s) => s.addToGroup(req.params.id, req.params.uid));
      return reply.code(204).send();
    });
    r.get<GU>('/v3/groups/:id/users/:uid', on, async (req, reply) => {
      if (!admin(req) && !systemReader(req) && ctx(req).user_id !== req.params.uid) throw forbidden('check_user_in_group');
      await mustGroup(req.params.id);
      await mustUser(req.params.uid);
      if (!(await store.usersInGroup(req.params.id)).some((u) => u.id === req.params.uid)) throw serviceError(404, `User ${req.params.uid} is not a member of group ${req.params.id}.`);
      return reply.code(204).send();
    });
    r.delete<GU>('/v3/groups/:id/users/:uid', on, async (req, reply) => {
      requireAdmin(req, 'remove_user_from_group');
      await mustGroup(req.params.id);
      await mustUser(req.params.uid);
      if (!(await model.write((s) => s.removeFromGroup(req.params.id, req.params.uid)))) throw serviceError(404, `User ${req.params.uid} is not a member of group ${req.params.id}.`);
      return reply.code(204).send();
    });

    // ---- roles and implied roles ----
    r.get('/v3/roles', on, async (req) => {
      requireReader(req, 'list_roles');
      const q = qs(req);
      // Without a domain_id filter Keystone lists the global roles only; with one, that domain's roles.
      return { roles: (await store.listRoles({ name: first(q.name), domain_id: first(q.domain_id) || null })).map(roleView), links: listLinks(req) };
    });
    r.get<Id>('/v3/roles/:id', on, async (req) => {
      requireReader(req, 'get_role');
      return { role: roleView(await mustRole(req.params.id)) };
    });
    r.post('/v3/roles', on, async (req, reply) => {
      requireAdmin(req, 'create_role');
      const b = wrapped(req.body, 'role');
      const domain_id = optStr(b, 'domain_id', { nullable: true, max: 64 }) ?? null;
      const role: Role = { id: newId(), name: name(b, 'name', true) as string, domain_id, description: description(b) ?? null, options: isObj(b.options) ? b.options : {}, created_at: Date.now() };
      const dup = duplicateRole(role.name, domain_id);
      await model.write(async (s) => {
        if (domain_id !== null && !(await s.getDomain(domain_id))) throw notFound('domain', domain_id);
        if (await s.roleByName(role.name, domain_id)) throw dup;
        await s.insertRole(role);
      }).catch(uniqueAs(dup));
      return reply.code(201).send({ role: roleView(role) });
    });
    r.patch<Id>('/v3/roles/:id', on, async (req) => {
      requireAdmin(req, 'update_role');
      const b = wrapped(req.body, 'role');
      const newName = name(b, 'name', false);
      await model.write(async (s) => {
        const cur = await s.getRole(req.params.id);
        if (!cur) throw notFound('role', req.params.id);
        if (b.domain_id !== undefined && b.domain_id !== cur.domain_id) throw serviceError(400, 'Update of `domain_id` is not allowed.');
        if (newName !== undefined && newName !== cur.name && (await s.roleByName(newName, cur.domain_id))) throw duplicateRole(newName, cur.domain_id);
        await s.updateRole(cur.id, { name: newName, description: description(b), options: isObj(b.options) ? b.options : undefined });
      });
      return { role: roleView(await mustRole(req.params.id)) };
    });
    r.delete<Id>('/v3/roles/:id', on, async (req, reply) => {
      requireAdmin(req, 'delete_role');
      if (!(await model.write((s) => s.deleteRole(req.params.id)))) throw notFound('role', req.params.id);
      return reply.code(204).send();
    });
    type Imp = { Params: { id: string; iid: string } };
    /** Keystone's prohibited_implied_role default: nothing may imply admin. */
    const PROHIBITED_IMPLIED = ['admin'];
    const inference = async (prior: Role, implies: Role | Role[]): Promise<Record<string, unknown>> =>
      ({ prior_role: roleRef(prior), implies: Array.isArray(implies) ? implies.map(roleRef) : roleRef(implies) });
    const impliedOf = async (priorId: string): Promise<Role[]> => {
      const out: Role[] = [];
      for (const rule of (await store.impliedRoles()).filter((x) => x.prior_role_id === priorId)) {
        const role = await store.getRole(rule.implied_role_id);
        if (role) out.push(role);
      }
      return out;
    };
    r.get<Id>('/v3/roles/:id/implies', on, async (req) => {
      requireReader(req, 'list_implied_roles');
      const prior = await mustRole(req.params.id);
      return { role_inference: await inference(prior, await impliedOf(prior.id)), links: { self: `${v3()}/roles/${prior.id}/implies` } };
    });
    r.put<Imp>('/v3/roles/:id/implies/:iid', on, async (req, reply) => {
      requireAdmin(req, 'create_implied_role');
      const prior = await mustRole(req.params.id);
      const implied = await mustRole(req.params.iid);
      // Nothing implies admin, and a global role cannot imply a domain-specific one (a domain role may
      // imply roles of its own or another domain, and global roles).
      if (PROHIBITED_IMPLIED.includes(implied.name) || (prior.domain_id === null && implied.domain_id !== null)) throw serviceError(403, `${implied.id} cannot be an implied roles.`);
      if (prior.id === implied.id || (await model.expandImplied([implied.id])).includes(prior.id)) throw serviceError(403, `You are not authorized to perform the requested action: implying role ${implied.name} from ${prior.name} would create a cycle.`);
      await model.write((s) => s.addImplied(prior.id, implied.id));
      return reply.code(201).send({ role_inference: await inference(prior, implied), links: { self: `${v3()}/roles/${prior.id}/implies/${implied.id}` } });
    });
    r.head<Imp>('/v3/roles/:id/implies/:iid', on, async (req, reply) => {
      requireReader(req, 'check_implied_role');
      const prior = await mustRole(req.params.id);
      const implied = await mustRole(req.params.iid);
      if (!(await impliedOf(prior.id)).some((x) => x.id === implied.id)) throw serviceError(404, `${prior.id} does not imply ${implied.id}.`);
      return reply.code(204).send();
    });
    r.get<Imp>('/v3/roles/:id/implies/:iid', on, async (req) => {
      requireReader(req, 'get_implied_role');
      const prior = await mustRole(req.params.id);
      const implied = await mustRole(req.params.iid);
      if (!(await impliedOf(prior.id)).some((x) => x.id === implied.id)) throw serviceError(404, `${prior.id} does not imply ${implied.id}.`);
      return { role_inference: await inference(prior, implied), links: { self: `${v3()}/roles/${prior.id}/implies/${implied.id}` } };
    });
    r.delete<Imp>('/v3/roles/:id/implies/:iid', on, async (req, reply) => {
      requireAdmin(req, 'delete_implied_role');
      if (!(await model.write((s) => s.removeImplied(req.params.id, req.params.iid)))) throw serviceError(404, `${req.params.id} does not imply ${req.params.iid}.`);
      return reply.code(204).send();
    });
    r.get('/v3/role_inferences', on, async (req) => {
      requireReader(req, 'list_role_inference_rules');
      const out: Record<string, unknown>[] = [];
      for (const prior of await store.listRoles()) {
        const implies = await impliedOf(prior.id);
        if (implies.length) out.push(await inference(prior, implies));
      }
      return { role_inferences: out, links: listLinks(req) };
    });

    // ---- grants: /{projects|domains}/{id}/{users|groups}/{actor}/roles[/{role}], /system/{users|groups}/{actor}/roles[/{role}] ----
    type G = { Params: { tid: string; uid?: string; gid?: string; rid: string } };
    const notAssigned = (rid: string, aid: string, target: string): ServiceError => serviceError(404, `Could not find role assignment with role: ${rid}, user or group: ${aid}, project, domain, or system: ${target}.`);
    const grantRoutes = (prefix: string, target_type: TargetType, actor_type: 'user' | 'group'): void => {
      const targetOf = (req: FastifyRequest<G>): string => (target_type === 'system' ? 'all' : req.params.tid);
      const actorOf = (req: FastifyRequest<G>): string => (actor_type === 'user' ? req.params.uid : req.params.gid) as string;
      const checkParts = async (req: FastifyRequest<G>, withRole: boolean): Promise<Role | undefined> => {
        const project = target_type === 'project' ? await mustProject(req.params.tid) : undefined;
        if (target_type === 'domain') await mustDomain(req.params.tid);
        if (actor_type === 'user') await mustUser(actorOf(req));
        else await mustGroup(actorOf(req));
        if (!withRole) return undefined;
        const role = await mustRole(req.params.rid);
        if (req.method === 'PUT' && role.domain_id !== null) {
          // A domain-specific role is granted on projects of its own domain only, and never on the system.
          if (project && project.domain_id !== role.domain_id) throw serviceError(403, `Project ${project.id} must be in the same domain as the role ${role.id} being assigned.`);
          if (target_type === 'system') throw serviceError(400, `Role ${role.id} is a domain-specific role. Unable to use a domain-specific role in a system assignment.`);
        }
        return role;
      };
      const path = `${prefix}/${actor_type}s/:${actor_type === 'user' ? 'uid' : 'gid'}/roles`;
      const kind = target_type === 'system' ? `system_grants_for_${actor_type}` : 'grants';
      r.get<G>(path, on, async (req) => {
        requireReader(req, `list_${kind}`);
        await checkParts(req, false);
        const ids = (await store.listAssignments({ actor_type, actor_id: actorOf(req), target_type, target_id: targetOf(req) })).map((a) => a.role_id);
        const roles: Role[] = [];
        for (const id of ids) roles.push(await mustRole(id));
        return { roles: roles.map(roleView), links: listLinks(req) };
      });
      r.get<G>(`${path}/:rid`, on, async (req, reply) => {
        requireReader(req, target_type === 'system' ? `check_${kind}` : 'check_grant');
        await checkParts(req, true);
        const found = (await store.listAssignments({ actor_type, actor_id: actorOf(req), role_id: req.params.rid, target_type, target_id: targetOf(req) })).length > 0;
        if (!found) throw notAssigned(req.params.rid, actorOf(req), targetOf(req));
        return reply.code(204).send();
      });
      r.put<G>(`${path}/:rid`, on, async (req, reply) => {
        requireAdmin(req, target_type === 'system' ? `create_${kind}` : 'create_grant');
        await checkParts(req, true);
        await model.write((s) => s.grant({ actor_type, actor_id: actorOf(req), role_id: req.params.rid, target_type, target_id: targetOf(req) }));
        return reply.code(204).send();
      });
      r.delete<G>(`${path}/:rid`, on, async (req, reply) => {
        requireAdmin(req, target_type === 'system' ? `revoke_${kind}` : 'revoke_grant');
        await checkParts(req, true);
        const gone = await model.write((s) => s.ungrant({ actor_type, actor_id: actorOf(req), role_id: req.params.rid, target_type, target_id: targetOf(req) }));
        if (!gone) throw notAssigned(req.params.rid, actorOf(req), targetOf(req));
        return reply.code(204).send();
      });
    };
    for (const actor of ['user', 'group'] as const) {
      grantRoutes('/v3/projects/:tid', 'project', actor);
      grantRoutes('/v3/domains/:tid', 'domain', actor);
      grantRoutes('/v3/system', 'system', actor);
    }

    // ---- role assignments ----
    interface Listed extends Assignment { membership?: string; prior_role?: string }
    r.get('/v3/role_assignments', on, async (req) => {
      const q = qs(req);
      const a = ctx(req);
      const userId = first(q['user.id']);
      // A user may list its own assignments; the rest is for admins and system readers.
      if (!admin(req) && !systemReader(req) && userId !== a.user_id) throw forbidden('list_role_assignments');
      const groupId = first(q['group.id']);
      const effective = flag(q.effective);
      const names = flag(q.include_names);
      if (userId !== undefined && groupId !== undefined) throw serviceError(400, 'Specify a user or group, not both');
      const projectId = first(q['scope.project.id']);
      const domainId = first(q['scope.domain.id']);
      const system = first(q['scope.system']);
      if ([projectId, domainId, system].filter((x) => x !== undefined).length > 1) throw serviceError(400, 'Specify one of domain, project or system');
      if (effective && groupId !== undefined) throw serviceError(400, 'Combining effective and group filter will always result in an empty list.');
      const target_type: TargetType | undefined = projectId !== undefined ? 'project' : domainId !== undefined ? 'domain' : system !== undefined ? 'system' : undefined;
      const target_id = projectId ?? domainId ?? (system !== undefined ? 'all' : undefined);
      const roleId = first(q['role.id']);
      let list: Listed[] = await store.listAssignments({ target_type, target_id, role_id: effective ? undefined : roleId, actor_type: userId !== undefined ? (effective ? undefined : 'user') : groupId !== undefined ? 'group' : undefined, actor_id: effective ? undefined : userId ?? groupId });
      if (effective) {
        // Group assignments become the members' own, and each role brings the roles it implies.
        const expanded: Listed[] = [];
        for (const x of list) {
          if (x.actor_type === 'group') {
            for (const u of await store.usersInGroup(x.actor_id)) expanded.push({ ...x, actor_type: 'user', actor_id: u.id, membership: `${v3()}/groups/${x.actor_id}/users/${u.id}` });
          } else expanded.push(x);
        }
        list = [];
        for (const x of expanded) {
          if (userId !== undefined && x.actor_id !== userId) continue;
          for (const rid of await model.expandImplied([x.role_id])) {
            const item: Listed = { ...x, role_id: rid };
            if (rid !== x.role_id) item.prior_role = `${v3()}/roles/${x.role_id}`;
            if (!list.some((y) => y.actor_id === item.actor_id && y.role_id === item.role_id && y.target_type === item.target_type && y.target_id === item.target_id)) list.push(item);
          }
        }
        if (roleId !== undefined) list = list.filter((x) => x.role_id === roleId);
        // Effective assignments are what tokens carry: domain-specific roles only through what they imply.
        const domainRoles = new Set((await store.listRoles()).filter((x) => x.domain_id !== null).map((x) => x.id));
        list = list.filter((x) => !domainRoles.has(x.role_id));
      }
      const out: Record<string, unknown>[] = [];
      for (const x of list) out.push(await assignmentView(x, names));
      return { role_assignments: out, links: listLinks(req) };
    });
    const assignmentView = async (x: Listed, names: boolean): Promise<Record<string, unknown>> => {
      const domainRef = async (id: string): Promise<Record<string, string>> => ({ id, name: (await store.getDomain(id))?.name ?? '' });
      const role: Record<string, unknown> = { id: x.role_id };
      const actor: Record<string, unknown> = { id: x.actor_id };
      const scope: Record<string, unknown> = {};
      if (names) {
        role.name = (await store.getRole(x.role_id))?.name ?? '';
        const who = x.actor_type === 'user' ? await store.getUser(x.actor_id) : await store.getGroup(x.actor_id);
        actor.name = who?.name ?? '';
        actor.domain = await domainRef(who?.domain_id ?? DEFAULT_DOMAIN_ID);
      }
      if (x.target_type === 'project') {
        const p: Record<string, unknown> = { id: x.target_id };
        if (names) {
          const proj = await store.getProject(x.target_id);
          p.name = proj?.name ?? '';
          p.domain = await domainRef(proj?.domain_id ?? DEFAULT_DOMAIN_ID);
        }
        scope.project = p;
      } else if (x.target_type === 'domain') {
        scope.domain = names ? await domainRef(x.target_id) : { id: x.target_id };
      } else {
        scope.system = { all: true };
      }
      const base = x.target_type === 'system' ? `${v3()}/system` : `${v3()}/${x.target_type}s/${x.target_id}`;
      const links: Record<string, string> = { assignment: `${base}/${x.membership ? 'groups' : `${x.actor_type}s`}/${x.membership ? x.membership.split('/groups/')[1].split('/')[0] : x.actor_id}/roles/${x.prior_role ? x.prior_role.split('/').pop() : x.role_id}` };
      if (x.membership) links.membership = x.membership;
      if (x.prior_role) links.prior_role = x.prior_role;
      return { role, [x.actor_type]: actor, scope, links };
    };
  }, { prefix: '/identity' });
}
