// Keystone's records and the repository that keeps them (SQLite or PostgreSQL through `Sql`).
// The identity service decides; this only reads and writes, one unit of work per `transaction`.
import type { Sql, SqlDatabase } from '../sql.ts';
import { Table, type Filter } from '../table.ts';
import { bumpGeneration, readGeneration } from '../generations.ts';

export interface Domain { id: string; name: string; description: string; enabled: boolean; tags: string[]; created_at: number }
export interface Project {
  id: string; name: string; domain_id: string; description: string; enabled: boolean;
  /** The parent project, or null when the domain is the parent. */
  parent_id: string | null; tags: string[]; extra: Record<string, unknown>; created_at: number;
}
export interface User {
  id: string; name: string; domain_id: string; password_hash: string | null; email: string | null; description: string | null;
  default_project_id: string | null; enabled: boolean; options: Record<string, unknown>; extra: Record<string, unknown>; created_at: number;
}
export interface Group { id: string; name: string; domain_id: string; description: string; created_at: number }
/** A role; `domain_id` set makes it a domain-specific role (its name unique within that domain only). */
export interface Role { id: string; name: string; domain_id: string | null; description: string | null; options: Record<string, unknown>; created_at: number }
export type TargetType = 'project' | 'domain' | 'system';
export interface Assignment { actor_type: 'user' | 'group'; actor_id: string; role_id: string; target_type: TargetType; target_id: string }
export interface Region { id: string; description: string; parent_region_id: string | null; created_at: number }
export interface Service { id: string; type: string; name: string | null; description: string | null; enabled: boolean; created_at: number }
export interface Endpoint { id: string; service_id: string; interface: string; region_id: string | null; url: string; enabled: boolean; created_at: number }
export interface AppCredential {
  id: string; name: string; user_id: string; project_id: string; secret_hash: string; description: string | null;
  /** Microseconds since the epoch (Keystone keeps the precision it was given), null for never. */
  expires_at: number | null; unrestricted: boolean; roles: { id: string; name: string }[]; created_at: number;
}
export interface TokenRow {
  token_hash: string; user_id: string; project_id: string | null; domain_id: string | null; system_scope: boolean;
  app_cred_id: string | null; methods: string[]; audit_id: string; parent_audit_id: string | null; issued_at: number; expires_at: number; revoked: boolean;
}

const domains = new Table<Domain>('domains', { id: 'text', name: 'text', description: 'text', enabled: 'bool', tags: 'json', created_at: 'int' });
const projects = new Table<Project>('projects', {
  id: 'text', name: 'text', domain_id: 'text', description: 'text', enabled: 'bool', parent_id: 'text', tags: 'json', extra: 'json', created_at: 'int',
});
const users = new Table<User>('users', {
  id: 'text', name: 'text', domain_id: 'text', password_hash: 'text', email: 'text', description: 'text', default_project_id: 'text', enabled: 'bool',
  options: 'json', extra: 'json', created_at: 'int',
});
const groups = new Table<Group>('groups', { id: 'text', name: 'text', domain_id: 'text', description: 'text', created_at: 'int' });
const roles = new Table<Role>('roles', { id: 'text', name: 'text', domain_id: 'text', description: 'text', options: 'json', created_at: 'int' });
const regions = new Table<Region>('regions', { id: 'text', description: 'text', parent_region_id: 'text', created_at: 'int' });
const services = new Table<Service>('services', { id: 'text', type: 'text', name: 'text', description: 'text', enabled: 'bool', created_at: 'int' });
const endpoints = new Table<Endpoint>('endpoints', { id: 'text', service_id: 'text', interface: 'text', region_id: 'text', url: 'text', enabled: 'bool', created_at: 'int' });
const appCreds = new Table<AppCredential>('application_credentials', {
  id: 'text', name: 'text', user_id: 'text', project_id: 'text', secret_hash: 'text', description: 'text', expires_at: 'int', unrestricted: 'bool', roles: 'json', created_at: 'int',
});
const tokens = new Table<TokenRow>('tokens', {
  token_hash: 'text', user_id: 'text', project_id: 'text', domain_id: 'text', system_scope: 'bool', app_cred_id: 'text', methods: 'json', audit_id: 'text',
  parent_audit_id: 'text', issued_at: 'int', expires_at: 'int', revoked: 'bool',
});

