// Nova on top of Neutron (nova/network/neutron.py's role): the `networks` of a server create are
// checked against Neutron before the engine accepts the server, then ports are made (or existing ones
// bound) with device owner compute:<az>; ports follow the server's host (bound → ACTIVE); ports Nova
// made go when the server goes, ports it was given are unbound and kept; a server's `addresses` are
// its ports' fixed IPs and their floating IPs, refreshed whenever Neutron changes them (Nova's
// network info cache and Neutron's network-changed event).
import type { Services } from '../../novabox.ts';
import type { Credentials } from '../../domain/policy.ts';
import type { FixedAddress, ServerRecord } from '../../domain/server.ts';
import type { NetworkRequest } from '../../engine/types.ts';
import { BadRequest, Conflict, Forbidden, NotFound } from '../../domain/errors.ts';
import { NeutronFault } from '../../domain/network/errors.ts';
import { isAdmin } from '../../domain/policy.ts';
import type { ResourceRow } from '../../store/network/repository.ts';
import { atLeast } from '../microversion.ts';
import type { Unit } from '../network/unit.ts';
import { createPort, deletePort, portVisible, updatePort, type FixedIp } from '../network/plugin/ports.ts';
import { networkVisible, subnetVisible } from '../network/plugin/networks.ts';
import { ensureDefaultGroup } from '../network/plugin/security-groups.ts';
import { autoAllocatedTopology } from '../network/plugin/auto-allocate.ts';
import { isOwner } from '../network/plugin/handler.ts';

/** One NIC of a server: a network to make a port on, or a port to bind. */
export interface Nic {
  network_id: string;
  port_id?: string;
  fixed_ip?: string;
  tag?: string;
}

/** Hidden port keys (not in the attribute map, so never rendered): who made it and its device tag. */
const MADE_BY_NOVA = 'nova_created';
const TAG = 'nova_tag';

/** Nova acts on ports with its own service credentials (it binds hosts, which is admin-only). */
const novaCreds = (project_id: string): Credentials => ({ user_id: 'nova', project_id, roles: ['admin'] });

const isComputePort = (p: ResourceRow) => String(p.doc.device_owner ?? '').startsWith('compute:');

/**
 * Nova's _get_available_networks: the networks a project boots on when it names none are its own
 * unshared ones (only those up when auto-allocating: a topology being built is not yet) and the
 * shared ones. External networks are not left out: an admin project owning `public` boots on it.
 */
async function availableNetworks(u: Unit, autoAllocate: boolean): Promise<ResourceRow[]> {
  const out: ResourceRow[] = [];
  for (const n of await u.list('network')) {
    const own = n.project_id === u.ctx.project_id && n.doc.shared !== true && (!autoAllocate || n.doc.admin_state_up === true);
    if (own || n.doc.shared === true) out.push(n);
  }
  return out;
}

/**
 * Nova's validate_networks: every network and port exists for the caller and can be used. With no
 * networks named (before 2.37, or 'auto'): the one available network; more than one is ambiguous
 * (409); none boots without NICs before 2.37, and with 'auto' gets the project's auto-allocated
 * topology, after Neutron's dry run says it can be made (else Nova's 400).
 */
