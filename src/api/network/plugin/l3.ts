// Routers (external gateway port, interfaces on subnets) and floating IPs (a port on an external
// network, associated to a fixed IPv4 of a port whose subnet a router joins to that network).
import { FLOATINGIP, NETWORK, PORT, ROUTER } from '../../../domain/network/attributes.ts';
import { badRequest, conflict, NeutronFault, notFound, policyNotAuthorized } from '../../../domain/network/errors.ts';
import { overlaps, parseCidr } from '../../../domain/network/ip.ts';
import type { Doc, ResourceRow } from '../../../store/network/repository.ts';
import { newId, type Unit } from '../unit.ts';
import { docOf, isOwner, type Handler } from './handler.ts';
import { createPort, deletePort, portVisible, type FixedIp } from './ports.ts';

const GATEWAY = 'network:router_gateway';
const INTERFACE = 'network:router_interface';

async function routerPorts(u: Unit, router_id: string, owner: string): Promise<ResourceRow[]> {
  return (await u.list('port', { device_id: router_id })).filter((p) => p.doc.device_owner === owner);
}

async function setGateway(u: Unit, router: { id: string; project_id: string }, info: Doc | null): Promise<void> {
  const current = (await routerPorts(u, router.id, GATEWAY))[0];
  if (current && info && info.network_id === current.doc.network_id && info.external_fixed_ips === undefined) return;
  if (current) {
    const fips = (await u.list('floatingip')).filter((f) => f.doc.router_id === router.id && f.doc.floating_network_id === current.doc.network_id);
    if (fips.length && (!info || info.network_id !== current.doc.network_id)) {
      throw conflict('RouterExternalGatewayInUseByFloatingIp', `Gateway cannot be updated for router ${router.id}, since a gateway to external network ${current.doc.network_id} is required by one or more floating IPs.`);
    }
    await u.repo.release(u.tx, current.id);
    await u.remove(current);
  }
  if (!info || info.network_id === undefined) return;
  if (typeof info.network_id !== 'string') throw badRequest(`Invalid input for external_gateway_info. Reason: '${JSON.stringify(info.network_id)}' is not a valid UUID.`);
  const net = await u.get('network', info.network_id);
  if (!net) throw new NeutronFault(404, NETWORK.notFound.type, NETWORK.notFound.message(info.network_id));
  if (net.doc['router:external'] !== true) throw new NeutronFault(400, 'BadRequest', `Bad router request: Network ${info.network_id} is not an external network.`);
  await createPort(u, {
    network_id: net.id, project_id: '', device_id: router.id, device_owner: GATEWAY, admin_state_up: true, name: '',
    fixed_ips: info.external_fixed_ips as FixedIp[] | undefined, security_groups: [], port_security_enabled: false,
  }, [], { trusted: true });
}

async function gatewayInfo(u: Unit, router: ResourceRow): Promise<Doc | null> {
  const gw = (await routerPorts(u, router.id, GATEWAY))[0];
  if (!gw) return null;
  return { network_id: gw.doc.network_id, enable_snat: router.doc.enable_snat !== false, external_fixed_ips: gw.doc.fixed_ips };
}

function checkGatewayPolicy(u: Unit, info: Doc | null, action: string): void {
  if (!info || u.ctx.admin) return;
  if (info.enable_snat !== undefined) throw policyNotAuthorized(`${action}:external_gateway_info:enable_snat`);
  if (info.external_fixed_ips !== undefined) throw policyNotAuthorized(`${action}:external_gateway_info:external_fixed_ips`);
}

