// Configuration: defaults, then a config file (YAML or JSON), then environment, then flags.
// Validated once at start; everything else reads the frozen result.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseDbLocation } from './store/location.ts';

export interface HostConfig {
  name: string;
  availability_zone: string;
  vcpus: number;
  memory_mb: number;
  local_gb: number;
}

export interface SeedUser {
  name: string;
  password: string;
  project: string;
  roles: string[];
}

export interface Config {
  host: string;
  port: number;
  /** SQLite file path or ':memory:'. */
  db: string;
  /** Multiplies every simulated step duration; 0 = instant. */
  time_scale: number;
  /** Step durations of the simulated driver: a real KVM cloud's, Nova's fake driver's, or none. */
  timings: TimingProfile;
  /** Base URL put in the catalog and links; default http://<host>:<port>. */
  public_url: string | null;
  region: string;
  /** [api] max_limit */
  max_limit: number;
  /** Seconds a deleted server stays SOFT_DELETED before it is reclaimed; 0 = delete at once. */
  reclaim_instance_interval: number;
  /** Seconds before a SHELVED server is offloaded; 0 = at once, -1 = never. */
  shelved_offload_time: number;
  allow_resize_to_same_host: boolean;
  /** Token lifetime in seconds. */
  token_ttl: number;
  hosts: HostConfig[];
  /** Placement inventory of every host (Nova's initial_*_allocation_ratio, reserved_host_*). */
  cpu_allocation_ratio: number;
  ram_allocation_ratio: number;
  disk_allocation_ratio: number;
  reserved_host_memory_mb: number;
  reserved_host_disk_mb: number;
  quota_defaults: Record<string, number>;
  seed: {
    domain: string;
    projects: string[];
    users: SeedUser[];
  };
  log_level: string;
  /** pretty: one readable line per event (pino-pretty); json: pino's JSON lines. */
  log_format: LogFormat;
  /** Seconds between compute service heartbeats (Nova's [DEFAULT] report_interval). */
  report_interval: number;
  /** Seconds without a heartbeat before a service is down (Nova's [DEFAULT] service_down_time). */
  service_down_time: number;
  /** 'system' (wall time) or 'manual' (steps wait for POST /novabox/v1/clock). */
  clock: 'system' | 'manual';
  /** AMQP URL to publish Nova's versioned notifications to; null = off. */
  notifications: string | null;
  /**
   * How long (wall-clock ms) a process's claim on a durable task holds without renewal: after a
   * crash, other processes on the same database take its tasks over once this has passed.
   */
  task_lease_ms: number;
  /**
   * host:port of the simulated guests' SSH service (src/drivers/guest-ssh): one sshd standing in
   * for every guest, reached by dialling a server's floating or fixed IP; null = off.
   */
  guest_ssh: string | null;
  /** Seconds from a guest's power-on until its sshd answers (a cirros boot, shortened). */
  guest_boot_seconds: number;
  /** The login user of the simulated guests (cirros, as tempest's image_ssh_user). */
  guest_user: string;
}

export const TIMING_PROFILES = ['libvirt', 'fake', 'instant'] as const;
export type TimingProfile = (typeof TIMING_PROFILES)[number];
export const LOG_FORMATS = ['pretty', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Where the database lives unless told otherwise: $XDG_DATA_HOME/novabox, else ~/.local/share/novabox. */
export function defaultDbPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_DATA_HOME && isAbsolute(env.XDG_DATA_HOME) ? env.XDG_DATA_HOME : join(env.HOME || homedir(), '.local', 'share');
  return join(base, 'novabox', 'novabox.db');
}

export const DEFAULT_PASSWORD = 'secret';

export function defaultConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return {
    host: '127.0.0.1',
    port: 8774,
    db: defaultDbPath(env),
    time_scale: 1,
    timings: 'libvirt',
    public_url: null,
    region: 'RegionOne',
    max_limit: 1000,
    reclaim_instance_interval: 0,
    shelved_offload_time: 0,
    allow_resize_to_same_host: false,
    token_ttl: 3600,
    hosts: [
      { name: 'compute-0', availability_zone: 'nova', vcpus: 64, memory_mb: 262144, local_gb: 4096 },
      { name: 'compute-1', availability_zone: 'nova', vcpus: 64, memory_mb: 262144, local_gb: 4096 },
    ],
    cpu_allocation_ratio: 4.0,
    ram_allocation_ratio: 1.0,
    disk_allocation_ratio: 1.0,
    reserved_host_memory_mb: 512,
    reserved_host_disk_mb: 0,
    quota_defaults: {
      instances: 10, cores: 20, ram: 51200, key_pairs: 100, server_groups: 10, server_group_members: 10,
      metadata_items: 128, injected_files: 5, injected_file_content_bytes: 10240, injected_file_path_bytes: 255,
    },
    seed: {
      domain: 'Default',
      projects: ['admin', 'demo', 'alt_demo'],
      users: [
        { name: 'admin', password: DEFAULT_PASSWORD, project: 'admin', roles: ['admin'] },
        { name: 'demo', password: DEFAULT_PASSWORD, project: 'demo', roles: ['member'] },
        { name: 'alt_demo', password: DEFAULT_PASSWORD, project: 'alt_demo', roles: ['member'] },
      ],
    },
    log_level: 'info',
    log_format: 'pretty',
    report_interval: 10,
    service_down_time: 60,
    clock: 'system',
    notifications: null,
    task_lease_ms: 5000,
    guest_ssh: null,
    guest_boot_seconds: 2,
    guest_user: 'cirros',
  };
}

