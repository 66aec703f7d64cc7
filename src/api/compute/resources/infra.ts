// Admin views of the simulated cloud: availability zones, os-services, os-hypervisors, os-migrations.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Services } from '../../../novabox.ts';
import type { ComputeHostRow, MigrationRow } from '../../../store/store.ts';
import type { ServerRecord } from '../../../domain/server.ts';
import { BadRequest, NotFound } from '../../../domain/errors.ts';
import { heartbeat } from '../../../domain/heartbeat.ts';
import { uuidV5 } from '../network.ts';
import { perHost } from '../../../store/compute/host-usage.ts';
import { authorize, mv } from '../context.ts';
import { beforeBound, isoMicro, limitMarker, noQueryFrom2102, linkRoots, nextLink, page, params, parseTime, q1, query, route, sinceBound, strictQuery, toBool, validate } from './common.ts';

/** The control-plane services Nova lists beside nova-compute, on one controller host in zone `internal`. */
const CONTROLLER = 'controller';
const CONTROL_BINARIES = ['nova-scheduler', 'nova-conductor'];

export interface ServiceView {
  seq: number;
  uuid: string;
  binary: string;
  host: string;
  zone: string;
  disabled: boolean;
  disabled_reason: string | null;
  forced_down: boolean;
  up: boolean;
  updated_at: number | null;
  /** From the heartbeat: down when forced down or silent for longer than service_down_time. */
  state: 'up' | 'down';
  compute?: ComputeHostRow;
}

export async function services(svc: Services): Promise<ServiceView[]> {
  const now = svc.clock.now();
  // The control services have reported every interval since the epoch, as if always running.
  const control = heartbeat({ since: 0, reporting: true, forced_down: false }, now, svc.config);
  const out: ServiceView[] = CONTROL_BINARIES.map((binary, i) => ({
    seq: i + 1, uuid: uuidV5(`service:${binary}:${CONTROLLER}`), binary, host: CONTROLLER, zone: 'internal',
    disabled: false, disabled_reason: null, forced_down: false, up: true, ...control,
  }));
  const hosts = await svc.engine.listHosts();
  hosts.forEach((h, i) => out.push({
    seq: CONTROL_BINARIES.length + i + 1, uuid: uuidV5(`service:nova-compute:${h.name}`), binary: 'nova-compute', host: h.name,
    zone: h.availability_zone, disabled: h.disabled, disabled_reason: h.disabled_reason, forced_down: h.forced_down, up: h.up,
    ...heartbeat({ since: h.updated_at ?? now, reporting: h.up, forced_down: h.forced_down }, now, svc.config), compute: h,
  }));
  return out;
}

const stateOf = (s: { state: 'up' | 'down' }) => s.state;

function serviceView(req: FastifyRequest, s: ServiceView): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: mv(req, 53) ? s.uuid : s.seq, binary: s.binary, disabled_reason: s.disabled_reason, host: s.host,
    state: stateOf(s), status: s.disabled ? 'disabled' : 'enabled', updated_at: isoMicro(s.updated_at), zone: s.zone,
  };
  if (mv(req, 11)) out.forced_down = s.forced_down;
  return out;
}

// ---------------------------------------------------------------- hypervisors

interface Hyper {
  seq: number;
  uuid: string;
  host: ComputeHostRow;
  service: ServiceView;
  vcpus: number;
  memory_mb: number;
  local_gb: number;
  ip: string;
  used: { instances: number; vcpus: number; memory_mb: number; disk_gb: number };
}

/** The hypervisors with their usage summed in the database; their servers are read only when asked for. */
async function hypervisors(svc: Services): Promise<Hyper[]> {
  const svcs = await services(svc);
  const hosts = await svc.engine.listHosts();
  const used = perHost(await svc.infra.hostUsage.perHostAndProject());
  return hosts.map((h, i) => {
    const cfg = svc.config.hosts.find((c) => c.name === h.name) ?? { vcpus: 0, memory_mb: 0, local_gb: 0 };
    return {
      seq: i + 1, uuid: uuidV5(`hypervisor:${h.name}`), host: h, service: svcs.find((s) => s.compute?.name === h.name)!,
      vcpus: cfg.vcpus, memory_mb: cfg.memory_mb, local_gb: cfg.local_gb, ip: `192.168.122.${10 + i}`,
      used: used.get(h.name) ?? { instances: 0, vcpus: 0, memory_mb: 0, disk_gb: 0 },
    };
  });
}

