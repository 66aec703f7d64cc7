// os-interface: a server's ports as interface attachments (list, show, attach, detach), over the
// same Neutron ports server create makes. Attaching makes (or binds) a port and plugs it on the
// server's host, so the port is ACTIVE before the answer, as Nova waits for network-vif-plugged;
// detaching deletes a port Nova made and unbinds one it was given. Both are instance actions
// (attach_interface / detach_interface) with their compute_* event, as Nova records them.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Services } from '../../../novabox.ts';
import { BadRequest, Conflict, NotFound } from '../../../domain/errors.ts';
import type { ServerRecord } from '../../../domain/server.ts';
import type { ResourceRow } from '../../../store/network/repository.ts';
import { NeutronFault } from '../../../domain/network/errors.ts';
import { deletePort, updatePort } from '../../network/plugin/ports.ts';
import { authorize, ctxOf, mv } from '../context.ts';
import { isComputePort, MADE_BY_NOVA, novaCreds, plug, TAG, validateNetworks, type Nic } from '../server-network.ts';
import { params, route } from './common.ts';

export function registerInterfaces(scope: FastifyInstance, svc: Services): void {
  const server = async (req: FastifyRequest, policy: 'reader' | 'member', rule: string): Promise<ServerRecord> => {
    const s = await svc.engine.getServer(ctxOf(req), params(req).server_id);
    authorize(req, policy, rule, s.project_id);
    return s;
  };
  const view = (req: FastifyRequest, p: ResourceRow) => ({
    net_id: p.doc.network_id, port_id: p.id, mac_addr: p.doc.mac_address, port_state: p.doc.status,
    fixed_ips: (p.doc.fixed_ips as { subnet_id: string; ip_address: string }[]).map((f) => ({ subnet_id: f.subnet_id, ip_address: f.ip_address })),
    ...(mv(req, 70) ? { tag: (p.doc[TAG] as string | null | undefined) ?? null } : {}),
  });
  const ports = (s: ServerRecord) => svc.network.run(novaCreds(s.project_id), async (u) => (await u.list('port', { device_id: s.uuid })).filter(isComputePort));
  route(scope, 'GET', '/servers/:server_id/os-interface', async (req) => {
    const s = await server(req, 'reader', 'os_compute_api:os-attach-interfaces:list');
    return { interfaceAttachments: (await ports(s)).map((p) => view(req, p)) };
  });

  route(scope, 'GET', '/servers/:server_id/os-interface/:port_id', async (req) => {
    const s = await server(req, 'reader', 'os_compute_api:os-attach-interfaces:show');
    const p = (await ports(s)).find((x) => x.id === params(req).port_id);
    if (!p) throw new NotFound(`Instance ${s.uuid} does not have a port with id ${params(req).port_id}`);
    return { interfaceAttachment: view(req, p) };
  });

  route(scope, 'POST', '/servers/:server_id/os-interface', async (req) => {
    const s = await server(req, 'member', 'os_compute_api:os-attach-interfaces:create');
    const body = (req.body ?? {}) as { interfaceAttachment?: Record<string, unknown> };
    const att = body.interfaceAttachment ?? {};
    if (typeof att !== 'object' || att === null || Array.isArray(att)) throw new BadRequest('Invalid input for field/attribute interfaceAttachment.');
    const net_id = att.net_id as string | undefined;
    const port_id = att.port_id as string | undefined;
    const fixed = (att.fixed_ips as { ip_address?: string }[] | undefined) ?? [];
    const tag = att.tag as string | undefined;
    if (net_id && port_id) throw new BadRequest('Must not input both network_id and port_id');
    if (fixed.length && !net_id) throw new BadRequest('Must input network_id when request IP address');
    return svc.engine.interfaceAction(ctxOf(req), s.uuid, 'attach_interface', async (cur) => {
      let nics: Nic[];
      try {
        nics = await validateNetworks(svc, req.auth!, [2, 37], port_id ? [{ port: port_id, tag }] : net_id ? [{ uuid: net_id, fixed_ip: fixed[0]?.ip_address, tag }] : 'auto', 1);
      } catch (e) {
        // Nova answers a missing network or port here with 404 (it is a 400 at server create).
        if (e instanceof BadRequest && / could not be found\.$/.test(e.message)) throw new NotFound(e.message);
        throw e;
      }
      if (!nics.length) throw new BadRequest('Failed to attach network adapter device to instance');
      try {
        const port = await svc.network.run(novaCreds(cur.project_id), (u) => plug(u, cur, nics[0], []));
        return { interfaceAttachment: view(req, port) };
      } catch (e) {
        if (e instanceof NeutronFault && e.status === 409) throw new Conflict(e.message);
        if (e instanceof NeutronFault) throw new BadRequest(e.message);
        throw e;
      }
    });
  });

  route(scope, 'DELETE', '/servers/:server_id/os-interface/:port_id', async (req, reply) => {
    const s = await server(req, 'member', 'os_compute_api:os-attach-interfaces:delete');
    const id = params(req).port_id;
    await svc.engine.interfaceAction(ctxOf(req), s.uuid, 'detach_interface', (cur) => svc.network.run(novaCreds(cur.project_id), async (u) => {
      const p = (await u.list('port', { device_id: cur.uuid })).filter(isComputePort).find((x) => x.id === id);
      if (!p) throw new NotFound(`Port ${id} is not attached`);
      if (p.doc[MADE_BY_NOVA] === true) await deletePort(u, p);
      else await updatePort(u, p, { device_id: '', device_owner: '', 'binding:host_id': '', [TAG]: null });
    }));
    return reply.code(202).send();
  });
}
