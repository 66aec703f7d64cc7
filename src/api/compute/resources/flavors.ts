// Flavors: list/detail/show, admin create/update/delete, extra specs and flavor access.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { Services } from '../../../novabox.ts';
import type { FlavorSnapshot } from '../../../domain/server.ts';
import { BadRequest, Conflict, NotFound } from '../../../domain/errors.ts';
import { isAdmin } from '../../../domain/policy.ts';
import { compileNameFilter } from '../../../domain/regex.ts';
import { adminOf, authorize, mv } from '../context.ts';
import { limitMarker, nextLink, noQueryFrom2102, page, params, q1, route, selfLinks, strictQuery, toBool, toInt, validate } from './common.ts';

const SORT_KEYS: Record<string, (f: FlavorSnapshot) => string | number | boolean | null> = {
  flavorid: (f) => f.flavorid, id: (f) => f.id, name: (f) => f.name, memory_mb: (f) => f.memory_mb, root_gb: (f) => f.root_gb,
  vcpus: (f) => f.vcpus, ephemeral_gb: (f) => f.ephemeral_gb, swap: (f) => f.swap, rxtx_factor: (f) => f.rxtx_factor,
  is_public: (f) => f.is_public, disabled: (f) => f.disabled, description: (f) => f.description, created_at: (f) => f.id,
  updated_at: (f) => f.id, vcpu_weight: (f) => f.id,
};

function notFound(id: string): NotFound {
  return new NotFound(`Flavor ${id} could not be found.`);
}

/** Flavors the caller may see: admins all, others public ones and private ones shared with their project. */
async function visible(svc: Services, req: FastifyRequest, id: string): Promise<FlavorSnapshot> {
  const f = await svc.store.getFlavor(id);
  if (!f) throw notFound(id);
  if (!f.is_public && !adminOf(req) && !(await svc.store.flavorAccess(id)).includes(req.auth!.project_id ?? '')) throw notFound(id);
  return f;
}

export function flavorView(svc: Services, req: FastifyRequest, f: FlavorSnapshot, detail: boolean): Record<string, unknown> {
  const links = selfLinks(svc, req, 'flavors', f.flavorid);
  if (!detail) {
    const out: Record<string, unknown> = { id: f.flavorid, links, name: f.name };
    if (mv(req, 55)) out.description = f.description;
    return out;
  }
  const out: Record<string, unknown> = {
    id: f.flavorid, name: f.name, ram: f.memory_mb, disk: f.root_gb,
    swap: f.swap === 0 && !mv(req, 75) ? '' : f.swap,
    'OS-FLV-EXT-DATA:ephemeral': f.ephemeral_gb, 'OS-FLV-DISABLED:disabled': f.disabled, vcpus: f.vcpus,
    'os-flavor-access:is_public': f.is_public, rxtx_factor: f.rxtx_factor, links,
  };
  if (mv(req, 102)) {
    delete out['OS-FLV-DISABLED:disabled'];
    delete out.rxtx_factor;
  }
  if (mv(req, 55)) out.description = f.description;
  if (mv(req, 61)) out.extra_specs = f.extra_specs;
  return out;
}

const POS = { type: ['integer', 'string'], pattern: '^[0-9]+$', minimum: 1 };
const NONNEG = { type: ['integer', 'string'], pattern: '^[0-9]+$', minimum: 0 };

function createSchema(req: FastifyRequest): object {
  const props: Record<string, object> = {
    name: { type: 'string', minLength: 1, maxLength: 255 },
    // Nova's parameter_types.flavor_id: a string or a number (tempest sends integers), or null.
    id: { type: ['string', 'number', 'null'], minLength: 1, maxLength: 255, pattern: '^(?! )[a-zA-Z0-9. _-]+(?<! )$' },
    ram: POS, vcpus: POS, disk: NONNEG, 'OS-FLV-EXT-DATA:ephemeral': NONNEG, swap: NONNEG,
    rxtx_factor: { type: ['number', 'string'], pattern: '^[0-9]+(\\.[0-9]+)?$', exclusiveMinimum: 0, maximum: 3.40282e38 },
    'os-flavor-access:is_public': { type: ['boolean', 'string'] },
  };
  if (mv(req, 55)) props.description = { type: ['string', 'null'], maxLength: 65535 };
  if (mv(req, 102)) delete props.rxtx_factor;
  return {
    type: 'object', required: ['flavor'], additionalProperties: false,
    properties: { flavor: { type: 'object', required: ['name', 'ram', 'vcpus', 'disk'], additionalProperties: false, properties: props } },
  };
}
const createSchemas = new Map<string, object>();

