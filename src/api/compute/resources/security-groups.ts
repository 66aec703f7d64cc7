// Nova's security group APIs over Neutron's groups (nova/network/security_group_api.py): the
// os-security-groups and os-security-group-rules proxies (2.1–2.35, 404 from 2.36) show Neutron's
// groups with their ingress rules in Nova's format; a server's groups are those of its ports
// (GET /servers/{id}/os-security-groups at every microversion, the `security_groups` of show and
// detail, the groups create names, add/removeSecurityGroup). Nova calls Neutron with the caller's
// token, so Neutron's visibility, quotas and faults apply; Nova rewords those faults with its own codes.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Services } from '../../../novabox.ts';
import type { Credentials } from '../../../domain/policy.ts';
import type { ServerRecord } from '../../../domain/server.ts';
import { BadRequest, Conflict, DomainError, Forbidden, NotFound } from '../../../domain/errors.ts';
import { isAdmin } from '../../../domain/policy.ts';
import { NeutronFault } from '../../../domain/network/errors.ts';
import type { ResourceRow } from '../../../store/network/repository.ts';
import type { Unit } from '../../network/unit.ts';
import { createResource, prepareBody } from '../../network/controller.ts';
import { isOwner } from '../../network/plugin/handler.ts';
import { updatePort } from '../../network/plugin/ports.ts';
import { ensureDefaultGroup, securityGroupRules, securityGroups } from '../../network/plugin/security-groups.ts';
import { authorize, ctxOf, mv } from '../context.ts';
import { ipv6Groups } from '../ip.ts';
import { isComputePort } from '../server-network.ts';
import { checkQueryValue, isUuidLike, pyStr } from '../schemas/validate.ts';
import { limited, noQueryFrom2102, params, query, route, validate } from './common.ts';

type Json = Record<string, unknown>;

/**
 * Nova's translation of a Neutron fault for one call: `codes` maps Neutron's status to the Nova
 * error class that call raises (security_group_api.py catches per call); the message is Neutron's.
 */
function translated<T>(p: Promise<T>, codes: Record<number, new (m: string) => DomainError>): Promise<T> {
  return p.catch((e: unknown) => {
    if (e instanceof NeutronFault && codes[e.status]) throw new codes[e.status](e.message);
    throw e;
  });
}

// ---------------------------------------------------------------- lookups

/** A group the caller may see (Neutron's visibility: their project's, any for an admin). */
async function visibleGroup(u: Unit, id: string): Promise<ResourceRow | undefined> {
  const g = isUuidLike(id) ? await u.get('security_group', id) : undefined;
  return g && isOwner(u, g) ? g : undefined;
}

export type Resolved = { group: ResourceRow } | { error: 'not_found' | 'ambiguous' };

/**
 * neutronclient's find_resourceid_by_name_or_id with the caller's project, as Nova calls it: an id
 * the caller can see, else a name in the project (the project's default group exists once looked for).
 */
export async function resolveGroup(u: Unit, nameOrId: string): Promise<Resolved> {
  const project_id = u.ctx.project_id;
  if (project_id) await ensureDefaultGroup(u, project_id);
  const byId = await visibleGroup(u, nameOrId);
  if (byId) return { group: byId };
  const named = (await u.list('security_group', { project_id })).filter((g) => g.doc.name === nameOrId);
  if (named.length > 1) return { error: 'ambiguous' };
  return named.length === 1 ? { group: named[0] } : { error: 'not_found' };
}

/** neutronclient's NeutronClientNoUniqueMatch text; Nova answers it with 409. */
export function ambiguousMessage(name: string): string {
  return `Multiple security_group matches found for name '${name}', use an ID to be more specific.`;
}

/**
 * The ids of the groups a server create names (Nova's _check_requested_secgroups): each by name or
 * id in the caller's project; an unknown one is 400, an ambiguous name 409.
 */
export async function requestedGroupIds(svc: Services, creds: Credentials, names: string[]): Promise<string[]> {
  return svc.network.run(creds, async (u) => {
    const out: string[] = [];
    for (const name of names) {
      const found = await resolveGroup(u, name);
      if (!('group' in found)) {
        if (found.error === 'ambiguous') throw new Conflict(ambiguousMessage(name));
        throw new BadRequest(`Unable to find security_group with name or id '${name}'`);
      }
      if (!out.includes(found.group.id)) out.push(found.group.id);
    }
    return out;
  });
}

