// Ports: MAC addresses unique per network, fixed IPs allocated from the network's subnets without
// collisions (the allocation table's key refuses a second holder), SLAAC addresses from the MAC,
// security groups (the project's default group when none are named), port security, allowed
// address pairs, and binding: a port with a host is ACTIVE, without one DOWN.
import { randomBytes } from 'node:crypto';
import { NETWORK, PORT, SECURITY_GROUP } from '../../../domain/network/attributes.ts';
import { badRequest, conflict, invalidInput, NeutronFault, policyNotAuthorized } from '../../../domain/network/errors.ts';
import { contains, eui64, normalizeIp, parseCidr, toBig, type Pool } from '../../../domain/network/ip.ts';
import type { Doc, ResourceRow } from '../../../store/network/repository.ts';
import { newId, type Unit } from '../unit.ts';
import { docOf, isOwner, type Handler } from './handler.ts';
import { visibleNetwork } from './networks.ts';
import { ensureDefaultGroup } from './security-groups.ts';
import { checkPortDeletable, followParent } from './trunks.ts';

export interface FixedIp {
  subnet_id: string;
  ip_address: string;
}

const isSlaac = (s: ResourceRow) => s.doc.ip_version === 6 && (s.doc.ipv6_address_mode === 'slaac' || s.doc.ipv6_address_mode === 'dhcpv6-stateless');
const networkOwned = (owner: unknown) => String(owner ?? '').startsWith('network:');

/** Whether a port of the network already has this MAC (an index lookup, not a scan of the ports). */
async function macInUse(u: Unit, network_id: string, mac_address: string): Promise<boolean> {
  return (await u.list('port', { network_id, mac_address })).length > 0;
}

async function randomMac(u: Unit, network_id: string): Promise<string> {
  for (;;) {
    const b = randomBytes(3);
    const mac = `fa:16:3e:${[...b].map((x) => x.toString(16).padStart(2, '0')).join(':')}`;
    if (!(await macInUse(u, network_id, mac))) return mac;
  }
}

/**
 * Allocates the addresses `requested` asks for on `network_id` (Neutron's IPAM): entries with an
 * address claim it, entries with only a subnet take its first free address, and no request at all
 * takes one address from the first IPv4 subnet with room plus every SLAAC subnet.
 */
export async function allocateIps(u: Unit, network_id: string, port_id: string, mac: string, requested: { subnet_id?: string; ip_address?: string }[] | undefined): Promise<FixedIp[]> {
  const subnets = await u.list('subnet', { network_id });
  const out: FixedIp[] = [];
  const claim = async (s: ResourceRow, ip: string) => {
    if (!(await u.repo.allocate(u.tx, { subnet_id: s.id, ip_address: ip, network_id, port_id }))) {
      throw conflict('IpAddressInUse', `Unable to complete operation for network ${network_id}. The IP address ${ip} is in use.`);
    }
    out.push({ subnet_id: s.id, ip_address: ip });
  };
  const pick = async (s: ResourceRow): Promise<string | null> => {
    if (isSlaac(s)) return eui64(parseCidr(String(s.doc.cidr))!, mac);
    const gateway = s.doc.gateway_ip ? String(s.doc.gateway_ip) : null;
    return u.repo.firstFreeIp(u.tx, { subnet_id: s.id, version: s.doc.ip_version as 4 | 6, pools: s.doc.allocation_pools as Pool[], gateway });
  };
  if (requested === undefined) {
    let v4 = false;
    for (const s of subnets) {
      if (s.doc.ip_version === 4 && v4) continue;
      const ip = await pick(s);
      if (ip === null) continue;
      await claim(s, ip);
      if (s.doc.ip_version === 4) v4 = true;
    }
    if (subnets.some((s) => s.doc.ip_version === 4) && !v4) throw conflict('IpAddressGenerationFailure', `No more IP addresses available on network ${network_id}.`);
    return out;
  }
  for (const r of requested) {
    let s: ResourceRow | undefined;
    if (r.subnet_id) {
      s = subnets.find((x) => x.id === r.subnet_id);
      if (!s) {
        if (!(await u.get('subnet', r.subnet_id))) throw new NeutronFault(404, 'SubnetNotFound', `Subnet ${r.subnet_id} could not be found.`);
        throw invalidInput(`Failed to create port on network ${network_id}, because fixed_ips included invalid subnet ${r.subnet_id}`);
      }
    }
    if (r.ip_address) {
      const ip = normalizeIp(r.ip_address)!;
      const n = toBig(ip);
      const v = ip.includes(':') ? 6 : 4;
      s ??= subnets.find((x) => contains(parseCidr(String(x.doc.cidr))!, v, n));
      if (!s || !contains(parseCidr(String(s.doc.cidr))!, v, n)) {
        if (!s) throw invalidInput(`IP address ${r.ip_address} is not a valid IP for any of the subnets on the specified network`);
        throw new NeutronFault(400, 'InvalidIpForSubnet', `IP address ${r.ip_address} is not a valid IP for the specified subnet.`);
      }
      await claim(s, ip);
      continue;
    }
    const ip = await pick(s!);
    if (ip === null) throw conflict('IpAddressGenerationFailure', `No more IP addresses available on network ${network_id}.`);
    await claim(s!, ip);
  }
  return out;
}