async function serversOf(svc: Services, h: Hyper): Promise<ServerRecord[]> {
  return svc.engine.listServers({ deleted: 'exclude', exact: [{ column: 'host', values: [h.host.name] }], sort: [{ key: 'created_at', dir: 'asc' }], limit: 1_000_000 });
}

const CPU_INFO = { arch: 'x86_64', model: 'Nehalem', vendor: 'Intel', features: ['pge', 'clflush'], topology: { cores: 1, threads: 1, sockets: 4 } };

/** Nova reserves host memory (reserved_host_memory_mb, default 512). */
export const RESERVED_HOST_MEMORY_MB = 512;

function usageOf(h: Hyper) {
  return { vcpus: h.used.vcpus, ram: RESERVED_HOST_MEMORY_MB + h.used.memory_mb, disk: h.used.disk_gb };
}

/** `uptime`'s line for a host up since `since` (the simulated hosts boot when novabox starts). */
export function uptimeLine(now: number, since: number, load = '0.00, 0.00, 0.00'): string {
  const up = Math.max(0, Math.floor((now - since) / 1000));
  const days = Math.floor(up / 86400);
  const hh = Math.floor((up % 86400) / 3600);
  const mm = Math.floor((up % 3600) / 60);
  const clock = new Date(now).toISOString().slice(11, 19);
  const span = `${days > 0 ? `${days} day${days === 1 ? '' : 's'}, ` : ''}${hh > 0 ? `${String(hh).padStart(2)}:${String(mm).padStart(2, '0')}` : `${mm} min`}`;
  return ` ${clock} up ${span},  0 users,  load average: ${load}`;
}

function hyperBrief(req: FastifyRequest, h: Hyper): Record<string, unknown> {
  return { hypervisor_hostname: h.host.name, id: mv(req, 53) ? h.uuid : h.seq, state: stateOf(h.service), status: h.service.disabled ? 'disabled' : 'enabled' };
}

function hyperDetail(svc: Services, req: FastifyRequest, h: Hyper, uptime = false): Record<string, unknown> {
  const out = hyperBrief(req, h);
  Object.assign(out, {
    host_ip: h.ip, hypervisor_type: 'QEMU', hypervisor_version: 8002000,
    service: { host: h.host.name, id: mv(req, 53) ? h.service.uuid : h.service.seq, disabled_reason: h.service.disabled_reason },
  });
  if (mv(req, 88)) {
    out.uptime = uptimeLine(svc.clock.now(), STARTED_AT);
    return out;
  }
  if (uptime) return out;
  const u = usageOf(h);
  Object.assign(out, {
    cpu_info: mv(req, 28) ? CPU_INFO : JSON.stringify(CPU_INFO), current_workload: 0, disk_available_least: h.local_gb - u.disk,
    free_disk_gb: h.local_gb - u.disk, free_ram_mb: h.memory_mb - u.ram, local_gb: h.local_gb, local_gb_used: u.disk,
    memory_mb: h.memory_mb, memory_mb_used: u.ram, running_vms: h.used.instances, vcpus: h.vcpus, vcpus_used: u.vcpus,
  });
  return out;
}

const STARTED_AT = Date.now();

const withServers = async (svc: Services, h: Hyper) => (await serversOf(svc, h)).map((s) => ({ name: s.display_name, uuid: s.uuid }));

// ---------------------------------------------------------------- migrations

const IN_PROGRESS = ['queued', 'preparing', 'running', 'post-migrating'];

