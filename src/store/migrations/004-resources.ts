import type { Migration } from './index.ts';

// Compute side resources: keypairs, server groups and their members, per-project quota limits
// (used when the engine does not keep its own), and server passwords (os-server-password).
export const resources004: Migration = {
  id: '004-resources',
  up: `
CREATE TABLE key_pairs (
  id INTEGER PRIMARY KEY,
  user_id TEXT NOT NULL,
  name TEXT NOT NULL,
  type TEXT NOT NULL DEFAULT 'ssh',
  fingerprint TEXT NOT NULL,
  public_key TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (user_id, name)
);

CREATE TABLE server_groups (
  id INTEGER PRIMARY KEY,
  uuid TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  project_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  policy TEXT NOT NULL,
  rules TEXT NOT NULL DEFAULT '{}',
  created_at INTEGER NOT NULL
);
CREATE INDEX server_groups_project ON server_groups (project_id, id);

CREATE TABLE server_group_members (
  group_id INTEGER NOT NULL REFERENCES server_groups(id) ON DELETE CASCADE,
  server_uuid TEXT NOT NULL,
  PRIMARY KEY (group_id, server_uuid)
);
CREATE INDEX server_group_members_server ON server_group_members (server_uuid);

-- quota_limits lives in 001-compute (the engine reads it for create/resize quota checks:
-- engine.quotaLimits / engine.setQuotaLimits / store.deleteQuotaRows).

CREATE TABLE server_passwords (
  server_uuid TEXT PRIMARY KEY,
  password TEXT NOT NULL
);
`,
};