const UPDATE = {
  type: 'object', required: ['flavor'], additionalProperties: false,
  properties: { flavor: { type: 'object', required: ['description'], additionalProperties: false, properties: { description: { type: ['string', 'null'], maxLength: 65535 } } } },
};
const SPEC_VALUE = { type: ['string', 'number', 'boolean'], minLength: 0, maxLength: 255 };
const SPECS = {
  type: 'object', required: ['extra_specs'], additionalProperties: false,
  properties: { extra_specs: { type: 'object', propertyNames: { minLength: 1, maxLength: 255, pattern: '^[a-zA-Z0-9-_:. ]{1,255}$' }, additionalProperties: SPEC_VALUE } },
};
const ACCESS = (action: string) => ({
  type: 'object', required: [action], additionalProperties: false,
  properties: { [action]: { type: 'object', required: ['tenant'], additionalProperties: false, properties: { tenant: { type: 'string', minLength: 1, maxLength: 255 } } } },
});
const ADD = ACCESS('addTenantAccess');
const REMOVE = ACCESS('removeTenantAccess');

const specString = (v: unknown) => (typeof v === 'string' ? v : typeof v === 'boolean' ? (v ? 'True' : 'False') : String(v));

export function registerFlavors(scope: FastifyInstance, svc: Services): void {
  const list = async (req: FastifyRequest, detail: boolean) => {
    if (mv(req, 75)) strictQuery(req, ['is_public', 'minDisk', 'minRam', 'sort_key', 'sort_dir', 'limit', 'marker', ...(mv(req, 102) ? ['name'] : [])]);
    const admin = isAdmin(req.auth!);
    let includePrivate = false;
    let onlyPrivate = false;
    if (admin) {
      const raw = q1(req, 'is_public');
      if (raw !== undefined && raw.toLowerCase() !== 'none') {
        const b = toBool(raw);
        if (b === null) throw new BadRequest(`Invalid is_public filter [${raw}]`);
        onlyPrivate = !b;
        includePrivate = !b;
      } else if (raw !== undefined) {
        includePrivate = true;
      }
    }
    let flavors = await svc.store.listFlavors({ include_private: admin && includePrivate, project_id: req.auth!.project_id ?? undefined });
    if (onlyPrivate) flavors = flavors.filter((f) => !f.is_public);
    if (!admin) flavors = flavors.filter((f) => !f.disabled);
    for (const [param, field] of [['minRam', 'memory_mb'], ['minDisk', 'root_gb']] as const) {
      const raw = q1(req, param);
      if (raw === undefined) continue;
      const n = toInt(raw);
      if (n === null) throw new BadRequest(`Invalid ${param} filter [${raw}]`);
      flavors = flavors.filter((f) => f[field] >= n);
    }
    const name = q1(req, 'name');
    if (name !== undefined) {
      // Nova matches the name as a regular expression (REGEXP in the database), here in linear time.
      const re = compileNameFilter(name);
      if (!re) throw new BadRequest(`Invalid name filter [${name}]`);
      flavors = flavors.filter((f) => re.test(f.name));
    }
    const sortKey = q1(req, 'sort_key') || 'flavorid';
    const sortDir = q1(req, 'sort_dir') || 'asc';
    const keys = Object.keys(SORT_KEYS).filter((k) => !(k === 'rxtx_factor' && mv(req, 102)));
    const key = keys.includes(sortKey) ? SORT_KEYS[sortKey] : undefined;
    if (!key) throw new BadRequest(`Invalid input for query parameters sort_key. Value: ${sortKey}. '${sortKey}' is not one of ${JSON.stringify(keys)}`);
    if (sortDir !== 'asc' && sortDir !== 'desc') throw new BadRequest(`Invalid input for query parameters sort_dir. Value: ${sortDir}. '${sortDir}' is not one of ["asc", "desc"]`);
    const sign = sortDir === 'asc' ? 1 : -1;
    flavors.sort((a, b) => {
      const x = key(a);
      const y = key(b);
      const c = x === y ? 0 : x === null ? -1 : y === null ? 1 : x < y ? -1 : 1;
      return c * sign || (a.flavorid < b.flavorid ? -1 : a.flavorid > b.flavorid ? 1 : 0);
    });
    const { limit, marker } = limitMarker(req, svc.config.max_limit);
    const rows = page(flavors, (f) => f.flavorid, limit, marker, (m) => new BadRequest(`marker [${m}] not found`));
    const out: Record<string, unknown> = { flavors: rows.map((f) => flavorView(svc, req, f, detail)) };
    const links = nextLink(svc, req, detail ? 'flavors/detail' : 'flavors', rows, limit, rows.at(-1)?.flavorid);
    if (links) out.flavors_links = links;
    return out;
  };

  route(scope, 'GET', '/flavors', (req) => list(req, false));
  route(scope, 'GET', '/flavors/detail', (req) => list(req, true));
  route(scope, 'GET', '/flavors/:flavor_id', async (req) => {
    noQueryFrom2102(req);
    return { flavor: flavorView(svc, req, await visible(svc, req, params(req).flavor_id), true) };
  });

  route(scope, 'POST', '/flavors', async (req) => {
    authorize(req, 'admin', 'os_compute_api:os-flavor-manage:create');
    const key = `${mv(req, 55)}${mv(req, 102)}`;
    let schema = createSchemas.get(key);
    if (!schema) createSchemas.set(key, (schema = createSchema(req)));
    const f = validate<{ flavor: Record<string, unknown> }>(schema, req.body).flavor;
    const name = String(f.name).trim();
    if (!name) throw new BadRequest(`Invalid input for field/attribute name. Value: ${String(f.name)}. '${String(f.name)}' is too short`);
    const flavorid = f.id === undefined || f.id === null || f.id === 'auto' ? randomUUID() : String(f.id);
    const existing = await svc.store.listFlavors({ include_private: true });
    if (existing.some((x) => x.name === name)) throw new Conflict(`Flavor with name ${name} already exists.`);
    if (existing.some((x) => x.flavorid === flavorid)) throw new Conflict(`Flavor with ID ${flavorid} already exists.`);
    const isPublic = f['os-flavor-access:is_public'] === undefined ? true : toBool(f['os-flavor-access:is_public']);
    if (isPublic === null) throw new BadRequest(`Invalid input for field/attribute os-flavor-access:is_public. Value: ${String(f['os-flavor-access:is_public'])}. is not a valid boolean`);
    const num = (k: string, d: number) => (f[k] === undefined ? d : Number(f[k]));
    const created = await svc.store.createFlavor({
      flavorid, name, vcpus: num('vcpus', 1), memory_mb: num('ram', 1), root_gb: num('disk', 0),
      ephemeral_gb: num('OS-FLV-EXT-DATA:ephemeral', 0), swap: num('swap', 0), rxtx_factor: num('rxtx_factor', 1.0),
      is_public: isPublic, description: (f.description as string | null | undefined) ?? null,
    }, svc.clock.now());
    // Nova gives no project access to a private flavor it creates, not even the creator's.
    return { flavor: flavorView(svc, req, created, true) };
  });

  route(scope, 'PUT', '/flavors/:flavor_id', async (req) => {
    if (!mv(req, 55)) throw new NotFound('The resource could not be found.');
    authorize(req, 'admin', 'os_compute_api:os-flavor-manage:update');
    const body = validate<{ flavor: { description: string | null } }>(UPDATE, req.body);
    const id = params(req).flavor_id;
    if (!(await svc.store.setFlavorDescription(id, body.flavor.description))) throw notFound(id);
    return { flavor: flavorView(svc, req, (await svc.store.getFlavor(id))!, true) };
  });

  route(scope, 'DELETE', '/flavors/:flavor_id', async (req, reply) => {
    authorize(req, 'admin', 'os_compute_api:os-flavor-manage:delete');
    if (!(await svc.store.deleteFlavor(params(req).flavor_id))) throw notFound(params(req).flavor_id);
    return reply.code(202).send();
  });

  // ---- extra specs
  route(scope, 'GET', '/flavors/:flavor_id/os-extra_specs', async (req) => {
    noQueryFrom2102(req);
    authorize(req, 'reader', 'os_compute_api:os-flavor-extra-specs:index');
    return { extra_specs: (await visible(svc, req, params(req).flavor_id)).extra_specs };
  });

  route(scope, 'GET', '/flavors/:flavor_id/os-extra_specs/:key', async (req) => {
    noQueryFrom2102(req);
    authorize(req, 'reader', 'os_compute_api:os-flavor-extra-specs:show');
    const { flavor_id, key } = params(req);
    const f = await visible(svc, req, flavor_id);
    if (!(key in f.extra_specs)) throw new NotFound(`Flavor ${flavor_id} has no extra specs with key ${key}.`);
    return { [key]: f.extra_specs[key] };
  });

  route(scope, 'POST', '/flavors/:flavor_id/os-extra_specs', async (req) => {
    authorize(req, 'admin', 'os_compute_api:os-flavor-extra-specs:create');
    const body = validate<{ extra_specs: Record<string, unknown> }>(SPECS, req.body);
    const id = params(req).flavor_id;
    const f = await svc.store.getFlavor(id);
    if (!f) throw notFound(id);
    const specs = Object.fromEntries(Object.entries(body.extra_specs).map(([k, v]) => [k, specString(v)]));
    await svc.store.setFlavorExtraSpecs(id, { ...f.extra_specs, ...specs });
    return { extra_specs: specs };
  });

  route(scope, 'PUT', '/flavors/:flavor_id/os-extra_specs/:key', async (req) => {
    authorize(req, 'admin', 'os_compute_api:os-flavor-extra-specs:update');
    const { flavor_id, key } = params(req);
    const body = req.body as Record<string, unknown> | undefined;
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new BadRequest('The request body is invalid or missing');
    validate({ type: 'object', minProperties: 1, additionalProperties: SPEC_VALUE }, body);
    if (Object.keys(body).length > 1) throw new BadRequest('Request body contains too many items');
    if (!(key in body)) throw new BadRequest('Request body and URI mismatch');
    const f = await svc.store.getFlavor(flavor_id);
    if (!f) throw notFound(flavor_id);
    const value = specString(body[key]);
    await svc.store.setFlavorExtraSpecs(flavor_id, { ...f.extra_specs, [key]: value });
    return { [key]: value };
  });

  route(scope, 'DELETE', '/flavors/:flavor_id/os-extra_specs/:key', async (req, reply) => {
    authorize(req, 'admin', 'os_compute_api:os-flavor-extra-specs:delete');
    const { flavor_id, key } = params(req);
    const f = await svc.store.getFlavor(flavor_id);
    if (!f) throw notFound(flavor_id);
    if (!(key in f.extra_specs)) throw new NotFound(`Flavor ${flavor_id} has no extra specs with key ${key}.`);
    const { [key]: _gone, ...rest } = f.extra_specs;
    await svc.store.setFlavorExtraSpecs(flavor_id, rest);
    return reply.code(200).send();
  });

  // ---- flavor access
  const accessList = async (id: string) => ({ flavor_access: (await svc.store.flavorAccess(id)).map((p) => ({ flavor_id: id, tenant_id: p })) });

  route(scope, 'GET', '/flavors/:flavor_id/os-flavor-access', async (req) => {
    noQueryFrom2102(req);
    authorize(req, 'admin', 'os_compute_api:os-flavor-access');
    const id = params(req).flavor_id;
    const f = await svc.store.getFlavor(id);
    if (!f) throw notFound(id);
    if (f.is_public) throw new NotFound('Access list not available for public flavors.');
    return accessList(id);
  });

  route(scope, 'POST', '/flavors/:flavor_id/action', async (req) => {
    const id = params(req).flavor_id;
    const raw = req.body;
    const body = (raw && typeof raw === 'object' && !Array.isArray(raw) ? raw : {}) as Record<string, unknown>;
    if ('addTenantAccess' in body) {
      authorize(req, 'admin', 'os_compute_api:os-flavor-access:add_tenant_access');
      const tenant = validate<{ addTenantAccess: { tenant: string } }>(ADD, body).addTenantAccess.tenant;
      const f = await svc.store.getFlavor(id);
      if (!f) throw notFound(id);
      // Below 2.7 Nova records access to a public flavor too (and answers 200).
      if (f.is_public && mv(req, 7)) throw new Conflict('Can not add access to a public flavor.');
      if ((await svc.store.flavorAccess(id)).includes(tenant)) {
        throw new Conflict(`Flavor access already exists for flavor ${id} and project ${tenant} combination.`);
      }
      await svc.store.addFlavorAccess(id, tenant);
      return accessList(id);
    }
    if ('removeTenantAccess' in body) {
      authorize(req, 'admin', 'os_compute_api:os-flavor-access:remove_tenant_access');
      const tenant = validate<{ removeTenantAccess: { tenant: string } }>(REMOVE, body).removeTenantAccess.tenant;
      const f = await svc.store.getFlavor(id);
      if (!f) throw notFound(id);
      if (!(await svc.store.flavorAccess(id)).includes(tenant)) {
        throw new NotFound(`Flavor access not found for ${id} / ${tenant} combination.`);
      }
      await svc.store.removeFlavorAccess(id, tenant);
      return accessList(id);
    }
    throw new BadRequest('There is no such action: ' + (Object.keys(body)[0] ?? 'None'));
  });

}
