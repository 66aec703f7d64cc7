// Identity service (Keystone v3): the rules over the identity repository (src/store/identity/).
// Passwords and application-credential secrets are scrypt hashes; tokens are random strings of
// which only a SHA-256 is stored. validate() runs on every request, so token contexts (and the
// catalog and implied roles) are cached in memory; every identity write moves the identity cache
// generation in the database (src/store/generations.ts), and each request reads that one number
// first, so a revocation or a removed role made through any process sharing the database takes
// effect at once in all of them.
import { createHash, randomBytes, randomUUID, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { Config } from '../../config.ts';
import type { Clock } from '../../engine/clock.ts';
import type { AppCredential, Domain, Endpoint, IdentityStore, Project, Role, Service, User } from '../../store/identity/repository.ts';
import { isUniqueViolation } from '../../store/table.ts';
import { CacheGeneration } from '../../store/generations.ts';
import { ServiceError, serviceError } from '../faults.ts';
import type { AuthContext, TokenValidator } from '../ports.ts';

export type { AppCredential, Assignment, Domain, Endpoint, Group, Project, Region, Role, Service, TargetType, User } from '../../store/identity/repository.ts';

/** Everything a token carries, as Keystone renders it. */
export interface TokenInfo {
  token: string;
  methods: string[];
  audit_id: string;
  issued_at: number;
  expires_at: number;
  user: User;
  user_domain: Domain;
  project: Project | null;
  project_domain: Domain | null;
  domain: Domain | null;
  /** `system: {all: true}` scope. */
  system: boolean;
  /** Effective roles on the scope: assigned to the user or its groups, plus the roles they imply. */
  roles: Role[];
  app_cred: AppCredential | null;
}

/** Keystone's `{"id"|"name", "domain": {"id"|"name"}}` reference to a user or project. */
export interface NamedRef { id?: string; name?: string; domain?: { id?: string; name?: string } }

export interface AuthRequest {
  /** Password method: user by id, or by name plus domain. */
  password?: { user: NamedRef; password: string };
  /** Token method: re-scope an existing token. */
  token?: string;
  /** Application credential method: by id, or by name plus its user. */
  application_credential?: { id?: string; name?: string; user?: NamedRef; secret: string };
  scope: { project?: NamedRef; domain?: { id?: string; name?: string }; system?: boolean } | null;
}

/** A catalog line to seed: one service with the same URL on every interface. */
export interface CatalogSeed { type: string; name: string; url: string }

export const DEFAULT_DOMAIN_ID = 'default';
export const SEED_ROLES = ['admin', 'manager', 'member', 'reader'];
/** Keystone's bootstrap (and devstack): admin implies manager implies member implies reader. */
const SEED_IMPLIED: [string, string][] = [['admin', 'manager'], ['manager', 'member'], ['member', 'reader']];
/** Stored in seeded endpoint URLs and replaced by the served address when a catalog is rendered. */
export const PUBLIC_URL_MARK = '$(public_url)s';
export const INTERFACES = ['public', 'internal', 'admin'] as const;

const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 32 };

function scryptAsync(password: string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(password, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key))));
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, SCRYPT.keylen, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p });
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  // Unknown users still pay for one hash, so timing does not tell which user names exist.
  const parts = (stored ?? `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$AAAAAAAAAAAAAAAAAAAAAA==$`).split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number);
  const expected = Buffer.from(parts[5], 'base64');
  const key = await scryptAsync(password, Buffer.from(parts[4], 'base64'), expected.length || SCRYPT.keylen, { N, r, p });
  return stored !== null && expected.length === key.length && timingSafeEqual(expected, key);
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
export const newId = (): string => randomUUID().replace(/-/g, '');
/** Ids of seeded catalog rows, the same in every database. */
export const stableId = (s: string): string => createHash('sha256').update(`novabox:${s}`).digest('hex').slice(0, 32);

/** The 401 every failed authentication gets: it never says which part was wrong. */
export function unauthorized(message = 'The request you have made requires authentication.'): ServiceError {
  return serviceError(401, message);
}
export const notFound = (what: string, id: string): ServiceError => serviceError(404, `Could not find ${what}: ${id}.`);
export const conflict = (what: string, detail: string): ServiceError => serviceError(409, `Conflict occurred attempting to store ${what} - ${detail}.`);

