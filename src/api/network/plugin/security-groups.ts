// Security groups and rules: a `default` group per project made on first use with Neutron's four
// default rules, two egress rules on every new group, protocol and port-range rules, duplicates
// refused, groups in use or the default group not deletable.
import { SECURITY_GROUP, SECURITY_GROUP_RULE } from '../../../domain/network/attributes.ts';
import { badRequest, conflict, NeutronFault } from '../../../domain/network/errors.ts';
import { cidrText, parseCidr } from '../../../domain/network/ip.ts';
import { uuidV5 } from '../../compute/network.ts';
import type { Doc, ResourceRow } from '../../../store/network/repository.ts';
import type { Unit } from '../unit.ts';
import { docOf, isOwner, type Handler } from './handler.ts';

/** Protocol names Neutron accepts besides numbers 0–255. */
export const PROTOCOLS: Record<string, number> = {
  ah: 51, dccp: 33, egp: 8, esp: 50, gre: 47, hopopt: 0, icmp: 1, igmp: 2, ipip: 4, 'ipv6-encap': 41, 'ipv6-frag': 44, 'ipv6-icmp': 58,
  icmpv6: 58, 'ipv6-nonxt': 59, 'ipv6-opts': 60, 'ipv6-route': 43, ospf: 89, pgm: 113, rsvp: 46, sctp: 132, tcp: 6, udp: 17, udplite: 136, vrrp: 112,
};
const PORT_PROTOCOLS = ['tcp', 'udp', 'dccp', 'sctp', 'udplite', '6', '17', '33', '132', '136'];
const ICMP = ['icmp', 'ipv6-icmp', 'icmpv6', '1', '58'];

function ruleDoc(group: ResourceRow | { id: string }, direction: string, ethertype: string, extra: Doc = {}): Doc {
  return {
    security_group_id: group.id, direction, ethertype, protocol: null, port_range_min: null, port_range_max: null,
    remote_ip_prefix: null, remote_group_id: null, remote_address_group_id: null, normalized_cidr: null, description: '', ...extra,
  };
}

async function addRule(u: Unit, project_id: string, doc: Doc): Promise<ResourceRow> {
  return u.insert('security_group_rule', project_id, doc);
}

/** The project's `default` group; made with a stable id so two first uses make it once. */
export async function ensureDefaultGroup(u: Unit, project_id: string): Promise<ResourceRow> {
  const id = uuidV5(`security-group:default:${project_id}`);
  const found = await u.get('security_group', id);
  if (found) return found;
  const made = await u.repo.insert(u.tx, {
    kind: 'security_group', id, project_id, created_at: u.now, tags: [],
    doc: { name: 'default', description: 'Default security group', stateful: true, shared: false },
  });
  u.forget('security_group', id);
  if (made) {
    const g = { id };
    for (const eth of ['IPv4', 'IPv6']) await addRule(u, project_id, ruleDoc(g, 'egress', eth));
    for (const eth of ['IPv4', 'IPv6']) await addRule(u, project_id, ruleDoc(g, 'ingress', eth, { remote_group_id: id }));
  }
  return (await u.repo.get(u.tx, 'security_group', id))!;
}

const isDefault = (g: ResourceRow) => g.id === uuidV5(`security-group:default:${g.project_id}`);

function render(rule: ResourceRow, defaultIds: Set<string>): Doc {
  return {
    id: rule.id, tenant_id: rule.project_id, project_id: rule.project_id, ...rule.doc,
    belongs_to_default_sg: defaultIds.has(String(rule.doc.security_group_id)),
    created_at: iso(rule.created_at), updated_at: iso(rule.updated_at), revision_number: rule.revision_number,
  };
}

export const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export const securityGroups: Handler = {
  def: SECURITY_GROUP,
  visible: async (u, row) => isOwner(u, row),
  async create(u, attrs, tags) {
    const project_id = String(attrs.project_id);
    if (project_id) await ensureDefaultGroup(u, project_id);
    if (attrs.name === 'default') throw conflict('SecurityGroupDefaultAlreadyExists', 'Default security group already exists.');
    const doc = { ...docOf(attrs), shared: false };
    const g = await u.insert('security_group', project_id, doc, tags);
    for (const eth of ['IPv4', 'IPv6']) await addRule(u, project_id, ruleDoc(g, 'egress', eth));
    return g;
  },
  async update(u, row, changes, rev) {
    if (isDefault(row) && 'name' in changes && changes.name !== 'default') {
      throw conflict('SecurityGroupCannotUpdateDefault', 'Updating default security group not allowed.');
    }
    if (changes.name === 'default' && !isDefault(row)) throw conflict('SecurityGroupDefaultAlreadyExists', 'Default security group already exists.');
    return u.save(row, { ...row.doc, ...changes }, rev);
  },
  async delete(u, row) {
    if (isDefault(row) && !u.ctx.admin) throw conflict('SecurityGroupCannotRemoveDefault', 'Insufficient rights for removing default security group.');
    const inUse = (await u.list('port')).some((p) => (p.doc.security_groups as string[]).includes(row.id));
    if (inUse) throw conflict('SecurityGroupInUse', `Security Group ${row.id} in use.`);
    for (const r of await u.list('security_group_rule')) {
      if (r.doc.security_group_id === row.id || r.doc.remote_group_id === row.id) await u.remove(r);
    }
    await u.remove(row);
  },
  async extend(u, row) {
    const rules = (await u.list('security_group_rule')).filter((r) => r.doc.security_group_id === row.id);
    const defaults = new Set(isDefault(row) ? [row.id] : []);
    return { security_group_rules: rules.map((r) => render(r, defaults)), shared: false };
  },
};