async function checkGroups(u: Unit, project_id: string, ids: string[]): Promise<void> {
  for (const id of ids) {
    const g = await u.get('security_group', id);
    if (!g || (g.project_id !== project_id && !u.ctx.admin)) throw new NeutronFault(404, SECURITY_GROUP.notFound.type, SECURITY_GROUP.notFound.message(id));
  }
}

function bindingOf(host: string): Doc {
  return host
    ? { status: 'ACTIVE', 'binding:vif_type': 'ovs', 'binding:vif_details': { port_filter: true, connectivity: 'l2', bridge_name: 'br-int', datapath_type: 'system', bound_drivers: { '0': 'ovn' } } }
    : { status: 'DOWN', 'binding:vif_type': 'unbound', 'binding:vif_details': {} };
}

function dnsAssignment(ips: FixedIp[], dnsName: string): Doc[] {
  return ips.map((f) => {
    const host = dnsName || `host-${f.ip_address.replace(/[.:]/g, '-')}`;
    return { ip_address: f.ip_address, hostname: host, fqdn: `${host}.openstacklocal.` };
  });
}

/** Creates a port from already-validated attributes; routers, floating IPs and Nova call it too. */
export async function createPort(u: Unit, attrs: Doc, tags: string[] = [], opts: { trusted?: boolean } = {}): Promise<ResourceRow> {
  const net = opts.trusted ? await u.need(NETWORK, String(attrs.network_id)) : await visibleNetwork(u, String(attrs.network_id));
  const netOwner = opts.trusted || isOwner(u, net);
  const project_id = String(attrs.project_id ?? u.ctx.project_id);
  const owner = String(attrs.device_owner ?? '');
  if (networkOwned(owner) && !netOwner && owner !== 'network:router_interface') throw policyNotAuthorized('create_port:device_owner');
  if (attrs.mac_address !== undefined && !netOwner) throw policyNotAuthorized('create_port:mac_address');
  const fixedRequested = attrs.fixed_ips as { subnet_id?: string; ip_address?: string }[] | undefined;
  if (fixedRequested?.some((f) => f.ip_address) && !netOwner) throw policyNotAuthorized('create_port:fixed_ips:ip_address');
  let mac = attrs.mac_address as string | undefined;
  if (mac !== undefined) {
    mac = mac.toLowerCase().replace(/-/g, ':');
    if (await macInUse(u, net.id, mac)) throw conflict('MacAddressInUse', `Unable to complete operation for network ${net.id}. The mac address ${mac} is in use.`);
  } else {
    mac = await randomMac(u, net.id);
  }
  const portSecurity = (attrs.port_security_enabled as boolean | undefined) ?? (net.doc.port_security_enabled !== false);
  let groups = attrs.security_groups as string[] | undefined;
  if (groups === undefined) {
    groups = portSecurity && !networkOwned(owner) && project_id ? [(await ensureDefaultGroup(u, project_id)).id] : [];
  } else {
    await checkGroups(u, project_id, groups);
  }
  if (!portSecurity && groups.length > 0) {
    throw badRequest('Port security must be enabled and port must have an IP address in order to use security groups.');
  }
  if (!portSecurity && ((attrs.allowed_address_pairs as unknown[] | undefined) ?? []).length > 0) {
    throw conflict('AddressPairAndPortSecurityRequired', 'Port Security must be enabled in order to have allowed address pairs on a port.');
  }
  const id = String(attrs.id ?? newId());
  const fixed_ips = await allocateIps(u, net.id, id, mac, fixedRequested);
  const host = String(attrs['binding:host_id'] ?? '');
  const doc: Doc = {
    name: '', description: '', admin_state_up: true, device_id: '', device_owner: '', allowed_address_pairs: [], extra_dhcp_opts: [],
    'binding:host_id': '', 'binding:profile': {}, 'binding:vnic_type': 'normal', dns_name: '', propagate_uplink_status: false,
    ...docOf(attrs),
    network_id: net.id, mac_address: mac, fixed_ips, security_groups: groups, port_security_enabled: portSecurity,
    ip_allocation: 'immediate', qos_policy_id: null,
    dns_assignment: dnsAssignment(fixed_ips, String(attrs.dns_name ?? '')),
    ...bindingOf(host),
  };
  if (owner === 'network:floatingip') doc.status = 'N/A';
  else if (networkOwned(owner)) doc.status = 'ACTIVE';
  return u.insert('port', project_id, doc, tags, id);
}

