// Compute resources other than servers and their actions. Registered inside the authenticated
// /compute/v2.1 scope; every route exists with and without a leading /{project_id} segment.
import type { FastifyInstance } from 'fastify';
import type { Services } from '../../../novabox.ts';
import { registerFlavors } from './flavors.ts';
import { registerKeypairs } from './keypairs.ts';
import { registerQuotas } from './quotas.ts';
import { registerServerGroups } from './server-groups.ts';
import { registerInfra } from './infra.ts';
import { registerTenantNetworks } from './tenant-networks.ts';
import { registerServerSubResources } from './server-sub.ts';
import { registerImages } from './images.ts';
import { registerSecurityGroups } from './security-groups.ts';
import { registerVolumes } from './volumes.ts';
import { registerExtensions } from './extensions.ts';
import { registerRemoved } from './removed.ts';
import { registerAggregates } from './aggregates.ts';
import { registerHosts } from './hosts.ts';
import { registerUsage } from './usage.ts';
import { registerAuditLog } from './audit-log.ts';
import { registerQuotaClasses } from './quota-classes.ts';
import { registerExternalEvents } from './external-events.ts';
import { registerInterfaces } from './interfaces.ts';
import { registerFloatingIps } from './floating-ips.ts';

export async function registerComputeResources(scope: FastifyInstance, svc: Services): Promise<void> {
  registerFlavors(scope, svc);
  registerKeypairs(scope, svc);
  registerQuotas(scope, svc);
  registerServerGroups(scope, svc);
  registerInfra(scope, svc);
  registerTenantNetworks(scope, svc);
  registerServerSubResources(scope, svc);
  registerImages(scope, svc);
  registerSecurityGroups(scope, svc);
  registerVolumes(scope, svc);
  registerExtensions(scope, svc);
  registerRemoved(scope, svc);
  registerAggregates(scope, svc);
  registerHosts(scope, svc);
  registerUsage(scope, svc);
  registerAuditLog(scope, svc);
  registerQuotaClasses(scope, svc);
  registerExternalEvents(scope, svc);
  registerInterfaces(scope, svc);
  registerFloatingIps(scope, svc);
}