export function migrationView(svc: Services, req: FastifyRequest, m: MigrationRow, server: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {
    created_at: isoMicro(m.created_at), dest_compute: m.dest_compute, dest_host: m.dest_host, dest_node: m.dest_node, id: m.id,
    source_compute: m.source_compute, source_node: m.source_node, status: m.status, updated_at: isoMicro(m.updated_at),
  };
  if (server) {
    Object.assign(out, {
      server_uuid: m.server_uuid, memory_total_bytes: 0, memory_processed_bytes: 0, memory_remaining_bytes: 0,
      disk_total_bytes: 0, disk_processed_bytes: 0, disk_remaining_bytes: 0,
    });
  } else {
    Object.assign(out, { instance_uuid: m.server_uuid, new_instance_type_id: m.new_instance_type_id, old_instance_type_id: m.old_instance_type_id });
    if (mv(req, 23)) {
      out.migration_type = m.migration_type;
      if (m.migration_type === 'live-migration' && IN_PROGRESS.includes(String(m.status))) {
        const b = linkRoots(svc, req);
        out.links = [
          { href: `${b.self}/servers/${m.server_uuid}/migrations/${m.id}`, rel: 'self' },
          { href: `${b.bookmark}/servers/${m.server_uuid}/migrations/${m.id}`, rel: 'bookmark' },
        ];
      }
    }
  }
  if (mv(req, 59)) out.uuid = m.uuid;
  if (mv(req, 80)) {
    out.user_id = m.user_id;
    out.project_id = m.project_id;
  }
  return out;
}

export { IN_PROGRESS as MIGRATION_IN_PROGRESS };

// ---------------------------------------------------------------- routes

const LEGACY = { type: 'object', required: ['host', 'binary'], properties: { host: { type: 'string' }, binary: { type: 'string' } } };
const LEGACY_REASON = { type: 'object', required: ['host', 'binary', 'disabled_reason'], properties: { host: { type: 'string' }, binary: { type: 'string' }, disabled_reason: { type: 'string', minLength: 1, maxLength: 255 } } };
const LEGACY_DOWN = { type: 'object', required: ['host', 'binary', 'forced_down'], properties: { host: { type: 'string' }, binary: { type: 'string' }, forced_down: { type: ['boolean', 'string'] } } };
const UPDATE_253 = {
  type: 'object', additionalProperties: false,
  properties: { status: { type: 'string', enum: ['enabled', 'disabled'] }, disabled_reason: { type: 'string', minLength: 1, maxLength: 255 }, forced_down: { type: 'boolean' } },
};

