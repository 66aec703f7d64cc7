// Security groups of the simulated network: Nova's os-security-groups and os-security-group-rules
// proxy APIs (2.1–2.35, 404 from 2.36) with Neutron's rules behind them (per project, a `default`
// group created on first use that cannot be deleted, ingress rules only), the groups of one server
// (GET /servers/{id}/os-security-groups, every microversion), and the lookups the servers API uses
// (create names groups, add/removeSecurityGroup change them). A server keeps its groups' uuids.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { Services } from '../../../novabox.ts';
import type { Db } from '../../../store/db.ts';
import { BadRequest, Conflict, DomainError, Forbidden, NotFound } from '../../../domain/errors.ts';
import { isAdmin } from '../../../domain/policy.ts';
import { authorize, ctxOf, mv } from '../context.ts';
import { ipv6Groups } from '../ip.ts';
import { checkQueryValue, isUuidLike, pyStr } from '../schemas/validate.ts';
import { limited, noQueryFrom2102, params, query, route, validate } from './common.ts';
import { quotaLimit } from './quotas.ts';

export interface SecurityGroupRow {
  id: number;
  uuid: string;
  project_id: string;
  name: string;
  description: string;
  created_at: number;
}

interface RuleRow {
  id: number;
  uuid: string;
  group_id: number;
  protocol: string | null;
  port_min: number | null;
  port_max: number | null;
  cidr: string | null;
  remote_group_id: number | null;
}

type Json = Record<string, unknown>;

// ---------------------------------------------------------------- lookups

const byUuid = (db: Db, uuid: string) => db.prepare('SELECT * FROM security_groups WHERE uuid = ?').get(uuid) as SecurityGroupRow | undefined;
const byId = (db: Db, id: number) => db.prepare('SELECT * FROM security_groups WHERE id = ?').get(id) as SecurityGroupRow | undefined;

/** The project's `default` group, created on first use as Neutron does. */
export function defaultGroup(db: Db, project_id: string, now: number): SecurityGroupRow {
  const found = db.prepare("SELECT * FROM security_groups WHERE project_id = ? AND name = 'default' ORDER BY id LIMIT 1").get(project_id) as SecurityGroupRow | undefined;
  if (found) return found;
  const row = { uuid: randomUUID(), project_id, name: 'default', description: 'Default security group', created_at: now };
  const id = Number(db.prepare('INSERT INTO security_groups (uuid, project_id, name, description, created_at) VALUES (@uuid, @project_id, @name, @description, @created_at)').run(row).lastInsertRowid);
  return { id, ...row };
}

/** A group the caller may see: their project's, or any for an admin (Neutron's visibility). */
function visibleGroup(req: FastifyRequest, db: Db, uuid: string): SecurityGroupRow | undefined {
  const g = byUuid(db, uuid);
  return g && (g.project_id === req.auth!.project_id || isAdmin(req.auth!)) ? g : undefined;
}

export type Resolved = { group: SecurityGroupRow } | { error: 'not_found' | 'ambiguous' };

/**
 * neutronclient's find_resource, as Nova calls it with the caller's project: an id the caller can
 * see, else a name in the project (the default group exists once its project looks for groups).
 */
export function resolveGroup(svc: Services, req: FastifyRequest, nameOrId: string): Resolved {
  const project_id = req.auth!.project_id ?? '';
  defaultGroup(svc.db, project_id, svc.clock.now());
  if (isUuidLike(nameOrId)) {
    const g = visibleGroup(req, svc.db, nameOrId);
    if (g) return { group: g };
  }
  const rows = svc.db.prepare('SELECT * FROM security_groups WHERE project_id = ? AND name = ? ORDER BY id').all(project_id, nameOrId) as SecurityGroupRow[];
  if (rows.length > 1) return { error: 'ambiguous' };
  return rows.length === 1 ? { group: rows[0] } : { error: 'not_found' };
}

/** neutronclient's NeutronClientNoUniqueMatch text; Nova answers it with 409. */
export function ambiguousMessage(name: string): string {
  return `Multiple security_group matches found for name '${name}', use an ID to be more specific.`;
}

/** Names of groups by uuid (a server shows a name, falling back to what it stores). */
export function securityGroupNames(db: Db, uuids: string[]): Map<string, string> {
  const out = new Map<string, string>();
  if (uuids.length === 0) return out;
  const unique = [...new Set(uuids)];
  const rows = db.prepare(`SELECT uuid, name FROM security_groups WHERE uuid IN (${unique.map(() => '?').join(',')})`).all(...unique) as { uuid: string; name: string }[];
  for (const r of rows) out.set(r.uuid, r.name);
  return out;
}

// ---------------------------------------------------------------- views

const rulesOf = (db: Db, group_id: number) => db.prepare('SELECT * FROM security_group_rules WHERE group_id = ? ORDER BY id').all(group_id) as RuleRow[];