export class ConfigError extends Error {}

function num(name: string, v: unknown, min = -Infinity): number {
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < min) throw new ConfigError(`${name} must be a number >= ${min}, got ${String(v)}`);
  return n;
}

function oneOf(name: string, v: unknown, allowed: readonly string[]): void {
  if (typeof v !== 'string' || !allowed.includes(v)) throw new ConfigError(`${name} must be one of ${allowed.join(', ')}; got ${String(v)}`);
}

/** Merge sources in order: defaults < file < env < overrides (flags). */
export function loadConfig(overrides: Partial<Config> & { config?: string } = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const cfg = defaultConfig(env);
  const file = overrides.config ?? env.NOVABOX_CONFIG;
  if (file) {
    const text = readFileSync(file, 'utf8');
    const parsed = (file.endsWith('.json') ? JSON.parse(text) : parseYaml(text)) ?? {};
    if (typeof parsed !== 'object') throw new ConfigError(`${file}: expected a mapping`);
    Object.assign(cfg, parsed);
  }
  if (env.NOVABOX_HOST) cfg.host = env.NOVABOX_HOST;
  if (env.NOVABOX_PORT) cfg.port = num('NOVABOX_PORT', env.NOVABOX_PORT, 0);
  if (env.NOVABOX_DB) cfg.db = env.NOVABOX_DB;
  if (env.NOVABOX_TIME_SCALE) cfg.time_scale = num('NOVABOX_TIME_SCALE', env.NOVABOX_TIME_SCALE, 0);
  if (env.NOVABOX_TIMINGS) cfg.timings = env.NOVABOX_TIMINGS as TimingProfile;
  if (env.NOVABOX_LOG_LEVEL) cfg.log_level = env.NOVABOX_LOG_LEVEL;
  if (env.NOVABOX_LOG_FORMAT) cfg.log_format = env.NOVABOX_LOG_FORMAT as LogFormat;
  if (env.NOVABOX_PUBLIC_URL) cfg.public_url = env.NOVABOX_PUBLIC_URL;
  if (env.NOVABOX_CLOCK) cfg.clock = env.NOVABOX_CLOCK as Config['clock'];
  if (env.NOVABOX_NOTIFICATIONS) cfg.notifications = env.NOVABOX_NOTIFICATIONS;
  if (env.NOVABOX_GUEST_SSH) cfg.guest_ssh = env.NOVABOX_GUEST_SSH;
  if (env.NOVABOX_TASK_LEASE_MS) cfg.task_lease_ms = num('NOVABOX_TASK_LEASE_MS', env.NOVABOX_TASK_LEASE_MS, 100);
  for (const u of cfg.seed.users) {
    const p = env[`NOVABOX_${u.name.toUpperCase()}_PASSWORD`];
    if (p) u.password = p;
  }
  const { config: _file, ...rest } = overrides;
  for (const [k, v] of Object.entries(rest)) if (v !== undefined) (cfg as unknown as Record<string, unknown>)[k] = v;
  cfg.port = num('port', cfg.port, 0);
  cfg.time_scale = num('time_scale', cfg.time_scale, 0);
  cfg.max_limit = num('max_limit', cfg.max_limit, 1);
  cfg.reclaim_instance_interval = num('reclaim_instance_interval', cfg.reclaim_instance_interval, 0);
  cfg.shelved_offload_time = num('shelved_offload_time', cfg.shelved_offload_time, -1);
  cfg.report_interval = num('report_interval', cfg.report_interval, 0.001);
  cfg.service_down_time = num('service_down_time', cfg.service_down_time, 0.001);
  oneOf('timings', cfg.timings, TIMING_PROFILES);
  oneOf('log_format', cfg.log_format, LOG_FORMATS);
  oneOf('log_level', cfg.log_level, LOG_LEVELS);
  // A relative SQLite path is the working directory's; URLs (postgres://…) stay as given.
  if (cfg.db !== ':memory:' && !/^[a-z][a-z0-9+.-]*:\/\//i.test(cfg.db)) cfg.db = resolve(cfg.db);
  cfg.task_lease_ms = num('task_lease_ms', cfg.task_lease_ms, 100);
  if (cfg.clock !== 'system' && cfg.clock !== 'manual') throw new ConfigError(`clock must be 'system' or 'manual', got ${String(cfg.clock)}`);
  if (cfg.notifications !== null && !/^amqps?:\/\//.test(String(cfg.notifications))) throw new ConfigError(`notifications must be an amqp:// URL, got ${String(cfg.notifications)}`);
  if (cfg.guest_ssh !== null && !/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/.test(String(cfg.guest_ssh))) throw new ConfigError(`guest_ssh must be host:port (e.g. 0.0.0.0:22), got ${String(cfg.guest_ssh)}`);
  cfg.guest_boot_seconds = num('guest_boot_seconds', cfg.guest_boot_seconds, 0);
  if (!Array.isArray(cfg.hosts) || cfg.hosts.length === 0) throw new ConfigError('hosts must list at least one compute host');
  for (const k of ['cpu_allocation_ratio', 'ram_allocation_ratio', 'disk_allocation_ratio', 'reserved_host_memory_mb', 'reserved_host_disk_mb'] as const) cfg[k] = num(k, cfg[k], 0);
  try {
    parseDbLocation(String(cfg.db));
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  return cfg;
}

export function publicUrl(cfg: Config): string {
  if (cfg.public_url) return cfg.public_url.replace(/\/$/, '');
  const host = cfg.host === '0.0.0.0' || cfg.host === '::' ? '127.0.0.1' : cfg.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${cfg.port}`;
}
