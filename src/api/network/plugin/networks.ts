// Networks and subnets: sharing and external visibility, MTU and provider defaults, CIDR and
// allocation-pool rules (no overlaps on a network, pools inside the CIDR, gateway outside them).
import { NETWORK, SUBNET } from '../../../domain/network/attributes.ts';
import { badRequest, conflict, invalidInput, NeutronFault, policyNotAuthorized } from '../../../domain/network/errors.ts';
import { cidrText, defaultPools, fromBig, hasHostBits, inPools, overlaps, parseCidr, toBig, type Cidr, type Pool } from '../../../domain/network/ip.ts';
import type { Doc, ResourceRow } from '../../../store/network/repository.ts';
import type { Unit } from '../unit.ts';
import { docOf, isOwner, type Handler } from './handler.ts';

/** Device owners whose ports go with their network or subnet (Neutron's AUTO_DELETE_PORT_OWNERS). */
const AUTO_DELETE_OWNERS = ['network:dhcp'];

export async function networkVisible(u: Unit, net: ResourceRow | undefined): Promise<boolean> {
  return !!net && (isOwner(u, net) || net.doc.shared === true || net.doc['router:external'] === true);
}

export async function visibleNetwork(u: Unit, id: string): Promise<ResourceRow> {
  const net = await u.get('network', id);
  if (!net || !(await networkVisible(u, net))) throw new NeutronFault(404, NETWORK.notFound.type, NETWORK.notFound.message(id));
  return net;
}

export const networks: Handler = {
  def: NETWORK,
  visible: networkVisible,
  async create(u, attrs, tags) {
    const doc = docOf(attrs);
    doc.status = 'ACTIVE';
    const external = doc['router:external'] === true;
    doc['provider:network_type'] ??= external ? 'flat' : 'geneve';
    doc['provider:physical_network'] ??= doc['provider:network_type'] === 'flat' || doc['provider:network_type'] === 'vlan' ? 'public' : null;
    if (doc['provider:segmentation_id'] === undefined) {
      const used = (await u.list('network')).map((n) => Number(n.doc['provider:segmentation_id'] ?? 0));
      doc['provider:segmentation_id'] = doc['provider:network_type'] === 'flat' ? null : Math.max(0, ...used) + 1;
    }
    doc.mtu ??= doc['provider:network_type'] === 'geneve' ? 1442 : 1500;
    doc.availability_zones = ['nova'];
    doc.ipv4_address_scope = null;
    doc.ipv6_address_scope = null;
    doc.l2_adjacency = true;
    doc.qos_policy_id = null;
    return u.insert('network', String(attrs.project_id), doc, tags, attrs.id as string | undefined);
  },
  async update(u, row, changes, rev) {
    if (changes.shared === false && row.doc.shared === true) {
      const ports = await u.list('port', { network_id: row.id });
      if (ports.some((p) => p.project_id !== row.project_id && p.project_id !== '' && !String(p.doc.device_owner).startsWith('network:'))) {
        throw conflict('InvalidSharedSetting', `Unable to reconfigure sharing settings for network ${row.id}. Multiple tenants are using it.`);
      }
    }
    return u.save(row, { ...row.doc, ...changes }, rev);
  },
  async delete(u, row) {
    const ports = await u.list('port', { network_id: row.id });
    if (ports.some((p) => !AUTO_DELETE_OWNERS.includes(String(p.doc.device_owner)))) {
      throw conflict('NetworkInUse', `Unable to complete operation on network ${row.id}. There are one or more ports still in use on the network.`);
    }
    for (const p of ports) {
      await u.repo.release(u.tx, p.id);
      await u.remove(p);
    }
    for (const s of await u.list('subnet', { network_id: row.id })) await u.remove(s);
    await u.remove(row);
  },
  async extend(u, row) {
    const subnets = await u.list('subnet', { network_id: row.id });
    return { subnets: subnets.map((s) => s.id) };
  },
};

function checkPools(cidr: Cidr, pools: Pool[], gateway: string | null): void {
  const ranges: [bigint, bigint, Pool][] = [];
  for (const p of pools) {
    const a = toBig(p.start);
    const b = toBig(p.end);
    const inside = (n: bigint) => n >= cidr.network && n <= cidr.last;
    const v = (x: string) => (x.includes(':') ? 6 : 4);
    if (v(p.start) !== cidr.version || v(p.end) !== cidr.version || !inside(a) || !inside(b)) {
      throw new NeutronFault(400, 'OutOfBoundsAllocationPool', `The allocation pool ${p.start}-${p.end} spans beyond the subnet cidr ${cidrText(cidr)}.`);
    }
    if (a > b) throw invalidInput(`Invalid allocation pool ${p.start}-${p.end}`);
    ranges.push([a, b, p]);
  }
  ranges.sort((x, y) => (x[0] < y[0] ? -1 : 1));
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i][0] <= ranges[i - 1][1]) {
      throw new NeutronFault(400, 'OverlappingAllocationPools', `Found overlapping allocation pools: ${ranges[i][2].start}-${ranges[i][2].end} and ${ranges[i - 1][2].start}-${ranges[i - 1][2].end} for subnet ${cidrText(cidr)}.`);
    }
  }
  if (gateway && inPools(pools, toBig(gateway))) {
    const pool = pools.find((p) => inPools([p], toBig(gateway)))!;
    throw conflict('GatewayConflictWithAllocationPools', `Gateway ip ${gateway} conflicts with allocation pool ${pool.start}-${pool.end}`);
  }
}