export async function validateNetworks(svc: Services, creds: Credentials, microversion: [number, number], networks: NetworkRequest, maxCount: number): Promise<Nic[]> {
  if (networks === 'none') return [];
  const userCreds = creds;
  if (networks === 'auto') {
    const explicit = atLeast(microversion, 37);
    const found = await svc.network.run(userCreds, (u) => availableNetworks(u, explicit));
    if (found.length > 1) throw new Conflict('Multiple possible networks found, use a Network ID to be more specific.');
    if (found.length === 1) {
      const net = found[0];
      if (net.doc['router:external'] === true && net.doc.shared !== true && !isAdmin(creds)) {
        throw new Forbidden(`It is not allowed to create an interface on external network ${net.id}`);
      }
      return [{ network_id: net.id }];
    }
    if (!explicit) return [];
    const project = creds.project_id ?? '';
    const unable = () => new BadRequest(`Unable to automatically allocate a network for project ${project}`);
    // Neutron's 409s (no default external network…) are Nova's UnableToAutoAllocateNetwork.
    const allocate = async (fields: string[]) => {
      try {
        return await autoAllocatedTopology(svc.network, userCreds, project, fields);
      } catch (e) {
        if (e instanceof NeutronFault && e.status === 409) throw unable();
        throw e;
      }
    };
    await allocate(['dry-run']);
    // Nova's compute makes the topology while building the first server; here before any is accepted,
    // so every server of a multiple create lands on the one network.
    const topo = await allocate([]);
    return [{ network_id: String(topo.id) }];
  }
  return svc.network.run(userCreds, async (u) => {
    const nics: Nic[] = [];
    for (const item of networks) {
      if (item.port) {
        const port = await u.get('port', item.port);
        if (!port || !(isOwner(u, port) || u.ctx.admin)) throw new BadRequest(`Port id ${item.port} could not be found.`);
        if (port.doc.device_id) throw new Conflict(`Port ${item.port} is still in use.`);
        if (!(port.doc.fixed_ips as FixedIp[]).length) throw new BadRequest(`Port ${item.port} requires a FixedIP in order to be used.`);
        if (maxCount > 1) throw new BadRequest('Unable to launch multiple instances with a single configured port ID. Please launch your instance one by one with different ports.');
        nics.push({ network_id: String(port.doc.network_id), port_id: port.id, tag: item.tag });
        continue;
      }
      const net = await u.get('network', item.uuid!);
      if (!net || !(await networkVisible(u, net))) throw new BadRequest(`Network ${item.uuid} could not be found.`);
      if (!(await u.list('subnet', { network_id: net.id })).length) throw new BadRequest(`Network ${net.id} requires a subnet in order to boot instances on.`);
      if (item.fixed_ip) {
        const holder = (await u.repo.allocations(u.tx, { network_id: net.id })).find((a) => a.ip_address === item.fixed_ip);
        if (holder) {
          const p = await u.get('port', holder.port_id);
          throw new BadRequest(`Fixed IP address ${item.fixed_ip} is already in use on instance ${p?.doc.device_id || holder.port_id}.`);
        }
      }
      nics.push({ network_id: net.id, fixed_ip: item.fixed_ip, tag: item.tag });
    }
    return nics;
  });
}

/** Makes or binds one port for `server`; returns it. */
async function plug(u: Unit, server: ServerRecord, nic: Nic, sgIds: string[]): Promise<ResourceRow> {
  const owner = `compute:${server.availability_zone ?? 'nova'}`;
  const host = server.host ?? '';
  if (nic.port_id) {
    const port = (await u.get('port', nic.port_id))!;
    return updatePort(u, port, { device_id: server.uuid, device_owner: owner, 'binding:host_id': host, [MADE_BY_NOVA]: false, [TAG]: nic.tag ?? null });
  }
  const net = (await u.get('network', nic.network_id))!;
  const security = net.doc.port_security_enabled !== false;
  return createPort(u, {
    network_id: nic.network_id, project_id: server.project_id, device_id: server.uuid, device_owner: owner, name: '', admin_state_up: true,
    'binding:host_id': host, ...(nic.fixed_ip ? { fixed_ips: [{ ip_address: nic.fixed_ip }] } : {}),
    ...(security ? { security_groups: sgIds.length ? sgIds : [(await ensureDefaultGroup(u, server.project_id)).id] } : {}),
    [MADE_BY_NOVA]: true, [TAG]: nic.tag ?? null,
  }, [], { trusted: true });
}

const ALLOCATION_SLICE_MS = 8;

