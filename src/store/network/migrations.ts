import type { SqlMigration } from '../sql.ts';

// Neutron's resources: one row per resource with its standard attributes as columns (Neutron keeps
// them in one standardattributes table too) and the rest of the attribute map as JSON; tags; IP
// allocations (unique per subnet, so two ports never get the same address); per-project quotas.
const body = (bigint: string) => `
CREATE TABLE neutron_resources (
  kind TEXT NOT NULL,
  id TEXT NOT NULL,
  project_id TEXT NOT NULL,
  network_id TEXT,
  device_id TEXT,
  seq ${bigint} NOT NULL,
  created_at ${bigint} NOT NULL,
  updated_at ${bigint} NOT NULL,
  revision_number INTEGER NOT NULL DEFAULT 0,
  doc TEXT NOT NULL,
  PRIMARY KEY (kind, id)
);
CREATE INDEX neutron_resources_project ON neutron_resources (kind, project_id);
CREATE INDEX neutron_resources_network ON neutron_resources (kind, network_id);
CREATE INDEX neutron_resources_device ON neutron_resources (device_id);
CREATE TABLE neutron_tags (
  resource_id TEXT NOT NULL,
  tag TEXT NOT NULL,
  PRIMARY KEY (resource_id, tag)
);
CREATE TABLE neutron_ipallocations (
  subnet_id TEXT NOT NULL,
  ip_address TEXT NOT NULL,
  network_id TEXT NOT NULL,
  port_id TEXT NOT NULL,
  PRIMARY KEY (subnet_id, ip_address)
);
CREATE INDEX neutron_ipallocations_port ON neutron_ipallocations (port_id);
CREATE INDEX neutron_ipallocations_network ON neutron_ipallocations (network_id);
CREATE TABLE neutron_quotas (
  project_id TEXT NOT NULL,
  resource TEXT NOT NULL,
  hard_limit INTEGER NOT NULL,
  PRIMARY KEY (project_id, resource)
);
`;

export const NETWORK_MIGRATIONS: SqlMigration[] = [{ id: 'network-001', sqlite: body('INTEGER'), postgres: body('BIGINT') }];
