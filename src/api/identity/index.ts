// Keystone v3 subset at /identity: version discovery, tokens, catalog, and enough of users,
// projects, domains, roles and role assignments for the openstack CLI and tempest.
// Policy is Keystone's legacy default (enforce_scope off): `role:admin` for administration,
// the token's own user or project for the self-service reads.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';
import type { Services } from '../../novabox.ts';
import { publicUrl, type Config } from '../../config.ts';
import { isAdmin } from '../../domain/policy.ts';
import { requireAuth, serviceErrorHandler } from '../auth.ts';
import { ServiceError, serviceError } from '../faults.ts';
import type { AuthContext } from '../ports.ts';
import { DEFAULT_DOMAIN_ID, unauthorized, type Assignment, type AuthRequest, type Domain, type IdentityModel, type NamedRef, type Project, type Role, type TokenInfo, type User } from './model.ts';

/** Keystone's token timestamps: `2026-01-01T00:00:00.000000Z`. */
export function keystoneTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

const stableId = (s: string): string => createHash('sha256').update(`novabox:${s}`).digest('hex').slice(0, 32);

export interface CatalogService { type: string; name: string; url: string }

/** The three services novabox serves, with the URLs clients expect behind devstack. */
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

const INTERFACES = ['public', 'internal', 'admin'] as const;

