// GET /limits and os-quota-sets (show, detail, defaults, admin update and delete).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Services } from '../../../novabox.ts';
import { BadRequest, Forbidden } from '../../../domain/errors.ts';
import { allows, isAdmin, policyMessage } from '../../../domain/policy.ts';
import { authorize, mv } from '../context.ts';
import { params, q1, route, strictQuery, toBool, toInt, validate } from './common.ts';

/** Quota resources by microversion: network ones go at 2.36, injected files at 2.57. */
const CORE = ['cores', 'instances', 'key_pairs', 'metadata_items', 'ram', 'server_groups', 'server_group_members'];
const INJECTED = ['injected_file_content_bytes', 'injected_file_path_bytes', 'injected_files'];
const NETWORK = ['fixed_ips', 'floating_ips', 'security_group_rules', 'security_groups'];

function resources(req: FastifyRequest): string[] {
  const out = [...CORE];
  if (!mv(req, 57)) out.push(...INJECTED);
  if (!mv(req, 36)) out.push(...NETWORK);
  return out.sort();
}

/** Defaults: config.quota_defaults overridden by the `default` quota class; nova-network resources are unlimited (-1). */
export async function quotaDefaults(svc: Services): Promise<Record<string, number>> {
  const d = await svc.engine.quotaDefaults();
  const out: Record<string, number> = {};
  for (const r of QUOTA_RESOURCES) out[r] = d[r] ?? -1;
  return out;
}

export const QUOTA_RESOURCES = [...CORE, ...INJECTED, ...NETWORK];

/** Effective limits of a project (the engine keeps them: defaults overlaid with per-project rows). */
export async function projectLimits(svc: Services, project_id: string): Promise<Record<string, number>> {
  return { ...(await quotaDefaults(svc)), ...(await svc.engine.quotaLimits(project_id)) };
}

/** One limit of a project; -1 is unlimited. */
export async function quotaLimit(svc: Services, project_id: string, resource: string): Promise<number> {
  return (await projectLimits(svc, project_id))[resource] ?? -1;
}

/** In-use counts per resource for a project (keypairs are the caller's, as Nova counts them per user). */
async function usage(svc: Services, project_id: string, user_id: string | null): Promise<Record<string, number>> {
  const u = await svc.engine.usage(project_id);
  const groups = await svc.repos.serverGroups.count(project_id);
  const keypairs = user_id ? await svc.repos.keypairs.count(user_id) : 0;
  return { instances: u.instances, cores: u.cores, ram: u.ram, server_groups: groups, key_pairs: keypairs };
}

/** A validated quota value: an integer from -1 (unlimited) to 2^31-1; 400 with Nova's message otherwise. */
export function quotaValue(resource: string, raw: unknown): number {
  const v = toInt(raw)!;
  if (v < -1 || v > 0x7fffffff) {
    throw new BadRequest(`Invalid input for field/attribute ${resource}. Value: ${String(raw)}. ${v} is ${v < -1 ? 'less than the minimum of -1' : 'greater than the maximum of 2147483647'}`);
  }
  return v;
}

function showTarget(req: FastifyRequest, rule: string): string {
  const target = params(req).tenant_id;
  authorize(req, 'reader', `os_compute_api:os-quota-sets:${rule}`, target);
  return target;
}

function updateSchema(req: FastifyRequest): object {
  const value = { type: ['integer', 'string'], pattern: '^-?[0-9]+$' };
  const props: Record<string, object> = { force: { type: ['boolean', 'string'] } };
  for (const r of resources(req)) props[r] = value;
  return { type: 'object', required: ['quota_set'], additionalProperties: false, properties: { quota_set: { type: 'object', additionalProperties: false, properties: props } } };
}

