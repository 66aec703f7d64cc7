// Nova's floating IP proxy over Neutron (2.1–2.35): os-floating-ips (list, show, allocate from a
// pool, release), os-floating-ip-pools (the external networks), and the addFloatingIp /
// removeFloatingIp server actions (to 2.43), all on the same floating IPs Neutron serves.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Services } from '../../../novabox.ts';
import { BadRequest, Conflict, Forbidden, NotFound } from '../../../domain/errors.ts';
import type { ServerRecord } from '../../../domain/server.ts';
import { NeutronFault } from '../../../domain/network/errors.ts';
import type { ResourceRow } from '../../../store/network/repository.ts';
import { createResource } from '../../network/controller.ts';
import { floatingIps } from '../../network/plugin/l3.ts';
import type { FixedIp } from '../../network/plugin/ports.ts';
import type { Unit } from '../../network/unit.ts';
import { isComputePort } from '../server-network.ts';
import { authorize, mv } from '../context.ts';
import { params, route } from './common.ts';

/** devstack's [neutron] default_floating_pool. */
const DEFAULT_POOL = 'public';

function view(u: Unit, f: ResourceRow, pools: Map<string, string>, ports: Map<string, ResourceRow>): Record<string, unknown> {
  const port = f.doc.port_id ? ports.get(String(f.doc.port_id)) : undefined;
  return {
    id: f.id, ip: f.doc.floating_ip_address, pool: pools.get(String(f.doc.floating_network_id)) ?? null,
    fixed_ip: f.doc.fixed_ip_address ?? null, instance_id: port && isComputePort(port) ? port.doc.device_id : null,
  };
}

async function lookups(u: Unit): Promise<{ pools: Map<string, string>; ports: Map<string, ResourceRow> }> {
  const pools = new Map((await u.list('network')).filter((n) => n.doc['router:external'] === true).map((n) => [n.id, String(n.doc.name)]));
  const ports = new Map((await u.list('port')).map((p) => [p.id, p]));
  return { pools, ports };
}

const mine = async (u: Unit) => (await u.list('floatingip')).filter((f) => f.project_id === u.ctx.project_id);

export function registerFloatingIps(scope: FastifyInstance, svc: Services): void {
  const gone = (req: FastifyRequest) => {
    if (mv(req, 36)) throw new NotFound('The resource could not be found.');
  };

  route(scope, 'GET', '/os-floating-ip-pools', async (req) => {
    gone(req);
    authorize(req, 'reader', 'os_compute_api:os-floating-ip-pools');
    const names = await svc.network.run(req.auth!, async (u) => [...(await lookups(u)).pools.values()]);
    return { floating_ip_pools: names.map((name) => ({ name })) };
  });

  route(scope, 'GET', '/os-floating-ips', async (req) => {
    gone(req);
    authorize(req, 'reader', 'os_compute_api:os-floating-ips:list');
    return svc.network.run(req.auth!, async (u) => {
      const l = await lookups(u);
      return { floating_ips: (await mine(u)).map((f) => view(u, f, l.pools, l.ports)) };
    });
  });

  route(scope, 'GET', '/os-floating-ips/:id', async (req) => {
    gone(req);
    authorize(req, 'reader', 'os_compute_api:os-floating-ips:show');
    return svc.network.run(req.auth!, async (u) => {
      const f = (await mine(u)).find((x) => x.id === params(req).id);
      if (!f) throw new NotFound(`Floating IP not found for ID ${params(req).id}`);
      const l = await lookups(u);
      return { floating_ip: view(u, f, l.pools, l.ports) };
    });
  });

  route(scope, 'POST', '/os-floating-ips', async (req) => {
    gone(req);
    authorize(req, 'member', 'os_compute_api:os-floating-ips:create');
    const pool = ((req.body as { pool?: unknown } | undefined)?.pool as string | undefined) ?? DEFAULT_POOL;
    return svc.network.run(req.auth!, async (u) => {
      const l = await lookups(u);
      // Nova finds the pool by name or by network id.
      const netId = [...l.pools].find(([id, name]) => name === pool || id === pool)?.[0];
      if (!netId) throw new NotFound('Floating IP pool not found.');
      let f: ResourceRow;
      try {
        f = await createResource(u, svc.network, floatingIps, { floating_network_id: netId });
      } catch (e) {
        if (e instanceof NeutronFault && e.type === 'IpAddressGenerationFailure') throw new NotFound(`No more floating IPs in pool ${pool}.`);
        if (e instanceof NeutronFault && e.type === 'OverQuota') throw new Forbidden(`IP allocation over quota in pool ${pool}.`);
        throw e;
      }
      return { floating_ip: view(u, f, l.pools, l.ports) };
    });
  });

  route(scope, 'DELETE', '/os-floating-ips/:id', async (req, reply) => {
    gone(req);
    authorize(req, 'member', 'os_compute_api:os-floating-ips:delete');
    await svc.network.run(req.auth!, async (u) => {
      const f = (await mine(u)).find((x) => x.id === params(req).id);
      if (!f) throw new NotFound(`Floating IP not found for ID ${params(req).id}`);
      await floatingIps.delete(u, f);
    });
    return reply.code(202).send();
  });
}

/** addFloatingIp / removeFloatingIp on a server: Neutron's association of the address to the server's port. */
export async function floatingIpAction(svc: Services, req: FastifyRequest, s: ServerRecord, add: boolean, address: string, fixed_address?: string): Promise<void> {
  await svc.network.run(req.auth!, async (u) => {
    const f = (await mine(u)).find((x) => x.doc.floating_ip_address === address);
    if (!f) throw new NotFound(`floating IP not found`);
    const ports = (await u.list('port', { device_id: s.uuid })).filter(isComputePort);
    if (!add) {
      if (!f.doc.port_id || !ports.some((p) => p.id === f.doc.port_id)) throw new Conflict(`Floating IP ${address} is not associated with instance ${s.uuid}.`);
      await floatingIps.update(u, f, { port_id: null });
      return;
    }
    const fixed = ports.flatMap((p) => (p.doc.fixed_ips as FixedIp[]).map((x) => ({ port: p, ip: x.ip_address })));
    if (!fixed.length) throw new BadRequest('No nw_info cache associated with instance');
    let target = fixed.find((x) => !x.ip.includes(':'));
    if (fixed_address) {
      target = fixed.find((x) => x.ip === fixed_address);
      if (!target) throw new BadRequest('Specified fixed address not assigned to instance');
    }
    if (!target) throw new BadRequest(`Unable to associate floating IP ${address} to any fixed IPs for instance ${s.uuid}. Instance has no fixed IPv4 addresses to associate.`);
    try {
      await floatingIps.update(u, f, { port_id: target.port.id, fixed_ip_address: target.ip });
    } catch (e) {
      if (e instanceof NeutronFault) throw new BadRequest(`Unable to associate floating IP ${address} to fixed IP ${target.ip} for instance ${s.uuid}. Error: ${e.message}`);
      throw e;
    }
  });
}
