// Trunks (the trunk extension, as the OVN driver devstack runs serves it): a parent port and
// sub-ports, each a port of its own tagged with a VLAN id. A trunk is ACTIVE while its parent port
// is bound and DOWN otherwise; sub-ports are bound to the parent's host (so they are ACTIVE with
// it), owned by `trunk:subport`, and follow the parent when it moves (live migration) or is
// unbound. Ports in a trunk cannot be deleted; a disabled trunk cannot be changed or deleted.
import { TRUNK } from '../../../domain/network/attributes.ts';
import { conflict, invalidInput, NeutronFault } from '../../../domain/network/errors.ts';
import { validate } from '../../../domain/network/validators.ts';
import type { Doc, ResourceRow } from '../../../store/network/repository.ts';
import { newId, type Unit } from '../unit.ts';
import { docOf, isOwner, type Handler } from './handler.ts';
// ports.ts imports this module too: only functions cross, called after both are loaded.
import { updatePort } from './ports.ts';

export interface SubPort {
  port_id: string;
  segmentation_type: string;
  segmentation_id: number;
}

const SUBPORT_OWNER = 'trunk:subport';
/** The segmentation types the loaded driver supports (OVN: VLAN) and their id ranges. */
const SEGMENTATION: Record<string, (id: number) => boolean> = { vlan: (id) => id >= 1 && id <= 4094 };

const portNotFound = (id: string) => new NeutronFault(404, 'PortNotFound', `Port ${id} could not be found.`);
const subPortsOf = (t: ResourceRow) => t.doc.sub_ports as SubPort[];

/** The trunk a port takes part in, as its parent or as one of its sub-ports. */
async function trunkOf(u: Unit, port_id: string): Promise<{ trunk: ResourceRow; parent: boolean } | undefined> {
  for (const t of await u.list('trunk')) {
    if (t.doc.port_id === port_id) return { trunk: t, parent: true };
    if (subPortsOf(t).some((s) => s.port_id === port_id)) return { trunk: t, parent: false };
  }
  return undefined;
}

/** A port the caller sees, for use in a trunk. */
async function usablePort(u: Unit, id: string): Promise<ResourceRow> {
  const p = await u.get('port', id);
  if (!p || !isOwner(u, p)) throw portNotFound(id);
  return p;
}

async function networkMtu(u: Unit, port: ResourceRow): Promise<number | null> {
  const net = await u.get('network', String(port.doc.network_id));
  return typeof net?.doc.mtu === 'number' ? net.doc.mtu : null;
}

/** Neutron's SubPortsValidator for sub-ports joining the trunk on `parent`. */
async function checkSubPorts(u: Unit, parent: ResourceRow, trunk_id: string, wanted: Doc[], existing: SubPort[]): Promise<SubPort[]> {
  const trunkMtu = await networkMtu(u, parent);
  const out: SubPort[] = [];
  for (const sp of wanted) {
    const port_id = String(sp.port_id);
    if (port_id === parent.id) throw conflict('ParentPortInUse', `Port ${port_id} is currently in use and is not eligible for use as a parent port.`);
    const port = await usablePort(u, port_id);
    const mtu = await networkMtu(u, port);
    if (trunkMtu !== null && mtu !== null && mtu > trunkMtu) {
      throw conflict('SubPortMtuGreaterThanTrunkPortMtu', `MTU ${mtu} of subport ${port_id} cannot be greater than MTU ${trunkMtu} of trunk ${trunk_id}.`);
    }
    if (sp.segmentation_type === undefined || sp.segmentation_id === undefined) {
      throw invalidInput(`Invalid subport details '${JSON.stringify(sp)}': missing segmentation information. Must specify both segmentation_id and segmentation_type`);
    }
    const segId = typeof sp.segmentation_id === 'string' && /^-?\d+$/.test(sp.segmentation_id) ? Number(sp.segmentation_id) : sp.segmentation_id;
    if (typeof segId !== 'number' || !Number.isInteger(segId)) throw invalidInput(`Invalid subport details: segmentation_id '${String(sp.segmentation_id)}' is not an integer`);
    const type = String(sp.segmentation_type);
    if (!SEGMENTATION[type]) throw invalidInput(`Unknown segmentation_type '${type}'`);
    if (!SEGMENTATION[type](segId)) throw invalidInput(`Segmentation ID '${segId}' is not in range`);
    const inUse = await trunkOf(u, port_id);
    if (inUse && !inUse.parent) throw conflict('TrunkPortInUse', `Port ${port_id} is in use by another trunk.`);
    if (inUse) throw conflict('ParentPortInUse', `Port ${port_id} is currently in use and is not eligible for use as a parent port.`);
    if (port.doc.device_id) {
      throw conflict('PortInUse', `Unable to complete operation on port ${port_id} for network ${port.doc.network_id}. Port already has an attached device ${port.doc.device_id}.`);
    }
    if ([...existing, ...out].some((s) => s.segmentation_type === type && s.segmentation_id === segId)) {
      throw conflict('DuplicateSubPort', `segmentation_type ${type} and segmentation_id ${segId} already in use on trunk ${trunk_id}.`);
    }
    out.push({ port_id, segmentation_type: type, segmentation_id: segId });
  }
  return out;
}