/** After the engine accepted the servers: their ports, then their addresses. */
export async function allocateForServers(svc: Services, servers: ServerRecord[], nics: Nic[], sgIds: string[]): Promise<void> {
  let slice = performance.now();
  for (const s of servers) {
    if (!nics.length) continue;
    // A multi-create makes hundreds of ports: every few ms other requests get their turn (the
    // units of work only await the lock and SQLite, so without this nothing else would run).
    if (performance.now() - slice > ALLOCATION_SLICE_MS) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      slice = performance.now();
    }
    // The server may already be on a host (instant transitions): bind to where it is now.
    const current = (await svc.engine.store.getServer(s.uuid)) ?? s;
    // A port that cannot be made now (a race for the last address) leaves the server without it,
    // as a failed allocation leaves Nova's instance; the request itself still succeeds.
    await svc.network.run(novaCreds(s.project_id), async (u) => {
      for (const nic of nics) await plug(u, current, nic, sgIds);
    }).catch((e: unknown) => process.emitWarning(`port allocation for ${s.uuid} failed: ${e instanceof Error ? e.message : String(e)}`));
  }
}

/** A server's addresses from its ports: fixed IPs, then each one's floating IP (OS-EXT-IPS:type). */
export async function networkInfo(u: Unit, server_uuid: string): Promise<FixedAddress[]> {
  const ports = (await u.list('port', { device_id: server_uuid })).filter(isComputePort);
  const fips = ports.length ? (await u.list('floatingip')).filter((f) => ports.some((p) => p.id === f.doc.port_id)) : [];
  const out: FixedAddress[] = [];
  for (const p of ports) {
    const net = await u.get('network', String(p.doc.network_id));
    const network = String(net?.doc.name || p.doc.network_id);
    const mac = String(p.doc.mac_address);
    for (const f of p.doc.fixed_ips as FixedIp[]) {
      out.push({ network, version: f.ip_address.includes(':') ? 6 : 4, addr: f.ip_address, mac, type: 'fixed' });
      for (const fip of fips.filter((x) => x.doc.port_id === p.id && x.doc.fixed_ip_address === f.ip_address)) {
        out.push({ network, version: 4, addr: String(fip.doc.floating_ip_address), mac, type: 'floating' });
      }
    }
  }
  return out;
}

/** The server's compute ports the caller sees in Neutron (Nova lists them with the caller's token). */
async function visibleComputePorts(u: Unit, server_uuid: string, network_id?: string): Promise<ResourceRow[]> {
  const out: ResourceRow[] = [];
  for (const p of await u.list('port', { device_id: server_uuid, ...(network_id !== undefined ? { network_id } : {}) })) {
    if (isComputePort(p) && (await portVisible(u, p))) out.push(p);
  }
  return out;
}

/** A port's fixed IPs as a port update names them. */
function portAddresses(p: ResourceRow): { subnet_id: string; ip_address: string }[] {
  return (p.doc.fixed_ips as FixedIp[]).map((f) => ({ subnet_id: f.subnet_id, ip_address: f.ip_address }));
}

/** One port update as its own Neutron request; Nova moves on when Neutron refuses it. */
async function tryUpdateFixedIps(svc: Services, creds: Credentials, port_id: string, fixed_ips: { subnet_id?: string; ip_address?: string }[]): Promise<boolean> {
  try {
    await svc.network.run(creds, async (u) => {
      const cur = await u.get('port', port_id);
      if (!cur) throw new NeutronFault(404, 'PortNotFound', `Port ${port_id} could not be found.`);
      await updatePort(u, cur, { fixed_ips });
    });
    return true;
  } catch (e) {
    if (e instanceof NeutronFault) return false;
    throw e;
  }
}

/**
 * Nova's add_fixed_ip_to_instance over Neutron, with the caller's credentials: the network's
 * subnets, then the server's ports on it; each port asks for one more address on each subnet in
 * turn until Neutron grants one. Nova appends to the port's own list, so a subnet Neutron refused
 * is asked for again with the next. No subnet, no port or no grant: NetworkNotFoundForInstance.
 * Neutron's policy refuses the update (it names the port's addresses) unless the caller owns the
 * network or is an admin.
 */
