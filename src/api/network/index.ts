// Networking v2.0 at /networking (devstack's path): version documents, the extensions served, every
// resource of the attribute maps through the generic controller, router interfaces, quotas, IP
// availability and auto-allocated topology; faults as {"NeutronError": {type, message, detail}}.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../../novabox.ts';
import { DEFAULT_QUOTAS, EXTENSIONS } from '../../domain/network/attributes.ts';
import { badRequest, NeutronFault, notFound, policyNotAuthorized } from '../../domain/network/errors.ts';
import { errorHandler, neutronErrorBody } from '../faults.ts';
import { registerResource, render, visibleRow } from './controller.ts';
import type { Handler } from './plugin/handler.ts';
import type { Unit } from './unit.ts';
import type { ResourceRow } from '../../store/network/repository.ts';
import { networks, subnets } from './plugin/networks.ts';
import { ports } from './plugin/ports.ts';
import { securityGroupRules, securityGroups, ensureDefaultGroup } from './plugin/security-groups.ts';
import { floatingIps, routerInterface, routers } from './plugin/l3.ts';
import { autoAllocatedTopology, deleteAutoAllocatedTopology } from './plugin/auto-allocate.ts';
import { addSubPorts, removeSubPorts, trunks } from './plugin/trunks.ts';
import { poolSize, type Pool } from '../../domain/network/ip.ts';

export const HANDLERS: Handler[] = [networks, subnets, ports, securityGroups, securityGroupRules, routers, floatingIps, trunks];

function neutronError(reply: FastifyReply, status: number, type: string, message: string): FastifyReply {
  return reply.code(status).header('content-type', 'application/json').send(neutronErrorBody(status, message, type));
}

/** Neutron's faults as {"NeutronError": …}; everything else (keystonemiddleware's 401, parse errors) as the app maps it for /networking. */
export function networkErrorHandler(error: unknown, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error instanceof NeutronFault) return neutronError(reply, error.status, error.type, error.message);
  return errorHandler(error, req, reply);
}

