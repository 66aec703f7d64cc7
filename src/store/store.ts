// The compute store contract (servers, their durable tasks, actions, faults, migrations, flavors,
// hosts). Transactions are async units of work; getServerForUpdate is a row lock (SELECT … FOR
// UPDATE on PostgreSQL); claimDueTasks claims due steps with a lease.
import type { FlavorSnapshot, ServerPatch, ServerRecord } from '../domain/server.ts';
import type { MigrationStatus, Plan } from '../domain/actions.ts';
import type { TaskState } from '../domain/states.ts';
import type { Sql, SqlDatabase } from './sql.ts';

export type SortDir = 'asc' | 'desc';

/** Server columns that list queries may filter, match or sort on. */
export const SERVER_COLUMNS = [
  'uuid', 'project_id', 'user_id', 'display_name', 'display_description', 'hostname', 'vm_state', 'task_state',
  'power_state', 'host', 'node', 'availability_zone', 'image_ref', 'instance_type_id', 'key_name', 'reservation_id',
  'launch_index', 'locked', 'locked_by', 'access_ip_v4', 'access_ip_v6', 'config_drive', 'auto_disk_config', 'progress',
  'created_at', 'updated_at', 'launched_at', 'terminated_at', 'kernel_id', 'ramdisk_id', 'root_device_name',
] as const;
export type ServerColumn = (typeof SERVER_COLUMNS)[number];

export interface ServerQuery {
  /** Restrict to one project; undefined lists every project. */
  project_id?: string;
  /** exclude: live only (soft-deleted hidden); include_soft: live + soft-deleted; include: everything; only: deleted or soft-deleted. */
  deleted: 'exclude' | 'include_soft' | 'include' | 'only';
  vm_states?: string[];
  task_states?: (string | null)[];
  exact?: { column: ServerColumn; values: (string | number | null)[] }[];
  regex?: { column: ServerColumn; pattern: string }[];
  changes_since?: number;
  changes_before?: number;
  /** Substring match on fixed IPs of that version. */
  ip?: string;
  ip6?: string;
  tags?: string[];
  tags_any?: string[];
  not_tags?: string[];
  not_tags_any?: string[];
  locked?: boolean;
  sort: { key: ServerColumn; dir: SortDir }[];
  limit: number;
  /** uuid of the last server of the previous page. */
  marker?: string;
}

export interface ServerStateCount {
  project_id: string;
  vm_state: string;
  task_state: string | null;
  deleted: boolean;
  count: number;
}

export interface TaskRow {
  server_id: number;
  action: string;
  action_id: number | null;
  step: number;
  due_at: number;
  plan: Plan;
  context: TaskContext;
  /** The engine holding the task (set by the store on every write and claim); null: nobody. */
  owner?: string | null;
  /** Wall-clock ms until which `owner`'s claim holds unless renewed. */
  lease_until?: number;
  /** The compute host the task waits for while it is down (not claimed until the host is back). */
  parked_host?: string | null;
}

/** Who this process's engine is, and how long its claims hold (wall-clock ms). */
export interface Lease {
  owner: string;
  ms: number;
}

/** What a durable task remembers of the request that started it. */
export interface TaskContext {
  request_id: string;
  user_id: string;
  project_id: string;
  migration_id?: number;
  target_host?: string | null;
  source_host?: string | null;
  image_id?: string;
  /** Index of the event currently open, if any. */
  event_id?: number | null;
  params?: Record<string, unknown>;
}

export interface InstanceActionRow {
  id: number;
  server_uuid: string;
  action: string;
  request_id: string;
  user_id: string;
  project_id: string;
  start_time: number;
  finish_time: number | null;
  message: string | null;
  updated_at: number | null;
}

export interface InstanceActionEventRow {
  id: number;
  action_id: number;
  event: string;
  start_time: number;
  finish_time: number | null;
  result: string | null;
  traceback: string | null;
  details: string | null;
  host: string | null;
}

