// os-quota-class-sets: show and update a quota class. Only `default` has an effect (it replaces the
// configured defaults of every project), as in Nova; other class names are stored and shown.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Services } from '../../../novabox.ts';
import { authorize, mv } from '../context.ts';
import { params, route, strictQuery, validate } from './common.ts';
import { quotaDefaults, quotaValue } from './quotas.ts';

/** The resources a class shows: network ones below 2.50, server groups from 2.50, injected files below 2.57. */
function classResources(req: FastifyRequest): string[] {
  const out = ['cores', 'instances', 'key_pairs', 'metadata_items', 'ram'];
  if (!mv(req, 57)) out.push('injected_file_content_bytes', 'injected_file_path_bytes', 'injected_files');
  if (mv(req, 50)) out.push('server_groups', 'server_group_members');
  else out.push('fixed_ips', 'floating_ips', 'security_group_rules', 'security_groups');
  return out.sort();
}

function updateSchema(req: FastifyRequest): object {
  const value = { type: ['integer', 'string'], pattern: '^-?[0-9]+$' };
  const props: Record<string, object> = {};
  for (const r of classResources(req)) props[r] = value;
  return { type: 'object', required: ['quota_class_set'], additionalProperties: false, properties: { quota_class_set: { type: 'object', additionalProperties: false, properties: props } } };
}

export function registerQuotaClasses(scope: FastifyInstance, svc: Services): void {
  const repos = svc.infra;
  const show = async (req: FastifyRequest, name: string): Promise<Record<string, number>> => {
    const d = await quotaDefaults(svc);
    return { ...d, ...(name === 'default' ? {} : await repos.quotaClasses.limits(name)) };
  };

  route(scope, 'GET', '/os-quota-class-sets/:id', async (req) => {
    authorize(req, 'admin', 'os_compute_api:os-quota-class-sets:show');
    if (mv(req, 75)) strictQuery(req, []);
    const id = params(req).id;
    const lim = await show(req, id);
    const out: Record<string, unknown> = { id };
    for (const r of classResources(req)) out[r] = lim[r] ?? -1;
    return { quota_class_set: out };
  });

  route(scope, 'PUT', '/os-quota-class-sets/:id', async (req) => {
    authorize(req, 'admin', 'os_compute_api:os-quota-class-sets:update');
    const id = params(req).id;
    const body = validate<{ quota_class_set: Record<string, unknown> }>(updateSchema(req), req.body);
    const changes: Record<string, number> = {};
    for (const [r, raw] of Object.entries(body.quota_class_set)) changes[r] = quotaValue(r, raw);
    await repos.quotaClasses.set(id, changes);
    const lim = await show(req, id);
    const out: Record<string, unknown> = {};
    for (const r of classResources(req)) out[r] = lim[r] ?? -1;
    return { quota_class_set: out };
  });
}
