// os-server-groups: create (policies list below 2.64, policy + rules from 2.64), list, show, delete.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { Services } from '../../../novabox.ts';
import { BadRequest, NotFound, QuotaExceeded } from '../../../domain/errors.ts';
import { isAdmin } from '../../../domain/policy.ts';
import { authorize, mv } from '../context.ts';
import { limited, noQueryFrom2102, params, query, route, strictQuery, toInt, validate } from './common.ts';
import { quotaLimit } from './quotas.ts';

import type { ServerGroupRow } from '../../../store/compute/index.ts';

const NAME = { type: 'string', minLength: 1, maxLength: 255 };
const OLD = ['anti-affinity', 'affinity'];
const ALL = ['anti-affinity', 'affinity', 'soft-anti-affinity', 'soft-affinity'];

function createSchema(req: FastifyRequest): object {
  const group = mv(req, 64)
    ? {
        type: 'object', required: ['name', 'policy'], additionalProperties: false,
        properties: {
          name: NAME, policy: { type: 'string', enum: ALL },
          rules: { type: 'object', additionalProperties: false, properties: { max_server_per_host: { type: ['integer', 'string'], pattern: '^[0-9]+$', minimum: 1 } } },
        },
      }
    : {
        type: 'object', required: ['name', 'policies'], additionalProperties: false,
        properties: { name: NAME, policies: { type: 'array', minItems: 1, maxItems: 1, uniqueItems: true, items: { type: 'string', enum: mv(req, 15) ? ALL : OLD } } },
      };
  return { type: 'object', required: ['server_group'], additionalProperties: false, properties: { server_group: group } };
}

export function registerServerGroups(scope: FastifyInstance, svc: Services): void {
  const view = async (req: FastifyRequest, g: ServerGroupRow): Promise<Record<string, unknown>> => {
    const out: Record<string, unknown> = { id: g.uuid, name: g.name };
    if (mv(req, 64)) {
      out.policy = g.policy;
      out.rules = JSON.parse(g.rules);
    } else {
      out.policies = [g.policy];
      out.metadata = {};
    }
    out.members = await svc.repos.serverGroups.members(g.id);
    if (mv(req, 13)) {
      out.project_id = g.project_id;
      out.user_id = g.user_id;
    }
    return out;
  };

  const find = async (req: FastifyRequest, rule: string, policy: 'reader' | 'member'): Promise<ServerGroupRow> => {
    const g = await svc.repos.serverGroups.get(params(req).id);
    // Another project's group does not exist for a member (Nova's query is scoped to the project).
    if (!g || (g.project_id !== req.auth!.project_id && !isAdmin(req.auth!))) throw new NotFound(`Instance group ${params(req).id} could not be found.`);
    authorize(req, policy, `os_compute_api:os-server-groups:${rule}`, g.project_id);
    return g;
  };

  route(scope, 'POST', '/os-server-groups', async (req) => {
    const project_id = req.auth!.project_id ?? '';
    authorize(req, 'member', 'os_compute_api:os-server-groups:create');
    const limit = await quotaLimit(svc, project_id, 'server_groups');
    const used = await svc.repos.serverGroups.count(project_id);
    if (limit >= 0 && used + 1 > limit) throw new QuotaExceeded('Quota exceeded, too many server groups.');
    const body = validate<{ server_group: { name: string; policy?: string; policies?: string[]; rules?: { max_server_per_host?: number | string } } }>(createSchema(req), req.body);
    const sg = body.server_group;
    let policy: string;
    let rules: Record<string, number> = {};
    if (mv(req, 64)) {
      policy = sg.policy!;
      if (sg.rules && Object.keys(sg.rules).length) {
        if (policy !== 'anti-affinity') throw new BadRequest('Only anti-affinity policy supports rules.');
        if (sg.rules.max_server_per_host !== undefined) rules = { max_server_per_host: toInt(sg.rules.max_server_per_host)! };
      }
    } else {
      policy = sg.policies![0];
    }
    const row: Omit<ServerGroupRow, 'id'> = {
      uuid: randomUUID(), name: sg.name, project_id, user_id: req.auth!.user_id, policy, rules: JSON.stringify(rules), created_at: svc.clock.now(),
    };
    return { server_group: await view(req, await svc.repos.serverGroups.insert(row)) };
  });

  route(scope, 'GET', '/os-server-groups', async (req) => {
    if (mv(req, 75)) strictQuery(req, ['all_projects', 'limit', 'offset']);
    authorize(req, 'reader', 'os_compute_api:os-server-groups:index');
    const all = 'all_projects' in query(req) && isAdmin(req.auth!);
    const rows = limited(req, svc.config.max_limit, await svc.repos.serverGroups.list(all ? undefined : (req.auth!.project_id ?? '')));
    return { server_groups: await Promise.all(rows.map((g) => view(req, g))) };
  });

  route(scope, 'GET', '/os-server-groups/:id', async (req) => {
    noQueryFrom2102(req);
    return { server_group: await view(req, await find(req, 'show', 'reader')) };
  });

  route(scope, 'DELETE', '/os-server-groups/:id', async (req, reply) => {
    const g = await find(req, 'delete', 'member');
    await svc.repos.serverGroups.delete(g.id);
    return reply.code(204).send();
  });
}