interface UserGrant { user_id: string; role_id: string; target_type: TargetType; target_id: string }
interface GroupGrant { group_id: string; role_id: string; target_type: TargetType; target_id: string }
const userGrants = new Table<UserGrant>('role_assignments', { user_id: 'text', role_id: 'text', target_type: 'text', target_id: 'text' });
const groupGrants = new Table<GroupGrant>('group_assignments', { group_id: 'text', role_id: 'text', target_type: 'text', target_id: 'text' });
const membership = new Table<{ group_id: string; user_id: string }>('user_groups', { group_id: 'text', user_id: 'text' });
const implied = new Table<{ prior_role_id: string; implied_role_id: string }>('implied_roles', { prior_role_id: 'text', implied_role_id: 'text' });

export interface AssignmentFilter { actor_type?: 'user' | 'group'; actor_id?: string; role_id?: string; target_type?: TargetType; target_id?: string }

/**
 * Every read and write of the identity service. Methods of a store opened by `transaction` share its
 * unit of work. A unit of work and a revocation move the identity cache generation
 * (src/store/generations.ts) as they commit, so every process drops its cached tokens at once.
 */
export interface IdentityStore {
  transaction<T>(fn: (s: IdentityStore) => Promise<T>): Promise<T>;
  /** The generation the identity caches of every process are checked against. */
  cacheGeneration(): Promise<number>;

  getDomain(id: string): Promise<Domain | undefined>;
  domainByName(name: string): Promise<Domain | undefined>;
  listDomains(f?: Filter<Domain>): Promise<Domain[]>;
  insertDomain(d: Domain): Promise<void>;
  updateDomain(id: string, patch: Partial<Domain>): Promise<void>;
  /** Removes the domain with every project, user and group in it and their assignments. */
  deleteDomain(id: string): Promise<boolean>;

  getProject(id: string): Promise<Project | undefined>;
  projectByName(domain_id: string, name: string): Promise<Project | undefined>;
  listProjects(f?: Filter<Project>): Promise<Project[]>;
  insertProject(p: Project): Promise<void>;
  updateProject(id: string, patch: Partial<Project>): Promise<void>;
  /** Removes the project, its assignments and application credentials; users keep no default project on it. */
  deleteProject(id: string): Promise<boolean>;

  getUser(id: string): Promise<User | undefined>;
  userByName(domain_id: string, name: string): Promise<User | undefined>;
  listUsers(f?: Filter<User>): Promise<User[]>;
  insertUser(u: User): Promise<void>;
  updateUser(id: string, patch: Partial<User>): Promise<void>;
  deleteUser(id: string): Promise<boolean>;

  getGroup(id: string): Promise<Group | undefined>;
  groupByName(domain_id: string, name: string): Promise<Group | undefined>;
  listGroups(f?: Filter<Group>): Promise<Group[]>;
  insertGroup(g: Group): Promise<void>;
  updateGroup(id: string, patch: Partial<Group>): Promise<void>;
  deleteGroup(id: string): Promise<boolean>;
  addToGroup(group_id: string, user_id: string): Promise<void>;
  removeFromGroup(group_id: string, user_id: string): Promise<boolean>;
  groupsOfUser(user_id: string): Promise<Group[]>;
  usersInGroup(group_id: string): Promise<User[]>;

  getRole(id: string): Promise<Role | undefined>;
  /** A global role by name, or with `domain_id` a role of that domain. */
  roleByName(name: string, domain_id?: string | null): Promise<Role | undefined>;
  listRoles(f?: Filter<Role>): Promise<Role[]>;
  insertRole(r: Role): Promise<void>;
  updateRole(id: string, patch: Partial<Role>): Promise<void>;
  deleteRole(id: string): Promise<boolean>;
  /** Every `prior → implied` rule. */
  impliedRoles(): Promise<{ prior_role_id: string; implied_role_id: string }[]>;
  addImplied(prior: string, impliedId: string): Promise<void>;
  removeImplied(prior: string, impliedId: string): Promise<boolean>;

  listAssignments(f?: AssignmentFilter): Promise<Assignment[]>;
  grant(a: Assignment): Promise<void>;
  ungrant(a: Assignment): Promise<boolean>;