/** Ports of these servers that the caller sees (Nova lists them by device_id with the caller's token). */
async function serverPorts(u: Unit, uuids: string[]): Promise<ResourceRow[]> {
  const ports = (await u.list('port', { device_ids: uuids })).filter(isComputePort);
  const out: ResourceRow[] = [];
  for (const p of ports) if (isOwner(u, p)) out.push(p);
  return out;
}

/**
 * Nova's get_instances_security_groups_bindings: per server, the groups on each of its ports (a
 * group the caller cannot see is left out), as `{name}` (the id when unnamed) or in full.
 */
async function bindings(u: Unit, uuids: string[]): Promise<Map<string, ResourceRow[]>> {
  const out = new Map<string, ResourceRow[]>();
  for (const p of await serverPorts(u, uuids)) {
    for (const id of p.doc.security_groups as string[]) {
      const g = await visibleGroup(u, id);
      if (!g) continue;
      const uuid = String(p.doc.device_id);
      out.set(uuid, [...(out.get(uuid) ?? []), g]);
    }
  }
  return out;
}

/** The `security_groups` of server views: names of the groups on each server's ports. */
export async function serverGroupNames(svc: Services, creds: Credentials, servers: ServerRecord[]): Promise<Map<string, { name: string }[]>> {
  const uuids = servers.filter((s) => s.addresses.length > 0).map((s) => s.uuid);
  if (!uuids.length) return new Map();
  return svc.network.run(creds, async (u) => {
    const out = new Map<string, { name: string }[]>();
    for (const [uuid, groups] of await bindings(u, uuids)) out.set(uuid, groups.map((g) => ({ name: String(g.doc.name || g.id) })));
    return out;
  });
}

// ---------------------------------------------------------------- views

/** Nova's rule format over Neutron's: a protocol without ports is the whole range. */
async function ruleView(u: Unit, r: ResourceRow): Promise<Json | null> {
  const protocol = r.doc.protocol as string | null;
  let from = r.doc.port_range_min as number | null;
  let to = r.doc.port_range_max as number | null;
  if (protocol && from === null && to === null) [from, to] = ['TCP', 'UDP'].includes(protocol.toUpperCase()) ? [1, 65535] : [-1, -1];
  const out: Json = { id: r.id, parent_group_id: r.doc.security_group_id, ip_protocol: protocol, from_port: from, to_port: to, group: {}, ip_range: {} };
  if (r.doc.remote_group_id) {
    // A rule whose source group the caller cannot see is left out, as Nova does when the lookup fails.
    const src = await visibleGroup(u, String(r.doc.remote_group_id));
    if (!src) return null;
    out.group = { name: src.doc.name, tenant_id: src.project_id };
  } else {
    // Nova's parse_cidr: a rule without a prefix is from anywhere.
    out.ip_range = { cidr: r.doc.remote_ip_prefix || '0.0.0.0/0' };
  }
  return out;
}

const ingressRules = async (u: Unit, g: ResourceRow) =>
  (await u.list('security_group_rule', { project_id: g.project_id })).filter((r) => r.doc.security_group_id === g.id && r.doc.direction === 'ingress');

async function groupView(u: Unit, g: ResourceRow): Promise<Json> {
  const rules: Json[] = [];
  for (const r of await ingressRules(u, g)) {
    const v = await ruleView(u, r);
    if (v) rules.push(v);
  }
  return { id: g.id, name: g.doc.name, description: g.doc.description, tenant_id: g.project_id, rules };
}

const sortGroups = (views: Json[]) => views.sort((a, b) => String(a.tenant_id).localeCompare(String(b.tenant_id)) || String(a.name).localeCompare(String(b.name)));

// ---------------------------------------------------------------- rules

const portsMessage = (icmp: boolean) => `Invalid input received: ${icmp ? 'Type and Code must be integers for ICMP protocol type' : 'To and From ports must be integers'}`;

/** Python's int() of a JSON value: integers, numbers (truncated) and integer strings. */
function pyInt(v: unknown): number | null {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number' && Number.isFinite(v)) return Math.trunc(v);
  if (typeof v === 'string' && /^\s*[-+]?\d+\s*$/.test(v)) return Number(v);
  return null;
}