export async function addFixedIpToInstance(svc: Services, creds: Credentials, server: ServerRecord, network_id: string): Promise<void> {
  const notFound = () => new NotFound(`Network could not be found for instance ${server.uuid}.`);
  const subnets = await svc.network.run(creds, async (u) => {
    const out: string[] = [];
    for (const s of await u.list('subnet', { network_id })) if (await subnetVisible(u, s)) out.push(s.id);
    return out;
  });
  if (!subnets.length) throw notFound();
  const ports = await svc.network.run(creds, (u) => visibleComputePorts(u, server.uuid, network_id));
  for (const p of ports) {
    const fixed: { subnet_id: string; ip_address?: string }[] = portAddresses(p);
    for (const subnet_id of subnets) {
      fixed.push({ subnet_id });
      if (await tryUpdateFixedIps(svc, creds, p.id, fixed)) return;
    }
  }
  throw notFound();
}

/**
 * Nova's remove_fixed_ip_from_instance over Neutron: the first of the server's ports holding the
 * address loses it (Nova only logs a refusal by Neutron); none holding it is FixedIpNotFoundForInstance.
 */
export async function removeFixedIpFromInstance(svc: Services, creds: Credentials, server: ServerRecord, address: string): Promise<void> {
  const ports = await svc.network.run(creds, (u) => visibleComputePorts(u, server.uuid));
  const p = ports.find((x) => (x.doc.fixed_ips as FixedIp[]).some((f) => f.ip_address === address));
  if (!p) throw new NotFound(`Instance ${server.uuid} does not have fixed IP '${address}'.`);
  const rest = portAddresses(p).filter((f) => f.ip_address !== address);
  await tryUpdateFixedIps(svc, creds, p.id, rest);
}

/** Ports follow their server: bound to its host (ACTIVE), unbound without one, gone or released with it. */
async function followServer(svc: Services, server_uuid: string, project_id: string, host: string | null, deleted: boolean): Promise<void> {
  await svc.network.run(novaCreds(project_id), async (u) => {
    for (const p of (await u.list('port', { device_id: server_uuid })).filter(isComputePort)) {
      if (deleted) {
        if (p.doc[MADE_BY_NOVA] === true) await deletePort(u, p);
        else await updatePort(u, p, { device_id: '', device_owner: '', 'binding:host_id': '', [TAG]: null });
      } else if (p.doc['binding:host_id'] !== (host ?? '')) {
        await updatePort(u, p, { 'binding:host_id': host ?? '' });
      }
    }
  });
}

/** Wires Nova's side to Neutron's: engine transitions move ports, port changes refresh addresses. */
export function connectNovaToNeutron(svc: Services): void {
  const warn = (e: unknown) => process.emitWarning(`nova-neutron: ${e instanceof Error ? e.message : String(e)}`);
  svc.engine.events.on('transition', (t) => {
    // Ports need a look when the server moved or went, and once it settles (a port made while the
    // server was being placed may carry the host it had then); the steps between change nothing.
    const deleted = t.vm_state === 'deleted';
    if (!deleted && t.host === t.from_host && t.task_state !== null) return;
    svc.network.track(followServer(svc, t.server_id, t.project_id, t.host, deleted).catch(warn));
  });
  svc.network.onDevicesChanged(async (uuids) => {
    for (const uuid of uuids) {
      const s = await svc.engine.store.getServer(uuid);
      if (!s || s.deleted) continue;
      const addresses = await svc.network.run(novaCreds(s.project_id), (u) => networkInfo(u, uuid));
      await svc.engine.refreshNetworkInfo(uuid, addresses).catch(warn);
    }
  });
}

export { MADE_BY_NOVA, TAG, novaCreds, isComputePort, plug };