/** The token's catalog; `$(project_id)s` in a URL is the token's project (no project: Keystone leaves that endpoint out). */
export function catalog(config: Config, projectId: string | null = null): unknown[] {
  return catalogServices(config).map((s) => ({
    endpoints: s.url.includes('$(project_id)s') && !projectId ? [] : INTERFACES.map((i) => ({ id: stableId(`${s.type}:${i}`), interface: i, region: config.region, region_id: config.region, url: s.url.replace('$(project_id)s', projectId ?? '') })),
    id: stableId(s.type),
    type: s.type,
    name: s.name,
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

const forbidden = (action: string): ServiceError => serviceError(403, `You are not authorized to perform the requested action: identity:${action}.`);
const badInput = (field: string, why: string): ServiceError => serviceError(400, `Invalid input for field '${field}': ${why}`);

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const optStr = (o: Record<string, unknown>, k: string, field: string): string | undefined => {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw badInput(`${field}/${k}`, `${JSON.stringify(v)} is not of type 'string'`);
  return v;
};
const optBool = (o: Record<string, unknown>, k: string, field: string): boolean | undefined => {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw badInput(`${field}/${k}`, `${JSON.stringify(v)} is not of type 'boolean'`);
  return v;
};

function namedRef(v: unknown, field: string): NamedRef {
  if (!isObj(v)) throw badInput(field, `${JSON.stringify(v)} is not of type 'object'`);
  const ref: NamedRef = { id: optStr(v, 'id', field), name: optStr(v, 'name', field) };
  if (v.domain !== undefined) {
    if (!isObj(v.domain)) throw badInput(`${field}/domain`, "is not of type 'object'");
    ref.domain = { id: optStr(v.domain, 'id', `${field}/domain`), name: optStr(v.domain, 'name', `${field}/domain`) };
  }
  return ref;
}

/** Reads `{"auth": {"identity": …, "scope": …}}` into a request the model understands. */
export function parseAuthBody(body: unknown): AuthRequest {
  if (!isObj(body) || !isObj(body.auth)) throw badInput('auth', "'auth' is a required property");
  const { identity, scope } = body.auth;
  if (!isObj(identity)) throw badInput('identity', "'identity' is a required property");
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
  } else {
    throw unauthorized(`Attempted to authenticate with an unsupported method.`);
  }
  if (scope === undefined || scope === 'unscoped') return out;
  if (!isObj(scope)) throw badInput('scope', `${JSON.stringify(scope)} is not of type 'object'`);
  if (scope.project !== undefined) out.scope = { project: namedRef(scope.project, 'scope/project') };
  else if (scope.domain !== undefined) {
    const d = namedRef(scope.domain, 'scope/domain');
    out.scope = { domain: { id: d.id, name: d.name } };
  } else if (scope.system !== undefined || scope['OS-TRUST:trust'] !== undefined) throw unauthorized();
  return out;
}

export function renderToken(t: TokenInfo, config: Config, withCatalog = true): Record<string, unknown> {
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
  if (t.project || t.domain) {
    token.roles = t.roles.map((r) => ({ id: r.id, name: r.name }));
    if (withCatalog) token.catalog = catalog(config, t.project?.id ?? null);
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

export async function registerIdentity(app: FastifyInstance, svc: Services): Promise<void> {
  const { config } = svc;
  const model: IdentityModel = svc.identity;
  const v3 = (): string => `${publicUrl(config)}/identity/v3`;
  const auth = requireAuth(svc);
  const ctx = (req: FastifyRequest): AuthContext => req.auth as AuthContext;
  const requireAdmin = (req: FastifyRequest, action: string): void => {
    if (!isAdmin(ctx(req))) throw forbidden(action);
  };
  const selfLink = (req: FastifyRequest): string => `${publicUrl(config)}${req.url}`;
  const listLinks = (req: FastifyRequest): Record<string, string | null> => ({ self: selfLink(req), previous: null, next: null });

  const domainView = (d: Domain): Record<string, unknown> => ({ id: d.id, name: d.name, description: d.description, enabled: d.enabled, tags: [], options: {}, links: { self: `${v3()}/domains/${d.id}` } });
  const projectView = (p: Project): Record<string, unknown> => ({
    id: p.id, name: p.name, domain_id: p.domain_id, description: p.description, enabled: p.enabled, parent_id: p.domain_id, is_domain: false, tags: [], options: {},
    links: { self: `${v3()}/projects/${p.id}` },
  });
  const userView = (u: User): Record<string, unknown> => {
    const out: Record<string, unknown> = { id: u.id, name: u.name, domain_id: u.domain_id, enabled: u.enabled, password_expires_at: null, options: {}, links: { self: `${v3()}/users/${u.id}` } };
    if (u.default_project_id) out.default_project_id = u.default_project_id;
    if (u.email !== null) out.email = u.email;
    if (u.description !== null) out.description = u.description;
    return out;
  };
  const roleView = (r: Role): Record<string, unknown> => ({ id: r.id, name: r.name, domain_id: null, description: r.description, options: {}, links: { self: `${v3()}/roles/${r.id}` } });

  const mustProject = (id: string): Project => model.getProject(id) ?? (() => { throw serviceError(404, `Could not find project: ${id}.`); })();
  const mustUser = (id: string): User => model.getUser(id) ?? (() => { throw serviceError(404, `Could not find user: ${id}.`); })();
  const mustRole = (id: string): Role => model.getRole(id) ?? (() => { throw serviceError(404, `Could not find role: ${id}.`); })();
  const mustDomain = (id: string): Domain => model.getDomain(id) ?? (() => { throw serviceError(404, `Could not find domain: ${id}.`); })();
  const wrapped = (body: unknown, key: string): Record<string, unknown> => {
    if (!isObj(body) || !isObj(body[key])) throw badInput(key, `'${key}' is a required property`);
    return body[key] as Record<string, unknown>;
  };

  await app.register(async (r) => {
    r.setErrorHandler(serviceErrorHandler);
    r.setNotFoundHandler((_req, reply) => reply.code(404).send({ error: { code: 404, title: 'Not Found', message: 'The resource could not be found.' } }));

    r.get('/', async (_req, reply) => reply.code(300).send({ versions: { values: [versionDoc(config)] } }));
    r.get('/v3', async () => ({ version: versionDoc(config) }));

    // ---- tokens ----
    r.post('/v3/auth/tokens', async (req, reply) => {
      const info = await model.authenticate(parseAuthBody(req.body));
      const nocatalog = (req.query as Record<string, unknown>).nocatalog !== undefined;
      return reply.code(201).header('X-Subject-Token', info.token).send(renderToken(info, config, !nocatalog));
    });
    const subject = (req: FastifyRequest): TokenInfo => {
      const h = req.headers['x-subject-token'];
      const token = (Array.isArray(h) ? h[0] : h ?? '').trim();
      const a = ctx(req);
      const info = token ? model.tokenInfo(token) : null;
      // Keystone's default: an admin or the token's own user may look at a token.
      if (info && !isAdmin(a) && info.user.id !== a.user_id) throw forbidden('validate_token');
      if (!info) throw serviceError(404, `Could not find token: ${token}.`);
      return info;
    };
    r.get('/v3/auth/tokens', { onRequest: auth }, async (req, reply) => {
      const info = subject(req);
      const nocatalog = (req.query as Record<string, unknown>).nocatalog !== undefined;
      return reply.header('X-Subject-Token', info.token).send(renderToken(info, config, !nocatalog));
    });
    r.delete('/v3/auth/tokens', { onRequest: auth }, async (req, reply) => {
      const info = subject(req);
      model.revokeToken(info.token);
      return reply.code(204).send();
    });
    r.get('/v3/auth/catalog', { onRequest: auth }, async (req) => {
      const a = ctx(req);
      if (!a.project_id && !a.domain_id) throw serviceError(403, 'A project-scoped token is required to produce a service catalog.');
      return { catalog: catalog(config, a.project_id), links: listLinks(req) };
    });
    r.get('/v3/auth/projects', { onRequest: auth }, async (req) => ({ projects: model.userProjects(ctx(req).user_id).filter((p) => p.enabled).map(projectView), links: listLinks(req) }));
    r.get('/v3/auth/domains', { onRequest: auth }, async (req) => ({ domains: model.userDomains(ctx(req).user_id).filter((d) => d.enabled).map(domainView), links: listLinks(req) }));

    // ---- catalog administration (read-only, derived from the served services) ----
    r.get('/v3/services', { onRequest: auth }, async (req) => {
      requireAdmin(req, 'list_services');
      return { services: catalogServices(config).map((s) => ({ id: stableId(s.type), type: s.type, name: s.name, enabled: true, links: { self: `${v3()}/services/${stableId(s.type)}` } })), links: listLinks(req) };
    });
    r.get('/v3/endpoints', { onRequest: auth }, async (req) => {
      requireAdmin(req, 'list_endpoints');
      const endpoints = catalogServices(config).flatMap((s) => INTERFACES.map((i) => ({
        id: stableId(`${s.type}:${i}`), interface: i, region: config.region, region_id: config.region, service_id: stableId(s.type), url: s.url, enabled: true,
        links: { self: `${v3()}/endpoints/${stableId(`${s.type}:${i}`)}` },
      })));
      return { endpoints, links: listLinks(req) };
    });
    r.get('/v3/regions', { onRequest: auth }, async (req) => ({ regions: [{ id: config.region, description: '', parent_region_id: null, links: { self: `${v3()}/regions/${config.region}` } }], links: listLinks(req) }));

    // ---- domains ----
    r.get('/v3/domains', { onRequest: auth }, async (req) => {
      requireAdmin(req, 'list_domains');
      const qs = req.query as Record<string, unknown>;
      return { domains: model.listDomains({ name: first(qs.name), enabled: boolParam(qs.enabled) }).map(domainView), links: listLinks(req) };
    });
    r.get<{ Params: { id: string } }>('/v3/domains/:id', { onRequest: auth }, async (req) => {
      const a = ctx(req);
      const mine = a.domain_id === req.params.id || a.project_domain_id === req.params.id || a.user_domain_id === req.params.id;
      if (!isAdmin(a) && !mine) throw forbidden('get_domain');
      return { domain: domainView(mustDomain(req.params.id)) };
    });

    // ---- projects ----
    r.get('/v3/projects', { onRequest: auth }, async (req) => {
      requireAdmin(req, 'list_projects');
      const qs = req.query as Record<string, unknown>;
      if (boolParam(qs.is_domain) === true) return { projects: [], links: listLinks(req) };
      const parent = first(qs.parent_id);
      const projects = model.listProjects({ name: first(qs.name), domain_id: first(qs.domain_id) ?? parent, enabled: boolParam(qs.enabled) });
      return { projects: projects.map(projectView), links: listLinks(req) };
    });
    r.post('/v3/projects', { onRequest: auth }, async (req, reply) => {
      requireAdmin(req, 'create_project');
      const p = wrapped(req.body, 'project');
      if (optBool(p, 'is_domain', 'project')) throw serviceError(400, 'Projects acting as domains are not supported.');
      const domain_id = optStr(p, 'domain_id', 'project') ?? optStr(p, 'parent_id', 'project') ?? DEFAULT_DOMAIN_ID;
      const created = model.createProject({ name: optStr(p, 'name', 'project') as string, domain_id, description: optStr(p, 'description', 'project'), enabled: optBool(p, 'enabled', 'project') });
      return reply.code(201).send({ project: projectView(created) });
    });
    r.get<{ Params: { id: string } }>('/v3/projects/:id', { onRequest: auth }, async (req) => {
      const a = ctx(req);
      if (!isAdmin(a) && a.project_id !== req.params.id) throw forbidden('get_project');
      return { project: projectView(mustProject(req.params.id)) };
    });
    r.patch<{ Params: { id: string } }>('/v3/projects/:id', { onRequest: auth }, async (req) => {
      requireAdmin(req, 'update_project');
      const p = wrapped(req.body, 'project');
      return { project: projectView(model.updateProject(req.params.id, { name: optStr(p, 'name', 'project'), description: optStr(p, 'description', 'project'), enabled: optBool(p, 'enabled', 'project') })) };
    });
    r.delete<{ Params: { id: string } }>('/v3/projects/:id', { onRequest: auth }, async (req, reply) => {
      requireAdmin(req, 'delete_project');
      if (!model.deleteProject(req.params.id)) throw serviceError(404, `Could not find project: ${req.params.id}.`);
      return reply.code(204).send();
    });

    // ---- users ----
    r.get('/v3/users', { onRequest: auth }, async (req) => {
      requireAdmin(req, 'list_users');
      const qs = req.query as Record<string, unknown>;
      return { users: model.listUsers({ name: first(qs.name), domain_id: first(qs.domain_id), enabled: boolParam(qs.enabled) }).map(userView), links: listLinks(req) };
    });
    r.post('/v3/users', { onRequest: auth }, async (req, reply) => {
      requireAdmin(req, 'create_user');
      const u = wrapped(req.body, 'user');
      const password = u.password === null ? null : optStr(u, 'password', 'user');
      const created = await model.createUser({
        name: optStr(u, 'name', 'user') as string,
        domain_id: optStr(u, 'domain_id', 'user') ?? DEFAULT_DOMAIN_ID,
        password,
        email: optStr(u, 'email', 'user'),
        description: optStr(u, 'description', 'user'),
        // tempest sends `project_id`; Keystone's own attribute is default_project_id.
        default_project_id: optStr(u, 'default_project_id', 'user') ?? optStr(u, 'project_id', 'user'),
        enabled: optBool(u, 'enabled', 'user'),
      });
      return reply.code(201).send({ user: userView(created) });
    });
    r.get<{ Params: { id: string } }>('/v3/users/:id', { onRequest: auth }, async (req) => {
      const a = ctx(req);
      if (!isAdmin(a) && a.user_id !== req.params.id) throw forbidden('get_user');
      return { user: userView(mustUser(req.params.id)) };
    });
    r.patch<{ Params: { id: string } }>('/v3/users/:id', { onRequest: auth }, async (req) => {
      requireAdmin(req, 'update_user');
      const u = wrapped(req.body, 'user');
      const updated = await model.updateUser(req.params.id, {
        name: optStr(u, 'name', 'user'), password: optStr(u, 'password', 'user'), email: optStr(u, 'email', 'user'),
        description: optStr(u, 'description', 'user'), default_project_id: optStr(u, 'default_project_id', 'user'), enabled: optBool(u, 'enabled', 'user'),
      });
      return { user: userView(updated) };
    });
    r.delete<{ Params: { id: string } }>('/v3/users/:id', { onRequest: auth }, async (req, reply) => {
      requireAdmin(req, 'delete_user');
      if (!model.deleteUser(req.params.id)) throw serviceError(404, `Could not find user: ${req.params.id}.`);
      return reply.code(204).send();
    });
    r.post<{ Params: { id: string } }>('/v3/users/:id/password', { onRequest: auth }, async (req, reply) => {
      if (ctx(req).user_id !== req.params.id) throw forbidden('change_password');
      const u = wrapped(req.body, 'user');
      const password = optStr(u, 'password', 'user');
      const original = optStr(u, 'original_password', 'user');
      if (password === undefined || original === undefined) throw badInput('user', "'password' and 'original_password' are required properties");
      await model.changePassword(req.params.id, original, password);
      return reply.code(204).send();
    });
    r.get<{ Params: { id: string } }>('/v3/users/:id/projects', { onRequest: auth }, async (req) => {
      const a = ctx(req);
      if (!isAdmin(a) && a.user_id !== req.params.id) throw forbidden('list_user_projects');
      mustUser(req.params.id);
      return { projects: model.userProjects(req.params.id).map(projectView), links: listLinks(req) };
    });
    r.get<{ Params: { id: string } }>('/v3/users/:id/groups', { onRequest: auth }, async (req) => {
      const a = ctx(req);
      if (!isAdmin(a) && a.user_id !== req.params.id) throw forbidden('list_groups_for_user');
      mustUser(req.params.id);
      return { groups: [], links: listLinks(req) };
    });

    // ---- roles ----
    r.get('/v3/roles', { onRequest: auth }, async (req) => {
      requireAdmin(req, 'list_roles');
      const qs = req.query as Record<string, unknown>;
      if (first(qs.domain_id)) return { roles: [], links: listLinks(req) };
      return { roles: model.listRoles({ name: first(qs.name) }).map(roleView), links: listLinks(req) };
    });
    r.get<{ Params: { id: string } }>('/v3/roles/:id', { onRequest: auth }, async (req) => {
      requireAdmin(req, 'get_role');
      return { role: roleView(mustRole(req.params.id)) };
    });

    // ---- grants: /{projects|domains}/{id}/users/{user_id}/roles[/{role_id}] ----
    for (const kind of ['projects', 'domains'] as const) {
      const target_type = kind === 'projects' ? 'project' : 'domain';
      const mustTarget = (id: string): void => void (kind === 'projects' ? mustProject(id) : mustDomain(id));
      type P = { Params: { tid: string; uid: string; rid: string } };
      r.get<P>(`/v3/${kind}/:tid/users/:uid/roles`, { onRequest: auth }, async (req) => {
        requireAdmin(req, `list_grants`);
        mustTarget(req.params.tid);
        mustUser(req.params.uid);
        const ids = model.listAssignments({ user_id: req.params.uid, [`${target_type}_id`]: req.params.tid }).map((a) => a.role_id);
        return { roles: ids.map((id) => roleView(mustRole(id))), links: listLinks(req) };
      });
      r.get<P>(`/v3/${kind}/:tid/users/:uid/roles/:rid`, { onRequest: auth }, async (req, reply) => {
        requireAdmin(req, 'check_grant');
        const found = model.listAssignments({ user_id: req.params.uid, role_id: req.params.rid, [`${target_type}_id`]: req.params.tid }).length > 0;
        if (!found) throw serviceError(404, `Could not find role assignment with role: ${req.params.rid}, user or group: ${req.params.uid}, ${target_type}: ${req.params.tid}.`);
        return reply.code(204).send();
      });
      r.put<P>(`/v3/${kind}/:tid/users/:uid/roles/:rid`, { onRequest: auth }, async (req, reply) => {
        requireAdmin(req, 'create_grant');
        mustTarget(req.params.tid);
        mustUser(req.params.uid);
        mustRole(req.params.rid);
        model.grant({ user_id: req.params.uid, role_id: req.params.rid, target_type, target_id: req.params.tid });
        return reply.code(204).send();
      });
      r.delete<P>(`/v3/${kind}/:tid/users/:uid/roles/:rid`, { onRequest: auth }, async (req, reply) => {
        requireAdmin(req, 'revoke_grant');
        if (!model.ungrant({ user_id: req.params.uid, role_id: req.params.rid, target_type, target_id: req.params.tid })) {
          throw serviceError(404, `Could not find role assignment with role: ${req.params.rid}, user or group: ${req.params.uid}, ${target_type}: ${req.params.tid}.`);
        }
        return reply.code(204).send();
      });
    }

    // ---- role assignments ----
    r.get('/v3/role_assignments', { onRequest: auth }, async (req) => {
      requireAdmin(req, 'list_role_assignments');
      const qs = req.query as Record<string, unknown>;
      // No groups and no system scope here: asking for them finds nothing.
      if (first(qs['group.id']) !== undefined || qs['scope.system'] !== undefined) return { role_assignments: [], links: listLinks(req) };
      const names = flag(qs.include_names);
      const list = model.listAssignments({
        user_id: first(qs['user.id']), role_id: first(qs['role.id']), project_id: first(qs['scope.project.id']), domain_id: first(qs['scope.domain.id']),
      });
      return { role_assignments: list.map((a) => assignmentView(a, names)), links: listLinks(req) };
    });
    const assignmentView = (a: Assignment, names: boolean): Record<string, unknown> => {
      const domainRef = (id: string): Record<string, string> => ({ id, name: model.getDomain(id)?.name ?? '' });
      const role: Record<string, unknown> = { id: a.role_id };
      const user: Record<string, unknown> = { id: a.user_id };
      const scope: Record<string, unknown> = {};
      const tpath = a.target_type === 'project' ? 'projects' : 'domains';
      if (names) {
        role.name = model.getRole(a.role_id)?.name ?? '';
        const u = model.getUser(a.user_id);
        user.name = u?.name ?? '';
        user.domain = domainRef(u?.domain_id ?? DEFAULT_DOMAIN_ID);
      }
      if (a.target_type === 'project') {
        const p: Record<string, unknown> = { id: a.target_id };
        if (names) {
          const proj = model.getProject(a.target_id);
          p.name = proj?.name ?? '';
          p.domain = domainRef(proj?.domain_id ?? DEFAULT_DOMAIN_ID);
        }
        scope.project = p;
      } else {
        scope.domain = names ? domainRef(a.target_id) : { id: a.target_id };
      }
      return { role, user, scope, links: { assignment: `${v3()}/${tpath}/${a.target_id}/users/${a.user_id}/roles/${a.role_id}` } };
    };
  }, { prefix: '/identity' });
}