export function registerQuotas(scope: FastifyInstance, svc: Services): void {
  route(scope, 'GET', '/limits', async (req) => {
    if (mv(req, 75)) strictQuery(req, ['tenant_id']);
    let project_id = req.auth!.project_id ?? '';
    const other = q1(req, 'tenant_id');
    if (other !== undefined && other !== project_id) {
      if (!isAdmin(req.auth!)) throw new Forbidden(policyMessage('os_compute_api:limits:other_project'));
      project_id = other;
    }
    const lim = await projectLimits(svc, project_id);
    const used = await usage(svc, project_id, null);
    const abs: Record<string, number> = {};
    if (!mv(req, 39)) abs.maxImageMeta = lim.metadata_items;
    if (!mv(req, 57)) {
      abs.maxPersonality = lim.injected_files;
      abs.maxPersonalitySize = lim.injected_file_content_bytes;
    }
    if (!mv(req, 36)) {
      abs.maxSecurityGroupRules = lim.security_group_rules;
      abs.maxSecurityGroups = lim.security_groups;
    }
    Object.assign(abs, {
      maxServerMeta: lim.metadata_items, maxTotalCores: lim.cores, maxTotalInstances: lim.instances, maxTotalKeypairs: lim.key_pairs,
      maxTotalRAMSize: lim.ram, maxServerGroups: lim.server_groups, maxServerGroupMembers: lim.server_group_members,
      totalCoresUsed: used.cores, totalInstancesUsed: used.instances, totalRAMUsed: used.ram, totalServerGroupsUsed: used.server_groups,
    });
    if (!mv(req, 36)) {
      abs.maxTotalFloatingIps = lim.floating_ips;
      abs.totalFloatingIpsUsed = 0;
      // The project's groups in Neutron (its default one included once it exists).
      abs.totalSecurityGroupsUsed = await svc.network.run(req.auth!, (u) => u.repo.count(u.tx, 'security_group', project_id));
    }
    return { limits: { absolute: abs, rate: [] } };
  });

  const strict = (req: FastifyRequest) => {
    if (mv(req, 75)) strictQuery(req, ['user_id']);
  };

  route(scope, 'GET', '/os-quota-sets/:tenant_id', async (req) => {
    strict(req);
    const target = showTarget(req, 'show');
    const lim = await projectLimits(svc, target);
    const out: Record<string, unknown> = { id: target };
    for (const r of resources(req)) out[r] = lim[r];
    return { quota_set: out };
  });

  route(scope, 'GET', '/os-quota-sets/:tenant_id/detail', async (req) => {
    strict(req);
    const target = showTarget(req, 'detail');
    const lim = await projectLimits(svc, target);
    const used = await usage(svc, target, q1(req, 'user_id') ?? (target === req.auth!.project_id ? req.auth!.user_id : null));
    const out: Record<string, unknown> = { id: target };
    for (const r of resources(req)) out[r] = { in_use: used[r] ?? 0, limit: lim[r], reserved: 0 };
    return { quota_set: out };
  });

  route(scope, 'GET', '/os-quota-sets/:tenant_id/defaults', async (req) => {
    const target = params(req).tenant_id;
    const d = await quotaDefaults(svc);
    const out: Record<string, unknown> = { id: target };
    for (const r of resources(req)) out[r] = d[r];
    return { quota_set: out };
  });

  route(scope, 'PUT', '/os-quota-sets/:tenant_id', async (req) => {
    strict(req);
    const target = params(req).tenant_id;
    if (!allows('admin', req.auth!, { project_id: target })) throw new Forbidden(policyMessage('os_compute_api:os-quota-sets:update'));
    const body = validate<{ quota_set: Record<string, unknown> }>(updateSchema(req), req.body);
    const { force: rawForce, ...values } = body.quota_set;
    const force = rawForce === undefined ? false : toBool(rawForce);
    if (force === null) throw new BadRequest(`Invalid input for field/attribute force. Value: ${String(rawForce)}. '${String(rawForce)}' is not a valid boolean`);
    const current = await projectLimits(svc, target);
    const used = await usage(svc, target, null);
    const changes: Record<string, number> = {};
    for (const [r, raw] of Object.entries(values)) {
      const v = quotaValue(r, raw);
      const inUse = used[r] ?? 0;
      if (!force && v !== -1 && v < inUse) {
        throw new BadRequest(`Quota limit ${v} for ${r} must be greater than or equal to already used and reserved ${inUse}.`);
      }
      changes[r] = v;
    }
    await svc.engine.setQuotaLimits(target, changes);
    const lim = { ...current, ...changes };
    const out: Record<string, unknown> = {};
    for (const r of resources(req)) out[r] = lim[r];
    return { quota_set: out };
  });

  route(scope, 'DELETE', '/os-quota-sets/:tenant_id', async (req, reply) => {
    strict(req);
    const target = params(req).tenant_id;
    if (!allows('admin', req.auth!, { project_id: target })) throw new Forbidden(policyMessage('os_compute_api:os-quota-sets:delete'));
    await svc.engine.quotas.deleteLimits(target);
    return reply.code(202).send();
  });
}