export const routers: Handler = {
  def: ROUTER,
  visible: async (u, row) => isOwner(u, row),
  async create(u, attrs, tags) {
    const info = attrs.external_gateway_info as Doc | null;
    checkGatewayPolicy(u, info, 'create_router');
    const doc = docOf(attrs);
    delete doc.external_gateway_info;
    Object.assign(doc, { status: 'ACTIVE', routes: [], distributed: false, ha: false, availability_zones: ['nova'], flavor_id: null, enable_snat: info?.enable_snat ?? true });
    const id = (attrs.id as string | undefined) ?? newId();
    await setGateway(u, { id, project_id: String(attrs.project_id) }, info);
    return u.insert('router', String(attrs.project_id), doc, tags, id);
  },
  async update(u, row, changes, rev) {
    const next = { ...row.doc, ...changes };
    if ('external_gateway_info' in changes) {
      const info = changes.external_gateway_info as Doc | null;
      checkGatewayPolicy(u, info, 'update_router');
      await setGateway(u, row, info && Object.keys(info).length ? info : null);
      next.enable_snat = info?.enable_snat ?? true;
      delete next.external_gateway_info;
    }
    return u.save(row, next, rev);
  },
  async delete(u, row) {
    if ((await routerPorts(u, row.id, INTERFACE)).length) throw conflict('RouterInUse', `Router ${row.id} still has ports`);
    await setGateway(u, row, null);
    await u.remove(row);
  },
  async extend(u, row) {
    return { external_gateway_info: await gatewayInfo(u, row) };
  },
};

/** PUT /routers/{id}/add_router_interface and remove_router_interface. */
export async function routerInterface(u: Unit, router: ResourceRow, body: Doc, add: boolean): Promise<Doc> {
  const subnet_id = body.subnet_id as string | undefined;
  const port_id = body.port_id as string | undefined;
  if (subnet_id && port_id && add) throw badRequest('Cannot specify both subnet-id and port-id');
  if (!subnet_id && !port_id) throw badRequest('Either subnet_id or port_id must be specified');
  const interfaces = await routerPorts(u, router.id, INTERFACE);
  const answer = (p: ResourceRow) => {
    const ids = (p.doc.fixed_ips as FixedIp[]).map((f) => f.subnet_id);
    return { id: router.id, tenant_id: router.project_id, project_id: router.project_id, port_id: p.id, network_id: p.doc.network_id, subnet_id: ids[0], subnet_ids: ids };
  };
  if (!add) {
    const port = port_id
      ? interfaces.find((p) => p.id === port_id)
      : interfaces.find((p) => (p.doc.fixed_ips as FixedIp[]).some((f) => f.subnet_id === subnet_id));
    if (!port) {
      if (port_id) throw notFound('RouterInterfaceNotFound', `Router ${router.id} does not have an interface with id ${port_id}`);
      throw notFound('RouterInterfaceNotFoundForSubnet', `Router ${router.id} has no interface on subnet ${subnet_id}`);
    }
    const subnets = (port.doc.fixed_ips as FixedIp[]).map((f) => f.subnet_id);
    for (const f of await u.list('floatingip')) {
      if (f.doc.router_id !== router.id || !f.doc.port_id) continue;
      const fixed = await u.get('port', String(f.doc.port_id));
      if (fixed && (fixed.doc.fixed_ips as FixedIp[]).some((x) => subnets.includes(x.subnet_id) && x.ip_address === f.doc.fixed_ip_address)) {
        throw conflict('RouterInterfaceInUseByFloatingIP', `Router interface for subnet ${subnets[0]} on router ${router.id} cannot be deleted, as it is required by one or more floating IPs.`);
      }
    }
    const out = answer(port);
    await deletePort(u, port);
    return out;
  }
  const taken = new Set(interfaces.flatMap((p) => (p.doc.fixed_ips as FixedIp[]).map((f) => f.subnet_id)));
  const checkOverlap = async (sid: string) => {
    const s = (await u.get('subnet', sid))!;
    const c = parseCidr(String(s.doc.cidr))!;
    for (const other of taken) {
      const o = await u.get('subnet', other);
      if (o && o.id !== s.id && overlaps(parseCidr(String(o.doc.cidr))!, c)) {
        throw new NeutronFault(400, 'BadRequest', `Bad router request: Cidr ${s.doc.cidr} of subnet ${s.id} overlaps with cidr ${o.doc.cidr} of subnet ${o.id}.`);
      }
    }
  };
  if (port_id) {
    const port = await u.get('port', port_id);
    if (!port || !(await portVisible(u, port))) throw new NeutronFault(404, PORT.notFound.type, PORT.notFound.message(port_id));
    if (port.doc.device_id) throw conflict('PortInUse', `Unable to complete operation on port ${port.id} for network ${port.doc.network_id}. Port already has an attached device ${port.doc.device_id}.`);
    const fixed = port.doc.fixed_ips as FixedIp[];
    if (!fixed.length) throw new NeutronFault(400, 'BadRequest', `Bad router request: Router port must have at least one fixed IP.`);
    for (const f of fixed) await checkOverlap(f.subnet_id);
    const saved = await u.save(port, { ...port.doc, device_id: router.id, device_owner: INTERFACE, status: 'ACTIVE' });
    return answer(saved);
  }
  const subnet = await u.get('subnet', subnet_id!);
  if (!subnet || !(await (async () => isOwner(u, subnet) || !!(await u.get('network', String(subnet.doc.network_id)))?.doc.shared)())) {
    throw new NeutronFault(404, 'SubnetNotFound', `Subnet ${subnet_id} could not be found.`);
  }
  if (!subnet.doc.gateway_ip) throw new NeutronFault(400, 'BadRequest', 'Bad router request: Subnet for router interface must have a gateway IP.');
  if (taken.has(subnet.id)) throw new NeutronFault(400, 'BadRequest', `Bad router request: Router already has a port on subnet ${subnet.id}.`);
  await checkOverlap(subnet.id);
  const port = await createPort(u, {
    network_id: subnet.doc.network_id, project_id: router.project_id, device_id: router.id, device_owner: INTERFACE, name: '', admin_state_up: true,
    fixed_ips: [{ subnet_id: subnet.id, ip_address: String(subnet.doc.gateway_ip) }], security_groups: [], port_security_enabled: false,
  }, [], { trusted: true });
  return answer(port);
}

