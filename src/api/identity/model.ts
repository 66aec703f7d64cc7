// Identity model (Keystone v3 subset): domains, projects, users, roles, assignments, tokens.
// Passwords are scrypt hashes; tokens are random strings of which only a SHA-256 is stored.
// validate() runs on every request, so token contexts are cached in memory until they expire;
// any change to users, projects or assignments drops the cache so a removed role takes effect at once.
import { createHash, randomBytes, randomUUID, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { Config } from '../../config.ts';
import type { Clock } from '../../engine/clock.ts';
import type { Db } from '../../store/db.ts';
import { effectiveRoles } from '../../domain/policy.ts';
import { ServiceError, serviceError } from '../faults.ts';
import type { AuthContext, TokenValidator } from '../ports.ts';

export interface Domain { id: string; name: string; description: string; enabled: boolean }
export interface Project { id: string; name: string; domain_id: string; description: string; enabled: boolean }
export interface User { id: string; name: string; domain_id: string; email: string | null; description: string | null; default_project_id: string | null; enabled: boolean }
export interface Role { id: string; name: string; description: string | null }
export interface Assignment { user_id: string; role_id: string; target_type: 'project' | 'domain'; target_id: string }

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
  /** Assigned roles plus the roles they imply (admin ⇒ manager ⇒ member ⇒ reader). */
  roles: Role[];
}

/** Keystone's `{"id"|"name", "domain": {"id"|"name"}}` reference to a user or project. */
export interface NamedRef { id?: string; name?: string; domain?: { id?: string; name?: string } }

export interface AuthRequest {
  /** Password method: user by id, or by name plus domain. */
  password?: { user: NamedRef; password: string };
  /** Token method: re-scope an existing token. */
  token?: string;
  scope: { project?: NamedRef; domain?: { id?: string; name?: string } } | null;
}

export interface IdentityModel extends TokenValidator {
  seed(): Promise<void>;
  authenticate(req: AuthRequest): Promise<TokenInfo>;
  /** A live token's details, or null when unknown, expired or revoked. */
  tokenInfo(token: string): TokenInfo | null;
  revokeToken(token: string): boolean;
  /** Forget every cached token context (after the database was changed underneath, e.g. a reset). */
  forgetCachedTokens(): void;
  listDomains(f?: { name?: string; enabled?: boolean }): Domain[];
  getDomain(id: string): Domain | undefined;
  listProjects(f?: { name?: string; domain_id?: string; enabled?: boolean; ids?: string[] }): Project[];
  getProject(id: string): Project | undefined;
  createProject(p: { name: string; domain_id: string; description?: string; enabled?: boolean }): Project;
  updateProject(id: string, p: { name?: string; description?: string; enabled?: boolean }): Project;
  deleteProject(id: string): boolean;
  listUsers(f?: { name?: string; domain_id?: string; enabled?: boolean }): User[];
  getUser(id: string): User | undefined;
  createUser(u: { name: string; domain_id: string; password?: string | null; email?: string | null; description?: string | null; default_project_id?: string | null; enabled?: boolean }): Promise<User>;
  updateUser(id: string, u: { name?: string; password?: string; email?: string | null; description?: string | null; default_project_id?: string | null; enabled?: boolean }): Promise<User>;
  deleteUser(id: string): boolean;
  /** Self-service change: the original password must match; every token of the user ends. */
  changePassword(id: string, original: string, password: string): Promise<void>;
  listRoles(f?: { name?: string }): Role[];
  getRole(id: string): Role | undefined;
  listAssignments(f?: { user_id?: string; role_id?: string; project_id?: string; domain_id?: string }): Assignment[];
  grant(a: Assignment): void;
  ungrant(a: Assignment): boolean;
  /** Projects on which the user has at least one role. */
  userProjects(user_id: string): Project[];
  userDomains(user_id: string): Domain[];
}

export const DEFAULT_DOMAIN_ID = 'default';
export const SEED_ROLES = ['admin', 'manager', 'member', 'reader'];

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
const newId = (): string => randomUUID().replace(/-/g, '');

/** The 401 every failed authentication gets: it never says which part was wrong. */
export function unauthorized(message = 'The request you have made requires authentication.'): ServiceError {
  return serviceError(401, message);
}

