import type { Migration } from './index.ts';

// Security groups of the simulated network (Nova's os-security-groups proxy over Neutron): per
// project, ingress rules only. Servers keep the uuids of their groups in their own record.
export const securityGroups005: Migration = {
  id: '005-security-groups',
  up: `
CREATE TABLE security_groups (
  id INTEGER PRIMARY KEY,
  uuid TEXT NOT NULL UNIQUE,
  project_id TEXT NOT NULL,
  name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL
);
CREATE INDEX security_groups_project ON security_groups (project_id, name);

CREATE TABLE security_group_rules (
  id INTEGER PRIMARY KEY,
  uuid TEXT NOT NULL UNIQUE,
  group_id INTEGER NOT NULL REFERENCES security_groups(id) ON DELETE CASCADE,
  protocol TEXT,
  port_min INTEGER,
  port_max INTEGER,
  cidr TEXT,
  remote_group_id INTEGER REFERENCES security_groups(id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL
);
CREATE INDEX security_group_rules_group ON security_group_rules (group_id);
`,
};
