import type { Migration } from './index.ts';

// Keystone subset: domains, projects, users (scrypt password hashes), roles, role assignments
// and issued tokens (only a SHA-256 of each token is stored).
export const identity002: Migration = {
  id: '002-identity',
  up: `
CREATE TABLE domains (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  description TEXT NOT NULL DEFAULT '',
  enabled INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL
);
CREATE TABLE projects (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  domain_id TEXT NOT NULL REFERENCES domains(id),
  description TEXT NOT NULL DEFAULT '',
  enabled INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL,
  UNIQUE (domain_id, name)
);
CREATE TABLE users (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  domain_id TEXT NOT NULL REFERENCES domains(id),
  password_hash TEXT,
  email TEXT,
  description TEXT,
  default_project_id TEXT,
  enabled INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL,
  UNIQUE (domain_id, name)
);
CREATE TABLE roles (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  description TEXT,
  created_at INTEGER NOT NULL
);
-- target_type is 'project' or 'domain'; target_id is not a foreign key because it names either.
CREATE TABLE role_assignments (
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  role_id TEXT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
  target_type TEXT NOT NULL,
  target_id TEXT NOT NULL,
  PRIMARY KEY (user_id, target_type, target_id, role_id)
);
CREATE INDEX role_assignments_target ON role_assignments (target_type, target_id);
CREATE TABLE tokens (
  token_hash TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  project_id TEXT,
  domain_id TEXT,
  methods TEXT NOT NULL,
  audit_id TEXT NOT NULL,
  issued_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX tokens_expires ON tokens (expires_at);
CREATE INDEX tokens_user ON tokens (user_id);
`,
};
