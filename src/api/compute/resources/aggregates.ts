// os-aggregates: host aggregates with member hosts, metadata and an availability zone (admin only);
// uuids from 2.41, image pre-caching from 2.81. A zone given to an aggregate becomes the zone of its
// hosts (os-availability-zone, os-services, os-hosts, and where the scheduler places servers).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { Services } from '../../../novabox.ts';
import type { Aggregate } from '../../../store/compute/aggregates.ts';
import { BadRequest, Conflict, NotFound } from '../../../domain/errors.ts';
import { authorize, mv } from '../context.ts';
import { isoMicro, noQueryFrom2102, params, route, rowIdFrom, validate } from './common.ts';

const NAME = { type: 'string', minLength: 1, maxLength: 255, pattern: '^(?! )[\\s\\S]*(?<! )$' };
const AZ = { type: ['string', 'null'], minLength: 1, maxLength: 255, pattern: '^(?! )[^:]*(?<! )$' };
const CREATE = {
  type: 'object', required: ['aggregate'], additionalProperties: false,
  properties: { aggregate: { type: 'object', required: ['name'], additionalProperties: false, properties: { name: NAME, availability_zone: AZ } } },
};
const UPDATE = {
  type: 'object', required: ['aggregate'], additionalProperties: false,
  properties: { aggregate: { type: 'object', minProperties: 1, additionalProperties: false, properties: { name: NAME, availability_zone: AZ } } },
};
const HOST = (action: string) => ({
  type: 'object', required: [action], additionalProperties: false,
  properties: { [action]: { type: 'object', required: ['host'], additionalProperties: false, properties: { host: { type: 'string', minLength: 1, maxLength: 255 } } } },
});
const METADATA = {
  type: 'object', required: ['set_metadata'], additionalProperties: false,
  properties: {
    set_metadata: {
      type: 'object', required: ['metadata'], additionalProperties: false,
      properties: { metadata: { type: 'object', propertyNames: { minLength: 1, maxLength: 255, pattern: '^[a-zA-Z0-9-_:. ]{1,255}$' }, additionalProperties: { type: ['string', 'null'], maxLength: 255 } } },
    },
  },
};
const CACHE = {
  type: 'object', required: ['cache'], additionalProperties: false,
  properties: { cache: { type: 'array', minItems: 1, items: { type: 'object', required: ['id'], additionalProperties: false, properties: { id: { type: 'string', format: 'uuid' } } } } },
};

function view(req: FastifyRequest, a: Aggregate, full = true): Record<string, unknown> {
  const out: Record<string, unknown> = {
    availability_zone: a.availability_zone, created_at: isoMicro(a.created_at), deleted: false, deleted_at: null,
    id: a.id, name: a.name, updated_at: isoMicro(a.updated_at),
  };
  if (full) {
    out.hosts = a.hosts;
    out.metadata = a.metadata;
  }
  if (mv(req, 41)) out.uuid = a.uuid;
  return out;
}