export async function registerNetwork(app: FastifyInstance, svc: Services): Promise<void> {
  const net = svc.network;
  await app.register(async (scope) => {
    scope.setErrorHandler(networkErrorHandler);
    scope.setNotFoundHandler((_req, reply) => neutronError(reply, 404, 'HTTPNotFound', 'The resource could not be found.'));
    scope.addHook('onRequest', async (req, reply) => {
      reply.header('x-openstack-request-id', req.requestId);
    });
    // Authentication happens in the app's root hook (isProtectedPath covers /networking/v2.0).
    const versions = () => ({ versions: [{ id: 'v2.0', status: 'CURRENT', links: [{ href: `${net.baseUrl()}/v2.0/`, rel: 'self' }] }] });
    scope.get('/', async () => versions());

    await scope.register(async (v2) => {
      v2.get('/', async () => ({
        resources: HANDLERS.map((h) => ({ name: h.def.member, collection: h.def.collection, links: [{ href: `${net.baseUrl()}/v2.0/${h.def.collection}`, rel: 'self' }] })),
      }));
      const ext = ([alias, name, description]: [string, string, string]) => ({ alias, name, description, updated: '2013-01-20T00:00:00-00:00', links: [] });
      v2.get('/extensions', async () => ({ extensions: EXTENSIONS.map(ext) }));
      v2.get('/extensions/:alias', async (req) => {
        const found = EXTENSIONS.find((e) => e[0] === (req.params as { alias: string }).alias);
        if (!found) throw notFound('HTTPNotFound', `Extension with alias ${(req.params as { alias: string }).alias} does not exist`);
        return { extension: ext(found) };
      });

      // Listing security groups makes the caller's default group, as Neutron does on first use.
      v2.addHook('preHandler', async (req) => {
        if (req.method === 'GET' && /\/security-groups(\?|$)/.test(req.url) && req.auth?.project_id) {
          await net.run(req.auth, (u) => ensureDefaultGroup(u, u.ctx.project_id));
        }
      });
      for (const h of HANDLERS) registerResource(v2, net, h);

      // Member actions (PUT /{collection}/{id}/{action}): the owner's or an admin's, with a body.
      const memberAction = (h: Handler, action: string, run: (u: Unit, row: ResourceRow, body: Record<string, unknown>) => Promise<unknown>) =>
        v2.put(`/${h.def.collection}/:id/${action}`, async (req) =>
          net.write(req, async (u) => {
            const row = await visibleRow(u, h, (req.params as { id: string }).id);
            if (!u.ctx.admin && row.project_id !== u.ctx.project_id) throw policyNotAuthorized(action);
            const body = req.body;
            if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('Resource body required');
            return run(u, row, body as Record<string, unknown>);
          }));
      memberAction(routers, 'add_router_interface', (u, router, body) => routerInterface(u, router, body, true));
      memberAction(routers, 'remove_router_interface', (u, router, body) => routerInterface(u, router, body, false));
      // Trunk sub-ports: add and remove answer the trunk (unwrapped), get_subports its sub-ports.
      for (const [action, change] of [['add_subports', addSubPorts], ['remove_subports', removeSubPorts]] as const) {
        memberAction(trunks, action, async (u, trunk, body) => {
          if (!('sub_ports' in body)) throw badRequest("Failed to parse request. Required attribute 'sub_ports' not specified");
          return render(u, trunks, await change(u, trunk, body.sub_ports));
        });
      }
      v2.get('/trunks/:id/get_subports', async (req) =>
        net.read(req, async (u) => ({ sub_ports: (await visibleRow(u, trunks, (req.params as { id: string }).id)).doc.sub_ports })));

      // Quotas (quotas, quota_details).
      const quotaOf = async (req: FastifyRequest, project_id: string) => net.read(req, async (u) => {
        const out: Record<string, number> = {};
        for (const r of Object.keys(DEFAULT_QUOTAS)) out[r] = await net.quotaLimit(u, project_id, r);
        return out;
      });
      const mayRead = (req: FastifyRequest, project_id: string) => {
        if (req.auth!.project_id !== project_id && !net.context(req.auth!).admin) throw policyNotAuthorized('get_quota');
      };
      const adminOnly = (req: FastifyRequest, rule: string) => {
        if (!net.context(req.auth!).admin) throw policyNotAuthorized(rule);
      };
      v2.get('/quotas', async (req) => {
        adminOnly(req, 'get_quota');
        const rows = await net.read(req, (u) => u.repo.quotas(u.tx));
        const projects = [...new Set(rows.map((r) => r.project_id))];
        return { quotas: await Promise.all(projects.map(async (p) => ({ ...(await quotaOf(req, p)), project_id: p, tenant_id: p }))) };
      });
      v2.get('/quotas/tenant', async (req) => ({ tenant: { tenant_id: req.auth!.project_id } }));
      v2.get('/quotas/project', async (req) => ({ project: { project_id: req.auth!.project_id } }));
      v2.get('/quotas/:project_id', async (req) => {
        const p = (req.params as { project_id: string }).project_id.replace(/\.json$/, '');
        mayRead(req, p);
        return { quota: await quotaOf(req, p) };
      });
      v2.get('/quotas/:project_id/default', async (req) => {
        mayRead(req, (req.params as { project_id: string }).project_id);
        return { quota: { ...DEFAULT_QUOTAS } };
      });
      const details = async (req: FastifyRequest) => {
        const p = (req.params as { project_id: string }).project_id;
        mayRead(req, p);
        const limits = await quotaOf(req, p);
        const kinds: Record<string, string> = { network: 'network', subnet: 'subnet', port: 'port', router: 'router', floatingip: 'floatingip', security_group: 'security_group', security_group_rule: 'security_group_rule' };
        return net.read(req, async (u) => {
          const out: Record<string, { limit: number; used: number; reserved: number }> = {};
          for (const [r, limit] of Object.entries(limits)) out[r] = { limit, used: kinds[r] ? await u.repo.count(u.tx, kinds[r], p) : 0, reserved: 0 };
          return { quota: out };
        });
      };
      v2.get('/quotas/:project_id/details', details);
      v2.get('/quotas/:project_id/details.json', details);
      v2.put('/quotas/:project_id', async (req) => {
        adminOnly(req, 'update_quota');
        const p = (req.params as { project_id: string }).project_id;
        const body = req.body as { quota?: Record<string, unknown> } | undefined;
        if (!body || typeof body.quota !== 'object' || body.quota === null) throw badRequest("Unable to find 'quota' in request body");
        for (const [k, v] of Object.entries(body.quota)) {
          if (!(k in DEFAULT_QUOTAS)) throw badRequest(`Unrecognized attribute(s) '${k}'`);
          const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
          if (typeof n !== 'number' || !Number.isInteger(n) || n < -1) throw badRequest(`Invalid input for ${k}. Reason: '${String(v)}' is not an integer or -1.`);
        }
        await net.write(req, async (u) => {
          for (const [k, v] of Object.entries(body.quota!)) await u.repo.setQuota(u.tx, p, k, Number(v));
        });
        return { quota: await quotaOf(req, p) };
      });
      v2.delete('/quotas/:project_id', async (req, reply) => {
        adminOnly(req, 'delete_quota');
        await net.write(req, (u) => u.repo.deleteQuotas(u.tx, (req.params as { project_id: string }).project_id));
        return reply.code(204).send();
      });

      // Network IP availability (admin only by default policy).
      const availability = async (req: FastifyRequest, only?: string) => net.read(req, async (u) => {
        if (!u.ctx.admin) throw policyNotAuthorized('get_network_ip_availability');
        const out = [];
        for (const n of await u.list('network')) {
          if (only && n.id !== only) continue;
          const subs = await u.list('subnet', { network_id: n.id });
          const per = [];
          for (const s of subs) {
            const used = (await u.repo.allocations(u.tx, { subnet_id: s.id })).length;
            per.push({ subnet_id: s.id, subnet_name: s.doc.name, cidr: s.doc.cidr, ip_version: s.doc.ip_version, total_ips: Number(poolSize(s.doc.allocation_pools as Pool[])), used_ips: used });
          }
          out.push({
            network_id: n.id, network_name: n.doc.name, tenant_id: n.project_id, project_id: n.project_id,
            total_ips: per.reduce((a, s) => a + s.total_ips, 0), used_ips: per.reduce((a, s) => a + s.used_ips, 0), subnet_ip_availability: per,
          });
        }
        if (only && !out.length) throw notFound('NetworkNotFound', `Network ${only} could not be found.`);
        return out;
      });
      v2.get('/network-ip-availabilities', async (req) => {
        const q = req.query as Record<string, string>;
        let list = await availability(req);
        for (const k of ['network_id', 'network_name', 'tenant_id', 'project_id', 'ip_version'] as const) {
          if (q[k] !== undefined) list = list.filter((x) => (k === 'ip_version' ? x.subnet_ip_availability.some((s) => String(s.ip_version) === q[k]) : String(x[k]) === q[k]));
        }
        return { network_ip_availabilities: list };
      });
      v2.get('/network-ip-availabilities/:id', async (req) => ({ network_ip_availability: (await availability(req, (req.params as { id: string }).id))[0] }));

      // Auto-allocated topology: a network, subnet and router for the project on first request (plugin/auto-allocate.ts).
      v2.get('/auto-allocated-topology/:project_id', async (req) => {
        const p = (req.params as { project_id: string }).project_id;
        const fields = [(req.query as { fields?: string | string[] }).fields ?? []].flat();
        return { auto_allocated_topology: await autoAllocatedTopology(net, req.auth!, p, fields) };
      });
      v2.delete('/auto-allocated-topology/:project_id', async (req, reply) => {
        await deleteAutoAllocatedTopology(net, req.auth!, (req.params as { project_id: string }).project_id);
        return reply.code(204).send();
      });
    }, { prefix: '/v2.0' });
  }, { prefix: '/networking' });
}