type Row = Record<string, unknown>;
const toDomain = (r: Row): Domain => ({ id: String(r.id), name: String(r.name), description: String(r.description ?? ''), enabled: r.enabled === 1 });
const toProject = (r: Row): Project => ({ id: String(r.id), name: String(r.name), domain_id: String(r.domain_id), description: String(r.description ?? ''), enabled: r.enabled === 1 });
const toUser = (r: Row): User => ({
  id: String(r.id), name: String(r.name), domain_id: String(r.domain_id), email: (r.email as string | null) ?? null,
  description: (r.description as string | null) ?? null, default_project_id: (r.default_project_id as string | null) ?? null, enabled: r.enabled === 1,
});
const toRole = (r: Row): Role => ({ id: String(r.id), name: String(r.name), description: (r.description as string | null) ?? null });

function where(conds: [string, unknown][]): { sql: string; args: unknown[] } {
  const used = conds.filter(([, v]) => v !== undefined);
  return { sql: used.length ? ` WHERE ${used.map(([c]) => c).join(' AND ')}` : '', args: used.map(([, v]) => (typeof v === 'boolean' ? (v ? 1 : 0) : v)) };
}

const CACHE_MAX = 20000;
/** How long a cached token is trusted before its stored row is read again. */
const RECHECK_MS = 10_000;