/** oslo's is_valid_cidr: an address with an explicit prefix length. */
function validCidr(cidr: string): boolean {
  const [addr, prefix, ...rest] = cidr.split('/');
  if (rest.length || prefix === undefined || !/^\d{1,3}$/.test(prefix)) return false;
  if (addr.includes(':')) return ipv6Groups(addr) !== null && Number(prefix) <= 128;
  const parts = addr.split('.');
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255) && Number(prefix) <= 32;
}

interface NewRule {
  group_id?: string;
  cidr?: string;
  protocol?: string;
  from_port?: number;
  to_port?: number;
}

/** Nova's _new_ingress_rule: null when a CIDR rule lacks protocol or ports. */
function newIngressRule(body: Json): NewRule | null {
  const group_id = body.group_id as string | null | undefined;
  let from: unknown = body.from_port ?? null;
  let to: unknown = body.to_port ?? null;
  const proto = body.ip_protocol;
  const out: NewRule = {};
  if (group_id !== undefined && group_id !== null) {
    out.group_id = group_id;
    const p = typeof proto === 'string' ? proto.toUpperCase() : '';
    if (p === 'ICMP' && from === null && to === null) [from, to] = [-1, -1];
    else if ((p === 'TCP' || p === 'UDP') && from === null && to === null) [from, to] = [1, 65535];
  } else {
    let cidr = body.cidr;
    if (cidr === undefined || cidr === null || cidr === '' || cidr === 0 || cidr === false) cidr = '0.0.0.0/0';
    if (typeof cidr !== 'string') throw new BadRequest(`${pyStr(cidr)} is not a valid IP network.`);
    let decoded = cidr;
    try { decoded = decodeURIComponent(cidr); } catch { /* keep it as given */ }
    if (!validCidr(decoded)) throw new BadRequest(`${decoded} is not a valid IP network.`);
    out.cidr = decoded;
  }
  if (proto !== undefined && proto !== null && proto !== '' && proto !== 0 && proto !== false && from !== null && to !== null) {
    const protocol = typeof proto === 'string' ? proto : pyStr(proto);
    const p = protocol.toUpperCase();
    const f = pyInt(from);
    const t = pyInt(to);
    if (f === null || t === null) throw new BadRequest(portsMessage(p === 'ICMP'));
    if (!['TCP', 'UDP', 'ICMP'].includes(p)) throw new BadRequest(`Invalid IP protocol ${protocol}.`);
    const range = `Invalid port range ${f}:${t}.`;
    if (p !== 'ICMP' && f > t) throw new BadRequest(`${range} Former value cannot be greater than the later`);
    if (p !== 'ICMP' && (f < 1 || t > 65535)) throw new BadRequest(`${range} Valid ${p} ports should be between 1-65535`);
    if (p === 'ICMP' && (f < -1 || f > 255 || t < -1 || t > 255)) throw new BadRequest(`${range} For ICMP, the type:code must be valid`);
    Object.assign(out, { protocol: protocol.toLowerCase(), from_port: f, to_port: t });
  } else if (out.cidr !== undefined) {
    return null;
  }
  return out;
}

// ---------------------------------------------------------------- schemas

const text255 = { type: 'string', minLength: 0, maxLength: 255 };
const groupSchema = {
  type: 'object', required: ['security_group'], additionalProperties: true,
  properties: { security_group: { type: 'object', required: ['name', 'description'], additionalProperties: true, properties: { name: text255, description: text255 } } },
};
const ruleSchema = {
  type: 'object', required: ['security_group_rule'], additionalProperties: true,
  properties: {
    security_group_rule: {
      type: 'object', required: ['parent_group_id'], additionalProperties: true,
      properties: { group_id: { type: ['string', 'null'], format: 'uuid' }, parent_group_id: { type: 'string', format: 'uuid' } },
    },
  },
};
const nonNegative = { type: ['integer', 'string'], pattern: '^[0-9]*$', minimum: 0, minLength: 1 };

// ---------------------------------------------------------------- routes

const gone = (req: FastifyRequest) => {
  if (mv(req, 36)) throw new NotFound('The resource could not be found.');
};

/** Nova's rule_exists: an ingress rule of the group with the same source, ports and protocol. */
function ruleExists(views: Json[], rule: NewRule): boolean {
  const key = (v: { group_id?: unknown; cidr?: unknown; from_port?: unknown; to_port?: unknown; protocol?: unknown }) =>
    JSON.stringify([v.group_id ?? null, v.cidr ?? null, v.from_port ?? null, v.to_port ?? null, v.protocol ?? null]);
  const wanted = key(rule);
  return views.some((v) => key({
    group_id: v.source_id, cidr: (v.ip_range as Json).cidr, from_port: v.from_port, to_port: v.to_port, protocol: v.ip_protocol,
  }) === wanted);
}

