// /servers: create, list, list detail, show, update, delete (nova/api/openstack/compute/servers.py).
import { checkBlockDevices, provisionBlockDevices } from './bdm.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../../novabox.ts';
import { BadRequest, Conflict, Forbidden, NotFound } from '../../domain/errors.ts';
import { policyMessage } from '../../domain/policy.ts';
import type { BlockDeviceMapping, FlavorSnapshot, ServerRecord } from '../../domain/server.ts';
import type { CreateRequest, NetworkRequest } from '../../engine/types.ts';
import { generatePassword } from '../../engine/compute.ts';
import { atLeast } from '../microversion.ts';
import { adminOf, authorize, ctxOf } from './context.ts';
import { canonicalIp } from './ip.ts';
import { buildServerQuery, parseRawQuery } from './list-query.ts';
import { allocateForServers, validateNetworks } from './server-network.ts';
import { requestedGroupIds, serverGroupNames } from './resources/security-groups.ts';
import { createSchema, updateSchema } from './schemas/servers.ts';
import { decodeBase64, isUuidLike, unexpectedMessage, validateBody } from './schemas/validate.ts';
import { linkBase, nextLink, selfHref } from './views/links.ts';
import { ShowCache } from './views/show-cache.ts';
import { createView, detailView, minimalView, updateView, type ViewContext } from './views/servers.ts';

type Body = Record<string, any>;

/** Everything a server view needs besides the record. */
export async function viewContext(svc: Services, req: FastifyRequest, servers: ServerRecord[]): Promise<ViewContext> {
  const hosts = await svc.engine.listHosts();
  const status = new Map<string, string>();
  for (const h of hosts) status.set(h.name, svc.engine.hostStatusSync(h.name));
  const needFaults = servers.filter((s) => s.vm_state === 'error' || s.deleted).map((s) => s.uuid);
  const groups = atLeast(req.microversion, 71) ? await svc.repos.serverGroups.groupsOf(servers.map((s) => s.uuid)) : new Map<string, string[]>();
  return {
    mv: req.microversion,
    admin: adminOf(req),
    links: linkBase(svc.config, req),
    hostAz: (h) => hosts.find((x) => x.name === h)?.availability_zone,
    hostStatus: (h) => (h ? (status.get(h) ?? 'UNKNOWN') : ''),
    faults: needFaults.length ? await svc.engine.faults(needFaults) : new Map(),
    serverGroups: (uuid) => groups.get(uuid) ?? [],
    securityGroups: await serverGroupNames(svc, req.auth!, servers),
  };
}

/**
 * flavorRef: an id or a URL whose last segment is the id; unknown, disabled, or private without
 * access for the caller's project (Nova's flavor query for a non-admin context) → 400.
 */
export async function resolveFlavor(svc: Services, req: FastifyRequest, ref: string | number): Promise<FlavorSnapshot> {
  const id = String(ref).replace(/\/+$/, '').split('/').pop() ?? '';
  const f = await svc.store.getFlavor(id);
  const visible = f && (f.is_public || adminOf(req) || (await svc.store.flavorAccess(id)).includes(req.auth!.project_id ?? ''));
  if (!f || f.disabled || !visible) throw new BadRequest(`Flavor ${id} could not be found.`);
  return f;
}

/** The public key of a user's keypair, or undefined. */
export async function keyData(svc: Services, user_id: string, name: string): Promise<string | undefined> {
  return (await svc.repos.keypairs.get(user_id, name))?.public_key;
}

export function truthy(v: unknown): boolean {
  return v === true || (typeof v === 'string' && ['true', '1', 'on', 'yes'].includes(v.toLowerCase()));
}

export function imagePropertiesOf(props: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(props)) if (v !== null && v !== undefined) out[k] = String(v);
  return out;
}

function hintsOf(body: Body): Record<string, string[]> {
  const raw = (body['os:scheduler_hints'] ?? body['OS-SCH-HNT:scheduler_hints'] ?? {}) as Record<string, unknown>;
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (k.startsWith('_nova')) continue;
    out[k] = Array.isArray(v) ? v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))) : [typeof v === 'string' ? v : JSON.stringify(v)];
  }
  return out;
}

