// os-simple-tenant-usage: per project, the hours each server ran inside [start, end] and the vCPU,
// RAM and disk hours they add up to (list for admins, one project for its members); paging at 2.40.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Services } from '../../../novabox.ts';
import type { ServerRecord } from '../../../domain/server.ts';
import { BadRequest, NotFound } from '../../../domain/errors.ts';
import { parseIsoTime } from '../schemas/validate.ts';
import { authorize, mv } from '../context.ts';
import { isoMicro, limitMarker, nextLink, params, q1, route, toBool } from './common.ts';

const HOUR = 3_600_000;

function period(svc: Services, req: FastifyRequest): { start: number; end: number } {
  const now = svc.clock.now();
  const parse = (name: string, dflt: number) => {
    const raw = q1(req, name);
    if (raw === undefined) return dflt;
    const t = parseIsoTime(raw.replace(' ', 'T'));
    if (t === null) throw new BadRequest(`Invalid datetime string: ${raw}`);
    return t;
  };
  const end = parse('end', now);
  const start = parse('start', now);
  if (start > end) throw new BadRequest('Invalid start time. The start time cannot occur after the end time.');
  return { start, end };
}

interface TenantUsage {
  tenant_id: string;
  servers: Record<string, unknown>[];
  hours: number;
  gb: number;
  mb: number;
  vcpus: number;
}

/** The servers of the period grouped by project, in the order they were created. */
function usages(svc: Services, servers: ServerRecord[], start: number, end: number): TenantUsage[] {
  const now = svc.clock.now();
  const by = new Map<string, TenantUsage>();
  for (const s of servers) {
    const launched = s.launched_at ?? s.created_at;
    const terminated = s.deleted ? (s.terminated_at ?? s.deleted_at ?? s.updated_at ?? launched) : null;
    const from = Math.max(launched, start);
    const to = Math.min(terminated ?? now, end);
    if (terminated !== null && terminated < start) continue;
    if (launched > end) continue;
    const hours = Math.max(0, to - from) / HOUR;
    const local_gb = s.flavor.root_gb + s.flavor.ephemeral_gb;
    const u = by.get(s.project_id) ?? { tenant_id: s.project_id, servers: [], hours: 0, gb: 0, mb: 0, vcpus: 0 };
    u.hours += hours;
    u.gb += local_gb * hours;
    u.mb += s.flavor.memory_mb * hours;
    u.vcpus += s.flavor.vcpus * hours;
    u.servers.push({
      ended_at: isoMicro(terminated), flavor: s.flavor.name, hours, instance_id: s.uuid, local_gb, memory_mb: s.flavor.memory_mb,
      name: s.display_name, started_at: isoMicro(launched), state: s.deleted ? 'terminated' : s.vm_state, tenant_id: s.project_id,
      uptime: Math.floor(((terminated ?? now) - launched) / 1000), vcpus: s.flavor.vcpus,
    });
    by.set(s.project_id, u);
  }
  return [...by.values()];
}

function view(u: TenantUsage, start: number, end: number, detailed: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {
    start: isoMicro(start), stop: isoMicro(end), tenant_id: u.tenant_id, total_hours: u.hours,
    total_local_gb_usage: u.gb, total_memory_mb_usage: u.mb, total_vcpus_usage: u.vcpus,
  };
  if (detailed) out.server_usages = u.servers;
  return out;
}

export function registerUsage(scope: FastifyInstance, svc: Services): void {
  const servers = (project_id: string | undefined) =>
    svc.engine.listServers({ project_id, deleted: 'include', sort: [{ key: 'created_at', dir: 'asc' }], limit: 1_000_000 });

  route(scope, 'GET', '/os-simple-tenant-usage', async (req) => {
    // Nova's router has no route for a trailing slash (an empty tenant id): 404.
    if (req.url.split('?')[0].endsWith('/')) throw new NotFound('The resource could not be found.');
    authorize(req, 'admin', 'os_compute_api:os-simple-tenant-usage:list');
    const { start, end } = period(svc, req);
    const detailed = toBool(q1(req, 'detailed') ?? '0') === true;
    let rows = usages(svc, await servers(undefined), start, end);
    let links;
    if (mv(req, 40)) {
      const { limit, marker } = limitMarker(req, svc.config.max_limit);
      // 2.40 pages over servers: the marker is the last server uuid of the previous page.
      const flat = rows.flatMap((u) => u.servers.map((s) => ({ u, s })));
      let from = 0;
      if (marker !== undefined) {
        const i = flat.findIndex((x) => x.s.instance_id === marker);
        if (i < 0) throw new BadRequest(`Marker ${marker} could not be found.`);
        from = i + 1;
      }
      const pageRows = flat.slice(from, from + limit);
      const kept = new Set(pageRows.map((x) => x.s));
      rows = rows.map((u) => ({ ...u, servers: u.servers.filter((s) => kept.has(s)) })).filter((u) => u.servers.length);
      const last = pageRows.at(-1)?.s.instance_id as string | undefined;
      links = nextLink(svc, req, 'os-simple-tenant-usage', pageRows, limit, last);
    }
    const out: Record<string, unknown> = { tenant_usages: rows.map((u) => view(u, start, end, detailed)) };
    if (links) out.tenant_usages_links = links;
    return out;
  });

  route(scope, 'GET', '/os-simple-tenant-usage/:tenant_id', async (req) => {
    const tenant = params(req).tenant_id;
    authorize(req, 'reader', 'os_compute_api:os-simple-tenant-usage:show', tenant);
    const { start, end } = period(svc, req);
    const rows = usages(svc, await servers(tenant), start, end);
    const u = rows[0];
    return { tenant_usage: u ? view(u, start, end, true) : {} };
  });
}