export function registerInfra(scope: FastifyInstance, svc: Services): void {
  // ---- availability zones
  route(scope, 'GET', '/os-availability-zone', async (req) => {
    authorize(req, 'reader', 'os_compute_api:os-availability-zone:list');
    noQueryFrom2102(req);
    const hosts = await svc.engine.listHosts();
    const zones = new Map<string, boolean>();
    for (const h of hosts) zones.set(h.availability_zone, (zones.get(h.availability_zone) ?? false) || (!h.disabled && h.up && !h.forced_down));
    return { availabilityZoneInfo: [...zones].map(([zoneName, available]) => ({ zoneName, zoneState: { available }, hosts: null })) };
  });

  route(scope, 'GET', '/os-availability-zone/detail', async (req) => {
    authorize(req, 'admin', 'os_compute_api:os-availability-zone:detail');
    noQueryFrom2102(req);
    const all = await services(svc);
    const zones = new Map<string, { available: boolean; hosts: Record<string, Record<string, unknown>> }>();
    for (const s of all) {
      const z = zones.get(s.zone) ?? { available: false, hosts: {} };
      const ok = !s.disabled && stateOf(s) === 'up';
      z.available ||= ok;
      (z.hosts[s.host] ??= {})[s.binary] = { active: !s.disabled, available: stateOf(s) === 'up', updated_at: isoMicro(s.updated_at) };
      zones.set(s.zone, z);
    }
    return { availabilityZoneInfo: [...zones].map(([zoneName, z]) => ({ zoneName, zoneState: { available: z.available }, hosts: z.hosts })) };
  });

  // ---- services
  route(scope, 'GET', '/os-services', async (req) => {
    authorize(req, 'admin', 'os_compute_api:os-services:list');
    if (mv(req, 75)) strictQuery(req, ['host', 'binary']);
    const host = q1(req, 'host');
    const binary = q1(req, 'binary');
    const list = (await services(svc)).filter((s) => (host === undefined || s.host === host) && (binary === undefined || s.binary === binary));
    return { services: list.map((s) => serviceView(req, s)) };
  });

  const findLegacy = async (host: string, binary: string) => {
    const s = (await services(svc)).find((x) => x.host === host && x.binary === binary);
    if (!s) throw new NotFound(`Could not find binary ${binary} on host ${host}.`);
    if (!s.compute) throw new BadRequest(`Updating a ${binary} service is not supported. Only nova-compute services can be updated.`);
    return s;
  };

  route(scope, 'PUT', '/os-services/:action', async (req) => {
    authorize(req, 'admin', 'os_compute_api:os-services:update');
    const action = params(req).action;
    if (mv(req, 53)) {
      // 2.53: PUT /os-services/{service_id} with status / disabled_reason / forced_down.
      const body = validate<{ status?: string; disabled_reason?: string; forced_down?: boolean }>(UPDATE_253, req.body ?? {});
      if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(action)) throw new BadRequest(`Invalid uuid ${action}`);
      const s = (await services(svc)).find((x) => x.uuid === action);
      if (!s) throw new NotFound(`Service ${action} could not be found.`);
      if (body.status === undefined && body.forced_down === undefined) throw new BadRequest("No updates were requested. Fields 'status' or 'forced_down' should be specified.");
      if (body.disabled_reason !== undefined && body.status !== 'disabled') throw new BadRequest("Specifying 'disabled_reason' with status 'enabled' is invalid.");
      if (!s.compute) throw new BadRequest(`Updating a ${s.binary} service is not supported. Only nova-compute services can be updated.`);
      const patch: { disabled?: boolean; disabled_reason?: string | null; forced_down?: boolean } = {};
      if (body.status !== undefined) {
        patch.disabled = body.status === 'disabled';
        patch.disabled_reason = body.status === 'disabled' ? (body.disabled_reason ?? null) : null;
      }
      if (body.forced_down !== undefined) patch.forced_down = body.forced_down;
      await svc.engine.setHost(s.host, patch);
      const after = (await services(svc)).find((x) => x.uuid === action)!;
      return { service: serviceView(req, after) };
    }
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (action === 'enable' || action === 'disable') {
      const b = validate<{ host: string; binary: string }>(LEGACY, body);
      const s = await findLegacy(b.host, b.binary);
      await svc.engine.setHost(s.host, { disabled: action === 'disable', disabled_reason: null });
      return { service: { binary: b.binary, host: b.host, status: action === 'disable' ? 'disabled' : 'enabled' } };
    }
    if (action === 'disable-log-reason') {
      const b = validate<{ host: string; binary: string; disabled_reason: string }>(LEGACY_REASON, body);
      const s = await findLegacy(b.host, b.binary);
      await svc.engine.setHost(s.host, { disabled: true, disabled_reason: b.disabled_reason });
      return { service: { binary: b.binary, disabled_reason: b.disabled_reason, host: b.host, status: 'disabled' } };
    }
    if (action === 'force-down' && mv(req, 11)) {
      const b = validate<{ host: string; binary: string; forced_down: boolean | string }>(LEGACY_DOWN, body);
      const down = toBool(b.forced_down);
      if (down === null) throw new BadRequest(`Invalid input for field/attribute forced_down. Value: ${String(b.forced_down)}. is not a valid boolean`);
      const s = await findLegacy(b.host, b.binary);
      await svc.engine.setHost(s.host, { forced_down: down });
      return { service: { binary: b.binary, forced_down: down, host: b.host } };
    }
    throw new NotFound(`Unknown action`);
  });

  // ---- hypervisors
  const findHyper = async (req: FastifyRequest, id: string): Promise<Hyper> => {
    const all = await hypervisors(svc);
    const h = all.find((x) => (mv(req, 53) ? x.uuid === id : String(x.seq) === id));
    if (!h) {
      if (mv(req, 53) && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) throw new BadRequest(`Invalid uuid ${id}`);
      throw new NotFound(`Hypervisor with ID '${id}' could not be found.`);
    }
    return h;
  };

  const listHypers = async (req: FastifyRequest, detail: boolean) => {
    authorize(req, 'admin', `os_compute_api:os-hypervisors:${detail ? 'detail' : 'list'}`);
    if (mv(req, 75)) strictQuery(req, mv(req, 53) ? ['limit', 'marker', 'hypervisor_hostname_pattern', 'with_servers'] : ['limit', 'marker']);
    let all = await hypervisors(svc);
    const pattern = mv(req, 53) ? q1(req, 'hypervisor_hostname_pattern') : undefined;
    const servers = mv(req, 53) && toBool(q1(req, 'with_servers') ?? 'false') === true;
    if (pattern !== undefined) {
      if ('limit' in query(req) || 'marker' in query(req)) throw new BadRequest('Paging over hypervisors with the hypervisor_hostname_pattern query parameter is not supported.');
      all = all.filter((h) => h.host.name.includes(pattern));
      if (!all.length) throw new NotFound(`No hypervisor matching '${pattern}' could be found.`);
    }
    let links;
    if (mv(req, 33)) {
      const { limit, marker } = limitMarker(req, svc.config.max_limit);
      all = page(all, (h) => (mv(req, 53) ? h.uuid : String(h.seq)), limit, marker, (m) => new BadRequest(`marker [${m}] not found`));
      const last = all.at(-1);
      links = nextLink(svc, req, detail ? 'os-hypervisors/detail' : 'os-hypervisors', all, limit, last && (mv(req, 53) ? last.uuid : String(last.seq)));
    }
    const out: Record<string, unknown> = {
      hypervisors: await Promise.all(all.map(async (h) => {
        const v = detail ? hyperDetail(svc, req, h) : hyperBrief(req, h);
        if (servers && h.used.instances) v.servers = await withServers(svc, h);
        return v;
      })),
    };
    if (links) out.hypervisors_links = links;
    return out;
  };

  route(scope, 'GET', '/os-hypervisors', (req) => listHypers(req, false));
  route(scope, 'GET', '/os-hypervisors/detail', (req) => listHypers(req, true));

  route(scope, 'GET', '/os-hypervisors/statistics', async (req) => {
    if (mv(req, 88)) throw new NotFound('The resource could not be found.');
    authorize(req, 'admin', 'os_compute_api:os-hypervisors:statistics');
    const all = await hypervisors(svc);
    const st = { count: all.length, current_workload: 0, disk_available_least: 0, free_disk_gb: 0, free_ram_mb: 0, local_gb: 0, local_gb_used: 0, memory_mb: 0, memory_mb_used: 0, running_vms: 0, vcpus: 0, vcpus_used: 0 };
    for (const h of all) {
      const u = usageOf(h);
      st.disk_available_least += h.local_gb - u.disk;
      st.free_disk_gb += h.local_gb - u.disk;
      st.free_ram_mb += h.memory_mb - u.ram;
      st.local_gb += h.local_gb;
      st.local_gb_used += u.disk;
      st.memory_mb += h.memory_mb;
      st.memory_mb_used += u.ram;
      st.running_vms += h.used.instances;
      st.vcpus += h.vcpus;
      st.vcpus_used += u.vcpus;
    }
    return { hypervisor_statistics: st };
  });

  route(scope, 'GET', '/os-hypervisors/:id', async (req) => {
    authorize(req, 'admin', 'os_compute_api:os-hypervisors:show');
    if (mv(req, 75)) strictQuery(req, mv(req, 53) ? ['with_servers'] : []);
    const h = await findHyper(req, params(req).id);
    const v = hyperDetail(svc, req, h);
    if (mv(req, 53) && toBool(q1(req, 'with_servers') ?? 'false') === true) v.servers = await withServers(svc, h);
    return { hypervisor: v };
  });

  route(scope, 'GET', '/os-hypervisors/:id/uptime', async (req) => {
    if (mv(req, 88)) throw new NotFound('The resource could not be found.');
    authorize(req, 'admin', 'os_compute_api:os-hypervisors:uptime');
    const h = await findHyper(req, params(req).id);
    return { hypervisor: { ...hyperBrief(req, h), uptime: uptimeLine(svc.clock.now(), STARTED_AT) } };
  });

  const legacySearch = async (req: FastifyRequest, rule: string, servers: boolean) => {
    if (mv(req, 53)) throw new NotFound('The resource could not be found.');
    authorize(req, 'admin', `os_compute_api:os-hypervisors:${rule}`);
    const pattern = params(req).id;
    const found = (await hypervisors(svc)).filter((h) => h.host.name.includes(pattern));
    if (!found.length) throw new NotFound(`No hypervisor matching '${pattern}' could be found.`);
    return {
      hypervisors: await Promise.all(found.map(async (h) => {
        const v = hyperBrief(req, h);
        if (servers && h.used.instances) v.servers = await withServers(svc, h);
        return v;
      })),
    };
  };
  route(scope, 'GET', '/os-hypervisors/:id/search', (req) => legacySearch(req, 'search', false));
  route(scope, 'GET', '/os-hypervisors/:id/servers', (req) => legacySearch(req, 'servers', true));

  // ---- migrations
  route(scope, 'GET', '/os-migrations', async (req) => {
    authorize(req, 'admin', 'os_compute_api:os-migrations:index');
    const allowed = ['hidden', 'host', 'instance_uuid', 'source_compute', 'status', 'migration_type'];
    if (mv(req, 59)) allowed.push('limit', 'marker', 'changes-since');
    if (mv(req, 66)) allowed.push('changes-before');
    if (mv(req, 80)) allowed.push('user_id', 'project_id');
    if (mv(req, 59)) strictQuery(req, allowed);
    let rows = await svc.engine.listMigrations({ status: q1(req, 'status'), host: q1(req, 'host'), migration_type: q1(req, 'migration_type') });
    const uuid = q1(req, 'instance_uuid');
    if (uuid) rows = rows.filter((m) => m.server_uuid === uuid);
    const src = q1(req, 'source_compute');
    if (src) rows = rows.filter((m) => m.source_compute === src);
    if (!mv(req, 23)) rows = rows.filter((m) => m.migration_type !== 'live-migration');
    if (mv(req, 80)) {
      const u = q1(req, 'user_id');
      const p = q1(req, 'project_id');
      if (u) rows = rows.filter((m) => m.user_id === u);
      if (p) rows = rows.filter((m) => m.project_id === p);
    }
    let links;
    if (mv(req, 59)) {
      const since = q1(req, 'changes-since');
      const before = mv(req, 66) ? q1(req, 'changes-before') : undefined;
      if (since !== undefined) {
        const t = parseTime('changes-since', since);
        rows = rows.filter((m) => (m.updated_at ?? m.created_at) >= sinceBound(t));
      }
      if (before !== undefined) {
        const t = parseTime('changes-before', before);
        if (since !== undefined && parseTime('changes-since', since) > t) throw new BadRequest('The value of changes-since must be less than or equal to changes-before.');
        rows = rows.filter((m) => (m.updated_at ?? m.created_at) <= beforeBound(t));
      }
      const { limit, marker } = limitMarker(req, svc.config.max_limit);
      rows = page(rows, (m) => m.uuid, limit, marker, (m) => new BadRequest(`Marker ${m} could not be found.`));
      links = nextLink(svc, req, 'os-migrations', rows, limit, rows.at(-1)?.uuid);
    }
    const out: Record<string, unknown> = { migrations: rows.map((m) => migrationView(svc, req, m, false)) };
    if (links) out.migrations_links = links;
    return out;
  });
}
