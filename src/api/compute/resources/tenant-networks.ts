// Nova's network proxy APIs over Neutron (both gone at 2.36): os-tenant-networks (id, label and
// the first IPv4 subnet's cidr) and os-networks (Nova's network_dict over Neutron: id and label
// filled, the other nova-network fields null; admins get the admin field set), listing the networks
// the caller sees in Neutron.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Services } from '../../../novabox.ts';
import { Gone, NotFound } from '../../../domain/errors.ts';
import { isAdmin } from '../../../domain/policy.ts';
import type { ResourceRow } from '../../../store/network/repository.ts';
import { networkVisible } from '../../network/plugin/networks.ts';
import { authorize, mv } from '../context.ts';
import { params, route } from './common.ts';

const FIELDS = ['id', 'cidr', 'netmask', 'gateway', 'broadcast', 'dns1', 'dns2', 'cidr_v6', 'gateway_v6', 'label', 'netmask_v6'];
const ADMIN_FIELDS = [
  'created_at', 'updated_at', 'deleted_at', 'deleted', 'injected', 'bridge', 'vlan', 'vpn_public_address', 'vpn_public_port',
  'vpn_private_address', 'dhcp_start', 'project_id', 'host', 'bridge_interface', 'multi_host', 'priority', 'rxtx_base', 'mtu',
  'dhcp_server', 'enable_dhcp', 'share_address',
];

/** Nova's network_dict: only id and label come from Neutron. */
function networkDict(req: FastifyRequest, net: ResourceRow): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of isAdmin(req.auth!) ? [...FIELDS, ...ADMIN_FIELDS] : FIELDS) out[f] = null;
  out.id = net.id;
  out.label = net.doc.name;
  return out;
}

/** The Neutron networks the caller sees, each with its first IPv4 subnet's CIDR. */
function visibleNetworks(svc: Services, req: FastifyRequest): Promise<{ net: ResourceRow; cidr: string | null }[]> {
  return svc.network.run(req.auth!, async (u) => {
    const out = [];
    for (const net of await u.list('network')) {
      if (!(await networkVisible(u, net))) continue;
      const v4 = (await u.list('subnet', { network_id: net.id })).find((s) => s.doc.ip_version === 4);
      out.push({ net, cidr: v4 ? String(v4.doc.cidr) : null });
    }
    return out;
  });
}

const tenantNetwork = ({ net, cidr }: { net: ResourceRow; cidr: string | null }) => ({ cidr, id: net.id, label: net.doc.name });

const GONE = 'This resource is no longer available.  No forwarding address is given.';

export function registerTenantNetworks(scope: FastifyInstance, svc: Services): void {
  const proxy = (req: FastifyRequest) => {
    if (mv(req, 36)) throw new NotFound('The resource could not be found.');
  };

  route(scope, 'GET', '/os-tenant-networks', async (req) => {
    proxy(req);
    authorize(req, 'reader', 'os_compute_api:os-tenant-networks:list');
    return { networks: (await visibleNetworks(svc, req)).map(tenantNetwork) };
  });
  route(scope, 'GET', '/os-tenant-networks/:network_id', async (req) => {
    proxy(req);
    authorize(req, 'reader', 'os_compute_api:os-tenant-networks:show');
    const found = (await visibleNetworks(svc, req)).find((n) => n.net.id === params(req).network_id);
    if (!found) throw new NotFound(`Network ${params(req).network_id} could not be found.`);
    return { network: tenantNetwork(found) };
  });

  route(scope, 'GET', '/os-networks', async (req) => {
    proxy(req);
    authorize(req, 'reader', 'os_compute_api:os-networks:list');
    return { networks: (await visibleNetworks(svc, req)).map((n) => networkDict(req, n.net)) };
  });
  route(scope, 'GET', '/os-networks/:id', async (req) => {
    proxy(req);
    authorize(req, 'reader', 'os_compute_api:os-networks:show');
    const found = (await visibleNetworks(svc, req)).find((n) => n.net.id === params(req).id);
    if (!found) throw new NotFound('Network not found');
    return { network: networkDict(req, found.net) };
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