function networksOf(srv: Body, v: FastifyRequest['microversion'], maxCount: number): NetworkRequest {
  const n = srv.networks;
  if (n === undefined) return 'auto';
  if (n === 'auto' || n === 'none') return n;
  const out: { uuid?: string; port?: string; fixed_ip?: string; tag?: string }[] = [];
  const seenPorts = new Set<string>();
  for (const item of n as Body[]) {
    if (item.port && item.fixed_ip) throw new BadRequest('Fixed IP and port cannot be specified at the same time.');
    if (item.port) {
      if (seenPorts.has(item.port)) throw new BadRequest(`Port ${item.port} is specified more than once.`);
      seenPorts.add(item.port);
      out.push({ port: item.port, tag: item.tag });
      continue;
    }
    if (!item.uuid) throw new BadRequest("Bad network format: missing 'uuid'");
    if (!atLeast(v, 37) && !isUuidLike(item.uuid)) throw new BadRequest(`Bad networks format: network uuid is not in proper format (${item.uuid})`);
    if (item.fixed_ip && maxCount > 1) throw new BadRequest('Failed to launch instances: Unable to launch multiple instances with a single configured port ID. Please launch your instance one by one with different ports.');
    out.push({ uuid: item.uuid, fixed_ip: item.fixed_ip, tag: item.tag });
  }
  return out;
}

function count(v: unknown, dflt: number): number {
  if (v === undefined) return dflt;
  return typeof v === 'number' ? v : Number(v);
}

/** Injected files (personality, below 2.57) within the injected_file* quotas; 403 with Nova's messages otherwise. */
function checkPersonality(files: unknown, limits: Record<string, number>): void {
  if (!Array.isArray(files)) return;
  const max = (k: string, d: number) => limits[k] ?? d;
  if (max('injected_files', 5) >= 0 && files.length > max('injected_files', 5)) throw new Forbidden('Personality file limit exceeded');
  for (const f of files as { path?: string; contents?: string }[]) {
    const pathMax = max('injected_file_path_bytes', 255);
    if (pathMax >= 0 && Buffer.byteLength(f.path ?? '') > pathMax) throw new Forbidden(`Personality file path exceeds maximum ${pathMax}`);
    const contentMax = max('injected_file_content_bytes', 10240);
    if (contentMax >= 0 && Buffer.from(f.contents ?? '', 'base64').length > contentMax) throw new Forbidden(`Personality file content exceeds maximum ${contentMax}`);
  }
}

