// Block storage schema: volumes, snapshots, attachments, types (with access), quota overrides and
// the volume engine's durable task table. One text per dialect (src/store/sql.ts).
import type { SqlMigration } from '../sql.ts';

const tables = (bigint: string) => `
CREATE TABLE IF NOT EXISTS volumes (
  id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  name TEXT,
  description TEXT,
  size INTEGER NOT NULL,
  status TEXT NOT NULL,
  previous_status TEXT,
  attach_status TEXT NOT NULL,
  migration_status TEXT,
  availability_zone TEXT NOT NULL,
  host TEXT,
  volume_type_id TEXT NOT NULL,
  snapshot_id TEXT,
  source_volid TEXT,
  image_id TEXT,
  bootable INTEGER NOT NULL DEFAULT 0,
  multiattach INTEGER NOT NULL DEFAULT 0,
  readonly INTEGER NOT NULL DEFAULT 0,
  metadata TEXT NOT NULL DEFAULT '{}',
  image_metadata TEXT NOT NULL DEFAULT '{}',
  admin_metadata TEXT NOT NULL DEFAULT '{}',
  created_at ${bigint} NOT NULL,
  updated_at ${bigint},
  launched_at ${bigint},
  terminated_at ${bigint}
);
CREATE INDEX IF NOT EXISTS volumes_project ON volumes (project_id, created_at);
CREATE TABLE IF NOT EXISTS volume_snapshots (
  id TEXT PRIMARY KEY,
  volume_id TEXT NOT NULL,
  project_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  name TEXT,
  description TEXT,
  status TEXT NOT NULL,
  progress TEXT NOT NULL,
  volume_size INTEGER NOT NULL,
  metadata TEXT NOT NULL DEFAULT '{}',
  created_at ${bigint} NOT NULL,
  updated_at ${bigint}
);
CREATE INDEX IF NOT EXISTS volume_snapshots_volume ON volume_snapshots (volume_id);
CREATE TABLE IF NOT EXISTS volume_attachments (
  id TEXT PRIMARY KEY,
  volume_id TEXT NOT NULL,
  instance_uuid TEXT,
  attach_status TEXT NOT NULL,
  attach_mode TEXT NOT NULL,
  connector TEXT,
  connection_info TEXT,
  mountpoint TEXT,
  attached_host TEXT,
  attach_time ${bigint},
  detach_time ${bigint},
  created_at ${bigint} NOT NULL,
  updated_at ${bigint}
);
CREATE INDEX IF NOT EXISTS volume_attachments_volume ON volume_attachments (volume_id);
CREATE TABLE IF NOT EXISTS volume_types (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  description TEXT,
  is_public INTEGER NOT NULL DEFAULT 1,
  extra_specs TEXT NOT NULL DEFAULT '{}',
  created_at ${bigint} NOT NULL
);
CREATE TABLE IF NOT EXISTS volume_type_access (
  volume_type_id TEXT NOT NULL,
  project_id TEXT NOT NULL,
  PRIMARY KEY (volume_type_id, project_id)
);
CREATE TABLE IF NOT EXISTS volume_quotas (
  project_id TEXT NOT NULL,
  resource TEXT NOT NULL,
  hard_limit INTEGER NOT NULL,
  PRIMARY KEY (project_id, resource)
);
CREATE TABLE IF NOT EXISTS volume_tasks (
  resource_id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  action TEXT NOT NULL,
  step INTEGER NOT NULL,
  due_at ${bigint} NOT NULL,
  plan TEXT NOT NULL,
  locked_by TEXT,
  locked_until ${bigint}
);
CREATE INDEX IF NOT EXISTS volume_tasks_due ON volume_tasks (due_at)
`;

export const VOLUME_MIGRATIONS: SqlMigration[] = [
  { id: 'volume-001', sqlite: tables('INTEGER'), postgres: tables('BIGINT') },
];