/** The router that joins the fixed IP's subnet to the external network, or Neutron's 404. */
async function routerFor(u: Unit, fip: Doc, port: ResourceRow, fixed: FixedIp): Promise<string> {
  for (const r of await u.list('router')) {
    const gw = (await routerPorts(u, r.id, GATEWAY))[0];
    if (!gw || gw.doc.network_id !== fip.floating_network_id) continue;
    const ifaces = await routerPorts(u, r.id, INTERFACE);
    if (ifaces.some((p) => (p.doc.fixed_ips as FixedIp[]).some((f) => f.subnet_id === fixed.subnet_id))) return r.id;
  }
  throw notFound('ExternalGatewayForFloatingIPNotFound', `External network ${fip.floating_network_id} is not reachable from subnet ${fixed.subnet_id}.  Therefore, cannot associate Port ${port.id} with a Floating IP.`);
}

async function associate(u: Unit, fipId: string, fip: Doc, project_id: string, port_id: string | null, fixed_ip: string | null): Promise<Doc> {
  if (!port_id) return { ...fip, port_id: null, fixed_ip_address: null, router_id: null, status: 'DOWN' };
  const port = await u.get('port', port_id);
  if (!port || !(port.project_id === project_id || u.ctx.admin)) throw new NeutronFault(404, PORT.notFound.type, PORT.notFound.message(port_id));
  const v4 = (port.doc.fixed_ips as FixedIp[]).filter((f) => !f.ip_address.includes(':'));
  let fixed: FixedIp | undefined;
  if (fixed_ip) {
    fixed = v4.find((f) => f.ip_address === fixed_ip);
    if (!fixed) throw new NeutronFault(400, 'BadRequest', `Bad floatingip request: Port ${port_id} does not have fixed ip ${fixed_ip}.`);
  } else {
    if (!v4.length) throw new NeutronFault(400, 'BadRequest', `Bad floatingip request: Port ${port_id} does not have any IPv4 address. Cannot associate with a floating IP.`);
    if (v4.length > 1) throw new NeutronFault(400, 'BadRequest', `Bad floatingip request: Port ${port_id} has multiple fixed IPv4 addresses. Must provide a specific IPv4 address when assigning a floating IP.`);
    fixed = v4[0];
  }
  const other = (await u.list('floatingip')).find((f) => f.id !== fipId && f.doc.port_id === port_id && f.doc.fixed_ip_address === fixed!.ip_address && f.doc.floating_network_id === fip.floating_network_id);
  if (other) {
    throw conflict('FloatingIPPortAlreadyAssociated', `Cannot associate floating IP ${fip.floating_ip_address} (${fipId}) with port ${port_id} using fixed IP ${fixed.ip_address}, as that fixed IP already has a floating IP on external network ${fip.floating_network_id}.`);
  }
  const router_id = await routerFor(u, fip, port, fixed);
  u.touch('port', port.doc);
  return { ...fip, port_id, fixed_ip_address: fixed.ip_address, router_id, status: 'ACTIVE' };
}