export function registerAggregates(scope: FastifyInstance, svc: Services): void {
  const repo = svc.infra.aggregates;
  const now = () => svc.clock.now();
  const changed = () => svc.engine.hostsChanged();

  const find = async (raw: string): Promise<Aggregate> => {
    // Nova's validate_integer: any integer (a negative one is simply not found).
    if (!/^-?\d+$/.test(raw)) throw new BadRequest('id must be an integer');
    const id = rowIdFrom(raw, true);
    const a = id === null ? undefined : await repo.get(id);
    if (!a) throw new NotFound(`Aggregate ${raw} could not be found.`);
    return a;
  };
  const computeHost = async (host: string) => {
    if (!(await svc.engine.listHosts()).some((h) => h.name === host)) throw new NotFound(`Compute host ${host} could not be found.`);
  };
  /** A host may be in several aggregates, but all its zoned aggregates must agree on the zone. */
  const zoneConflict = async (a: Aggregate, hosts: string[], zone: string | null): Promise<string[]> => {
    if (zone === null) return [];
    const others = (await repo.list()).filter((o) => o.id !== a.id && o.availability_zone !== null && o.availability_zone !== zone && o.hosts.some((h) => hosts.includes(h)));
    return [...new Set(others.map((o) => o.availability_zone!))];
  };

  route(scope, 'GET', '/os-aggregates', async (req) => {
    authorize(req, 'admin', 'os_compute_api:os-aggregates:index');
    noQueryFrom2102(req);
    return { aggregates: (await repo.list()).map((a) => view(req, a)) };
  });

  route(scope, 'POST', '/os-aggregates', async (req) => {
    authorize(req, 'admin', 'os_compute_api:os-aggregates:create');
    const body = validate<{ aggregate: { name: string; availability_zone?: string | null } }>(CREATE, req.body).aggregate;
    const name = body.name.trim();
    const created = await repo.create({ uuid: randomUUID(), name, availability_zone: body.availability_zone ?? null }, now());
    if (!created) throw new Conflict(`Aggregate ${name} already exists.`);
    changed();
    return { aggregate: view(req, created, false) };
  });

  route(scope, 'GET', '/os-aggregates/:id', async (req) => {
    authorize(req, 'admin', 'os_compute_api:os-aggregates:show');
    noQueryFrom2102(req);
    return { aggregate: view(req, await find(params(req).id)) };
  });

  route(scope, 'PUT', '/os-aggregates/:id', async (req) => {
    authorize(req, 'admin', 'os_compute_api:os-aggregates:update');
    const body = validate<{ aggregate: { name?: string; availability_zone?: string | null } }>(UPDATE, req.body).aggregate;
    const a = await find(params(req).id);
    if (body.availability_zone !== undefined) {
      const zones = await zoneConflict(a, a.hosts, body.availability_zone);
      if (zones.length) throw new BadRequest(`Cannot update aggregate ${a.id}. Reason: One or more hosts already in availability zone(s) ${JSON.stringify(zones)}.`);
    }
    const r = await repo.update(a.id, { ...(body.name !== undefined ? { name: body.name.trim() } : {}), ...(body.availability_zone !== undefined ? { availability_zone: body.availability_zone } : {}) }, now());
    if (r === 'conflict') throw new Conflict(`Aggregate ${body.name!.trim()} already exists.`);
    if (!r) throw new NotFound(`Aggregate ${a.id} could not be found.`);
    changed();
    return { aggregate: view(req, r) };
  });

  route(scope, 'DELETE', '/os-aggregates/:id', async (req, reply) => {
    authorize(req, 'admin', 'os_compute_api:os-aggregates:delete');
    const a = await find(params(req).id);
    if (a.hosts.length) throw new BadRequest(`Cannot remove aggregate ${a.id}. Reason: Host aggregate is not empty.`);
    await repo.delete(a.id);
    changed();
    return reply.code(200).send();
  });

  route(scope, 'POST', '/os-aggregates/:id/action', async (req) => {
    const raw = req.body;
    const body = (raw && typeof raw === 'object' && !Array.isArray(raw) ? raw : {}) as Record<string, unknown>;
    const id = params(req).id;
    if ('add_host' in body) {
      authorize(req, 'admin', 'os_compute_api:os-aggregates:add_host');
      const host = validate<{ add_host: { host: string } }>(HOST('add_host'), body).add_host.host;
      const a = await find(id);
      await computeHost(host);
      const zones = await zoneConflict(a, [host], a.availability_zone);
      if (zones.length) throw new BadRequest(`Cannot add host to aggregate ${a.id}. Reason: One or more hosts already in availability zone(s) ${JSON.stringify(zones)}.`);
      if (!(await repo.addHost(a.id, host))) throw new Conflict(`Aggregate ${a.id} already has host ${host}.`);
      changed();
      return { aggregate: view(req, (await repo.get(a.id))!) };
    }
    if ('remove_host' in body) {
      authorize(req, 'admin', 'os_compute_api:os-aggregates:remove_host');
      const host = validate<{ remove_host: { host: string } }>(HOST('remove_host'), body).remove_host.host;
      const a = await find(id);
      if (!(await repo.removeHost(a.id, host))) throw new NotFound(`Cannot remove host ${host} in aggregate ${a.id}`);
      changed();
      return { aggregate: view(req, (await repo.get(a.id))!) };
    }
    if ('set_metadata' in body) {
      authorize(req, 'admin', 'os_compute_api:os-aggregates:set_metadata');
      const metadata = validate<{ set_metadata: { metadata: Record<string, string | null> } }>(METADATA, body).set_metadata.metadata;
      const a = await find(id);
      if ('availability_zone' in metadata) {
        const zones = await zoneConflict(a, a.hosts, metadata.availability_zone);
        if (zones.length) throw new BadRequest(`Cannot update metadata of aggregate ${a.id}. Reason: One or more hosts already in availability zone(s) ${JSON.stringify(zones)}.`);
      }
      const r = await repo.setMetadata(a.id, metadata, now());
      changed();
      return { aggregate: view(req, r!) };
    }
    throw new BadRequest(`Invalid input for field/attribute aggregate action. Value: ${JSON.stringify(body)}.`);
  });

  // 2.81: ask the hosts of an aggregate to cache images (accepted; the simulated hosts need nothing).
  route(scope, 'POST', '/os-aggregates/:id/images', async (req, reply) => {
    if (!mv(req, 81)) throw new NotFound('The resource could not be found.');
    authorize(req, 'admin', 'os_compute_api:os-aggregates:images');
    const body = validate<{ cache: { id: string }[] }>(CACHE, req.body);
    await find(params(req).id);
    for (const { id } of body.cache) {
      if (!(await svc.images.getImage(id, req.auth!))) throw new BadRequest(`Image ${id} could not be found.`);
    }
    return reply.code(202).send();
  });
}
