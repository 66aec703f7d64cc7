// Server sub-resources: instance actions, metadata, tags, ips, password, remote consoles,
// diagnostics and in-progress live migrations of one server.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { createHash, randomUUID } from 'node:crypto';
import type { Services } from '../../../novabox.ts';
import type { ServerRecord } from '../../../domain/server.ts';
import { BadRequest, Conflict, NotFound } from '../../../domain/errors.ts';
import { isAdmin } from '../../../domain/policy.ts';
import { publicUrl } from '../../../config.ts';
import type { InstanceActionEventRow, InstanceActionRow } from '../../../store/store.ts';
import { authorize, ctxOf, mv } from '../context.ts';
import { beforeBound, isoMicro, limitMarker, linkRoots, nextLink, noQueryFrom2102, page, params, parseTime, q1, route, rowIdFrom, sinceBound, strictQuery, validate } from './common.ts';
import { MIGRATION_IN_PROGRESS, migrationView } from './infra.ts';
import { extraActions } from '../server-actions.ts';

/** Nova's hostId: sha224 of project id + host, '' without a host. */
function hostId(project_id: string, host: string | null): string {
  return host ? createHash('sha224').update(project_id + host).digest('hex') : '';
}

const META_KEY = { type: 'string', minLength: 1, maxLength: 255 };
const META = { type: 'object', propertyNames: META_KEY, additionalProperties: { type: 'string', maxLength: 255 } };
const METADATA = { type: 'object', required: ['metadata'], additionalProperties: false, properties: { metadata: META } };
const META_ITEM = { type: 'object', required: ['meta'], additionalProperties: false, properties: { meta: { ...META, minProperties: 1 } } };
const TAG = { type: 'string', minLength: 1, maxLength: 60, pattern: '^[^,/]*$' };
const TAGS = { type: 'object', required: ['tags'], additionalProperties: false, properties: { tags: { type: 'array', items: TAG, maxItems: 50 } } };

const CONSOLE_TYPES: Record<string, string[]> = { vnc: ['novnc', 'xvpvnc'], spice: ['spice-html5'], rdp: ['rdp-html5'], serial: ['serial'], mks: ['webmks'] };
/** What the simulated (libvirt-like) hypervisor offers. */
const AVAILABLE_CONSOLES = new Set(['novnc', 'spice-html5', 'serial']);