const CACHE_MAX = 20000;
/** How long a cached token is trusted before its stored row is read again (a backstop for rows changed behind the service's back). */
const RECHECK_MS = 10_000;

type Scoped = Omit<TokenInfo, 'token' | 'methods' | 'audit_id' | 'issued_at' | 'expires_at'>;
interface ScopeReq { project_id?: string | null; domain_id?: string | null; system?: boolean; app_cred?: AppCredential | null }

export interface IdentityModel extends TokenValidator {
  readonly store: IdentityStore;
  seed(catalog?: CatalogSeed[]): Promise<void>;
  authenticate(req: AuthRequest): Promise<TokenInfo>;
  /** A live token's details, or null when unknown, expired or revoked. */
  tokenInfo(token: string): Promise<TokenInfo | null>;
  revokeToken(token: string): Promise<boolean>;
  /** Forget cached token contexts (after any change that may alter what a token carries). */
  changed(): void;
  /** Effective roles of a user on a target (direct, through groups, and implied), global roles only. */
  rolesFor(user_id: string, target_type: 'project' | 'domain' | 'system', target_id: string): Promise<Role[]>;
  /** The roles `ids` imply, transitively, with the ids themselves. */
  expandImplied(ids: string[]): Promise<string[]>;
  /** Enabled services with their enabled endpoints, as the token catalog shows them. */
  catalog(): Promise<{ service: Service; endpoints: Endpoint[] }[]>;
  /** Projects on which the user (directly or through a group) has a role. */
  userProjects(user_id: string): Promise<Project[]>;
  userDomains(user_id: string): Promise<Domain[]>;
  createUser(u: Partial<User> & { name: string; domain_id: string; password?: string | null }): Promise<User>;
  updateUser(id: string, u: Partial<User> & { password?: string }): Promise<User>;
  /** Self-service change: the original password must match; every token of the user ends. */
  changePassword(id: string, original: string, password: string): Promise<void>;
  createAppCredential(input: { user_id: string; project_id: string; name: string; description: string | null; secret?: string; expires_at: number | null; unrestricted: boolean; roles: Role[] }): Promise<{ cred: AppCredential; secret: string }>;
  /** Runs `fn` in one unit of work and drops the token cache afterwards. */
  write<T>(fn: (s: IdentityStore) => Promise<T>): Promise<T>;
}