  getRegion(id: string): Promise<Region | undefined>;
  listRegions(f?: Filter<Region>): Promise<Region[]>;
  insertRegion(r: Region): Promise<void>;
  updateRegion(id: string, patch: Partial<Region>): Promise<void>;
  deleteRegion(id: string): Promise<boolean>;
  getService(id: string): Promise<Service | undefined>;
  listServices(f?: Filter<Service>): Promise<Service[]>;
  insertService(s: Service): Promise<void>;
  updateService(id: string, patch: Partial<Service>): Promise<void>;
  deleteService(id: string): Promise<boolean>;
  getEndpoint(id: string): Promise<Endpoint | undefined>;
  listEndpoints(f?: Filter<Endpoint>): Promise<Endpoint[]>;
  insertEndpoint(e: Endpoint): Promise<void>;
  updateEndpoint(id: string, patch: Partial<Endpoint>): Promise<void>;
  deleteEndpoint(id: string): Promise<boolean>;

  getAppCredential(id: string): Promise<AppCredential | undefined>;
  appCredentialByName(user_id: string, name: string): Promise<AppCredential | undefined>;
  listAppCredentials(f?: Filter<AppCredential>): Promise<AppCredential[]>;
  insertAppCredential(a: AppCredential): Promise<void>;
  deleteAppCredential(id: string): Promise<boolean>;

  insertToken(t: TokenRow): Promise<void>;
  tokenByHash(hash: string): Promise<TokenRow | undefined>;
  revokeToken(hash: string): Promise<boolean>;
  /** Revokes every token matching the filter (a user's, a project's, one application credential's…). */
  revokeTokens(f: Filter<TokenRow>): Promise<number>;
  purgeTokens(before: number): Promise<void>;
}

export class SqlIdentityStore implements IdentityStore {
  constructor(private readonly db: SqlDatabase, private readonly sql: Sql = db, private readonly inTx = false) {}

  transaction<T>(fn: (s: IdentityStore) => Promise<T>): Promise<T> {
    if (this.inTx) return fn(this);
    return this.db.transaction(async (tx) => {
      const out = await fn(new SqlIdentityStore(this.db, tx, true));
      await bumpGeneration(tx, 'identity');
      return out;
    });
  }

  cacheGeneration() { return readGeneration(this.sql, 'identity'); }