export function registerServerSubResources(scope: FastifyInstance, svc: Services): void {
  /** The server (404 for unknown or another project's), then the rule checked against its project. */
  const server = async (req: FastifyRequest, policy: 'reader' | 'member' | 'admin', rule: string, includeDeleted = false): Promise<ServerRecord> => {
    const s = await svc.engine.getServer(ctxOf(req), params(req).server_id, { include_deleted: includeDeleted });
    authorize(req, policy, rule, s.project_id);
    return s;
  };

  // ---- instance actions
  const actionView = (req: FastifyRequest, a: InstanceActionRow): Record<string, unknown> => {
    const out: Record<string, unknown> = {
      action: a.action, instance_uuid: a.server_uuid, message: a.message, project_id: a.project_id,
      request_id: a.request_id, start_time: isoMicro(a.start_time), user_id: a.user_id,
    };
    if (mv(req, 58)) out.updated_at = isoMicro(a.updated_at ?? a.finish_time ?? a.start_time);
    return out;
  };
  const eventView = (req: FastifyRequest, s: ServerRecord, e: InstanceActionEventRow): Record<string, unknown> => {
    const admin = isAdmin(req.auth!);
    const out: Record<string, unknown> = { event: e.event, finish_time: isoMicro(e.finish_time), result: e.result, start_time: isoMicro(e.start_time) };
    if (admin) out.traceback = e.traceback;
    if (mv(req, 62)) {
      out.hostId = hostId(s.project_id, e.host);
      if (admin) out.host = e.host ?? '';
    }
    if (mv(req, 84) && admin) out.details = e.details;
    return out;
  };

  route(scope, 'GET', '/servers/:server_id/os-instance-actions', async (req) => {
    if (mv(req, 58)) strictQuery(req, mv(req, 66) ? ['limit', 'marker', 'changes-since', 'changes-before'] : ['limit', 'marker', 'changes-since']);
    await server(req, 'reader', 'os_compute_api:os-instance-actions:list', mv(req, 21));
    let rows = await svc.engine.listActions(ctxOf(req), params(req).server_id);
    let links;
    if (mv(req, 58)) {
      const since = q1(req, 'changes-since');
      const before = mv(req, 66) ? q1(req, 'changes-before') : undefined;
      const ts = since === undefined ? undefined : parseTime('changes-since', since);
      const tb = before === undefined ? undefined : parseTime('changes-before', before);
      if (ts !== undefined && tb !== undefined && ts > tb) throw new BadRequest('The value of changes-since must be less than or equal to changes-before.');
      const upd = (a: InstanceActionRow) => a.updated_at ?? a.finish_time ?? a.start_time;
      if (ts !== undefined) rows = rows.filter((a) => upd(a) >= sinceBound(ts));
      if (tb !== undefined) rows = rows.filter((a) => upd(a) <= beforeBound(tb));
      const { limit, marker } = limitMarker(req, svc.config.max_limit);
      rows = page(rows, (a) => a.request_id, limit, marker, (m) => new BadRequest(`Marker ${m} could not be found.`));
      links = nextLink(svc, req, `servers/${params(req).server_id}/os-instance-actions`, rows, limit, rows.at(-1)?.request_id);
    }
    const out: Record<string, unknown> = { instanceActions: rows.map((a) => actionView(req, a)) };
    if (links) out.links = links;
    return out;
  });

  route(scope, 'GET', '/servers/:server_id/os-instance-actions/:request_id', async (req) => {
    noQueryFrom2102(req);
    const s = await server(req, 'reader', 'os_compute_api:os-instance-actions:show', mv(req, 21));
    const a = await svc.engine.getAction(ctxOf(req), s.uuid, params(req).request_id);
    if (!a) throw new NotFound(`Action ${params(req).request_id} not found`);
    const out = actionView(req, a);
    if (isAdmin(req.auth!) || mv(req, 51)) out.events = a.events.map((e) => eventView(req, s, e));
    return { instanceAction: out };
  });

  // ---- metadata
  route(scope, 'GET', '/servers/:server_id/metadata', async (req) => {
    noQueryFrom2102(req);
    return { metadata: (await server(req, 'reader', 'os_compute_api:server-metadata:index')).metadata };
  });

  route(scope, 'GET', '/servers/:server_id/metadata/:key', async (req) => {
    noQueryFrom2102(req);
    const s = await server(req, 'reader', 'os_compute_api:server-metadata:show');
    const key = params(req).key;
    if (!(key in s.metadata)) throw new NotFound('Metadata item was not found');
    return { meta: { [key]: s.metadata[key] } };
  });

  const setAll = (mode: 'replace' | 'merge', rule: string) => async (req: FastifyRequest) => {
    await server(req, 'member', rule);
    const body = validate<{ metadata: Record<string, string> }>(METADATA, req.body);
    return { metadata: await svc.engine.setMetadata(ctxOf(req), params(req).server_id, body.metadata, mode) };
  };
  route(scope, 'PUT', '/servers/:server_id/metadata', setAll('replace', 'os_compute_api:server-metadata:update_all'));
  route(scope, 'POST', '/servers/:server_id/metadata', setAll('merge', 'os_compute_api:server-metadata:create'));

  route(scope, 'PUT', '/servers/:server_id/metadata/:key', async (req) => {
    await server(req, 'member', 'os_compute_api:server-metadata:update');
    const meta = validate<{ meta: Record<string, string> }>(META_ITEM, req.body).meta;
    const key = params(req).key;
    if (!(key in meta)) throw new BadRequest('Request body and URI mismatch');
    if (Object.keys(meta).length > 1) throw new BadRequest('Request body contains too many items');
    await svc.engine.setMetadata(ctxOf(req), params(req).server_id, { [key]: meta[key] }, 'merge');
    return { meta: { [key]: meta[key] } };
  });

  route(scope, 'DELETE', '/servers/:server_id/metadata/:key', async (req, reply) => {
    await server(req, 'member', 'os_compute_api:server-metadata:delete');
    await svc.engine.deleteMetadata(ctxOf(req), params(req).server_id, params(req).key);
    return reply.code(204).send();
  });

  // ---- tags (2.26)
  const tagsRoute = (method: 'GET' | 'PUT' | 'DELETE', path: string, handler: (req: FastifyRequest, reply: import('fastify').FastifyReply) => Promise<unknown>) => {
    route(scope, method, path, async (req, reply) => {
      if (!mv(req, 26)) throw new NotFound('The resource could not be found.');
      return handler(req, reply);
    });
  };

  tagsRoute('GET', '/servers/:server_id/tags', async (req) => ({ tags: (await server(req, 'reader', 'os_compute_api:os-server-tags:index')).tags }));

  tagsRoute('PUT', '/servers/:server_id/tags', async (req) => {
    await server(req, 'member', 'os_compute_api:os-server-tags:update_all');
    const body = validate<{ tags: string[] }>(TAGS, req.body);
    return { tags: await svc.engine.setTags(ctxOf(req), params(req).server_id, body.tags) };
  });

  tagsRoute('DELETE', '/servers/:server_id/tags', async (req, reply) => {
    await server(req, 'member', 'os_compute_api:os-server-tags:delete_all');
    await svc.engine.deleteTag(ctxOf(req), params(req).server_id, null);
    return reply.code(204).send();
  });

  tagsRoute('GET', '/servers/:server_id/tags/:tag', async (req, reply) => {
    const s = await server(req, 'reader', 'os_compute_api:os-server-tags:show');
    if (!s.tags.includes(params(req).tag)) throw new NotFound(`Instance ${s.uuid} has no tag '${params(req).tag}'`);
    return reply.code(204).send();
  });

  tagsRoute('PUT', '/servers/:server_id/tags/:tag', async (req, reply) => {
    await server(req, 'member', 'os_compute_api:os-server-tags:update');
    const tag = params(req).tag;
    validate({ type: 'object', properties: { tag: TAG } }, { tag });
    const { added } = await svc.engine.addTag(ctxOf(req), params(req).server_id, tag);
    if (!added) return reply.code(204).send();
    const root = linkRoots(svc, req).self;
    return reply.code(201).header('location', `${root}/servers/${params(req).server_id}/tags/${encodeURIComponent(tag)}`).send();
  });

  tagsRoute('DELETE', '/servers/:server_id/tags/:tag', async (req, reply) => {
    const s = await server(req, 'member', 'os_compute_api:os-server-tags:delete');
    if (!s.tags.includes(params(req).tag)) throw new NotFound(`Instance ${s.uuid} has no tag '${params(req).tag}'`);
    await svc.engine.deleteTag(ctxOf(req), s.uuid, params(req).tag);
    return reply.code(204).send();
  });

  // ---- ips
  const addresses = (s: ServerRecord) => {
    const out: Record<string, { addr: string; version: number }[]> = {};
    for (const a of s.addresses) (out[a.network] ??= []).push({ addr: a.addr, version: a.version });
    return out;
  };
  route(scope, 'GET', '/servers/:server_id/ips', async (req) => {
    noQueryFrom2102(req);
    return { addresses: addresses(await server(req, 'reader', 'os_compute_api:ips:index')) };
  });
  route(scope, 'GET', '/servers/:server_id/ips/:network', async (req) => {
    noQueryFrom2102(req);
    const all = addresses(await server(req, 'reader', 'os_compute_api:ips:show'));
    const net = params(req).network;
    if (!(net in all)) throw new NotFound('Instance is not a member of specified network');
    return { [net]: all[net] };
  });

  // ---- server password (set by the metadata service in Nova; empty until something stores one)
  route(scope, 'GET', '/servers/:server_id/os-server-password', async (req) => {
    noQueryFrom2102(req);
    const s = await server(req, 'reader', 'os_compute_api:os-server-password:show');
    return { password: (await svc.repos.passwords.get(s.uuid)) ?? '' };
  });
  route(scope, 'DELETE', '/servers/:server_id/os-server-password', async (req, reply) => {
    const s = await server(req, 'member', 'os_compute_api:os-server-password:clear');
    await svc.repos.passwords.clear(s.uuid);
    return reply.code(204).send();
  });

  // ---- remote consoles (2.6)
  route(scope, 'POST', '/servers/:server_id/remote-consoles', async (req) => {
    if (!mv(req, 6)) throw new NotFound('The resource could not be found.');
    const protocols = mv(req, 8) ? ['vnc', 'spice', 'rdp', 'serial', 'mks'] : ['vnc', 'spice', 'rdp', 'serial'];
    const types = protocols.flatMap((p) => CONSOLE_TYPES[p]);
    const body = validate<{ remote_console: { protocol: string; type: string } }>({
      type: 'object', required: ['remote_console'], additionalProperties: false,
      properties: { remote_console: { type: 'object', required: ['protocol', 'type'], additionalProperties: false, properties: { protocol: { type: 'string', enum: protocols }, type: { type: 'string', enum: types } } } },
    }, req.body);
    const s = await server(req, 'member', 'os_compute_api:os-remote-consoles');
    const { protocol, type } = body.remote_console;
    if (!CONSOLE_TYPES[protocol].includes(type)) throw new BadRequest(`Invalid console type ${type} for protocol ${protocol}`);
    if (!AVAILABLE_CONSOLES.has(type)) throw new BadRequest(`Unavailable console type ${type}.`);
    if (!s.host || s.vm_state !== 'active') throw new Conflict(`Instance ${s.uuid} is not ready.`);
    return { remote_console: { protocol, type, url: consoleUrl(svc, type) } };
  });

  // ---- legacy console actions (2.1-2.5): POST /servers/{id}/action {"os-getVNCConsole": {"type": "novnc"}}
  for (const [action, protocol] of [['os-getVNCConsole', 'vnc'], ['os-getSPICEConsole', 'spice'], ['os-getRDPConsole', 'rdp'], ['os-getSerialConsole', 'serial']] as const) {
    extraActions.set(action, {
      max: 5,
      async run(c) {
        const body = validate<Record<string, { type: string }>>({
          type: 'object', required: [action], additionalProperties: false,
          properties: { [action]: { type: 'object', required: ['type'], additionalProperties: false, properties: { type: { type: 'string', enum: CONSOLE_TYPES[protocol] } } } },
        }, c.body);
        const s = await svc.engine.getServer(ctxOf(c.req), c.id);
        authorize(c.req, 'member', 'os_compute_api:os-remote-consoles', s.project_id);
        const type = body[action].type;
        if (!AVAILABLE_CONSOLES.has(type)) throw new BadRequest(`Unavailable console type ${type}.`);
        if (!s.host || s.vm_state !== 'active') throw new Conflict(`Instance ${s.uuid} is not ready.`);
        return { console: { type, url: consoleUrl(svc, type) } };
      },
    });
  }

  // ---- diagnostics (admin)
  route(scope, 'GET', '/servers/:server_id/diagnostics', async (req) => {
    noQueryFrom2102(req);
    const s = await server(req, 'admin', 'os_compute_api:os-server-diagnostics');
    if (!s.host || ['building', 'shelved_offloaded', 'deleted', 'soft-delete'].includes(s.vm_state)) {
      throw new Conflict(`Cannot 'get_diagnostics' instance ${s.uuid} while it is in vm_state ${s.vm_state}`);
    }
    const ram = s.flavor.memory_mb * 1024;
    const mac = s.addresses[0]?.mac ?? 'fa:16:3e:00:00:01';
    if (!mv(req, 48)) {
      return {
        cpu0_time: 17300000000, memory: ram, vda_errors: -1, vda_read: 262144, vda_read_req: 112, vda_write: 5778432, vda_write_req: 488,
        vnet1_rx: 2070139, vnet1_rx_drop: 0, vnet1_rx_errors: 0, vnet1_rx_packets: 26701, vnet1_tx: 140208, vnet1_tx_drop: 0, vnet1_tx_errors: 0, vnet1_tx_packets: 662,
      };
    }
    const state = ({ 1: 'running', 3: 'paused', 4: 'shutdown', 6: 'crashed', 7: 'suspended' } as Record<number, string>)[s.power_state] ?? 'pending';
    return {
      config_drive: s.config_drive === 'True', cpu_details: Array.from({ length: s.flavor.vcpus }, (_, id) => ({ id, time: 17300000000, utilisation: 15 })),
      disk_details: [{ errors_count: 0, read_bytes: 262144, read_requests: 112, write_bytes: 5778432, write_requests: 488 }],
      driver: 'libvirt', hypervisor: 'kvm', hypervisor_os: 'linux', memory_details: { maximum: ram, used: 0 },
      nic_details: [{ mac_address: mac, rx_drop: 0, rx_errors: 0, rx_octets: 2070139, rx_packets: 26701, rx_rate: null, tx_drop: 0, tx_errors: 0, tx_octets: 140208, tx_packets: 662, tx_rate: null }],
      num_cpus: s.flavor.vcpus, num_disks: 1, num_nics: 1, state,
      uptime: s.launched_at ? Math.max(0, Math.floor((svc.clock.now() - s.launched_at) / 1000)) : 0,
    };
  });

  // ---- migrations of one server (2.23): in-progress live migrations only
  const liveMigrations = async (req: FastifyRequest) => {
    if (!mv(req, 23)) throw new NotFound('The resource could not be found.');
    noQueryFrom2102(req);
    const s = await server(req, 'admin', 'os_compute_api:servers:migrations:index');
    const rows = await svc.engine.listMigrations({ server_uuid: s.uuid, migration_type: 'live-migration' });
    return rows.filter((m) => MIGRATION_IN_PROGRESS.includes(String(m.status)));
  };
  route(scope, 'GET', '/servers/:server_id/migrations', async (req) => ({
    migrations: (await liveMigrations(req)).map((m) => migrationView(svc, req, m, true)),
  }));
  route(scope, 'GET', '/servers/:server_id/migrations/:migration_id', async (req) => {
    const m = (await liveMigrations(req)).find((x) => String(x.id) === params(req).migration_id);
    if (!m) throw new NotFound(`Migration ${params(req).migration_id} not found for instance ${params(req).server_id}`);
    return { migration: migrationView(svc, req, m, true) };
  });

  // ---- force-complete (2.22) and abort (2.24) of an in-progress live migration
  /** The engine's migration errors, in the codes and words each Nova API uses. */
  const migrationError = (e: unknown, uuid: string, id: string, notFoundCode: 400 | 404, method: string): unknown => {
    if (e instanceof NotFound && e.message.includes('does not have the migration')) {
      const msg = `Migration ${id} not found for instance ${uuid}`;
      return notFoundCode === 400 ? new BadRequest(msg) : new NotFound(msg);
    }
    const m = e instanceof Conflict ? /^Migration \S+ state of instance \S+ is (\S+)\./.exec(e.message) : null;
    if (m) return new BadRequest(`Migration ${id} state of instance ${uuid} is ${m[1]}. Cannot ${method} while the migration is in this state.`);
    return e;
  };
  const FORCE_COMPLETE = { type: 'object', required: ['force_complete'], additionalProperties: false, properties: { force_complete: { type: 'null' } } };

  route(scope, 'POST', '/servers/:server_id/migrations/:migration_id/action', async (req, reply) => {
    if (!mv(req, 22)) throw new NotFound('The resource could not be found.');
    const body = req.body as Record<string, unknown> | undefined;
    if (!body || typeof body !== 'object' || Array.isArray(body) || !('force_complete' in body)) {
      throw new BadRequest(`There is no such action: ${body && typeof body === 'object' ? (Object.keys(body)[0] ?? 'None') : 'None'}`);
    }
    validate(FORCE_COMPLETE, body);
    const s = await server(req, 'admin', 'os_compute_api:servers:migrations:force_complete');
    const { migration_id } = params(req);
    try {
      await svc.engine.controlLiveMigration(ctxOf(req), s.uuid, migrationNumber(migration_id), 'force_complete');
    } catch (e) {
      throw migrationError(e, s.uuid, migration_id, 400, 'force complete');
    }
    return reply.code(202).send();
  });

  route(scope, 'DELETE', '/servers/:server_id/migrations/:migration_id', async (req, reply) => {
    if (!mv(req, 24)) throw new NotFound('The resource could not be found.');
    const s = await server(req, 'admin', 'os_compute_api:servers:migrations:delete');
    const { migration_id } = params(req);
    const id = migrationNumber(migration_id);
    // Before 2.65 only a running migration can be aborted; queued and preparing ones from 2.65.
    if (!mv(req, 65) && s.task_state === 'migrating' && (s.locked_by === null || isAdmin(req.auth!))) {
      const m = (await svc.engine.listMigrations({ server_uuid: s.uuid })).find((x) => x.id === id && x.migration_type === 'live-migration');
      if (m && m.status !== 'running') {
        throw new BadRequest(`Migration ${migration_id} state of instance ${s.uuid} is ${m.status}. Cannot abort live migration while the migration is in this state.`);
      }
    }
    try {
      await svc.engine.controlLiveMigration(ctxOf(req), s.uuid, id, 'abort');
    } catch (e) {
      throw migrationError(e, s.uuid, migration_id, 404, 'abort live migration');
    }
    return reply.code(202).send();
  });
}

/** A migration id from the URL; anything but digits matches no migration. */
function migrationNumber(raw: string): number {
  return rowIdFrom(raw) ?? -1;
}

/** A console URL on the public host, in the shape the console proxies use (the token is not served). */
export function consoleUrl(svc: Services, type: string): string {
  const host = new URL(publicUrl(svc.config)).hostname;
  const token = randomUUID();
  switch (type) {
    case 'spice-html5':
      return `http://${host}:6082/spice_auto.html?token=${token}`;
    case 'serial':
      return `ws://${host}:6083/?token=${token}`;
    case 'webmks':
      return `http://${host}:6090/mks.html?token=${token}`;
    case 'rdp-html5':
      return `http://${host}:6083/?token=${token}`;
    default:
      return `http://${host}:6080/vnc_auto.html?path=%3Ftoken%3D${token}`;
  }
}