export const securityGroupRules: Handler = {
  def: SECURITY_GROUP_RULE,
  async visible(u, row) {
    if (isOwner(u, row)) return true;
    const g = await u.get('security_group', String(row.doc.security_group_id));
    return !!g && isOwner(u, g);
  },
  async create(u, attrs) {
    const group = await u.get('security_group', String(attrs.security_group_id));
    if (!group || !isOwner(u, group)) throw new NeutronFault(404, SECURITY_GROUP.notFound.type, SECURITY_GROUP.notFound.message(String(attrs.security_group_id)));
    let protocol = attrs.protocol as string | null;
    if (protocol !== null && !(protocol in PROTOCOLS) && !/^\d+$/.test(protocol)) {
      throw badRequest(`Security group rule protocol ${protocol} not supported. Only protocol values [${Object.keys(PROTOCOLS).map((p) => `'${p}'`).join(', ')}, None] and integer representations [0 to 255] are supported.`);
    }
    if (protocol === 'icmpv6') protocol = 'ipv6-icmp';
    const min = attrs.port_range_min as number | null;
    const max = attrs.port_range_max as number | null;
    if ((min !== null || max !== null) && protocol === null) throw badRequest('Must also specify protocol if port range is given.');
    if (protocol !== null && PORT_PROTOCOLS.includes(protocol)) {
      if (min !== null && max !== null && min > max) throw badRequest('For TCP/UDP protocols, port_range_min must be <= port_range_max');
      if ((min === 0 || max === 0)) throw badRequest(`Invalid value for port ${min === 0 ? min : max}`);
      if (min !== null && max === null) throw badRequest('For TCP/UDP protocols, port_range_min must be <= port_range_max');
    } else if (protocol !== null && ICMP.includes(protocol)) {
      for (const [field, v] of [['type', min], ['code', max]] as const) {
        if (v !== null && (v < 0 || v > 255)) throw badRequest(`Invalid value for ICMP ${field} (type or code) ${field === 'type' ? 'port_range_min' : 'port_range_max'} ${v}. It must be 0 to 255.`);
      }
      if (min === null && max !== null) throw badRequest(`ICMP code (port-range-max) ${max} is provided but ICMP type (port-range-min) is missing.`);
    }
    if (attrs.remote_ip_prefix !== null && attrs.remote_group_id !== null) throw badRequest('Only remote_ip_prefix or remote_group_id may be provided.');
    let normalized: string | null = null;
    if (attrs.remote_ip_prefix !== null) {
      const c = parseCidr(String(attrs.remote_ip_prefix))!;
      if ((c.version === 4 ? 'IPv4' : 'IPv6') !== attrs.ethertype) {
        throw badRequest(`Conflicting value ethertype ${attrs.ethertype} for CIDR ${attrs.remote_ip_prefix}`);
      }
      normalized = cidrText(c);
    }
    if (attrs.remote_group_id !== null) {
      const rg = await u.get('security_group', String(attrs.remote_group_id));
      if (!rg || !isOwner(u, rg)) throw new NeutronFault(404, SECURITY_GROUP.notFound.type, SECURITY_GROUP.notFound.message(String(attrs.remote_group_id)));
    }
    const doc = ruleDoc(group, String(attrs.direction), String(attrs.ethertype), {
      protocol, port_range_min: min, port_range_max: protocol !== null && PORT_PROTOCOLS.includes(protocol) && min !== null && max === null ? min : max,
      remote_ip_prefix: attrs.remote_ip_prefix, remote_group_id: attrs.remote_group_id, remote_address_group_id: attrs.remote_address_group_id,
      normalized_cidr: normalized, description: attrs.description ?? '',
    });
    // The prefix is kept as given (Neutron shows its network as normalized_cidr); duplicates compare networks.
    const key = (d: Doc) => JSON.stringify(['direction', 'ethertype', 'protocol', 'port_range_min', 'port_range_max', 'normalized_cidr', 'remote_group_id', 'remote_address_group_id'].map((k) => d[k] ?? null));
    const dup = (await u.list('security_group_rule')).find((r) => r.doc.security_group_id === group.id && key(r.doc) === key(doc));
    if (dup) throw conflict('SecurityGroupRuleExists', `Security group rule already exists. Rule id is ${dup.id}.`);
    return addRule(u, group.project_id, doc);
  },
  async update(u, row, changes, rev) {
    return u.save(row, { ...row.doc, ...changes }, rev);
  },
  async delete(u, row) {
    await u.remove(row);
  },
  async extend(u, row) {
    const g = await u.get('security_group', String(row.doc.security_group_id));
    return { belongs_to_default_sg: !!g && isDefault(g) };
  },
};
