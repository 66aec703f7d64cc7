// The Keystone schema. On SQLite the first tables (domains, projects, users, roles,
// role_assignments, tokens) already exist from migrations/002-identity.ts, so the SQLite text only
// adds what came later; on PostgreSQL the same migration creates those first tables from the same
// text (times as BIGINT), then adds the same columns and tables.
import type { SqlMigration } from '../sql.ts';
import { identity002 } from '../migrations/002-identity.ts';
import { postgresDdl } from '../table.ts';
import { GENERATIONS_MIGRATION } from '../generations.ts';

/** Tables and columns added on top of 002-identity, identical in both dialects. */
const LATER = `
CREATE TABLE groups (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  domain_id TEXT NOT NULL REFERENCES domains(id),
  description TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  UNIQUE (domain_id, name)
);
CREATE TABLE user_groups (
  group_id TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  PRIMARY KEY (group_id, user_id)
);
CREATE INDEX user_groups_user ON user_groups (user_id);
-- target_type is 'project', 'domain' or 'system' (target_id 'all'), as for users.
CREATE TABLE group_assignments (
  group_id TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
  role_id TEXT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
  target_type TEXT NOT NULL,
  target_id TEXT NOT NULL,
  PRIMARY KEY (group_id, target_type, target_id, role_id)
);
CREATE INDEX group_assignments_target ON group_assignments (target_type, target_id);
CREATE TABLE implied_roles (
  prior_role_id TEXT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
  implied_role_id TEXT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
  PRIMARY KEY (prior_role_id, implied_role_id)
);
CREATE TABLE regions (
  id TEXT PRIMARY KEY,
  description TEXT NOT NULL DEFAULT '',
  parent_region_id TEXT,
  created_at BIGINT NOT NULL
);
CREATE TABLE services (
  id TEXT PRIMARY KEY,
  type TEXT NOT NULL,
  name TEXT,
  description TEXT,
  enabled INTEGER NOT NULL DEFAULT 1,
  created_at BIGINT NOT NULL
);
CREATE TABLE endpoints (
  id TEXT PRIMARY KEY,
  service_id TEXT NOT NULL REFERENCES services(id) ON DELETE CASCADE,
  interface TEXT NOT NULL,
  region_id TEXT,
  url TEXT NOT NULL,
  enabled INTEGER NOT NULL DEFAULT 1,
  created_at BIGINT NOT NULL
);
CREATE TABLE application_credentials (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  project_id TEXT NOT NULL,
  secret_hash TEXT NOT NULL,
  description TEXT,
  expires_at BIGINT,
  unrestricted INTEGER NOT NULL DEFAULT 0,
  roles TEXT NOT NULL DEFAULT '[]',
  created_at BIGINT NOT NULL,
  UNIQUE (user_id, name)
);
CREATE INDEX application_credentials_project ON application_credentials (project_id);
`;

/** Columns added to the first tables (both dialects). */
const SQLITE_ALTERS = `
ALTER TABLE projects ADD COLUMN parent_id TEXT;
ALTER TABLE projects ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
ALTER TABLE projects ADD COLUMN extra TEXT NOT NULL DEFAULT '{}';
ALTER TABLE users ADD COLUMN options TEXT NOT NULL DEFAULT '{}';
ALTER TABLE users ADD COLUMN extra TEXT NOT NULL DEFAULT '{}';
ALTER TABLE domains ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
ALTER TABLE roles ADD COLUMN options TEXT NOT NULL DEFAULT '{}';
ALTER TABLE tokens ADD COLUMN system_scope INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tokens ADD COLUMN app_cred_id TEXT;
ALTER TABLE tokens ADD COLUMN parent_audit_id TEXT;
`;

/**
 * Domain-specific roles: `roles.domain_id`, and role names unique per domain (global roles have a
 * NULL domain) instead of across the cloud. SQLite cannot drop the column's UNIQUE, so the table is
 * rebuilt; dropping it would cascade to assignments and inference rules, which are kept aside and
 * put back in the same unit of work.
 */
const ROLE_NAME_INDEX = "CREATE UNIQUE INDEX roles_domain_name ON roles ((COALESCE(domain_id, '')), name)";
const SQLITE_DOMAIN_ROLES = `
CREATE TABLE roles_rebuilt (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  description TEXT,
  created_at INTEGER NOT NULL,
  options TEXT NOT NULL DEFAULT '{}',
  domain_id TEXT
);
INSERT INTO roles_rebuilt (id, name, description, created_at, options) SELECT id, name, description, created_at, options FROM roles;
CREATE TABLE kept_role_assignments AS SELECT * FROM role_assignments;
CREATE TABLE kept_group_assignments AS SELECT * FROM group_assignments;
CREATE TABLE kept_implied_roles AS SELECT * FROM implied_roles;
DROP TABLE roles;
ALTER TABLE roles_rebuilt RENAME TO roles;
INSERT INTO role_assignments SELECT * FROM kept_role_assignments;
INSERT INTO group_assignments SELECT * FROM kept_group_assignments;
INSERT INTO implied_roles SELECT * FROM kept_implied_roles;
DROP TABLE kept_role_assignments;
DROP TABLE kept_group_assignments;
DROP TABLE kept_implied_roles;
${ROLE_NAME_INDEX};
`;
const POSTGRES_DOMAIN_ROLES = `
ALTER TABLE roles ADD COLUMN domain_id TEXT;
ALTER TABLE roles DROP CONSTRAINT roles_name_key;
${ROLE_NAME_INDEX};
`;

const APP_CRED_US = 'UPDATE application_credentials SET expires_at = expires_at * 1000 WHERE expires_at IS NOT NULL';

export const identityMigrations: SqlMigration[] = [
  { id: 'identity-keystone-admin', sqlite: SQLITE_ALTERS + LATER, postgres: postgresDdl(identity002.up) + SQLITE_ALTERS + LATER },
  GENERATIONS_MIGRATION,
  { id: 'identity-domain-roles', sqlite: SQLITE_DOMAIN_ROLES, postgres: POSTGRES_DOMAIN_ROLES },
  // Application credential expiry moves from milliseconds to microseconds.
  { id: 'identity-app-cred-expiry-us', sqlite: APP_CRED_US, postgres: APP_CRED_US },
];