export interface FaultRow {
  id: number;
  server_uuid: string;
  code: number;
  message: string;
  details: string | null;
  host: string | null;
  created_at: number;
}

export interface MigrationRow {
  id: number;
  uuid: string;
  server_uuid: string;
  project_id: string;
  user_id: string;
  source_compute: string | null;
  dest_compute: string | null;
  source_node: string | null;
  dest_node: string | null;
  dest_host: string | null;
  old_instance_type_id: number | null;
  new_instance_type_id: number | null;
  status: MigrationStatus | string;
  migration_type: string;
  created_at: number;
  updated_at: number | null;
}

export interface ComputeHostRow {
  name: string;
  availability_zone: string;
  disabled: boolean;
  disabled_reason: string | null;
  forced_down: boolean;
  up: boolean;
  updated_at: number | null;
}

export interface FlavorInput {
  flavorid: string;
  name: string;
  vcpus: number;
  memory_mb: number;
  root_gb: number;
  ephemeral_gb?: number;
  swap?: number;
  rxtx_factor?: number;
  is_public?: boolean;
  description?: string | null;
  extra_specs?: Record<string, string>;
}

export interface Usage {
  instances: number;
  cores: number;
  ram: number;
}

export interface MigrationFilter {
  server_uuid?: string;
  project_id?: string;
  migration_type?: string;
  status?: string;
  host?: string;
}

/**
 * Reads and writes inside one unit of work. Every read that decides a write is made here, never
 * through the store (on SQLite a store read would wait for this very unit of work to end).
 */
export interface ComputeTx {
  /** The unit of work's executor, for other repositories that must join it (quota limits …). */
  readonly sql: Sql;
  getServerForUpdate(uuid: string): Promise<ServerRecord | undefined>;
  getServerById(id: number): Promise<ServerRecord | undefined>;
  insertServer(s: Omit<ServerRecord, 'id'>): Promise<ServerRecord>;
  /**
   * Writes `patch`. With `expected_task_state` it is Nova's instance.save(expected_task_state=…):
   * the row is written only while its task_state is one of those; false (nothing written) when not.
   */
  updateServer(id: number, patch: ServerPatch, now: number, expected_task_state?: readonly (TaskState | null)[]): Promise<boolean>;
  getTask(server_id: number): Promise<TaskRow | undefined>;
  /** Writes the task, owned by this process with a fresh lease (and not parked). */
  putTask(t: TaskRow): Promise<void>;
  /** Parks the task until `host` is back (see ComputeStore.unparkHost). */
  parkTask(server_id: number, host: string): Promise<void>;
  deleteTask(server_id: number): Promise<void>;
  insertAction(a: Omit<InstanceActionRow, 'id'>): Promise<number>;
  finishAction(id: number, now: number, message: string | null): Promise<void>;
  startEvent(action_id: number, event: string, now: number, host: string | null): Promise<number>;
  finishEvent(id: number, now: number, result: 'Success' | 'Error', details?: string | null, traceback?: string | null): Promise<void>;
  insertFault(f: Omit<FaultRow, 'id'>): Promise<void>;
  insertMigration(m: Omit<MigrationRow, 'id'>): Promise<number>;
  updateMigration(id: number, status: string, now: number): Promise<void>;
  /**
   * The project's usage, held until commit: another unit of work that reads the same project's
   * usage waits, so two quota checks cannot both pass on one count.
   */
  usage(project_id: string): Promise<Usage>;
  getMigration(id: number): Promise<MigrationRow | undefined>;
  listMigrations(filter: MigrationFilter): Promise<MigrationRow[]>;
  listHosts(): Promise<ComputeHostRow[]>;
}

