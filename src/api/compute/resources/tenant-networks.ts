// os-tenant-networks: each project's simulated `private` network (a nova-network proxy API, gone at 2.36).
import type { FastifyInstance } from 'fastify';
import type { Services } from '../../../novabox.ts';
import { NotFound } from '../../../domain/errors.ts';
import { PRIVATE_NETWORK, privateNetworkId } from '../network.ts';
import { authorize, mv } from '../context.ts';
import { params, route } from './common.ts';

/** The subnet the engine allocates fixed IPv4 addresses from (10.x.y.z). */
export const PRIVATE_CIDR = '10.0.0.0/8';

export function privateNetwork(project_id: string): { cidr: string; id: string; label: string } {
  return { cidr: PRIVATE_CIDR, id: privateNetworkId(project_id), label: PRIVATE_NETWORK };
}

export function registerTenantNetworks(scope: FastifyInstance, _svc: Services): void {
  route(scope, 'GET', '/os-tenant-networks', async (req) => {
    if (mv(req, 36)) throw new NotFound('The resource could not be found.');
    authorize(req, 'reader', 'os_compute_api:os-tenant-networks:list');
    return { networks: [privateNetwork(req.auth!.project_id ?? '')] };
  });
  route(scope, 'GET', '/os-tenant-networks/:network_id', async (req) => {
    if (mv(req, 36)) throw new NotFound('The resource could not be found.');
    authorize(req, 'reader', 'os_compute_api:os-tenant-networks:show');
    const net = privateNetwork(req.auth!.project_id ?? '');
    if (params(req).network_id !== net.id) throw new NotFound(`Network ${params(req).network_id} could not be found.`);
    return { network: net };
  });
}