export function registerSecurityGroups(scope: FastifyInstance, svc: Services): void {
  const run = <T>(req: FastifyRequest, fn: (u: Unit) => Promise<T>) => svc.network.run(req.auth!, fn);

  /** validate_id then get: 400 for a non-uuid, 404 (Neutron's text) for a group the caller cannot see. */
  const find = async (u: Unit, id: string): Promise<ResourceRow> => {
    if (!isUuidLike(id)) throw new BadRequest('Security group id should be uuid');
    const g = await visibleGroup(u, id);
    if (!g) throw new NotFound(`Security group ${id} does not exist`);
    return g;
  };

  route(scope, 'GET', '/os-security-groups', async (req) => {
    gone(req);
    authorize(req, 'reader', 'os_compute_api:os-security-groups:get');
    for (const k of ['limit', 'offset']) {
      for (const v of query(req)[k] ?? []) {
        const err = checkQueryValue(nonNegative, k, v);
        if (err) throw new BadRequest(err);
      }
    }
    return run(req, async (u) => {
      // Neutron has no all_tenants: Nova leaves out the project filter for an admin asking for it.
      const all = 'all_tenants' in query(req) && isAdmin(req.auth!);
      if (u.ctx.project_id) await ensureDefaultGroup(u, u.ctx.project_id);
      const rows = await u.list('security_group', all ? {} : { project_id: u.ctx.project_id });
      const views: Json[] = [];
      for (const g of limited(req, svc.config.max_limit, rows)) views.push(await groupView(u, g));
      return { security_groups: sortGroups(views) };
    });
  });

  route(scope, 'POST', '/os-security-groups', async (req) => {
    gone(req);
    authorize(req, 'member', 'os_compute_api:os-security-groups:create');
    const body = validate<{ security_group: { name: string; description: string } }>(groupSchema, req.body).security_group;
    // Neutron's 400 is Nova's Invalid; its 409 (the default name, the quota) SecurityGroupLimitExceeded.
    return translated(run(req, async (u) => {
      const g = await createResource(u, svc.network, securityGroups, { name: body.name, description: body.description });
      return { security_group: await groupView(u, g) };
    }), { 400: BadRequest, 409: Forbidden });
  });

  route(scope, 'GET', '/os-security-groups/:id', async (req) => {
    gone(req);
    authorize(req, 'reader', 'os_compute_api:os-security-groups:show');
    return run(req, async (u) => ({ security_group: await groupView(u, await find(u, params(req).id)) }));
  });

  route(scope, 'PUT', '/os-security-groups/:id', async (req) => {
    gone(req);
    authorize(req, 'member', 'os_compute_api:os-security-groups:update');
    return translated(run(req, async (u) => {
      const g = await find(u, params(req).id);
      const body = validate<{ security_group: { name: string; description: string } }>(groupSchema, req.body).security_group;
      const changes = prepareBody(u, securityGroups.def, { security_group: { name: body.name, description: body.description } }, false);
      return { security_group: await groupView(u, await securityGroups.update(u, g, changes)) };
    }), { 400: BadRequest, 409: BadRequest });
  });

  route(scope, 'DELETE', '/os-security-groups/:id', async (req, reply) => {
    gone(req);
    authorize(req, 'member', 'os_compute_api:os-security-groups:delete');
    // Neutron's 409 (in use, the default group) is Nova's Invalid.
    await translated(run(req, async (u) => securityGroups.delete(u, await find(u, params(req).id))), { 404: NotFound, 409: BadRequest });
    return reply.code(202).send();
  });

  route(scope, 'POST', '/os-security-group-rules', async (req) => {
    gone(req);
    authorize(req, 'member', 'os_compute_api:os-security-groups:rule:create');
    const body = validate<{ security_group_rule: Json }>(ruleSchema, req.body).security_group_rule;
    return translated(run(req, async (u) => {
      const parentId = body.parent_group_id as string;
      const parent = await visibleGroup(u, parentId);
      if (!parent) throw new NotFound(`Security group ${parentId} does not exist`);
      if (body.group_id !== undefined && body.group_id !== null && !(await visibleGroup(u, body.group_id as string))) {
        throw new NotFound(`Security group ${String(body.group_id)} does not exist`);
      }
      const rule = newIngressRule(body);
      if (rule === null) throw new BadRequest('Not enough parameters to build a valid rule.');
      if (rule.cidr !== undefined) {
        const [net, prefix] = rule.cidr.split('/');
        if (net !== '0.0.0.0' && net !== '::' && prefix === '0') throw new BadRequest(`Bad prefix for network in cidr ${rule.cidr}`);
      }
      const existing: Json[] = [];
      for (const r of await ingressRules(u, parent)) {
        const v = await ruleView(u, r);
        if (v) existing.push({ ...v, source_id: r.doc.remote_group_id });
      }
      if (ruleExists(existing, rule)) throw new BadRequest(`This rule already exists in group ${parent.id}`);
      // Nova's _make_neutron_security_group_rules_list: ingress, the ethertype of the CIDR (IPv4
      // for group rules), -1 ports (ICMP's any) left out.
      const port = (v: number | undefined) => (v === undefined || v === -1 ? null : v);
      const made = await createResource(u, svc.network, securityGroupRules, {
        security_group_id: parent.id, direction: 'ingress', ethertype: rule.cidr?.includes(':') ? 'IPv6' : 'IPv4',
        protocol: rule.protocol ?? null, port_range_min: port(rule.from_port), port_range_max: port(rule.to_port),
        remote_ip_prefix: rule.cidr ?? null, remote_group_id: rule.group_id ?? null,
      });
      return { security_group_rule: await ruleView(u, made) };
    }), { 400: BadRequest, 404: NotFound, 409: Forbidden });
  });

  route(scope, 'DELETE', '/os-security-group-rules/:id', async (req, reply) => {
    gone(req);
    authorize(req, 'member', 'os_compute_api:os-security-groups:rule:delete');
    const id = params(req).id;
    if (!isUuidLike(id)) throw new BadRequest('Security group id should be uuid');
    await run(req, async (u) => {
      const r = await u.get('security_group_rule', id);
      if (!r || !(await securityGroupRules.visible(u, r))) throw new NotFound(`Security group rule ${id} does not exist`);
      await securityGroupRules.delete(u, r);
    });
    return reply.code(202).send();
  });

  route(scope, 'GET', '/servers/:server_id/os-security-groups', async (req) => {
    noQueryFrom2102(req);
    const s = await svc.engine.getServer(ctxOf(req), params(req).server_id);
    authorize(req, 'reader', 'os_compute_api:os-security-groups:list', s.project_id);
    return run(req, async (u) => {
      const views: Json[] = [];
      for (const g of (await bindings(u, [s.uuid])).get(s.uuid) ?? []) views.push(await groupView(u, g));
      return { security_groups: views };
    });
  });
}

