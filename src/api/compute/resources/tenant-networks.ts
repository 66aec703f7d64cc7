// The simulated `private` network through Nova's network proxy APIs (both gone at 2.36):
// os-tenant-networks (id, label, cidr) and os-networks (Nova's network_dict over Neutron: id and
// label filled, the other nova-network fields null; admins get the admin field set).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Services } from '../../../novabox.ts';
import { Gone, NotFound } from '../../../domain/errors.ts';
import { isAdmin } from '../../../domain/policy.ts';
import { PRIVATE_NETWORK, PRIVATE_NETWORK_ID } from '../network.ts';
import { authorize, mv } from '../context.ts';
import { params, route } from './common.ts';

/** The subnet the engine allocates fixed IPv4 addresses from (10.x.y.z). */
export const PRIVATE_CIDR = '10.0.0.0/8';

export function privateNetwork(): { cidr: string; id: string; label: string } {
  return { cidr: PRIVATE_CIDR, id: PRIVATE_NETWORK_ID, label: PRIVATE_NETWORK };
}

const FIELDS = ['id', 'cidr', 'netmask', 'gateway', 'broadcast', 'dns1', 'dns2', 'cidr_v6', 'gateway_v6', 'label', 'netmask_v6'];
const ADMIN_FIELDS = [
  'created_at', 'updated_at', 'deleted_at', 'deleted', 'injected', 'bridge', 'vlan', 'vpn_public_address', 'vpn_public_port',
  'vpn_private_address', 'dhcp_start', 'project_id', 'host', 'bridge_interface', 'multi_host', 'priority', 'rxtx_base', 'mtu',
  'dhcp_server', 'enable_dhcp', 'share_address',
];

/** Nova's network_dict: only id and label come from Neutron. */
function networkDict(req: FastifyRequest): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of isAdmin(req.auth!) ? [...FIELDS, ...ADMIN_FIELDS] : FIELDS) out[f] = null;
  out.id = PRIVATE_NETWORK_ID;
  out.label = PRIVATE_NETWORK;
  return out;
}

const GONE = 'This resource is no longer available.  No forwarding address is given.';

export function registerTenantNetworks(scope: FastifyInstance, _svc: Services): void {
  const proxy = (req: FastifyRequest) => {
    if (mv(req, 36)) throw new NotFound('The resource could not be found.');
  };

  route(scope, 'GET', '/os-tenant-networks', async (req) => {
    proxy(req);
    authorize(req, 'reader', 'os_compute_api:os-tenant-networks:list');
    return { networks: [privateNetwork()] };
  });
  route(scope, 'GET', '/os-tenant-networks/:network_id', async (req) => {
    proxy(req);
    authorize(req, 'reader', 'os_compute_api:os-tenant-networks:show');
    const net = privateNetwork();
    if (params(req).network_id !== net.id) throw new NotFound(`Network ${params(req).network_id} could not be found.`);
    return { network: net };
  });

  route(scope, 'GET', '/os-networks', async (req) => {
    proxy(req);
    authorize(req, 'reader', 'os_compute_api:os-networks:list');
    return { networks: [networkDict(req)] };
  });
  route(scope, 'GET', '/os-networks/:id', async (req) => {
    proxy(req);
    authorize(req, 'reader', 'os_compute_api:os-networks:show');
    if (params(req).id !== PRIVATE_NETWORK_ID) throw new NotFound('Network not found');
    return { network: networkDict(req) };
  });
  // nova-network's network management, removed in Nova 21.0.0: 410 at every microversion.
  const removed = async () => {
    throw new Gone(GONE);
  };
  route(scope, 'POST', '/os-networks', removed);
  route(scope, 'POST', '/os-networks/add', removed);
  route(scope, 'DELETE', '/os-networks/:id', removed);
  route(scope, 'POST', '/os-networks/:id/action', removed);
}
