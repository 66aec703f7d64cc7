// APIs Nova has removed: every method on them answers 410 Gone with Nova's computeFault, at every
// microversion, whoever asks (Nova routes them to a controller that raises HTTPGone before policy).
import type { FastifyInstance } from 'fastify';
import type { Services } from '../../../novabox.ts';
import { Gone } from '../../../domain/errors.ts';
import { route } from './common.ts';

export const GONE_MESSAGE = 'This resource is no longer available.  No forwarding address is given.';

/** [path, methods]: the XenAPI agents, cells v1, cloudpipe, nova-cert and the nova-network APIs. */
const REMOVED: [string, ('GET' | 'POST' | 'PUT' | 'DELETE')[]][] = [
  ['/os-agents', ['GET', 'POST']],
  ['/os-agents/:id', ['PUT', 'DELETE']],
  ['/os-cells', ['GET', 'POST']],
  ['/os-cells/capacities', ['GET']],
  ['/os-cells/detail', ['GET']],
  ['/os-cells/info', ['GET']],
  ['/os-cells/sync_instances', ['POST']],
  ['/os-cells/:id', ['GET', 'PUT', 'DELETE']],
  ['/os-cells/:id/capacities', ['GET']],
  ['/os-certificates', ['POST']],
  ['/os-certificates/:id', ['GET']],
  ['/os-cloudpipe', ['GET', 'POST']],
  ['/os-cloudpipe/configure-project', ['PUT']],
  ['/os-fping', ['GET']],
  ['/os-fping/:id', ['GET']],
  ['/os-fixed-ips/:id', ['GET']],
  ['/os-fixed-ips/:id/action', ['POST']],
  ['/os-floating-ip-dns', ['GET']],
  ['/os-floating-ip-dns/:domain', ['PUT', 'DELETE']],
  ['/os-floating-ip-dns/:domain/entries/:entry', ['GET', 'PUT', 'DELETE']],
  ['/os-floating-ips-bulk', ['GET', 'POST']],
  ['/os-floating-ips-bulk/:id', ['GET', 'PUT']],
  ['/os-security-group-default-rules', ['GET', 'POST']],
  ['/os-security-group-default-rules/:id', ['GET', 'DELETE']],
  ['/servers/:server_id/consoles', ['GET', 'POST']],
  ['/servers/:server_id/consoles/:id', ['GET', 'DELETE']],
];

export function registerRemoved(scope: FastifyInstance, _svc: Services): void {
  const gone = async () => {
    throw new Gone(GONE_MESSAGE);
  };
  for (const [path, methods] of REMOVED) for (const m of methods) route(scope, m, path, gone);
}