export interface ComputeStore {
  /** The executor the store runs on; repositories of other aggregates are built on it. */
  readonly sql: SqlDatabase;
  transaction<T>(fn: (tx: ComputeTx) => Promise<T>): Promise<T>;
  getServer(uuid: string): Promise<ServerRecord | undefined>;
  /** A server by id as last committed, outside any unit of work (nothing locked; decide no write on it). */
  getServerById(id: number): Promise<ServerRecord | undefined>;
  listServers(q: ServerQuery): Promise<ServerRecord[]>;
  /** This process's engine identity and lease length; every task write and claim uses it. */
  lease: Lease;
  /**
   * Tasks due at or before `now`, oldest first, not parked, and free (no owner), this process's,
   * or whose lease expired: each is claimed (owner, lease renewed) in the same unit of work.
   */
  claimDueTasks(now: number, limit: number): Promise<TaskRow[]>;
  /** The earliest due time among the tasks claimDueTasks could take. */
  nextDueAt(): Promise<number | null>;
  allTasks(): Promise<TaskRow[]>;
  /** Extends the lease of every task this process holds. */
  renewLeases(): Promise<void>;
  /** Ends the leases `owner` holds (this process at shutdown, or a process found dead). */
  releaseLeases(owner: string): Promise<void>;
  /** Owners other than this process that hold unexpired leases. */
  otherOwners(): Promise<string[]>;
  /** Wakes the tasks parked for `host`; how many. */
  unparkHost(host: string): Promise<number>;
  /**
   * Calls `wake` when another process wrote a task or changed a host (PostgreSQL LISTEN/NOTIFY);
   * returns the unsubscribe. Absent where the lease beat's polling is the only wake-up (SQLite).
   */
  subscribe?(wake: (what: 'tasks' | 'hosts') => void): Promise<() => Promise<void>>;
  /** Servers counted per project and state (deleted rows too): one GROUP BY, for the metrics gauge. */
  countServersByState(): Promise<ServerStateCount[]>;
  /** Durable tasks waiting for their next step (the task queue depth). */
  countTasks(): Promise<number>;
  usage(project_id: string): Promise<Usage>;
  // instance actions, events, faults, migrations
  listActions(server_uuid: string): Promise<InstanceActionRow[]>;
  getAction(server_uuid: string, request_id: string): Promise<InstanceActionRow | undefined>;
  listEvents(action_id: number): Promise<InstanceActionEventRow[]>;
  latestFault(server_uuid: string): Promise<FaultRow | undefined>;
  latestFaults(server_uuids: string[]): Promise<Map<string, FaultRow>>;
  listMigrations(filter: MigrationFilter): Promise<MigrationRow[]>;
  getMigration(id: number): Promise<MigrationRow | undefined>;
  // flavors
  listFlavors(opts: { include_private: boolean; project_id?: string }): Promise<FlavorSnapshot[]>;
  getFlavor(flavorid: string): Promise<FlavorSnapshot | undefined>;
  getFlavorById(id: number): Promise<FlavorSnapshot | undefined>;
  createFlavor(f: FlavorInput, now: number): Promise<FlavorSnapshot>;
  deleteFlavor(flavorid: string): Promise<boolean>;
  setFlavorExtraSpecs(flavorid: string, specs: Record<string, string>): Promise<void>;
  /** The one mutable flavor column (Nova 2.55); false when the flavor does not exist. */
  setFlavorDescription(flavorid: string, description: string | null): Promise<boolean>;
  addFlavorAccess(flavorid: string, project_id: string): Promise<void>;
  removeFlavorAccess(flavorid: string, project_id: string): Promise<void>;
  flavorAccess(flavorid: string): Promise<string[]>;
  // hosts
  listHosts(): Promise<ComputeHostRow[]>;
  upsertHost(h: ComputeHostRow): Promise<void>;
  /**
   * Changes only the named fields of a host in one statement (two admins changing different fields
   * at once both keep their change); the host as written, or undefined when there is none.
   */
  updateHost(name: string, change: HostChange, now: number): Promise<ComputeHostRow | undefined>;
}

export type HostChange = Partial<Pick<ComputeHostRow, 'disabled' | 'disabled_reason' | 'forced_down' | 'up'>>;