/** Wires sub-ports to the parent's host (bound, ACTIVE), or releases them (unbound, DOWN, no owner). */
async function wire(u: Unit, trunk: ResourceRow, subports: SubPort[], host: string, member: boolean): Promise<void> {
  for (const sp of subports) {
    const port = await u.get('port', sp.port_id);
    if (!port) continue;
    const changes: Doc = member
      ? { device_owner: SUBPORT_OWNER, device_id: trunk.id, 'binding:host_id': host }
      : { device_owner: '', device_id: '', 'binding:host_id': '' };
    await updatePort(u, port, changes);
  }
}

/** Called when a port's binding changed: a trunk's parent takes its sub-ports and status along. */
export async function followParent(u: Unit, port: ResourceRow): Promise<void> {
  const t = await trunkOf(u, port.id);
  if (!t?.parent) return;
  const host = String(port.doc['binding:host_id'] ?? '');
  await wire(u, t.trunk, subPortsOf(t.trunk), host, true);
  const status = host ? 'ACTIVE' : 'DOWN';
  if (t.trunk.doc.status !== status) await u.save(t.trunk, { ...t.trunk.doc, status });
}

/** Refuses deleting a port that is a trunk's parent or sub-port. */
export async function checkPortDeletable(u: Unit, port_id: string): Promise<void> {
  const t = await trunkOf(u, port_id);
  if (!t) return;
  if (t.parent) throw conflict('PortInUseAsTrunkParent', `Port ${port_id} is currently a parent port for trunk ${t.trunk.id}.`);
  throw conflict('PortInUseAsSubPort', `Port ${port_id} is currently a subport for trunk ${t.trunk.id}.`);
}

function manageable(t: ResourceRow): void {
  if (t.doc.admin_state_up === false) throw conflict('TrunkDisabled', `Trunk ${t.id} is currently disabled.`);
}

const parentHost = async (u: Unit, t: ResourceRow) => String((await u.get('port', String(t.doc.port_id)))?.doc['binding:host_id'] ?? '');

/** PUT /trunks/{id}/add_subports: validated as at create; they join wired to the parent's host. */
export async function addSubPorts(u: Unit, t: ResourceRow, wanted: unknown): Promise<ResourceRow> {
  manageable(t);
  const why = validate({ kind: 'subports' }, wanted);
  if (why) throw invalidInput(why);
  const parent = await usablePort(u, String(t.doc.port_id));
  const added = await checkSubPorts(u, parent, t.id, wanted as Doc[], subPortsOf(t));
  await wire(u, t, added, await parentHost(u, t), true);
  return u.save(t, { ...t.doc, sub_ports: [...subPortsOf(t), ...added] });
}

/** PUT /trunks/{id}/remove_subports: each named port must be a sub-port of this trunk (else 404). */
export async function removeSubPorts(u: Unit, t: ResourceRow, wanted: unknown): Promise<ResourceRow> {
  manageable(t);
  if (!Array.isArray(wanted)) throw invalidInput(`Invalid data format for subports: '${JSON.stringify(wanted)}' is not a list`);
  const gone: SubPort[] = [];
  for (const w of wanted as Doc[]) {
    const sp = subPortsOf(t).find((s) => s.port_id === w?.port_id);
    if (!sp) throw new NeutronFault(404, 'SubPortNotFound', `SubPort on trunk ${t.id} with parent port ${String(w?.port_id)} could not be found.`);
    gone.push(sp);
  }
  await wire(u, t, gone, '', false);
  return u.save(t, { ...t.doc, sub_ports: subPortsOf(t).filter((s) => !gone.includes(s)) });
}

export const trunks: Handler = {
  def: TRUNK,
  visible: async (u, row) => isOwner(u, row),
  async create(u, attrs, tags) {
    const parent = await usablePort(u, String(attrs.port_id));
    const inUse = await trunkOf(u, parent.id);
    if (inUse && !inUse.parent) throw conflict('TrunkPortInUse', `Port ${parent.id} is in use by another trunk.`);
    if (inUse) throw conflict('ParentPortInUse', `Port ${parent.id} is currently in use and is not eligible for use as a parent port.`);
    const id = newId();
    const subPorts = await checkSubPorts(u, parent, id, attrs.sub_ports as Doc[], []);
    const host = String(parent.doc['binding:host_id'] ?? '');
    const doc = { ...docOf(attrs), sub_ports: subPorts, status: host ? 'ACTIVE' : 'DOWN' };
    const t = await u.insert('trunk', String(attrs.project_id), doc, tags, id);
    await wire(u, t, subPorts, host, true);
    return t;
  },
  async update(u, row, changes, rev) {
    return u.save(row, { ...row.doc, ...changes }, rev);
  },
  async delete(u, row) {
    manageable(row);
    await wire(u, row, subPortsOf(row), '', false);
    await u.remove(row);
  },
};
