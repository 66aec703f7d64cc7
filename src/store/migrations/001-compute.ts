import type { Migration } from './index.ts';

// Servers, their durable tasks, instance actions/events, faults, migrations, flavors.
// Filterable and sortable fields are columns; the rest of the record is JSON in `doc`.
export const compute001: Migration = {
  id: '001-compute',
  up: `
CREATE TABLE flavors (
  id INTEGER PRIMARY KEY,
  flavorid TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL UNIQUE,
  vcpus INTEGER NOT NULL,
  memory_mb INTEGER NOT NULL,
  root_gb INTEGER NOT NULL,
  ephemeral_gb INTEGER NOT NULL DEFAULT 0,
  swap INTEGER NOT NULL DEFAULT 0,
  rxtx_factor REAL NOT NULL DEFAULT 1.0,
  is_public INTEGER NOT NULL DEFAULT 1,
  disabled INTEGER NOT NULL DEFAULT 0,
  description TEXT,
  extra_specs TEXT NOT NULL DEFAULT '{}',
  created_at INTEGER NOT NULL,
  deleted INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE flavor_projects (
  flavor_id INTEGER NOT NULL REFERENCES flavors(id) ON DELETE CASCADE,
  project_id TEXT NOT NULL,
  PRIMARY KEY (flavor_id, project_id)
);

CREATE TABLE servers (
  id INTEGER PRIMARY KEY,
  uuid TEXT NOT NULL UNIQUE,
  project_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  display_name TEXT NOT NULL,
  display_description TEXT,
  hostname TEXT NOT NULL DEFAULT '',
  vm_state TEXT NOT NULL,
  task_state TEXT,
  power_state INTEGER NOT NULL DEFAULT 0,
  host TEXT,
  node TEXT,
  availability_zone TEXT,
  image_ref TEXT NOT NULL DEFAULT '',
  instance_type_id INTEGER NOT NULL,
  vcpus INTEGER NOT NULL,
  memory_mb INTEGER NOT NULL,
  key_name TEXT,
  reservation_id TEXT NOT NULL,
  launch_index INTEGER NOT NULL DEFAULT 0,
  locked INTEGER NOT NULL DEFAULT 0,
  locked_by TEXT,
  access_ip_v4 TEXT NOT NULL DEFAULT '',
  access_ip_v6 TEXT NOT NULL DEFAULT '',
  config_drive TEXT NOT NULL DEFAULT '',
  auto_disk_config INTEGER NOT NULL DEFAULT 0,
  progress INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER,
  launched_at INTEGER,
  terminated_at INTEGER,
  deleted_at INTEGER,
  deleted INTEGER NOT NULL DEFAULT 0,
  doc TEXT NOT NULL
);
-- Listing: by project (or all), live rows, newest first; with and without a vm_state filter.
CREATE INDEX servers_project_list ON servers (project_id, deleted, created_at, id);
CREATE INDEX servers_project_vm ON servers (project_id, deleted, vm_state, created_at, id);
CREATE INDEX servers_all_list ON servers (deleted, created_at, id);
CREATE INDEX servers_all_vm ON servers (deleted, vm_state, created_at, id);
CREATE INDEX servers_updated ON servers (updated_at);
CREATE INDEX servers_host ON servers (host);
CREATE INDEX servers_reservation ON servers (reservation_id);
-- Quota usage: a covering index so counting a project's cores and ram reads no table rows.
CREATE INDEX servers_usage ON servers (project_id, deleted, vm_state, vcpus, memory_mb);

CREATE TABLE server_tags (
  server_id INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
  tag TEXT NOT NULL,
  PRIMARY KEY (server_id, tag)
);
CREATE INDEX server_tags_tag ON server_tags (tag);

CREATE TABLE server_ips (
  server_id INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
  address TEXT NOT NULL,
  version INTEGER NOT NULL,
  PRIMARY KEY (server_id, address)
);
CREATE INDEX server_ips_address ON server_ips (address);

-- Durable tasks: one pending step chain per server; due_at drives the transition timers.
CREATE TABLE tasks (
  server_id INTEGER PRIMARY KEY REFERENCES servers(id) ON DELETE CASCADE,
  action TEXT NOT NULL,
  action_id INTEGER,
  step INTEGER NOT NULL,
  due_at INTEGER NOT NULL,
  plan TEXT NOT NULL,
  context TEXT NOT NULL
);
CREATE INDEX tasks_due ON tasks (due_at);

CREATE TABLE instance_actions (
  id INTEGER PRIMARY KEY,
  server_uuid TEXT NOT NULL,
  action TEXT NOT NULL,
  request_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  project_id TEXT NOT NULL,
  start_time INTEGER NOT NULL,
  finish_time INTEGER,
  message TEXT,
  updated_at INTEGER
);
CREATE INDEX instance_actions_server ON instance_actions (server_uuid, start_time, id);
CREATE INDEX instance_actions_request ON instance_actions (server_uuid, request_id);

CREATE TABLE instance_action_events (
  id INTEGER PRIMARY KEY,
  action_id INTEGER NOT NULL REFERENCES instance_actions(id) ON DELETE CASCADE,
  event TEXT NOT NULL,
  start_time INTEGER NOT NULL,
  finish_time INTEGER,
  result TEXT,
  traceback TEXT,
  details TEXT,
  host TEXT
);
CREATE INDEX instance_action_events_action ON instance_action_events (action_id);

CREATE TABLE instance_faults (
  id INTEGER PRIMARY KEY,
  server_uuid TEXT NOT NULL,
  code INTEGER NOT NULL,
  message TEXT NOT NULL,
  details TEXT,
  host TEXT,
  created_at INTEGER NOT NULL
);
CREATE INDEX instance_faults_server ON instance_faults (server_uuid, id);

CREATE TABLE migrations (
  id INTEGER PRIMARY KEY,
  uuid TEXT NOT NULL UNIQUE,
  server_uuid TEXT NOT NULL,
  project_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  source_compute TEXT,
  dest_compute TEXT,
  source_node TEXT,
  dest_node TEXT,
  dest_host TEXT,
  old_instance_type_id INTEGER,
  new_instance_type_id INTEGER,
  status TEXT NOT NULL,
  migration_type TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER
);
CREATE INDEX migrations_server ON migrations (server_uuid, id);

-- Per-project quota limits; absent rows fall back to the configured defaults.
CREATE TABLE quota_limits (
  project_id TEXT NOT NULL,
  resource TEXT NOT NULL,
  hard_limit INTEGER NOT NULL,
  PRIMARY KEY (project_id, resource)
);

-- Simulated compute hosts: up/down and forced_down, as os-services reports them.
CREATE TABLE compute_hosts (
  name TEXT PRIMARY KEY,
  availability_zone TEXT NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0,
  disabled_reason TEXT,
  forced_down INTEGER NOT NULL DEFAULT 0,
  up INTEGER NOT NULL DEFAULT 1,
  updated_at INTEGER
);
`,
};
