// Auto-allocated topology (Neutron's get-me-a-network): on a project's first request, a network
// `auto_allocated_network`, a subnet and a router gatewayed to the default external network.
import { badRequest, NeutronFault, policyNotAuthorized } from '../../../domain/network/errors.ts';
import type { Credentials } from '../../../domain/policy.ts';
import type { Doc } from '../../../store/network/repository.ts';
import { prepareBody } from '../controller.ts';
import type { NetworkService } from '../service.ts';
import type { Unit } from '../unit.ts';
import { routerInterface, routers } from './l3.ts';
import { networks, subnets } from './networks.ts';
import { deletePort } from './ports.ts';

const NAME = 'auto_allocated_network';

async function defaultExternal(u: Unit) {
  const ext = (await u.list('network')).filter((n) => n.doc['router:external'] === true && n.doc.is_default === true);
  if (!ext.length) throw new NeutronFault(404, 'AutoAllocationFailure', 'Deployment error: Unable to provide external connectivity.');
  return ext[0];
}

async function find(u: Unit, project_id: string) {
  return (await u.list('network', { project_id })).find((n) => n.doc.name === NAME && n.tags.includes('auto-allocated'));
}

export async function autoAllocatedTopology(svc: NetworkService, creds: Credentials, project_id: string, dryRun: boolean): Promise<Doc> {
  return svc.run(creds, async (u) => {
    if (project_id !== u.ctx.project_id && !u.ctx.admin) throw policyNotAuthorized('get_auto_allocated_topology');
    const ext = await defaultExternal(u);
    if (dryRun) return { 'dry-run': 'dry-run=pass' };
    const found = await find(u, project_id);
    if (found) return { id: found.id, tenant_id: project_id, project_id };
    // The project's own context: every rule of the plugins applies as if the project made them.
    const mine: Unit = Object.create(u, { ctx: { value: { ...u.ctx, project_id } } });
    const net = await networks.create(mine, prepareBody(mine, networks.def, { network: { name: NAME } }, true), ['auto-allocated']);
    const sub = await subnets.create(mine, prepareBody(mine, subnets.def, { subnet: { name: NAME, network_id: net.id, ip_version: 4, cidr: '10.199.0.0/24' } }, true), []);
    const router = await routers.create(mine, prepareBody(mine, routers.def, { router: { name: NAME, external_gateway_info: { network_id: ext.id } } }, true), ['auto-allocated']);
    await routerInterface(mine, router, { subnet_id: sub.id }, true);
    return { id: net.id, tenant_id: project_id, project_id };
  });
}

export async function deleteAutoAllocatedTopology(svc: NetworkService, creds: Credentials, project_id: string): Promise<void> {
  await svc.run(creds, async (u) => {
    if (project_id !== u.ctx.project_id && !u.ctx.admin) throw policyNotAuthorized('delete_auto_allocated_topology');
    const net = await find(u, project_id);
    if (!net) throw badRequest(`Unable to find auto-allocated topology for project ${project_id}`);
    for (const r of (await u.list('router', { project_id })).filter((x) => x.tags.includes('auto-allocated'))) {
      for (const p of await u.list('port', { device_id: r.id })) await deletePort(u, p);
      await u.remove(r);
    }
    await networks.delete(u, net);
  });
}