function checkGateway(cidr: Cidr, gateway: string | null): void {
  if (gateway === null) return;
  const n = toBig(gateway);
  if ((gateway.includes(':') ? 6 : 4) !== cidr.version || n < cidr.network || n > cidr.last) throw invalidInput('Gateway is not valid on subnet');
  if (cidr.version === 4 && cidr.prefix < 31 && (n === cidr.network || n === cidr.last)) throw invalidInput('Gateway is not valid on subnet');
}

export async function subnetVisible(u: Unit, row: ResourceRow): Promise<boolean> {
  if (isOwner(u, row)) return true;
  const net = await u.get('network', String(row.doc.network_id));
  return !!net && (net.doc.shared === true || net.doc['router:external'] === true || isOwner(u, net));
}

export const subnets: Handler = {
  def: SUBNET,
  visible: subnetVisible,
  async create(u, attrs, tags) {
    const net = await visibleNetwork(u, String(attrs.network_id));
    if (!isOwner(u, net)) throw policyNotAuthorized('create_subnet');
    if (attrs.cidr === null) {
      throw new NeutronFault(400, 'BadRequest', 'Bad subnets request: a subnetpool must be specified in the absence of a cidr.');
    }
    const text = String(attrs.cidr);
    const cidr = parseCidr(text)!;
    if (hasHostBits(text)) throw badRequest(`Invalid input for cidr. Reason: '${text}' isn't a recognized IP subnet cidr, '${cidrText(cidr)}' is recommended.`);
    if (cidr.version !== attrs.ip_version) throw invalidInput(`Cidr ${text} does not match IP version ${attrs.ip_version}`);
    if ((cidr.version === 4 && cidr.prefix > 30) || (cidr.version === 6 && cidr.prefix > 126)) {
      throw invalidInput(`Requested subnet with cidr: ${text} for network: ${net.id} is too small`);
    }
    if (cidr.version === 4 && (attrs.ipv6_ra_mode !== null || attrs.ipv6_address_mode !== null)) {
      throw invalidInput('ipv6_ra_mode or ipv6_address_mode cannot be set when enable_dhcp is set to False or ip_version is 4');
    }
    if (attrs.ipv6_ra_mode !== null && attrs.ipv6_address_mode !== null && attrs.ipv6_ra_mode !== attrs.ipv6_address_mode) {
      throw invalidInput(`ipv6_ra_mode set to '${attrs.ipv6_ra_mode}' with ipv6_address_mode set to '${attrs.ipv6_address_mode}' is not valid. If both attributes are set, they must be the same value`);
    }
    for (const other of await u.list('subnet', { network_id: net.id })) {
      if (overlaps(parseCidr(String(other.doc.cidr))!, cidr)) {
        throw invalidInput(`Requested subnet with cidr: ${cidrText(cidr)} for network: ${net.id} overlaps with another subnet`);
      }
    }
    const gateway = attrs.gateway_ip === '' ? fromBig(cidr.version, cidr.network + 1n) : (attrs.gateway_ip as string | null);
    checkGateway(cidr, gateway);
    const pools = (attrs.allocation_pools as Pool[] | null) ?? defaultPools(cidr, gateway);
    checkPools(cidr, pools, gateway);
    if ((attrs.dns_nameservers as unknown[]).length > 5) throw new NeutronFault(400, 'DNSNameServersExhausted', `Unable to complete operation for ${text}. The number of DNS nameservers exceeds the limit 5.`);
    if ((attrs.host_routes as unknown[]).length > 20) throw new NeutronFault(400, 'HostRoutesExhausted', `Unable to complete operation for ${text}. The number of host routes exceeds the limit 20.`);
    const doc = docOf(attrs);
    delete doc.prefixlen;
    delete doc.use_default_subnet_pool;
    Object.assign(doc, { cidr: cidrText(cidr), gateway_ip: gateway, allocation_pools: pools });
    return u.insert('subnet', String(attrs.project_id), doc, tags, attrs.id as string | undefined);
  },
  async update(u, row, changes, rev) {
    const cidr = parseCidr(String(row.doc.cidr))!;
    const next = { ...row.doc, ...changes };
    if ('gateway_ip' in changes) checkGateway(cidr, next.gateway_ip as string | null);
    if ('allocation_pools' in changes || 'gateway_ip' in changes) checkPools(cidr, next.allocation_pools as Pool[], next.gateway_ip as string | null);
    if ((next.dns_nameservers as unknown[]).length > 5) throw new NeutronFault(400, 'DNSNameServersExhausted', `Unable to complete operation for ${row.doc.cidr}. The number of DNS nameservers exceeds the limit 5.`);
    return u.save(row, next, rev);
  },
  async delete(u, row) {
    const held = await u.repo.allocations(u.tx, { subnet_id: row.id });
    for (const a of held) {
      const port = await u.get('port', a.port_id);
      if (port && !AUTO_DELETE_OWNERS.includes(String(port.doc.device_owner))) {
        throw conflict('SubnetInUse', `Unable to complete operation on subnet ${row.id}: One or more ports have an IP allocation from this subnet.`);
      }
    }
    await u.remove(row);
  },
};

export type { Doc };
