// os-hosts (2.1–2.42; 404 from 2.43): every service's host with its zone, a compute host's resources
// (total, used now, used at most, per project), enable/disable and maintenance, power actions.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Services } from '../../../novabox.ts';
import { NotFound } from '../../../domain/errors.ts';
import { authorize, mv } from '../context.ts';
import { params, q1, route, validate } from './common.ts';
import { RESERVED_HOST_MEMORY_MB, services } from './infra.ts';

const MODE = { type: 'string', enum: ['enable', 'disable', 'Enable', 'Disable', 'ENABLE', 'DISABLE'] };
const UPDATE = {
  type: 'object', additionalProperties: false, anyOf: [{ required: ['status'] }, { required: ['maintenance_mode'] }],
  properties: { status: MODE, maintenance_mode: MODE },
};

export function registerHosts(scope: FastifyInstance, svc: Services): void {
  const gate = (req: FastifyRequest, rule: string) => {
    if (mv(req, 43)) throw new NotFound('The resource could not be found.');
    authorize(req, 'admin', `os_compute_api:os-hosts:${rule}`);
  };
  const computeHost = async (name: string) => {
    const h = (await svc.engine.listHosts()).find((x) => x.name === name);
    if (!h) throw new NotFound(`Compute host ${name} could not be found.`);
    return h;
  };

  route(scope, 'GET', '/os-hosts', async (req) => {
    gate(req, 'list');
    const zone = q1(req, 'zone');
    const all = (await services(svc)).filter((s) => !zone || s.zone === zone);
    return { hosts: all.map((s) => ({ host_name: s.host, service: s.binary.replace(/^nova-/, ''), zone: s.zone })) };
  });

  route(scope, 'GET', '/os-hosts/:host', async (req) => {
    gate(req, 'show');
    const name = params(req).host;
    await computeHost(name);
    const cfg = svc.config.hosts.find((c) => c.name === name) ?? { vcpus: 0, memory_mb: 0, local_gb: 0 };
    const rows = (await svc.infra.hostUsage.perHostAndProject()).filter((r) => r.host === name);
    const sum = (k: 'vcpus' | 'memory_mb' | 'disk_gb') => rows.reduce((n, r) => n + r[k], 0);
    const resource = (project: string, cpu: number, memory_mb: number, disk_gb: number) => ({ resource: { cpu, disk_gb, host: name, memory_mb, project } });
    return {
      host: [
        resource('(total)', cfg.vcpus, cfg.memory_mb, cfg.local_gb),
        resource('(used_now)', sum('vcpus'), RESERVED_HOST_MEMORY_MB + sum('memory_mb'), sum('disk_gb')),
        resource('(used_max)', sum('vcpus'), sum('memory_mb'), sum('disk_gb')),
        ...rows.map((r) => resource(r.project_id, r.vcpus, r.memory_mb, r.disk_gb)),
      ],
    };
  });

  route(scope, 'PUT', '/os-hosts/:host', async (req) => {
    gate(req, 'update');
    const body = validate<{ status?: string; maintenance_mode?: string }>(UPDATE, req.body ?? {});
    const name = params(req).host;
    await computeHost(name);
    const out: Record<string, string> = { host: name };
    if (body.status !== undefined) {
      const enable = body.status.toLowerCase() === 'enable';
      await svc.engine.setHost(name, { disabled: !enable, disabled_reason: null });
      out.status = enable ? 'enabled' : 'disabled';
    }
    // The simulated hypervisor accepts maintenance mode as Nova's fake driver does.
    if (body.maintenance_mode !== undefined) out.maintenance_mode = body.maintenance_mode.toLowerCase() === 'enable' ? 'on_maintenance' : 'off_maintenance';
    return out;
  });

  for (const action of ['reboot', 'shutdown', 'startup'] as const) {
    route(scope, 'GET', `/os-hosts/:host/${action}`, async (req) => {
      gate(req, action === 'reboot' ? 'reboot' : action === 'shutdown' ? 'shutdown' : 'start');
      const name = params(req).host;
      await computeHost(name);
      return { host: name, power_action: action };
    });
  }
}