export function createIdentityModel(db: Db, config: Config, clock: Clock): IdentityModel {
  const cache = new Map<string, { info: TokenInfo; checked_at: number }>();
  const q = {
    domainById: db.prepare('SELECT * FROM domains WHERE id = ?'),
    domainByName: db.prepare('SELECT * FROM domains WHERE name = ?'),
    projectById: db.prepare('SELECT * FROM projects WHERE id = ?'),
    projectByName: db.prepare('SELECT * FROM projects WHERE domain_id = ? AND name = ?'),
    userById: db.prepare('SELECT * FROM users WHERE id = ?'),
    userByName: db.prepare('SELECT * FROM users WHERE domain_id = ? AND name = ?'),
    roleById: db.prepare('SELECT * FROM roles WHERE id = ?'),
    roleByName: db.prepare('SELECT * FROM roles WHERE name = ?'),
    rolesOn: db.prepare(`SELECT r.* FROM role_assignments a JOIN roles r ON r.id = a.role_id WHERE a.user_id = ? AND a.target_type = ? AND a.target_id = ?`),
    insertToken: db.prepare('INSERT INTO tokens (token_hash, user_id, project_id, domain_id, methods, audit_id, issued_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
    tokenByHash: db.prepare('SELECT * FROM tokens WHERE token_hash = ?'),
    revokeToken: db.prepare('UPDATE tokens SET revoked = 1 WHERE token_hash = ? AND revoked = 0'),
    purgeTokens: db.prepare('DELETE FROM tokens WHERE expires_at < ?'),
    grant: db.prepare('INSERT OR IGNORE INTO role_assignments (user_id, role_id, target_type, target_id) VALUES (?, ?, ?, ?)'),
    ungrant: db.prepare('DELETE FROM role_assignments WHERE user_id = ? AND role_id = ? AND target_type = ? AND target_id = ?'),
  };
  const getDomain = (id: string): Domain | undefined => {
    const r = q.domainById.get(id) as Row | undefined;
    return r && toDomain(r);
  };
  const getProject = (id: string): Project | undefined => {
    const r = q.projectById.get(id) as Row | undefined;
    return r && toProject(r);
  };
  const getUser = (id: string): User | undefined => {
    const r = q.userById.get(id) as Row | undefined;
    return r && toUser(r);
  };
  const getRole = (id: string): Role | undefined => {
    const r = q.roleById.get(id) as Row | undefined;
    return r && toRole(r);
  };
  /** A change that can alter what existing tokens carry: forget every cached context. */
  const changed = (): void => cache.clear();

  function rolesFor(user_id: string, target_type: 'project' | 'domain', target_id: string): Role[] {
    const assigned = (q.rolesOn.all(user_id, target_type, target_id) as Row[]).map(toRole);
    if (assigned.length === 0) return [];
    const out = new Map(assigned.map((r) => [r.name, r]));
    for (const name of effectiveRoles(assigned.map((r) => r.name))) {
      if (out.has(name)) continue;
      const r = q.roleByName.get(name) as Row | undefined;
      if (r) out.set(name, toRole(r));
    }
    return [...out.values()];
  }

  function findDomain(ref: { id?: string; name?: string } | undefined): Domain | undefined {
    if (!ref) return undefined;
    const r = (ref.id !== undefined ? q.domainById.get(ref.id) : ref.name !== undefined ? q.domainByName.get(ref.name) : undefined) as Row | undefined;
    return r && toDomain(r);
  }

  /** A user or project by id, or by name within a domain given by id or name. */
  function findNamed<T>(ref: NamedRef, field: string, what: string, byId: (id: string) => T | undefined, byName: (domain_id: string, name: string) => Row | undefined, conv: (r: Row) => T): T | undefined {
    if (ref.id !== undefined) return byId(ref.id);
    if (ref.name === undefined) throw serviceError(400, `Invalid input for field '${field}': 'id' or 'name' is required.`);
    if (!ref.domain || (ref.domain.id === undefined && ref.domain.name === undefined)) {
      throw serviceError(400, `Expecting to find domain in ${what}. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.`);
    }
    const d = findDomain(ref.domain);
    const r = d && byName(d.id, ref.name);
    return r ? conv(r) : undefined;
  }
  const findUser = (ref: NamedRef): User | undefined =>
    findNamed(ref, 'identity/password/user', 'user', getUser, (d, n) => q.userByName.get(d, n) as Row | undefined, toUser);
  const findProject = (ref: NamedRef): Project | undefined =>
    findNamed(ref, 'scope/project', 'project', getProject, (d, n) => q.projectByName.get(d, n) as Row | undefined, toProject);

  /** Rebuilds a token's context from its stored row; null when anything it depends on is gone. */
  function loadToken(token: string): TokenInfo | null {
    const row = q.tokenByHash.get(sha256(token)) as Row | undefined;
    if (!row || row.revoked === 1 || Number(row.expires_at) <= clock.now()) return null;
    const info = scopeFor(String(row.user_id), (row.project_id as string | null) ?? null, (row.domain_id as string | null) ?? null);
    if (!info) return null;
    return { ...info, token, methods: JSON.parse(String(row.methods)) as string[], audit_id: String(row.audit_id), issued_at: Number(row.issued_at), expires_at: Number(row.expires_at) };
  }

  type Scoped = Omit<TokenInfo, 'token' | 'methods' | 'audit_id' | 'issued_at' | 'expires_at'>;
  function scopeFor(user_id: string, project_id: string | null, domain_id: string | null): Scoped | null {
    const user = getUser(user_id);
    if (!user || !user.enabled) return null;
    const user_domain = getDomain(user.domain_id);
    if (!user_domain || !user_domain.enabled) return null;
    if (project_id) {
      const project = getProject(project_id);
      const project_domain = project && getDomain(project.domain_id);
      if (!project || !project.enabled || !project_domain || !project_domain.enabled) return null;
      const roles = rolesFor(user.id, 'project', project.id);
      if (roles.length === 0) return null;
      return { user, user_domain, project, project_domain, domain: null, roles };
    }
    if (domain_id) {
      const domain = getDomain(domain_id);
      if (!domain || !domain.enabled) return null;
      const roles = rolesFor(user.id, 'domain', domain.id);
      if (roles.length === 0) return null;
      return { user, user_domain, project: null, project_domain: null, domain, roles };
    }
    return { user, user_domain, project: null, project_domain: null, domain: null, roles: [] };
  }

  function tokenInfo(token: string): TokenInfo | null {
    if (!token) return null;
    const now = clock.now();
    const hit = cache.get(token);
    if (hit && hit.info.expires_at <= now) {
      cache.delete(token);
      return null;
    }
    // Another process sharing the database may revoke a token: look again now and then.
    if (hit && now - hit.checked_at < RECHECK_MS) return hit.info;
    const info = loadToken(token);
    if (!info) {
      cache.delete(token);
      return null;
    }
    if (cache.size >= CACHE_MAX) cache.clear();
    cache.set(token, { info, checked_at: now });
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
    };
  }
  const contexts = new WeakMap<TokenInfo, AuthContext>();

  function checkName(name: unknown, what: string): string {
    if (typeof name !== 'string' || name.trim() === '' || name.length > 255) throw serviceError(400, `Invalid input for field '${what}': must be a non-empty string of at most 255 characters.`);
    return name;
  }

  const model: IdentityModel = {
    async seed() {
      const now = clock.now();
      const seed = config.seed;
      const passwords = new Map<string, string>();
      // Hash outside the transaction (async), only for users that need a (new) hash.
      await Promise.all(seed.users.map(async (u) => {
        const row = q.userByName.get(DEFAULT_DOMAIN_ID, u.name) as Row | undefined;
        if (!row || !(await verifyPassword(u.password, (row.password_hash as string | null) ?? null))) passwords.set(u.name, await hashPassword(u.password));
      }));
      db.transaction(() => {
        if (!q.domainById.get(DEFAULT_DOMAIN_ID)) {
          db.prepare('INSERT INTO domains (id, name, description, enabled, created_at) VALUES (?, ?, ?, 1, ?)').run(DEFAULT_DOMAIN_ID, seed.domain, 'The default domain', now);
        }
        const roleNames = [...new Set([...SEED_ROLES, ...seed.users.flatMap((u) => u.roles)])];
        for (const name of roleNames) {
          if (!q.roleByName.get(name)) db.prepare('INSERT INTO roles (id, name, description, created_at) VALUES (?, ?, NULL, ?)').run(newId(), name, now);
        }
        for (const name of seed.projects) {
          if (!q.projectByName.get(DEFAULT_DOMAIN_ID, name)) {
            db.prepare('INSERT INTO projects (id, name, domain_id, description, enabled, created_at) VALUES (?, ?, ?, ?, 1, ?)').run(newId(), name, DEFAULT_DOMAIN_ID, `${name} project`, now);
          }
        }
        for (const u of seed.users) {
          let row = q.userByName.get(DEFAULT_DOMAIN_ID, u.name) as Row | undefined;
          const hash = passwords.get(u.name);
          if (!row) {
            db.prepare('INSERT INTO users (id, name, domain_id, password_hash, enabled, created_at) VALUES (?, ?, ?, ?, 1, ?)').run(newId(), u.name, DEFAULT_DOMAIN_ID, hash, now);
            row = q.userByName.get(DEFAULT_DOMAIN_ID, u.name) as Row;
          } else if (hash) {
            // The config is the source of truth for seeded users' passwords.
            db.prepare('UPDATE users SET password_hash = ? WHERE id = ?').run(hash, row.id);
          }
          const project = q.projectByName.get(DEFAULT_DOMAIN_ID, u.project) as Row | undefined;
          if (!project) throw new Error(`seed: user ${u.name} names project ${u.project}, which is not in seed.projects`);
          for (const roleName of u.roles) {
            const role = q.roleByName.get(roleName) as Row;
            q.grant.run(row.id, role.id, 'project', project.id);
            // Admins can also get a token scoped to the default domain.
            if (roleName === 'admin') q.grant.run(row.id, role.id, 'domain', DEFAULT_DOMAIN_ID);
          }
        }
      })();
      changed();
    },

    async validate(token) {
      const info = tokenInfo(token);
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
      let user: User | undefined;
      let methods: string[];
      let previous: TokenInfo | null = null;
      if (req.password) {
        methods = ['password'];
        user = findUser(req.password.user);
        const row = user ? (q.userById.get(user.id) as Row) : undefined;
        const ok = await verifyPassword(req.password.password, (row?.password_hash as string | null) ?? null);
        if (!user || !ok || !user.enabled) throw unauthorized();
      } else if (req.token !== undefined) {
        methods = ['token'];
        previous = tokenInfo(req.token);
        if (!previous) throw unauthorized();
        user = previous.user;
        methods = previous.methods.includes('token') ? previous.methods : [...previous.methods, 'token'];
      } else {
        throw serviceError(400, 'Expecting to find identity in auth. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.');
      }
      const userDomain = getDomain(user.domain_id);
      if (!userDomain || !userDomain.enabled) throw unauthorized();

      let project_id: string | null = null;
      let domain_id: string | null = null;
      if (req.scope?.project) {
        const p = findProject(req.scope.project);
        if (!p) throw unauthorized();
        project_id = p.id;
      } else if (req.scope?.domain) {
        if (req.scope.domain.id === undefined && req.scope.domain.name === undefined) throw serviceError(400, "Invalid input for field 'scope/domain': 'id' or 'name' is required.");
        const d = findDomain(req.scope.domain);
        if (!d) throw unauthorized();
        domain_id = d.id;
      } else if (!req.scope && user.default_project_id && !previous) {
        // Keystone scopes a scope-less request to the user's default project when it can.
        const p = getProject(user.default_project_id);
        if (p && p.enabled && rolesFor(user.id, 'project', p.id).length > 0) project_id = p.id;
      }
      const scoped = scopeFor(user.id, project_id, domain_id);
      if (!scoped) throw unauthorized();
      const now = clock.now();
      const token = randomBytes(32).toString('base64url');
      const issued_at = now;
      const expires_at = previous ? Math.min(previous.expires_at, now + config.token_ttl * 1000) : now + config.token_ttl * 1000;
      const audit_id = randomBytes(16).toString('base64url').slice(0, 22);
      q.purgeTokens.run(now);
      q.insertToken.run(sha256(token), user.id, project_id, domain_id, JSON.stringify(methods), audit_id, issued_at, expires_at);
      const info: TokenInfo = { ...scoped, token, methods, audit_id, issued_at, expires_at };
      if (cache.size >= CACHE_MAX) cache.clear();
      cache.set(token, { info, checked_at: now });
      return info;
    },

    forgetCachedTokens: changed,

    revokeToken(token) {
      cache.delete(token);
      return q.revokeToken.run(sha256(token)).changes > 0;
    },

    listDomains(f = {}) {
      const w = where([['name = ?', f.name], ['enabled = ?', f.enabled]]);
      return (db.prepare(`SELECT * FROM domains${w.sql} ORDER BY name`).all(...w.args) as Row[]).map(toDomain);
    },
    getDomain,

    listProjects(f = {}) {
      const w = where([['name = ?', f.name], ['domain_id = ?', f.domain_id], ['enabled = ?', f.enabled]]);
      let out = (db.prepare(`SELECT * FROM projects${w.sql} ORDER BY name, id`).all(...w.args) as Row[]).map(toProject);
      if (f.ids) out = out.filter((p) => f.ids!.includes(p.id));
      return out;
    },
    getProject,
    createProject(p) {
      const name = checkName(p.name, 'name');
      if (!getDomain(p.domain_id)) throw serviceError(400, `Could not find domain: ${p.domain_id}.`);
      if (q.projectByName.get(p.domain_id, name)) throw serviceError(409, `Conflict occurred attempting to store project - Duplicate entry found with name ${name} at domain ID ${p.domain_id}.`);
      const id = newId();
      db.prepare('INSERT INTO projects (id, name, domain_id, description, enabled, created_at) VALUES (?, ?, ?, ?, ?, ?)').run(id, name, p.domain_id, p.description ?? '', p.enabled === false ? 0 : 1, clock.now());
      return getProject(id)!;
    },
    updateProject(id, p) {
      const cur = getProject(id);
      if (!cur) throw serviceError(404, `Could not find project: ${id}.`);
      const name = p.name === undefined ? cur.name : checkName(p.name, 'name');
      if (name !== cur.name && q.projectByName.get(cur.domain_id, name)) throw serviceError(409, `Conflict occurred attempting to store project - Duplicate entry found with name ${name} at domain ID ${cur.domain_id}.`);
      db.prepare('UPDATE projects SET name = ?, description = ?, enabled = ? WHERE id = ?').run(name, p.description ?? cur.description, (p.enabled ?? cur.enabled) ? 1 : 0, id);
      changed();
      return getProject(id)!;
    },
    deleteProject(id) {
      const n = db.transaction(() => {
        db.prepare("DELETE FROM role_assignments WHERE target_type = 'project' AND target_id = ?").run(id);
        db.prepare('UPDATE users SET default_project_id = NULL WHERE default_project_id = ?').run(id);
        return db.prepare('DELETE FROM projects WHERE id = ?').run(id).changes;
      })();
      changed();
      return n > 0;
    },

    listUsers(f = {}) {
      const w = where([['name = ?', f.name], ['domain_id = ?', f.domain_id], ['enabled = ?', f.enabled]]);
      return (db.prepare(`SELECT * FROM users${w.sql} ORDER BY name, id`).all(...w.args) as Row[]).map(toUser);
    },
    getUser,
    async createUser(u) {
      const name = checkName(u.name, 'name');
      if (!getDomain(u.domain_id)) throw serviceError(400, `Could not find domain: ${u.domain_id}.`);
      if (u.default_project_id && !getProject(u.default_project_id)) throw serviceError(400, `Could not find project: ${u.default_project_id}.`);
      const hash = typeof u.password === 'string' ? await hashPassword(u.password) : null;
      if (q.userByName.get(u.domain_id, name)) throw serviceError(409, `Conflict occurred attempting to store user - Duplicate entry found with name ${name} at domain ID ${u.domain_id}.`);
      const id = newId();
      db.prepare('INSERT INTO users (id, name, domain_id, password_hash, email, description, default_project_id, enabled, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
        id, name, u.domain_id, hash, u.email ?? null, u.description ?? null, u.default_project_id ?? null, u.enabled === false ? 0 : 1, clock.now(),
      );
      return getUser(id)!;
    },
    async updateUser(id, u) {
      const hash = typeof u.password === 'string' ? await hashPassword(u.password) : undefined;
      const cur = getUser(id);
      if (!cur) throw serviceError(404, `Could not find user: ${id}.`);
      const name = u.name === undefined ? cur.name : checkName(u.name, 'name');
      if (name !== cur.name && q.userByName.get(cur.domain_id, name)) throw serviceError(409, `Conflict occurred attempting to store user - Duplicate entry found with name ${name} at domain ID ${cur.domain_id}.`);
      if (u.default_project_id && !getProject(u.default_project_id)) throw serviceError(400, `Could not find project: ${u.default_project_id}.`);
      db.prepare('UPDATE users SET name = ?, email = ?, description = ?, default_project_id = ?, enabled = ? WHERE id = ?').run(
        name, u.email === undefined ? cur.email : u.email, u.description === undefined ? cur.description : u.description,
        u.default_project_id === undefined ? cur.default_project_id : u.default_project_id, (u.enabled ?? cur.enabled) ? 1 : 0, id,
      );
      if (hash) {
        // A new password ends the user's existing tokens, as Keystone does.
        db.prepare('UPDATE users SET password_hash = ? WHERE id = ?').run(hash, id);
        db.prepare('UPDATE tokens SET revoked = 1 WHERE user_id = ?').run(id);
      }
      changed();
      return getUser(id)!;
    },
    async changePassword(id, original, password) {
      const row = q.userById.get(id) as Row | undefined;
      if (!(await verifyPassword(original, (row?.password_hash as string | null) ?? null))) throw unauthorized();
      await model.updateUser(id, { password });
    },
    deleteUser(id) {
      const n = db.transaction(() => {
        db.prepare('DELETE FROM tokens WHERE user_id = ?').run(id);
        return db.prepare('DELETE FROM users WHERE id = ?').run(id).changes;
      })();
      changed();
      return n > 0;
    },

    listRoles(f = {}) {
      const w = where([['name = ?', f.name]]);
      return (db.prepare(`SELECT * FROM roles${w.sql} ORDER BY name`).all(...w.args) as Row[]).map(toRole);
    },
    getRole,

    listAssignments(f = {}) {
      const w = where([
        ['user_id = ?', f.user_id], ['role_id = ?', f.role_id],
        ["target_type = 'project' AND target_id = ?", f.project_id], ["target_type = 'domain' AND target_id = ?", f.domain_id],
      ]);
      return db.prepare(`SELECT * FROM role_assignments${w.sql} ORDER BY target_type DESC, target_id, user_id, role_id`).all(...w.args) as Assignment[];
    },
    grant(a) {
      q.grant.run(a.user_id, a.role_id, a.target_type, a.target_id);
      changed();
    },
    ungrant(a) {
      const n = q.ungrant.run(a.user_id, a.role_id, a.target_type, a.target_id).changes;
      changed();
      return n > 0;
    },
    userProjects(user_id) {
      return (db.prepare(`SELECT DISTINCT p.* FROM role_assignments a JOIN projects p ON p.id = a.target_id WHERE a.user_id = ? AND a.target_type = 'project' ORDER BY p.name`).all(user_id) as Row[]).map(toProject);
    },
    userDomains(user_id) {
      return (db.prepare(`SELECT DISTINCT d.* FROM role_assignments a JOIN domains d ON d.id = a.target_id WHERE a.user_id = ? AND a.target_type = 'domain' ORDER BY d.name`).all(user_id) as Row[]).map(toDomain);
    },
  };
  return model;
}