export async function portVisible(u: Unit, row: ResourceRow): Promise<boolean> {
  if (isOwner(u, row)) return true;
  const net = await u.get('network', String(row.doc.network_id));
  return !!net && isOwner(u, net);
}

export async function updatePort(u: Unit, row: ResourceRow, changes: Doc, rev?: number): Promise<ResourceRow> {
  const net = (await u.get('network', String(row.doc.network_id)))!;
  const netOwner = isOwner(u, net);
  const next: Doc = { ...row.doc, ...changes };
  if ('mac_address' in changes && changes.mac_address !== row.doc.mac_address) {
    if (!netOwner) throw policyNotAuthorized('update_port:mac_address');
    if (row.doc['binding:host_id']) {
      throw conflict('PortBound', `Unable to complete operation on port ${row.id}, port is already bound, port type: ovs, old_mac ${row.doc.mac_address}, new_mac ${changes.mac_address}.`);
    }
  }
  if ('fixed_ips' in changes) {
    const wanted = changes.fixed_ips as { subnet_id?: string; ip_address?: string }[];
    if (wanted.some((f) => f.ip_address) && !netOwner) throw policyNotAuthorized('update_port:fixed_ips:ip_address');
    const current = row.doc.fixed_ips as FixedIp[];
    const keep = current.filter((c) => wanted.some((w) => w.ip_address && normalizeIp(w.ip_address) === c.ip_address && (!w.subnet_id || w.subnet_id === c.subnet_id)));
    await u.repo.release(u.tx, row.id, keep);
    const fresh = wanted.filter((w) => !keep.some((k) => w.ip_address && normalizeIp(w.ip_address) === k.ip_address));
    const added = fresh.length ? await allocateIps(u, net.id, row.id, String(next.mac_address), fresh) : [];
    next.fixed_ips = [...keep, ...added];
    next.dns_assignment = dnsAssignment(next.fixed_ips as FixedIp[], String(next.dns_name ?? ''));
  }
  if ('security_groups' in changes) await checkGroups(u, row.project_id, changes.security_groups as string[]);
  if (next.port_security_enabled === false && (next.security_groups as string[]).length > 0) {
    throw conflict('PortSecurityPortHasSecurityGroup', 'Port has security group associated. Cannot disable port security or IP address until security group is removed');
  }
  if (next.port_security_enabled === false && (next.allowed_address_pairs as unknown[]).length > 0) {
    throw conflict('AddressPairAndPortSecurityRequired', 'Port Security must be enabled in order to have allowed address pairs on a port.');
  }
  const rebound = 'binding:host_id' in changes && !networkOwned(next.device_owner);
  if (rebound) Object.assign(next, bindingOf(String(next['binding:host_id'] ?? '')));
  const saved = await u.save(row, next, rev);
  // A trunk's parent takes its sub-ports along to its host (or off it).
  if (rebound && changes['binding:host_id'] !== row.doc['binding:host_id']) await followParent(u, saved);
  return saved;
}

/** Deletes a port and everything hanging on it (its addresses, floating IP associations). */
export async function deletePort(u: Unit, row: ResourceRow): Promise<void> {
  for (const f of await u.list('floatingip')) {
    if (f.doc.port_id === row.id) await u.save(f, { ...f.doc, port_id: null, fixed_ip_address: null, router_id: null, status: 'DOWN' });
  }
  await u.repo.release(u.tx, row.id);
  await u.remove(row);
}

export const ports: Handler = {
  def: PORT,
  visible: portVisible,
  async mayModify(u, row) {
    return portVisible(u, row);
  },
  create: (u, attrs, tags) => createPort(u, attrs, tags),
  update: updatePort,
  async delete(u, row) {
    const owner = String(row.doc.device_owner);
    if (['network:router_interface', 'network:router_gateway', 'network:floatingip', 'network:router_interface_distributed', 'network:ha_router_replicated_interface'].includes(owner)) {
      throw conflict('L3PortInUse', `Port ${row.id} has owner ${owner} and therefore cannot be deleted directly via the port API.`);
    }
    await checkPortDeletable(u, row.id);
    await deletePort(u, row);
  },
};