/** Nova's rule format over Neutron's: a protocol without ports is the whole range. */
function ruleView(db: Db, r: RuleRow, parent: SecurityGroupRow): Json {
  let from = r.port_min;
  let to = r.port_max;
  if (r.protocol && from === null && to === null) {
    [from, to] = ['tcp', 'udp'].includes(r.protocol.toLowerCase()) ? [1, 65535] : [-1, -1];
  }
  const out: Json = { id: r.uuid, parent_group_id: parent.uuid, ip_protocol: r.protocol, from_port: from, to_port: to, group: {}, ip_range: {} };
  if (r.remote_group_id !== null) {
    const src = r.remote_group_id === parent.id ? parent : byId(db, r.remote_group_id);
    if (src) out.group = { name: src.name, tenant_id: src.project_id };
  } else {
    out.ip_range = { cidr: r.cidr ?? '0.0.0.0/0' };
  }
  return out;
}

function groupView(db: Db, g: SecurityGroupRow): Json {
  return { id: g.uuid, name: g.name, description: g.description, tenant_id: g.project_id, rules: rulesOf(db, g.id).map((r) => ruleView(db, r, g)) };
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

/** Neutron's 409 when a quota is full, which Nova answers with 403. */
async function checkQuota(svc: Services, project_id: string, resource: 'security_groups' | 'security_group_rules'): Promise<void> {
  const limit = await quotaLimit(svc, project_id, resource);
  if (limit < 0) return;
  const used = resource === 'security_groups'
    ? (svc.db.prepare('SELECT COUNT(*) AS n FROM security_groups WHERE project_id = ?').get(project_id) as { n: number }).n
    : (svc.db.prepare('SELECT COUNT(*) AS n FROM security_group_rules r JOIN security_groups g ON g.id = r.group_id WHERE g.project_id = ?').get(project_id) as { n: number }).n;
  if (used >= limit) throw new Forbidden(`Quota exceeded for resources: ['${resource === 'security_groups' ? 'security_group' : 'security_group_rule'}'].`);
}

export function registerSecurityGroups(scope: FastifyInstance, svc: Services): void {
  const db = svc.db;

  /** validate_id then get: 400 for a non-uuid, 404 (Neutron's text) for a group the caller cannot see. */
  const find = (req: FastifyRequest): SecurityGroupRow => {
    const id = params(req).id;
    if (!isUuidLike(id)) throw new BadRequest('Security group id should be uuid');
    const g = visibleGroup(req, db, id);
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
    const project_id = req.auth!.project_id ?? '';
    defaultGroup(db, project_id, svc.clock.now());
    const all = 'all_tenants' in query(req) && isAdmin(req.auth!);
    const rows = (all
      ? db.prepare('SELECT * FROM security_groups ORDER BY id').all()
      : db.prepare('SELECT * FROM security_groups WHERE project_id = ? ORDER BY id').all(project_id)) as SecurityGroupRow[];
    return { security_groups: sortGroups(limited(req, svc.config.max_limit, rows).map((g) => groupView(db, g))) };
  });

  route(scope, 'POST', '/os-security-groups', async (req) => {
    gone(req);
    authorize(req, 'member', 'os_compute_api:os-security-groups:create');
    const body = validate<{ security_group: { name: string; description: string } }>(groupSchema, req.body).security_group;
    const project_id = req.auth!.project_id ?? '';
    defaultGroup(db, project_id, svc.clock.now());
    if (body.name === 'default') throw new Forbidden('Default security group already exists.');
    await checkQuota(svc, project_id, 'security_groups');
    const row = { uuid: randomUUID(), project_id, name: body.name, description: body.description, created_at: svc.clock.now() };
    const id = Number(db.prepare('INSERT INTO security_groups (uuid, project_id, name, description, created_at) VALUES (@uuid, @project_id, @name, @description, @created_at)').run(row).lastInsertRowid);
    return { security_group: groupView(db, { id, ...row }) };
  });

  route(scope, 'GET', '/os-security-groups/:id', async (req) => {
    gone(req);
    authorize(req, 'reader', 'os_compute_api:os-security-groups:show');
    return { security_group: groupView(db, find(req)) };
  });

  route(scope, 'PUT', '/os-security-groups/:id', async (req) => {
    gone(req);
    authorize(req, 'member', 'os_compute_api:os-security-groups:update');
    const g = find(req);
    const body = validate<{ security_group: { name: string; description: string } }>(groupSchema, req.body).security_group;
    if (g.name === 'default' && body.name !== 'default') throw new BadRequest('Updating default security group not allowed.');
    db.prepare('UPDATE security_groups SET name = ?, description = ? WHERE id = ?').run(body.name, body.description, g.id);
    return { security_group: groupView(db, { ...g, name: body.name, description: body.description }) };
  });

  route(scope, 'DELETE', '/os-security-groups/:id', async (req, reply) => {
    gone(req);
    authorize(req, 'member', 'os_compute_api:os-security-groups:delete');
    const g = find(req);
    if (g.name === 'default') throw new BadRequest('Insufficient rights for removing default security group.');
    const inUse = db.prepare(`SELECT 1 FROM servers WHERE project_id = ? AND deleted = 0
      AND EXISTS (SELECT 1 FROM json_each(doc, '$.security_groups') WHERE value = ?) LIMIT 1`).get(g.project_id, g.uuid);
    if (inUse) throw new BadRequest(`Security Group ${g.uuid} in use.`);
    db.prepare('DELETE FROM security_groups WHERE id = ?').run(g.id);
    return reply.code(202).send();
  });

  route(scope, 'POST', '/os-security-group-rules', async (req) => {
    gone(req);
    authorize(req, 'member', 'os_compute_api:os-security-groups:rule:create');
    const body = validate<{ security_group_rule: Json }>(ruleSchema, req.body).security_group_rule;
    const parentId = body.parent_group_id as string;
    const parent = visibleGroup(req, db, parentId);
    if (!parent) throw new NotFound(`Security group ${parentId} does not exist`);
    let source: SecurityGroupRow | undefined;
    if (body.group_id !== undefined && body.group_id !== null) {
      source = visibleGroup(req, db, body.group_id as string);
      if (!source) throw new NotFound(`Security group ${String(body.group_id)} does not exist`);
    }
    const rule = newIngressRule(body);
    if (rule === null) throw new BadRequest('Not enough parameters to build a valid rule.');
    if (rule.cidr !== undefined) {
      const [net, prefix] = rule.cidr.split('/');
      if (net !== '0.0.0.0' && net !== '::' && prefix === '0') throw new BadRequest(`Bad prefix for network in cidr ${rule.cidr}`);
    }
    const port = (v: number | undefined) => (v === undefined || v === -1 ? null : v);
    const values = {
      protocol: rule.protocol ?? null, port_min: port(rule.from_port), port_max: port(rule.to_port),
      cidr: rule.cidr ?? null, remote_group_id: source?.id ?? null,
    };
    const same = rulesOf(db, parent.id).find((r) => r.protocol === values.protocol && r.port_min === values.port_min && r.port_max === values.port_max
      && r.cidr === values.cidr && r.remote_group_id === values.remote_group_id);
    if (same) {
      // Nova finds CIDR duplicates itself; a group rule reaches Neutron, whose 409 Nova answers with 403.
      if (rule.cidr !== undefined) throw new BadRequest(`This rule already exists in group ${parent.uuid}`);
      throw new Forbidden(`Security group rule already exists. Rule id is ${same.uuid}.`);
    }
    await checkQuota(svc, parent.project_id, 'security_group_rules');
    const row = { uuid: randomUUID(), group_id: parent.id, ...values, created_at: svc.clock.now() };
    const id = Number(db.prepare(`INSERT INTO security_group_rules (uuid, group_id, protocol, port_min, port_max, cidr, remote_group_id, created_at)
      VALUES (@uuid, @group_id, @protocol, @port_min, @port_max, @cidr, @remote_group_id, @created_at)`).run(row).lastInsertRowid);
    return { security_group_rule: ruleView(db, { id, ...row }, parent) };
  });

  route(scope, 'DELETE', '/os-security-group-rules/:id', async (req, reply) => {
    gone(req);
    authorize(req, 'member', 'os_compute_api:os-security-groups:rule:delete');
    const id = params(req).id;
    if (!isUuidLike(id)) throw new BadRequest('Security group id should be uuid');
    const r = db.prepare('SELECT r.id, g.uuid AS group_uuid FROM security_group_rules r JOIN security_groups g ON g.id = r.group_id WHERE r.uuid = ?').get(id) as { id: number; group_uuid: string } | undefined;
    if (!r || !visibleGroup(req, db, r.group_uuid)) throw new NotFound(`Security group rule ${id} does not exist`);
    db.prepare('DELETE FROM security_group_rules WHERE id = ?').run(r.id);
    return reply.code(202).send();
  });

  route(scope, 'GET', '/servers/:server_id/os-security-groups', async (req) => {
    noQueryFrom2102(req);
    const s = await svc.engine.getServer(ctxOf(req), params(req).server_id);
    authorize(req, 'reader', 'os_compute_api:os-security-groups:list', s.project_id);
    const groups = s.addresses.length === 0 ? [] : s.security_groups.map((u) => byUuid(db, u)).filter((g): g is SecurityGroupRow => g !== undefined);
    return { security_groups: sortGroups(groups.map((g) => groupView(db, g))) };
  });
}

/** The 404/409 Nova answers when add/removeSecurityGroup names no single group of the caller's project. */
export function groupActionError(resolved: Resolved & { error: string }, name: string, project_id: string): DomainError {
  if (resolved.error === 'ambiguous') return new Conflict(ambiguousMessage(name));
  return new NotFound(`Security group ${name} is not found for project ${project_id}`);
}