async function create(svc: Services, req: FastifyRequest, reply: FastifyReply) {
  const body = req.body as Body;
  validateBody(createSchema(req.microversion), body);
  const ctx = ctxOf(req);
  const auth = req.auth!;
  const srv = body.server as Body;
  authorize(req, 'member', 'os_compute_api:servers:create');
  const project_id = auth.project_id ?? '';

  const minCount = count(srv.min_count, 1);
  const maxCount = count(srv.max_count, minCount);
  if (minCount < 1) throw new BadRequest('min_count must be >= 1');
  if (maxCount < 1) throw new BadRequest('max_count must be >= 1');
  if (minCount > maxCount) throw new BadRequest('min_count must be <= max_count');
  if (srv.hostname !== undefined && maxCount > 1) throw new BadRequest('Unable to allocate a single hostname to multiple instances');

  // Requested destination (2.74) and the zone:host syntax are admin-only.
  const az = srv.availability_zone as string | undefined;
  let zone: string | null = az ?? null;
  let forcedHost: string | null = null;
  if (az !== undefined) {
    const parts = az.split(':');
    if (parts.length > 3) throw new BadRequest('Unable to parse availability_zone');
    if (parts.length > 1) {
      if (!adminOf(req)) throw new Forbidden(policyMessage('os_compute_api:servers:create:forced_host'));
      zone = parts[0] || null;
      forcedHost = parts[1] || parts[2] || null;
    }
  }
  if (srv.host !== undefined || srv.hypervisor_hostname !== undefined) {
    if (!adminOf(req)) throw new Forbidden(policyMessage('compute:servers:create:requested_destination'));
    if (forcedHost) throw new BadRequest('One mechanism with host and/or hypervisor_hostname and another mechanism with zone:host:node are mutually exclusive.');
    forcedHost = (srv.host ?? srv.hypervisor_hostname) as string;
  }
  const hosts = await svc.engine.listHosts();
  if (zone !== null && !hosts.some((h) => h.availability_zone === zone)) throw new BadRequest('The requested availability zone is not available');
  if (forcedHost !== null && !hosts.some((h) => h.name === forcedHost)) throw new BadRequest(`Compute host ${forcedHost} could not be found.`);

  // Block devices, then the image.
  if (srv.block_device_mapping && srv.block_device_mapping_v2) {
    throw new BadRequest('Using different block_device_mapping syntaxes is not allowed in the same request.');
  }
  const bdms = (srv.block_device_mapping_v2 ?? srv.block_device_mapping ?? []) as BlockDeviceMapping[];
  for (const b of srv.block_device_mapping_v2 ?? []) {
    if (b.source_type === 'blank' && b.uuid) throw new BadRequest('Block Device Mapping is Invalid: Blank device with a uuid.');
    if (b.source_type && b.source_type !== 'blank' && !b.uuid) throw new BadRequest(`Block Device Mapping is Invalid: Missing device UUID.`);
    if (b.volume_type !== undefined && b.volume_type !== null && (b.destination_type === 'local' || b.source_type === 'volume')) {
      throw new BadRequest('Block Device Mapping is Invalid: Specifying a volume_type with destination_type=local or source_type=volume is not supported.');
    }
  }
  const bootFromVolume = bdms.some((b) => b.boot_index === 0 || b.boot_index === '0' as unknown) || (srv.block_device_mapping ?? []).length > 0;
  const imageRef = (srv.imageRef ?? '') as string;
  let imageProps: Record<string, string> = {};
  let autoDisk = srv['OS-DCF:diskConfig'] === 'AUTO';
  if (!imageRef) {
    if (!bootFromVolume) throw new BadRequest('Missing imageRef attribute');
  } else {
    const img = await svc.images.getImage(imageRef, auth);
    if (!img) throw new BadRequest('Can not find requested image');
    if (img.status !== 'active') throw new BadRequest(`Image ${imageRef} is not active.`);
    imageProps = imagePropertiesOf(img.properties);
    const adc = img.properties.auto_disk_config;
    if (autoDisk && adc && adc.toLowerCase() === 'disabled') throw new BadRequest(`Requested image ${imageRef} has automatic disk resize disabled.`);
    if (srv['OS-DCF:diskConfig'] === undefined && adc && adc.toLowerCase() === 'true') autoDisk = true;
  }
  // Requested groups by name or id (Nova's _check_requested_secgroups); the server keeps their ids.
  const securityGroups = [...new Set(((srv.security_groups ?? []) as { name?: string }[]).map((g) => g.name).filter((n): n is string => !!n))];
  if (securityGroups.length === 0) securityGroups.push('default');
  const securityGroupIds = await requestedGroupIds(svc, auth, securityGroups);
  const networks = networksOf(srv, req.microversion, maxCount);
  const nics = await validateNetworks(svc, auth, req.microversion, networks, maxCount);

  const blockDevices = await checkBlockDevices(svc, auth, bdms, srv.block_device_mapping !== undefined);
  const flavor = await resolveFlavor(svc, req, srv.flavorRef);
  if (imageRef) {
    const img = (await svc.images.getImage(imageRef, auth))!;
    if (img.min_ram && flavor.memory_mb < img.min_ram) throw new BadRequest("Flavor's memory is too small for requested image.");
    if (img.min_disk && flavor.root_gb > 0 && flavor.root_gb < img.min_disk) throw new BadRequest("Flavor's disk is too small for requested image.");
    if (flavor.root_gb === 0 && !adminOf(req)) throw new Forbidden('Only volume-backed servers are allowed for flavors with zero disk.');
  }

  const metadata = (srv.metadata ?? {}) as Record<string, string>;
  const limits = await svc.engine.quotaLimits(project_id);
  const maxMeta = limits.metadata_items ?? 128;
  if (maxMeta >= 0 && Object.keys(metadata).length > maxMeta) throw new Forbidden(`Maximum number of metadata items exceeds ${maxMeta}`);
  checkPersonality(srv.personality, limits);

  let user_data: string | null = null;
  if (typeof srv.user_data === 'string') {
    if (decodeBase64(srv.user_data) === null) throw new BadRequest('User data needs to be valid base 64.');
    user_data = srv.user_data;
  }

  const hints = hintsOf(body);
  for (const g of hints.group ?? []) {
    // Nova looks the group up in the caller's project (all projects for an admin).
    const group = await svc.repos.serverGroups.get(g);
    if (!group || (group.project_id !== auth.project_id && !adminOf(req))) throw new BadRequest(`Instance group ${g} could not be found.`);
    // The group's project quota of members counts the servers this request would add.
    const limit = (await svc.engine.quotaLimits(group.project_id)).server_group_members ?? -1;
    if (limit >= 0 && (await svc.repos.serverGroups.members(group.id)).length + maxCount > limit) throw new Forbidden('Quota exceeded, too many servers in group');
  }

  let key_data: string | null = null;
  if (srv.key_name !== undefined) {
    const k = await keyData(svc, auth.user_id, srv.key_name);
    if (k === undefined) throw new BadRequest('Invalid key_name provided.');
    key_data = k;
  }

  const adminPass = (srv.adminPass as string | undefined) ?? generatePassword();
  const cr: CreateRequest = {
    name: srv.name,
    description: atLeast(req.microversion, 19) ? ((srv.description as string | null | undefined) ?? null) : srv.name,
    flavor,
    image_ref: imageRef,
    image_properties: imageProps,
    key_name: srv.key_name ?? null,
    key_data,
    user_data,
    metadata,
    tags: (srv.tags as string[] | undefined) ?? [],
    networks,
    availability_zone: zone,
    security_groups: securityGroupIds,
    block_device_mapping: blockDevices,
    scheduler_hints: hints,
    min_count: minCount,
    max_count: maxCount,
    config_drive: srv.config_drive !== undefined && truthy(srv.config_drive),
    auto_disk_config: autoDisk,
    access_ip_v4: canonicalIp(srv.accessIPv4 ?? ''),
    access_ip_v6: canonicalIp(srv.accessIPv6 ?? ''),
    trusted_image_certificates: (srv.trusted_image_certificates as string[] | null | undefined) ?? null,
    hostname: (srv.hostname as string | undefined) ?? null,
    requested_host: forcedHost,
    admin_pass: adminPass,
  };
  const created = await svc.engine.create(ctx, cr);
  for (const s of created) await provisionBlockDevices(svc, ctx, s, blockDevices);
  await allocateForServers(svc, created, nics, securityGroupIds);
  for (const g of hints.group ?? []) for (const s of created) await svc.repos.serverGroups.addMember(g, s.uuid);
  const links = linkBase(svc.config, req);
  if (srv.return_reservation_id !== undefined && truthy(srv.return_reservation_id)) {
    return reply.code(202).send({ reservation_id: created[0].reservation_id });
  }
  const first = created[0];
  reply.header('location', selfHref(links, 'servers', first.uuid));
  return reply.code(202).send({ server: createView(first, links, securityGroups, adminPass) });
}