/**
 * add/removeSecurityGroup (security_group_api.add_to_instance / remove_from_instance): the group by
 * name or id in the caller's project (404 unknown, 409 ambiguous), then every port of the server
 * (none: 404) gains it, or loses it where it has it (on none: 404).
 */
export async function changeServerGroup(svc: Services, creds: Credentials, s: ServerRecord, name: string, add: boolean): Promise<void> {
  await svc.network.run(creds, async (u) => {
    const found = await resolveGroup(u, name);
    if (!('group' in found)) {
      if (found.error === 'ambiguous') throw new Conflict(ambiguousMessage(name));
      throw new NotFound(`Security group ${name} is not found for project ${u.ctx.project_id}`);
    }
    const id = found.group.id;
    const ports = await serverPorts(u, [s.uuid]);
    if (!ports.length) throw new NotFound(`instance_id ${s.uuid} could not be found as device id on any ports`);
    let changed = false;
    for (const p of ports) {
      const held = p.doc.security_groups as string[];
      if (add) {
        if (p.doc.port_security_enabled === false) throw new BadRequest('Network requires port_security_enabled and subnet associated in order to apply security groups.');
        if (!held.includes(id)) await translated(updatePort(u, p, { security_groups: [...held, id] }), { 400: BadRequest, 409: Conflict });
      } else if (held.includes(id)) {
        await updatePort(u, p, { security_groups: held.filter((g) => g !== id) });
        changed = true;
      }
    }
    if (!add && !changed) throw new NotFound(`Security group ${name} not associated with the instance ${s.uuid}`);
  });
}