export function createIdentityModel(store: IdentityStore, config: Config, clock: Clock): IdentityModel {
  const cache = new Map<string, { info: TokenInfo; checked_at: number }>();
  let catalogCache: { service: Service; endpoints: Endpoint[] }[] | null = null;
  let impliedCache: Map<string, string[]> | null = null;
  const drop = (): void => {
    cache.clear();
    catalogCache = null;
    impliedCache = null;
  };
  const generation = new CacheGeneration('identity', drop);
  /** Drops the caches if any process changed identity since they were filled; values loaded after it may be kept while `generation.current(g)`. */
  const fresh = (): Promise<number> => generation.check(() => store.cacheGeneration());
  const changed = (): void => {
    drop();
    generation.forget();
  };

  async function expandImplied(ids: string[]): Promise<string[]> {
    const g = await fresh();
    let implied = impliedCache;
    if (!implied) {
      implied = new Map<string, string[]>();
      for (const r of await store.impliedRoles()) implied.set(r.prior_role_id, [...(implied.get(r.prior_role_id) ?? []), r.implied_role_id]);
      if (generation.current(g)) impliedCache = implied;
    }
    const rules = implied;
    const out = new Set<string>();
    const walk = (id: string): void => {
      if (out.has(id)) return;
      out.add(id);
      for (const next of rules.get(id) ?? []) walk(next);
    };
    ids.forEach(walk);
    return [...out];
  }

  async function rolesFor(user_id: string, target_type: 'project' | 'domain' | 'system', target_id: string): Promise<Role[]> {
    const direct = await store.listAssignments({ actor_type: 'user', actor_id: user_id, target_type, target_id });
    const groups = await store.groupsOfUser(user_id);
    const viaGroups = groups.length ? (await store.listAssignments({ actor_type: 'group', target_type, target_id })).filter((a) => groups.some((g) => g.id === a.actor_id)) : [];
    const assigned = [...new Set([...direct, ...viaGroups].map((a) => a.role_id))];
    if (assigned.length === 0) return [];
    const out: Role[] = [];
    for (const id of await expandImplied(assigned)) {
      const r = await store.getRole(id);
      // A domain-specific role is never in a token: only the global roles it implies are.
      if (r && r.domain_id === null) out.push(r);
    }
    return out;
  }

  async function findDomain(ref: { id?: string; name?: string } | undefined): Promise<Domain | undefined> {
    if (!ref) return undefined;
    if (ref.id !== undefined) return store.getDomain(ref.id);
    if (ref.name !== undefined) return store.domainByName(ref.name);
    return undefined;
  }

  /** A user or project by id, or by name within a domain given by id or name. */
  async function findNamed<T>(ref: NamedRef, field: string, what: string, byId: (id: string) => Promise<T | undefined>, byName: (domain_id: string, name: string) => Promise<T | undefined>): Promise<T | undefined> {
    if (ref.id !== undefined) return byId(ref.id);
    if (ref.name === undefined) throw serviceError(400, `Invalid input for field '${field}': 'id' or 'name' is required.`);
    if (!ref.domain || (ref.domain.id === undefined && ref.domain.name === undefined)) {
      throw serviceError(400, `Expecting to find domain in ${what}. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.`);
    }
    const d = await findDomain(ref.domain);
    return d ? byName(d.id, ref.name) : undefined;
  }
  const findUser = (ref: NamedRef, field = 'identity/password/user'): Promise<User | undefined> =>
    findNamed(ref, field, 'user', (id) => store.getUser(id), (d, n) => store.userByName(d, n));
  const findProject = (ref: NamedRef): Promise<Project | undefined> =>
    findNamed(ref, 'scope/project', 'project', (id) => store.getProject(id), (d, n) => store.projectByName(d, n));

  /** A project usable as a token scope: it and every ancestor and their domain are enabled. */
  async function usableProject(id: string): Promise<{ project: Project; domain: Domain } | null> {
    const project = await store.getProject(id);
    if (!project || !project.enabled) return null;
    const domain = await store.getDomain(project.domain_id);
    if (!domain || !domain.enabled) return null;
    let parent = project.parent_id;
    for (let depth = 0; parent && depth < 20; depth++) {
      const p = await store.getProject(parent);
      if (!p) break;
      if (!p.enabled) return null;
      parent = p.parent_id;
    }
    return { project, domain };
  }

  async function scopeFor(user_id: string, s: ScopeReq): Promise<Scoped | null> {
    const user = await store.getUser(user_id);
    if (!user || !user.enabled) return null;
    const user_domain = await store.getDomain(user.domain_id);
    if (!user_domain || !user_domain.enabled) return null;
    const base = { user, user_domain, project: null, project_domain: null, domain: null, system: false, roles: [] as Role[], app_cred: s.app_cred ?? null };
    if (s.project_id) {
      const found = await usableProject(s.project_id);
      if (!found) return null;
      let roles = await rolesFor(user.id, 'project', found.project.id);
      if (s.app_cred) {
        // An application credential carries the roles it was given, as long as the user still has them.
        const held = new Set(roles.map((r) => r.id));
        if (!s.app_cred.roles.every((r) => held.has(r.id))) return null;
        const allowed = new Set(await expandImplied(s.app_cred.roles.map((r) => r.id)));
        roles = roles.filter((r) => allowed.has(r.id));
      }
      if (roles.length === 0) return null;
      return { ...base, project: found.project, project_domain: found.domain, roles };
    }
    if (s.domain_id) {
      const domain = await store.getDomain(s.domain_id);
      if (!domain || !domain.enabled) return null;
      const roles = await rolesFor(user.id, 'domain', domain.id);
      if (roles.length === 0) return null;
      return { ...base, domain, roles };
    }
    if (s.system) {
      const roles = await rolesFor(user.id, 'system', 'all');
      if (roles.length === 0) return null;
      return { ...base, system: true, roles };
    }
    return base;
  }

  /** Rebuilds a token's context from its stored row; null when anything it depends on is gone. */
  async function loadToken(token: string): Promise<TokenInfo | null> {
    const row = await store.tokenByHash(sha256(token));
    if (!row || row.revoked || row.expires_at <= clock.now()) return null;
    let app_cred: AppCredential | null = null;
    if (row.app_cred_id) {
      app_cred = (await store.getAppCredential(row.app_cred_id)) ?? null;
      if (!app_cred) return null;
    }
    const info = await scopeFor(row.user_id, { project_id: row.project_id, domain_id: row.domain_id, system: row.system_scope, app_cred });
    if (!info) return null;
    return { ...info, token, methods: row.methods, audit_id: row.audit_id, issued_at: row.issued_at, expires_at: row.expires_at };
  }

  function remember(g: number, token: string, info: TokenInfo, now: number): void {
    if (!generation.current(g)) return;
    if (cache.size >= CACHE_MAX) cache.clear();
    cache.set(token, { info, checked_at: now });
  }

  async function tokenInfo(token: string): Promise<TokenInfo | null> {
    if (!token) return null;
    const g = await fresh();
    const now = clock.now();
    const hit = cache.get(token);
    if (hit && hit.info.expires_at <= now) {
      cache.delete(token);
      return null;
    }
    // Another process sharing the database may revoke a token: look again now and then.
    if (hit && now - hit.checked_at < RECHECK_MS) return hit.info;
    const info = await loadToken(token);
    if (!info) {
      cache.delete(token);
      return null;
    }
    remember(g, token, info, now);
    return info;
  }

  function toAuthContext(t: TokenInfo): AuthContext {
    return {
      user_id: t.user.id,
      user_name: t.user.name,
      user_domain_id: t.user.domain_id,
      project_id: t.project?.id ?? null,
      project_name: t.project?.name ?? null,
      project_domain_id: t.project?.domain_id ?? null,
      domain_id: t.domain?.id ?? null,
      roles: t.roles.map((r) => r.name),
      expires_at: t.expires_at,
      token: t.token,
      ...(t.system ? { system_scope: 'all' } : {}),
      ...(t.app_cred ? { app_cred_id: t.app_cred.id, app_cred_unrestricted: t.app_cred.unrestricted } : {}),
    } as AuthContext;
  }
  const contexts = new WeakMap<TokenInfo, AuthContext>();

  async function write<T>(fn: (s: IdentityStore) => Promise<T>): Promise<T> {
    try {
      return await store.transaction(fn);
    } finally {
      changed();
    }
  }

  async function seedCatalog(lines: CatalogSeed[], now: number): Promise<void> {
    const base = config.public_url ? config.public_url.replace(/\/$/, '') : null;
    await store.transaction(async (s) => {
      if (!(await s.getRegion(config.region))) await s.insertRegion({ id: config.region, description: '', parent_region_id: null, created_at: now });
      for (const [i, line] of lines.entries()) {
        const sid = stableId(line.type);
        if (!(await s.getService(sid))) await s.insertService({ id: sid, type: line.type, name: line.name, description: null, enabled: true, created_at: now + i });
        // The served address is known only once listening: seeded URLs keep a mark in its place.
        const url = base === null ? line.url : line.url.startsWith(base) ? PUBLIC_URL_MARK + line.url.slice(base.length) : line.url;
        for (const iface of INTERFACES) {
          const eid = stableId(`${line.type}:${iface}`);
          const cur = await s.getEndpoint(eid);
          if (!cur) await s.insertEndpoint({ id: eid, service_id: sid, interface: iface, region_id: config.region, url, enabled: true, created_at: now + i });
          else if (cur.url !== url) await s.updateEndpoint(eid, { url });
        }
      }
    });
  }

  const model: IdentityModel = {
    store,
    changed,
    rolesFor,
    expandImplied,
    write,

    async seed(catalogLines = []) {
      const now = clock.now();
      const seed = config.seed;
      const passwords = new Map<string, string>();
      // Hash outside the unit of work (slow, async), only for users that need a (new) hash.
      await Promise.all(seed.users.map(async (u) => {
        const row = await store.userByName(DEFAULT_DOMAIN_ID, u.name);
        if (!row || !(await verifyPassword(u.password, row.password_hash))) passwords.set(u.name, await hashPassword(u.password));
      }));
      await store.transaction(async (s) => {
        if (!(await s.getDomain(DEFAULT_DOMAIN_ID))) {
          await s.insertDomain({ id: DEFAULT_DOMAIN_ID, name: seed.domain, description: 'The default domain', enabled: true, tags: [], created_at: now });
        }
        const roleNames = [...new Set([...SEED_ROLES, ...seed.users.flatMap((u) => u.roles)])];
        for (const name of roleNames) {
          if (!(await s.roleByName(name))) await s.insertRole({ id: newId(), name, domain_id: null, description: null, options: {}, created_at: now });
        }
        for (const [prior, implied] of SEED_IMPLIED) {
          const a = await s.roleByName(prior);
          const b = await s.roleByName(implied);
          if (a && b) await s.addImplied(a.id, b.id);
        }
        for (const name of seed.projects) {
          if (!(await s.projectByName(DEFAULT_DOMAIN_ID, name))) {
            await s.insertProject({ id: newId(), name, domain_id: DEFAULT_DOMAIN_ID, description: `${name} project`, enabled: true, parent_id: null, tags: [], extra: {}, created_at: now });
          }
        }
        for (const u of seed.users) {
          let user = await s.userByName(DEFAULT_DOMAIN_ID, u.name);
          const hash = passwords.get(u.name);
          if (!user) {
            await s.insertUser({
              id: newId(), name: u.name, domain_id: DEFAULT_DOMAIN_ID, password_hash: hash ?? null, email: null, description: null, default_project_id: null,
              enabled: true, options: {}, extra: {}, created_at: now,
            });
            user = (await s.userByName(DEFAULT_DOMAIN_ID, u.name))!;
          } else if (hash) {
            // The config is the source of truth for seeded users' passwords.
            await s.updateUser(user.id, { password_hash: hash });
          }
          const project = await s.projectByName(DEFAULT_DOMAIN_ID, u.project);
          if (!project) throw new Error(`seed: user ${u.name} names project ${u.project}, which is not in seed.projects`);
          for (const roleName of u.roles) {
            const role = (await s.roleByName(roleName))!;
            await s.grant({ actor_type: 'user', actor_id: user.id, role_id: role.id, target_type: 'project', target_id: project.id });
            // Admins can also get a token scoped to the default domain and to the system, as devstack's bootstrap gives.
            if (roleName === 'admin') {
              await s.grant({ actor_type: 'user', actor_id: user.id, role_id: role.id, target_type: 'domain', target_id: DEFAULT_DOMAIN_ID });
              await s.grant({ actor_type: 'user', actor_id: user.id, role_id: role.id, target_type: 'system', target_id: 'all' });
            }
          }
        }
      });
      await seedCatalog(catalogLines, now);
      changed();
    },

    async validate(token) {
      const info = await tokenInfo(token);
      if (!info) return null;
      let ctx = contexts.get(info);
      if (!ctx) {
        ctx = toAuthContext(info);
        contexts.set(info, ctx);
      }
      return ctx;
    },

    tokenInfo,

    async authenticate(req) {
      const g = await fresh();
      let user: User | undefined;
      let methods: string[];
      let previous: TokenInfo | null = null;
      let app_cred: AppCredential | null = null;
      if (req.password) {
        methods = ['password'];
        user = await findUser(req.password.user);
        const ok = await verifyPassword(req.password.password, user?.password_hash ?? null);
        if (!user || !ok || !user.enabled) throw unauthorized();
      } else if (req.token !== undefined) {
        previous = await tokenInfo(req.token);
        if (!previous) throw unauthorized();
        // A token from an application credential cannot be re-scoped (Keystone refuses it too).
        if (previous.app_cred) throw serviceError(403, 'You are not authorized to perform the requested action: Using method \'token\' is not allowed for application credential tokens.');
        user = previous.user;
        methods = previous.methods.includes('token') ? previous.methods : [...previous.methods, 'token'];
      } else if (req.application_credential) {
        methods = ['application_credential'];
        const ac = req.application_credential;
        if (ac.id !== undefined) app_cred = (await store.getAppCredential(ac.id)) ?? null;
        else {
          if (!ac.user) throw serviceError(400, "Invalid input for field 'identity/application_credential': 'user' is required when authenticating by name.");
          const owner = await findUser(ac.user, 'identity/application_credential/user');
          app_cred = owner && ac.name !== undefined ? (await store.appCredentialByName(owner.id, ac.name)) ?? null : null;
        }
        const ok = await verifyPassword(ac.secret, app_cred?.secret_hash ?? null);
        if (!app_cred || !ok) throw unauthorized('The request you have made requires authentication.');
        if (app_cred.expires_at !== null && app_cred.expires_at / 1000 <= clock.now()) throw unauthorized('The request you have made requires authentication.');
        if (req.scope) throw unauthorized('The request you have made requires authentication.');
        user = await store.getUser(app_cred.user_id);
        if (!user || !user.enabled) throw unauthorized();
      } else {
        throw serviceError(400, 'Expecting to find identity in auth. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.');
      }

      const scope: ScopeReq = { app_cred };
      if (app_cred) scope.project_id = app_cred.project_id;
      else if (req.scope?.project) {
        const p = await findProject(req.scope.project);
        if (!p) throw unauthorized();
        scope.project_id = p.id;
      } else if (req.scope?.domain) {
        if (req.scope.domain.id === undefined && req.scope.domain.name === undefined) throw serviceError(400, "Invalid input for field 'scope/domain': 'id' or 'name' is required.");
        const d = await findDomain(req.scope.domain);
        if (!d) throw unauthorized();
        scope.domain_id = d.id;
      } else if (req.scope?.system) {
        scope.system = true;
      } else if (!req.scope && user.default_project_id && !previous) {
        // Keystone scopes a scope-less request to the user's default project when it can.
        const p = await usableProject(user.default_project_id);
        if (p && (await rolesFor(user.id, 'project', p.project.id)).length > 0) scope.project_id = p.project.id;
      }
      const scoped = await scopeFor(user.id, scope);
      if (!scoped) throw unauthorized();
      const now = clock.now();
      const token = randomBytes(32).toString('base64url');
      // A token never outlives the one it was made from, nor the application credential behind it.
      let expires_at = now + config.token_ttl * 1000;
      if (previous) expires_at = Math.min(expires_at, previous.expires_at);
      if (app_cred?.expires_at) expires_at = Math.min(expires_at, Math.floor(app_cred.expires_at / 1000));
      const audit_id = randomBytes(16).toString('base64url').slice(0, 22);
      await store.purgeTokens(now);
      await store.insertToken({
        token_hash: sha256(token), user_id: user.id, project_id: scope.project_id ?? null, domain_id: scope.domain_id ?? null, system_scope: !!scope.system,
        app_cred_id: app_cred?.id ?? null, methods, audit_id, parent_audit_id: previous?.audit_id ?? null, issued_at: now, expires_at, revoked: false,
      });
      const info: TokenInfo = { ...scoped, token, methods, audit_id, issued_at: now, expires_at };
      remember(g, token, info, now);
      return info;
    },

    async revokeToken(token) {
      cache.delete(token);
      return store.revokeToken(sha256(token));
    },

    async catalog() {
      const g = await fresh();
      if (catalogCache) return catalogCache;
      const services = (await store.listServices({ enabled: true }));
      const endpoints = await store.listEndpoints({ enabled: true });
      const catalog = services.map((service) => ({ service, endpoints: endpoints.filter((e) => e.service_id === service.id) }));
      if (generation.current(g)) catalogCache = catalog;
      return catalog;
    },

    async userProjects(user_id) {
      const ids = new Set<string>();
      for (const a of await store.listAssignments({ actor_type: 'user', actor_id: user_id, target_type: 'project' })) ids.add(a.target_id);
      for (const g of await store.groupsOfUser(user_id)) for (const a of await store.listAssignments({ actor_type: 'group', actor_id: g.id, target_type: 'project' })) ids.add(a.target_id);
      return store.listProjects({ id: [...ids] });
    },
    async userDomains(user_id) {
      const ids = new Set<string>();
      for (const a of await store.listAssignments({ actor_type: 'user', actor_id: user_id, target_type: 'domain' })) ids.add(a.target_id);
      for (const g of await store.groupsOfUser(user_id)) for (const a of await store.listAssignments({ actor_type: 'group', actor_id: g.id, target_type: 'domain' })) ids.add(a.target_id);
      return store.listDomains({ id: [...ids] });
    },

    async createUser(u) {
      const hash = typeof u.password === 'string' ? await hashPassword(u.password) : null;
      const id = newId();
      await write(async (s) => {
        if (!(await s.getDomain(u.domain_id))) throw notFound('domain', u.domain_id);
        // A default project that names nothing is a 400, as from Keystone.
        if (u.default_project_id && !(await s.getProject(u.default_project_id))) throw serviceError(400, `Could not find project: ${u.default_project_id}.`);
        if (await s.userByName(u.domain_id, u.name)) throw conflict('user', `Duplicate entry found with name ${u.name} at domain ID ${u.domain_id}`);
        await s.insertUser({
          id, name: u.name, domain_id: u.domain_id, password_hash: hash, email: u.email ?? null, description: u.description ?? null,
          default_project_id: u.default_project_id ?? null, enabled: u.enabled !== false, options: u.options ?? {}, extra: u.extra ?? {}, created_at: clock.now(),
        });
      }).catch(uniqueAs(conflict('user', `Duplicate entry found with name ${u.name} at domain ID ${u.domain_id}`)));
      return (await store.getUser(id))!;
    },

    async updateUser(id, u) {
      const hash = typeof u.password === 'string' ? await hashPassword(u.password) : undefined;
      await write(async (s) => {
        const cur = await s.getUser(id);
        if (!cur) throw notFound('user', id);
        if (u.name !== undefined && u.name !== cur.name && (await s.userByName(cur.domain_id, u.name))) throw conflict('user', `Duplicate entry found with name ${u.name} at domain ID ${cur.domain_id}`);
        if (u.default_project_id && !(await s.getProject(u.default_project_id))) throw serviceError(400, `Could not find project: ${u.default_project_id}.`);
        const { password: _p, id: _i, ...patch } = u;
        if (patch.options) patch.options = mergeOptions(cur.options, patch.options);
        if (patch.extra) patch.extra = { ...cur.extra, ...patch.extra };
        await s.updateUser(id, patch);
        if (hash) {
          // A new password ends the user's existing tokens, as Keystone does.
          await s.updateUser(id, { password_hash: hash });
          await s.revokeTokens({ user_id: id });
        }
        // Disabling a user ends its tokens too.
        if (u.enabled === false) await s.revokeTokens({ user_id: id });
      });
      return (await store.getUser(id))!;
    },

    async changePassword(id, original, password) {
      const user = await store.getUser(id);
      if (!(await verifyPassword(original, user?.password_hash ?? null)) || !user?.enabled) throw unauthorized();
      // The `lock_password` option turns self-service changes off (Keystone's PasswordSelfServiceDisabled).
      if (user.options.lock_password === true) {
        throw serviceError(400, 'You cannot change your password at this time due to password policy disallowing password changes. Please contact your administrator to reset your password.');
      }
      await model.updateUser(id, { password });
    },

    async createAppCredential(input) {
      const secret = input.secret ?? randomBytes(48).toString('base64url');
      const secret_hash = await hashPassword(secret);
      const cred: AppCredential = {
        id: newId(), name: input.name, user_id: input.user_id, project_id: input.project_id, secret_hash, description: input.description,
        expires_at: input.expires_at, unrestricted: input.unrestricted, roles: input.roles.map((r) => ({ id: r.id, name: r.name })), created_at: clock.now(),
      };
      await write(async (s) => {
        if (await s.appCredentialByName(input.user_id, input.name)) throw conflict('application_credential', 'Duplicate entry');
        await s.insertAppCredential(cred);
      }).catch(uniqueAs(conflict('application_credential', 'Duplicate entry')));
      return { cred, secret };
    },
  };
  return model;
}

/** User options: a null value removes the option. */
function mergeOptions(cur: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out = { ...cur };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
}

/** A unique-constraint failure (a race past the read that checked) becomes the given conflict. */
export function uniqueAs(err: ServiceError): (e: unknown) => never {
  return (e) => {
    throw isUniqueViolation(e) ? err : e;
  };
}
