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

// A port's MAC is looked up by (network, address) on every port create (unique per network, as
// Neutron's constraint), and a new resource takes MAX(seq) + 1: both had to scan every port.
const lookups = (macOfDoc: string) => `
ALTER TABLE neutron_resources ADD COLUMN mac_address TEXT;
UPDATE neutron_resources SET mac_address = ${macOfDoc} WHERE kind = 'port';
CREATE INDEX neutron_resources_mac ON neutron_resources (network_id, mac_address) WHERE mac_address IS NOT NULL;
CREATE INDEX neutron_resources_seq ON neutron_resources (seq);
`;

// Where a subnet's lowest free address may be (every pool address below next_ip is taken): a port
// takes its address with a lookup or two instead of reading every allocation of the subnet.
// `pools` is the pools and gateway the cursor was made for; another value makes it void.
const cursors = `
CREATE TABLE neutron_ip_cursors (
  subnet_id TEXT PRIMARY KEY,
  pools TEXT NOT NULL,
  next_ip TEXT NOT NULL
);
`;

export const NETWORK_MIGRATIONS: SqlMigration[] = [
  { id: 'network-001', sqlite: body('INTEGER'), postgres: body('BIGINT') },
  { id: 'network-002', sqlite: lookups("json_extract(doc, '$.mac_address')"), postgres: lookups("(doc::json ->> 'mac_address')") },
  { id: 'network-003', sqlite: cursors, postgres: cursors },
];