async function list(svc: Services, req: FastifyRequest, detail: boolean) {
  authorize(req, 'reader', `os_compute_api:servers:${detail ? 'detail' : 'index'}`);
  const raw = parseRawQuery(req.url);
  const parsed = await buildServerQuery(raw, {
    mv: req.microversion, admin: adminOf(req), project_id: req.auth!.project_id ?? '', detail,
    max_limit: svc.config.max_limit,
    flavorRowId: async (id) => (await svc.store.getFlavor(id))?.id,
  });
  const marker = parsed.query.marker;
  if (marker !== undefined && !adminOf(req)) {
    // Another project's server is no marker for a member: it does not exist for them.
    const m = await svc.store.getServer(marker);
    if (!m || m.project_id !== req.auth!.project_id) throw new BadRequest(`marker [${marker}] not found`);
  }
  const servers = parsed.empty || parsed.limit === 0 ? [] : await svc.engine.listServers(parsed.query);
  const links = linkBase(svc.config, req);
  let items;
  if (detail) {
    const c = await viewContext(svc, req, servers);
    items = servers.map((s) => detailView(s, c, { show: false }));
  } else {
    items = servers.map((s) => minimalView(s, links));
  }
  const out: Record<string, unknown> = { servers: items };
  if (servers.length > 0 && servers.length === parsed.limit) {
    out.servers_links = [nextLink(links, detail ? 'servers/detail' : 'servers', raw, servers[servers.length - 1].uuid)];
  }
  return out;
}

async function show(svc: Services, req: FastifyRequest, reply: FastifyReply) {
  const { id } = req.params as { id: string };
  if (atLeast(req.microversion, 102)) {
    const extra = [...parseRawQuery(req.url).keys()];
    if (extra.length) throw new BadRequest(unexpectedMessage(extra));
  }
  const cache = showCacheOf(svc);
  const admin = adminOf(req);
  const variant = `${req.microversion[0]}.${req.microversion[1]} ${admin ? 'a' : 'm'} ${(req.params as { project_id?: string }).project_id ?? ''}`;
  const arrived = performance.now() - reply.elapsedTime;
  const hit = cache.synchronous ? cache.get(id, variant, arrived) : await cache.lookup(id, variant, arrived);
  if (hit && (admin || hit.project_id === req.auth?.project_id)) {
    authorize(req, 'reader', 'os_compute_api:servers:show', hit.project_id);
    return reply.type('application/json; charset=utf-8').send(hit.body as string);
  }
  const token = cache.begin();
  const s = await svc.engine.getServer(ctxOf(req), id);
  authorize(req, 'reader', 'os_compute_api:servers:show', s.project_id);
  const c = await viewContext(svc, req, [s]);
  const body = JSON.stringify({ server: detailView(s, c, { show: true }) });
  // Memoized under the uuid its row's trigger names, so only when the request named it that way.
  if (s.uuid === id) cache.set(token, id, variant, s.project_id, body);
  return reply.type('application/json; charset=utf-8').send(body);
}

