// Auto-allocated topology (Neutron's get-me-a-network): on a project's first request, a network
// `auto_allocated_network` with a subnet, and a router `auto_allocated_router` gatewayed to the
// default external network (`is_default`, devstack's `public`). Asked again, the same network.
// `?fields=dry-run` only checks the requirements. Failures are Neutron's AutoAllocationFailure
// (409, "Deployment error: …"), which Nova turns into its own 400.
import { NeutronFault, policyNotAuthorized } from '../../../domain/network/errors.ts';
import type { Credentials } from '../../../domain/policy.ts';
import type { Doc } from '../../../store/network/repository.ts';
import { prepareBody } from '../controller.ts';
import type { NetworkService } from '../service.ts';
import type { Unit } from '../unit.ts';
import { routerInterface, routers } from './l3.ts';
import { networks, subnets } from './networks.ts';

const NETWORK = 'auto_allocated_network';
const ROUTER = 'auto_allocated_router';
const TAG = 'auto-allocated';
/** Every project's auto-allocated subnet (novabox has no subnet pools to carve it from; projects' address spaces overlap freely, as in Neutron). */
const CIDR = '10.199.0.0/24';

const failure = (reason: string) => new NeutronFault(409, 'AutoAllocationFailure', `Deployment error: ${reason}.`);

async function defaultExternal(u: Unit) {
  const ext = (await u.list('network')).filter((n) => n.doc['router:external'] === true && n.doc.is_default === true);
  if (!ext.length) throw failure('No default router:external network');
  return ext[0];
}

async function find(u: Unit, project_id: string) {
  return (await u.list('network', { project_id })).find((n) => n.tags.includes(TAG));
}

/** Neutron's check: the caller's own project unless admin; 'None' means the caller's. */
function target(u: Unit, project_id: string, action: string): string {
  const p = project_id === 'None' ? u.ctx.project_id : project_id;
  if (p !== u.ctx.project_id && !u.ctx.admin) throw policyNotAuthorized(action);
  return p;
}

export async function autoAllocatedTopology(svc: NetworkService, creds: Credentials, project_id: string, fields: string[] = []): Promise<Doc> {
  return svc.run(creds, async (u) => {
    const p = target(u, project_id, 'get_auto_allocated_topology');
    if (fields.includes('dry-run')) {
      await defaultExternal(u);
      return { id: 'dry-run=pass', tenant_id: p, project_id: p };
    }
    if (fields.length) throw new NeutronFault(400, 'BadRequest', 'Bad auto_allocate request: Unrecognized field.');
    const found = await find(u, p);
    if (found) return { id: found.id, tenant_id: p, project_id: p };
    const ext = await defaultExternal(u);
    // The project's own context: every rule of the plugins applies as if the project made them.
    const mine: Unit = Object.create(u, { ctx: { value: { ...u.ctx, project_id: p } } });
    const net = await networks.create(mine, prepareBody(mine, networks.def, { network: { name: NETWORK, shared: false } }, true), [TAG]);
    const sub = await subnets.create(mine, prepareBody(mine, subnets.def, { subnet: { name: 'auto_allocated_subnet_v4', network_id: net.id, ip_version: 4, cidr: CIDR } }, true), []);
    const router = await routers.create(mine, prepareBody(mine, routers.def, { router: { name: ROUTER, external_gateway_info: { network_id: ext.id } } }, true), [TAG]);
    await routerInterface(mine, router, { subnet_id: sub.id }, true);
    return { id: net.id, tenant_id: p, project_id: p };
  });
}

/** Tears the project's topology down (router, subnets, network); nothing to do is not an error. */
export async function deleteAutoAllocatedTopology(svc: NetworkService, creds: Credentials, project_id: string): Promise<void> {
  await svc.run(creds, async (u) => {
    const p = target(u, project_id, 'delete_auto_allocated_topology');
    const net = await find(u, p);
    if (!net) return;
    for (const r of (await u.list('router', { project_id: p })).filter((x) => x.tags.includes(TAG))) {
      for (const s of await u.list('subnet', { network_id: net.id })) {
        if ((await u.list('port', { device_id: r.id })).some((x) => (x.doc.fixed_ips as { subnet_id: string }[]).some((f) => f.subnet_id === s.id))) await routerInterface(u, r, { subnet_id: s.id }, false);
      }
      await routers.delete(u, r);
    }
    await networks.delete(u, net);
  });
}