  /** Runs `fn` in this unit of work, or in one of its own that moves the cache generation like `transaction`. */
  private async atomically<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
    if (this.inTx) return fn(this.sql);
    return this.db.transaction(async (tx) => {
      const out = await fn(tx);
      await bumpGeneration(tx, 'identity');
      return out;
    });
  }

  getDomain(id: string) { return domains.get(this.sql, { id }); }
  domainByName(name: string) { return domains.get(this.sql, { name }); }
  listDomains(f: Filter<Domain> = {}) { return domains.list(this.sql, f, 'name, id'); }
  async insertDomain(d: Domain) { await domains.insert(this.sql, d); }
  async updateDomain(id: string, patch: Partial<Domain>) { await domains.update(this.sql, { id }, patch); }
  deleteDomain(id: string) {
    return this.atomically(async (sql) => {
      const inside = (t: string): string => `SELECT id FROM ${t} WHERE domain_id = ?`;
      for (const t of ['role_assignments', 'group_assignments']) await sql.run(`DELETE FROM ${t} WHERE (target_type = 'domain' AND target_id = ?) OR (target_type = 'project' AND target_id IN (${inside('projects')}))`, [id, id]);
      await sql.run(`DELETE FROM application_credentials WHERE project_id IN (${inside('projects')})`, [id]);
      await sql.run(`UPDATE tokens SET revoked = 1 WHERE domain_id = ? OR project_id IN (${inside('projects')}) OR user_id IN (${inside('users')})`, [id, id, id]);
      await sql.run('DELETE FROM groups WHERE domain_id = ?', [id]);
      await sql.run('DELETE FROM users WHERE domain_id = ?', [id]);
      // The domain's own roles go with it (their assignments and inference rules by cascade).
      await sql.run('DELETE FROM roles WHERE domain_id = ?', [id]);
      await sql.run('UPDATE projects SET parent_id = NULL WHERE domain_id = ?', [id]);
      await sql.run('DELETE FROM projects WHERE domain_id = ?', [id]);
      return (await domains.delete(sql, { id })) > 0;
    });
  }

  getProject(id: string) { return projects.get(this.sql, { id }); }
  projectByName(domain_id: string, name: string) { return projects.get(this.sql, { domain_id, name }); }
  listProjects(f: Filter<Project> = {}) { return projects.list(this.sql, f, 'name, id'); }
  async insertProject(p: Project) { await projects.insert(this.sql, p); }
  async updateProject(id: string, patch: Partial<Project>) { await projects.update(this.sql, { id }, patch); }
  deleteProject(id: string) {
    return this.atomically(async (sql) => {
      for (const t of ['role_assignments', 'group_assignments']) await sql.run(`DELETE FROM ${t} WHERE target_type = 'project' AND target_id = ?`, [id]);
      await sql.run('DELETE FROM application_credentials WHERE project_id = ?', [id]);
      await sql.run('UPDATE users SET default_project_id = NULL WHERE default_project_id = ?', [id]);
      await sql.run('UPDATE tokens SET revoked = 1 WHERE project_id = ?', [id]);
      return (await projects.delete(sql, { id })) > 0;
    });
  }

  getUser(id: string) { return users.get(this.sql, { id }); }
  userByName(domain_id: string, name: string) { return users.get(this.sql, { domain_id, name }); }
  listUsers(f: Filter<User> = {}) { return users.list(this.sql, f, 'name, id'); }
  async insertUser(u: User) { await users.insert(this.sql, u); }
  async updateUser(id: string, patch: Partial<User>) { await users.update(this.sql, { id }, patch); }
  deleteUser(id: string) {
    return this.atomically(async (sql) => {
      await sql.run('DELETE FROM tokens WHERE user_id = ?', [id]);
      return (await users.delete(sql, { id })) > 0;
    });
  }

  getGroup(id: string) { return groups.get(this.sql, { id }); }
  groupByName(domain_id: string, name: string) { return groups.get(this.sql, { domain_id, name }); }
  listGroups(f: Filter<Group> = {}) { return groups.list(this.sql, f, 'name, id'); }
  async insertGroup(g: Group) { await groups.insert(this.sql, g); }
  async updateGroup(id: string, patch: Partial<Group>) { await groups.update(this.sql, { id }, patch); }
  async deleteGroup(id: string) { return (await groups.delete(this.sql, { id })) > 0; }
  async addToGroup(group_id: string, user_id: string) { await membership.insert(this.sql, { group_id, user_id }, 'ignore'); }
  async removeFromGroup(group_id: string, user_id: string) { return (await membership.delete(this.sql, { group_id, user_id })) > 0; }
  async groupsOfUser(user_id: string) {
    const rows = await this.sql.all('SELECT g.* FROM user_groups m JOIN groups g ON g.id = m.group_id WHERE m.user_id = ? ORDER BY g.name, g.id', [user_id]);
    return rows.map((r) => groups.fromRow(r));
  }
  async usersInGroup(group_id: string) {
    const rows = await this.sql.all('SELECT u.* FROM user_groups m JOIN users u ON u.id = m.user_id WHERE m.group_id = ? ORDER BY u.name, u.id', [group_id]);
    return rows.map((r) => users.fromRow(r));
  }

  getRole(id: string) { return roles.get(this.sql, { id }); }
  roleByName(name: string, domain_id: string | null = null) { return roles.get(this.sql, { name, domain_id }); }
  listRoles(f: Filter<Role> = {}) { return roles.list(this.sql, f, 'name, id'); }
  async insertRole(r: Role) { await roles.insert(this.sql, r); }
  async updateRole(id: string, patch: Partial<Role>) { await roles.update(this.sql, { id }, patch); }
  deleteRole(id: string) {
    return this.atomically(async (sql) => (await roles.delete(sql, { id })) > 0);
  }
  impliedRoles() { return implied.list(this.sql, {}, 'prior_role_id, implied_role_id'); }
  async addImplied(prior_role_id: string, implied_role_id: string) { await implied.insert(this.sql, { prior_role_id, implied_role_id }, 'ignore'); }
  async removeImplied(prior_role_id: string, implied_role_id: string) { return (await implied.delete(this.sql, { prior_role_id, implied_role_id })) > 0; }

  async listAssignments(f: AssignmentFilter = {}) {
    const out: Assignment[] = [];
    const common = { role_id: f.role_id, target_type: f.target_type, target_id: f.target_id };
    const order = 'target_type DESC, target_id, role_id';
    if (f.actor_type !== 'group') {
      for (const g of await userGrants.list(this.sql, { ...common, user_id: f.actor_id }, `${order}, user_id`)) out.push({ actor_type: 'user', actor_id: g.user_id, role_id: g.role_id, target_type: g.target_type, target_id: g.target_id });
    }
    if (f.actor_type !== 'user') {
      for (const g of await groupGrants.list(this.sql, { ...common, group_id: f.actor_id }, `${order}, group_id`)) out.push({ actor_type: 'group', actor_id: g.group_id, role_id: g.role_id, target_type: g.target_type, target_id: g.target_id });
    }
    return out;
  }
  async grant(a: Assignment) {
    const target = { role_id: a.role_id, target_type: a.target_type, target_id: a.target_id };
    if (a.actor_type === 'user') await userGrants.insert(this.sql, { user_id: a.actor_id, ...target }, 'ignore');
    else await groupGrants.insert(this.sql, { group_id: a.actor_id, ...target }, 'ignore');
  }
  async ungrant(a: Assignment) {
    const target = { role_id: a.role_id, target_type: a.target_type, target_id: a.target_id };
    const n = a.actor_type === 'user' ? await userGrants.delete(this.sql, { user_id: a.actor_id, ...target }) : await groupGrants.delete(this.sql, { group_id: a.actor_id, ...target });
    return n > 0;
  }

  getRegion(id: string) { return regions.get(this.sql, { id }); }
  listRegions(f: Filter<Region> = {}) { return regions.list(this.sql, f, 'id'); }
  async insertRegion(r: Region) { await regions.insert(this.sql, r); }
  async updateRegion(id: string, patch: Partial<Region>) { await regions.update(this.sql, { id }, patch); }
  async deleteRegion(id: string) { return (await regions.delete(this.sql, { id })) > 0; }
  getService(id: string) { return services.get(this.sql, { id }); }
  listServices(f: Filter<Service> = {}) { return services.list(this.sql, f, 'created_at, id'); }
  async insertService(s: Service) { await services.insert(this.sql, s); }
  async updateService(id: string, patch: Partial<Service>) { await services.update(this.sql, { id }, patch); }
  async deleteService(id: string) { return (await services.delete(this.sql, { id })) > 0; }
  getEndpoint(id: string) { return endpoints.get(this.sql, { id }); }
  listEndpoints(f: Filter<Endpoint> = {}) { return endpoints.list(this.sql, f, 'created_at, id'); }
  async insertEndpoint(e: Endpoint) { await endpoints.insert(this.sql, e); }
  async updateEndpoint(id: string, patch: Partial<Endpoint>) { await endpoints.update(this.sql, { id }, patch); }
  async deleteEndpoint(id: string) { return (await endpoints.delete(this.sql, { id })) > 0; }

  getAppCredential(id: string) { return appCreds.get(this.sql, { id }); }
  appCredentialByName(user_id: string, name: string) { return appCreds.get(this.sql, { user_id, name }); }
  listAppCredentials(f: Filter<AppCredential> = {}) { return appCreds.list(this.sql, f, 'name, id'); }
  async insertAppCredential(a: AppCredential) { await appCreds.insert(this.sql, a); }
  deleteAppCredential(id: string) {
    return this.atomically(async (sql) => {
      await tokens.update(sql, { app_cred_id: id }, { revoked: true });
      return (await appCreds.delete(sql, { id })) > 0;
    });
  }

  async insertToken(t: TokenRow) { await tokens.insert(this.sql, t); }
  tokenByHash(token_hash: string) { return tokens.get(this.sql, { token_hash }); }
  async revokeToken(token_hash: string) { return (await this.revokeTokens({ token_hash })) > 0; }
  revokeTokens(f: Filter<TokenRow>) {
    return this.atomically((q) => tokens.update(q, { ...f, revoked: false }, { revoked: true }));
  }
  async purgeTokens(before: number) { await this.sql.run('DELETE FROM tokens WHERE expires_at < ?', [before]); }
}