async function portDetails(u: Unit, port_id: unknown): Promise<Doc | null> {
  if (!port_id) return null;
  const p = await u.get('port', String(port_id));
  if (!p) return null;
  const d = p.doc;
  return { name: d.name, network_id: d.network_id, mac_address: d.mac_address, admin_state_up: d.admin_state_up, status: d.status, device_id: d.device_id, device_owner: d.device_owner };
}

export const floatingIps: Handler = {
  def: FLOATINGIP,
  visible: async (u, row) => isOwner(u, row),
  async create(u, attrs, tags) {
    const netId = String(attrs.floating_network_id);
    const net = await u.get('network', netId);
    if (!net) throw new NeutronFault(404, NETWORK.notFound.type, NETWORK.notFound.message(netId));
    if (net.doc['router:external'] !== true) throw new NeutronFault(400, 'BadRequest', `Bad floatingip request: Network ${netId} is not a valid external network.`);
    const id = newId();
    const request: FixedIp[] | undefined = attrs.floating_ip_address || attrs.subnet_id
      ? [{ ...(attrs.subnet_id ? { subnet_id: String(attrs.subnet_id) } : {}), ...(attrs.floating_ip_address ? { ip_address: String(attrs.floating_ip_address) } : {}) } as FixedIp]
      : undefined;
    let fport: ResourceRow;
    try {
      fport = await createPort(u, { network_id: netId, project_id: '', device_id: id, device_owner: 'network:floatingip', name: '', admin_state_up: true, fixed_ips: request, security_groups: [], port_security_enabled: false }, [], { trusted: true });
    } catch (e) {
      if (e instanceof NeutronFault && e.type === 'IpAddressInUse') throw conflict('IpAddressInUse', e.message);
      throw e;
    }
    const address = (fport.doc.fixed_ips as FixedIp[]).find((f) => !f.ip_address.includes(':')) ?? (fport.doc.fixed_ips as FixedIp[])[0];
    if (!address) throw conflict('IpAddressGenerationFailure', `No more IP addresses available on network ${netId}.`);
    let doc: Doc = { ...docOf(attrs), floating_ip_address: address.ip_address, floating_network_id: netId, subnet_id: undefined, port_id: null, fixed_ip_address: null, router_id: null, status: 'DOWN', dns_domain: '', dns_name: '', port_forwardings: [], qos_policy_id: null };
    delete doc.subnet_id;
    doc = await associate(u, id, doc, String(attrs.project_id), attrs.port_id as string | null, attrs.fixed_ip_address as string | null);
    return u.insert('floatingip', String(attrs.project_id), doc, tags, id);
  },
  async update(u, row, changes, rev) {
    let next = { ...row.doc, ...changes };
    if ('port_id' in changes || 'fixed_ip_address' in changes) {
      const old = row.doc.port_id ? await u.get('port', String(row.doc.port_id)) : undefined;
      if (old) u.touch('port', old.doc);
      next = await associate(u, row.id, next, row.project_id, (next.port_id as string | null) ?? null, 'fixed_ip_address' in changes ? (changes.fixed_ip_address as string | null) : null);
    }
    return u.save(row, next, rev);
  },
  async delete(u, row) {
    if (row.doc.port_id) {
      const p = await u.get('port', String(row.doc.port_id));
      if (p) u.touch('port', p.doc);
    }
    for (const p of await u.list('port', { device_id: row.id })) {
      await u.repo.release(u.tx, p.id);
      await u.remove(p);
    }
    await u.remove(row);
  },
  async extend(u, row) {
    return { port_details: await portDetails(u, row.doc.port_id) };
  },
};