const showCaches = new WeakMap<Services, ShowCache>();
function showCacheOf(svc: Services): ShowCache {
  let c = showCaches.get(svc);
  if (!c) showCaches.set(svc, (c = new ShowCache(svc.sql)));
  return c;
}

async function update(svc: Services, req: FastifyRequest) {
  const { id } = req.params as { id: string };
  const body = req.body as Body;
  validateBody(updateSchema(req.microversion), body);
  const ctx = ctxOf(req);
  const srv = body.server as Body;
  const patch: Parameters<Services['engine']['update']>[2] = {};
  if (srv.name !== undefined) patch.display_name = srv.name;
  if (srv.description !== undefined) patch.display_description = srv.description;
  if (srv.accessIPv4 !== undefined) patch.access_ip_v4 = canonicalIp(srv.accessIPv4);
  if (srv.accessIPv6 !== undefined) patch.access_ip_v6 = canonicalIp(srv.accessIPv6);
  if (srv.hostname !== undefined) patch.hostname = srv.hostname;
  if (srv['OS-DCF:diskConfig'] !== undefined) patch.auto_disk_config = srv['OS-DCF:diskConfig'] === 'AUTO';
  if (srv.pinned_availability_zone !== undefined) {
    const cur = await svc.engine.getServer(ctx, id);
    const z = srv.pinned_availability_zone as string | null;
    const currentAz = cur.host ? (await svc.engine.listHosts()).find((h) => h.name === cur.host)?.availability_zone : cur.availability_zone;
    if (z !== null && cur.pinned_availability_zone !== null && z !== cur.pinned_availability_zone) {
      throw new Conflict('Cannot change pinned availability zone directly. Unpin first by setting pinned_availability_zone to null.');
    }
    if (z !== null && cur.pinned_availability_zone === null && z !== currentAz) {
      throw new Conflict(`Server can only be pinned to its current availability zone '${currentAz ?? 'None'}', but '${z}' was requested.`);
    }
    patch.pinned_availability_zone = z;
  }
  const s = await svc.engine.update(ctx, id, patch);
  const c = await viewContext(svc, req, [s]);
  return { server: updateView(s, c) };
}

async function remove(svc: Services, req: FastifyRequest, reply: FastifyReply) {
  const { id } = req.params as { id: string };
  await svc.engine.delete(ctxOf(req), id);
  return reply.code(204).send();
}

export async function registerServers(scope: FastifyInstance, svc: Services): Promise<void> {
  scope.post('/servers', (req, reply) => create(svc, req, reply));
  scope.get('/servers', (req) => list(svc, req, false));
  scope.get('/servers/detail', (req) => list(svc, req, true));
  scope.get('/servers/:id', (req, reply) => show(svc, req, reply));
  scope.put('/servers/:id', (req) => update(svc, req));
  scope.delete('/servers/:id', (req, reply) => remove(svc, req, reply));
  // /os-volumes_boot: Nova's old alias of /servers, removed at 2.103 (404 from then on).
  const alias = <T>(run: (req: FastifyRequest, reply: FastifyReply) => Promise<T>) => async (req: FastifyRequest, reply: FastifyReply) => {
    if (atLeast(req.microversion, 103)) throw new NotFound('The resource could not be found.');
    return run(req, reply);
  };
  scope.post('/os-volumes_boot', alias((req, reply) => create(svc, req, reply)));
  scope.get('/os-volumes_boot', alias((req) => list(svc, req, false)));
  scope.get('/os-volumes_boot/detail', alias((req) => list(svc, req, true)));
  scope.get('/os-volumes_boot/:id', alias((req, reply) => show(svc, req, reply)));
  scope.put('/os-volumes_boot/:id', alias((req) => update(svc, req)));
  scope.delete('/os-volumes_boot/:id', alias((req, reply) => remove(svc, req, reply)));
}
