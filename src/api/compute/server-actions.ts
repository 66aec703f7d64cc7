// POST /servers/{id}/action: one handler per body key, Nova's codes, headers and bodies.
// Order as Nova: body shape → known action at this microversion → schema (400) → engine (404, 403, 409).
import { snapshotVolumeBacked } from './resources/volumes.ts';
import { floatingIpAction as floatingIpOnServer } from './resources/floating-ips.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../../novabox.ts';
import { publicUrl } from '../../config.ts';
import type { ActionName } from '../../domain/actions.ts';
import { BadRequest, Conflict, DomainError, Forbidden, Gone } from '../../domain/errors.ts';
import { allows, policyMessage } from '../../domain/policy.ts';
import type { ServerRecord } from '../../domain/server.ts';
import { atLeast, type Version } from '../microversion.ts';
import { adminOf, ctxOf } from './context.ts';
import { canonicalIp } from './ip.ts';
import { imagePropertiesOf, keyData, resolveFlavor, truthy, viewContext } from './servers.ts';
import { changeServerGroup } from './resources/security-groups.ts';
import { addFixedIpToInstance, removeFixedIpFromInstance } from './server-network.ts';
import * as S from './schemas/actions.ts';
import { rebuildSchema } from './schemas/servers.ts';
import { decodeBase64, validateBody, type Schema } from './schemas/validate.ts';
import { linkBase, selfHref } from './views/links.ts';
import { rebuildView } from './views/servers.ts';

type Body = Record<string, any>;

export interface ActionCall {
  svc: Services;
  req: FastifyRequest;
  reply: FastifyReply;
  id: string;
  body: Body;
}

export interface ActionHandler {
  /** First and last microversion the action exists at (404 outside). */
  min?: number;
  max?: number;
  run(c: ActionCall): Promise<unknown>;
}

/**
 * Actions owned elsewhere (consoles and the like) register here; the servers plugin dispatches them
 * with the same body checks.
 */
export const extraActions = new Map<string, ActionHandler>();

const empty = (code: number) => async (c: ActionCall) => c.reply.code(code).send();

function validate(schema: Schema | null, body: Body): void {
  if (schema) validateBody(schema, body);
}

/** An action whose body Nova accepts with any value and which answers with an empty body. */
function plain(action: ActionName, code = 202): ActionHandler {
  return {
    async run(c) {
      await c.svc.engine.act(ctxOf(c.req), c.id, action);
      return empty(code)(c);
    },
  };
}

async function lookup(c: ActionCall): Promise<ServerRecord> {
  return c.svc.engine.getServer(ctxOf(c.req), c.id);
}

function requirePolicy(c: ActionCall, policy: 'member' | 'admin' | 'manager' | 'reader', rule: string, s: ServerRecord): void {
  if (!allows(policy, c.req.auth!, { project_id: s.project_id })) throw new Forbidden(policyMessage(rule));
}

/** Python-ish int() of a digit string or number. */
/**
 * Whether the host a live migration or an evacuation names is forced past the scheduler (Nova's
 * compute API: below the `force` microversion a named host always is; from it until 2.68 only with
 * force: true; from 2.68 never).
 */
function forcedHost(v: Version, since: number, b: Body): boolean {
  if (!b.host) return false;
  if (!atLeast(v, since)) return true;
  return !atLeast(v, 68) && b.force !== undefined && truthy(b.force);
}

function int(v: unknown): number {
  return typeof v === 'number' ? v : Number.parseInt(String(v), 10);
}

/** Generated console text: a boot log of the simulated guest. */
export function consoleLines(s: ServerRecord): string[] {
  const lines = [
    `[    0.000000] Linux version 6.1.0-novabox (simulated) #1 SMP`,
    `[    0.000000] Command line: BOOT_IMAGE=/vmlinuz root=/dev/vda1 console=ttyS0`,
    `[    0.412345] virtio_blk virtio2: [vda] ${s.flavor.root_gb * 2097152} 512-byte logical blocks`,
    `[    1.023456] EXT4-fs (vda1): mounted filesystem with ordered data mode`,
    `[    2.345678] systemd[1]: Set hostname to <${s.hostname}>.`,
    `[    3.456789] cloud-init[512]: Cloud-init v. 23.1 running 'init' at boot`,
  ];
  for (const a of s.addresses) lines.push(`[    4.${String(a.version).padStart(6, '0')}] cloud-init[512]: ci-info: | eth0 | True | ${a.addr} | ${a.mac} |`);
  lines.push(`[    5.000000] cloud-init[512]: Cloud-init v. 23.1 finished. Datasource DataSourceConfigDrive.`);
  lines.push('');
  lines.push(`${s.hostname} login: `);
  return lines;
}

const HANDLERS: Record<string, ActionHandler> = {
  reboot: {
    async run(c) {
      validateBody(S.rebootSchema, c.body);
      const hard = String(c.body.reboot.type).toUpperCase() === 'HARD';
      await c.svc.engine.act(ctxOf(c.req), c.id, hard ? 'reboot_hard' : 'reboot_soft');
      return empty(202)(c);
    },
  },
  rebuild: {
    async run(c) {
      const v = c.req.microversion;
      validateBody(rebuildSchema(v), c.body);
      const r = c.body.rebuild as Body;
      const s = await lookup(c);
      const img = await c.svc.images.getImage(r.imageRef, c.req.auth!);
      if (!img) throw new BadRequest('Cannot find image for rebuild');
      if (img.status !== 'active') throw new BadRequest(`Image ${r.imageRef} is not active.`);
      if (!s.image_ref && !atLeast(v, 93)) throw new BadRequest('Unable to rebuild with a different image for a volume-backed server.');
      const params: Record<string, unknown> = { image_ref: r.imageRef, image_properties: imagePropertiesOf(img.properties) };
      if (r.name !== undefined) params.name = r.name;
      if (r.metadata !== undefined) params.metadata = r.metadata;
      if (r.adminPass !== undefined) params.admin_pass = r.adminPass;
      if (r.description !== undefined) params.description = r.description;
      if (r.accessIPv4 !== undefined) params.access_ip_v4 = canonicalIp(r.accessIPv4);
      if (r.accessIPv6 !== undefined) params.access_ip_v6 = canonicalIp(r.accessIPv6);
      if (r.preserve_ephemeral !== undefined) params.preserve_ephemeral = truthy(r.preserve_ephemeral);
      if (r.hostname !== undefined) params.hostname = r.hostname;
      if (r.trusted_image_certificates !== undefined) params.trusted_image_certificates = r.trusted_image_certificates;
      if (r['OS-DCF:diskConfig'] !== undefined) params.auto_disk_config = r['OS-DCF:diskConfig'] === 'AUTO';
      if (r.key_name !== undefined) {
        params.key_name = r.key_name;
        if (r.key_name !== null) {
          const k = await keyData(c.svc, s.user_id, r.key_name);
          if (k === undefined) throw new BadRequest('Invalid key_name provided.');
          params.key_data = k;
        }
      }
      if (r.user_data !== undefined) {
        if (r.user_data !== null && decodeBase64(r.user_data) === null) throw new BadRequest('User data needs to be valid base 64.');
        params.user_data = r.user_data;
      }
      const out = await c.svc.engine.act(ctxOf(c.req), c.id, 'rebuild', params);
      const vc = await viewContext(c.svc, c.req, [out.server]);
      c.reply.header('location', selfHref(linkBase(c.svc.config, c.req), 'servers', c.id));
      return c.reply.code(202).send({ server: rebuildView(out.server, vc, out.admin_pass) });
    },
  },
  resize: {
    async run(c) {
      validateBody(S.resizeSchema, c.body);
      await lookup(c);
      const flavor = await resolveFlavor(c.svc, c.req, c.body.resize.flavorRef);
      const disk = c.body.resize['OS-DCF:diskConfig'];
      await c.svc.engine.act(ctxOf(c.req), c.id, 'resize', { flavor, ...(disk !== undefined ? { auto_disk_config: disk === 'AUTO' } : {}) });
      return empty(202)(c);
    },
  },
  confirmResize: plain('confirmResize', 204),
  revertResize: plain('revertResize'),
  'os-start': plain('start'),
  'os-stop': plain('stop'),
  pause: plain('pause'),
  unpause: plain('unpause'),
  suspend: plain('suspend'),
  resume: plain('resume'),
  shelve: plain('shelve'),
  shelveOffload: plain('shelveOffload'),
  unrescue: plain('unrescue'),
  restore: plain('restore'),
  forceDelete: plain('forceDelete'),
  unlock: plain('unlock'),
  lock: {
    async run(c) {
      validate(S.lockSchema(c.req.microversion), c.body);
      const reason = atLeast(c.req.microversion, 73) ? (c.body.lock?.locked_reason as string | undefined) : undefined;
      await c.svc.engine.act(ctxOf(c.req), c.id, 'lock', reason !== undefined ? { reason } : {});
      return empty(202)(c);
    },
  },
  trigger_crash_dump: {
    min: 17,
    async run(c) {
      validateBody(S.crashDumpSchema, c.body);
      await c.svc.engine.act(ctxOf(c.req), c.id, 'trigger_crash_dump');
      return empty(202)(c);
    },
  },
  changePassword: {
    async run(c) {
      validateBody(S.changePasswordSchema, c.body);
      await c.svc.engine.act(ctxOf(c.req), c.id, 'changePassword', { admin_pass: c.body.changePassword.adminPass });
      return empty(202)(c);
    },
  },
  rescue: {
    async run(c) {
      validateBody(S.rescueSchema, c.body);
      const r = (c.body.rescue ?? {}) as Body;
      await lookup(c);
      if (r.rescue_image_ref !== undefined && !(await c.svc.images.getImage(r.rescue_image_ref, c.req.auth!))) {
        throw new BadRequest(`Image ${r.rescue_image_ref} could not be found.`);
      }
      const params: Record<string, unknown> = {};
      if (r.adminPass !== undefined) params.admin_pass = r.adminPass;
      if (r.rescue_image_ref !== undefined) params.rescue_image_ref = r.rescue_image_ref;
      const out = await c.svc.engine.act(ctxOf(c.req), c.id, 'rescue', params);
      return c.reply.code(200).send({ adminPass: out.admin_pass });
    },
  },
  'os-resetState': {
    async run(c) {
      validateBody(S.resetStateSchema, c.body);
      await c.svc.engine.act(ctxOf(c.req), c.id, 'resetState', { state: c.body['os-resetState'].state });
      return empty(202)(c);
    },
  },
  unshelve: {
    async run(c) {
      const v = c.req.microversion;
      validate(S.unshelveSchema(v), c.body);
      const params: Record<string, unknown> = {};
      const u = atLeast(v, 77) && c.body.unshelve && typeof c.body.unshelve === 'object' ? (c.body.unshelve as Body) : {};
      if ('availability_zone' in u) params.availability_zone = u.availability_zone;
      if (u.host !== undefined) {
        const s = await lookup(c);
        requirePolicy(c, 'member', 'os_compute_api:os-shelve:unshelve', s);
        if (!adminOf(c.req)) throw new Forbidden(policyMessage('os_compute_api:os-shelve:unshelve_to_host'));
        params.host = u.host;
      }
      await c.svc.engine.act(ctxOf(c.req), c.id, 'unshelve', params);
      return empty(202)(c);
    },
  },
  migrate: {
    async run(c) {
      validate(S.migrateSchema(c.req.microversion), c.body);
      const host = atLeast(c.req.microversion, 56) ? (c.body.migrate?.host as string | null | undefined) : undefined;
      if (host) {
        const s = await lookup(c);
        requirePolicy(c, 'manager', 'os_compute_api:os-migrate-server:migrate', s);
        if (!adminOf(c.req)) throw new Forbidden(policyMessage('os_compute_api:os-migrate-server:migrate:host'));
      }
      await c.svc.engine.act(ctxOf(c.req), c.id, 'migrate', host ? { host } : {});
      return empty(202)(c);
    },
  },
  'os-migrateLive': {
    async run(c) {
      const v = c.req.microversion;
      validateBody(S.liveMigrateSchema(v), c.body);
      const b = c.body['os-migrateLive'] as Body;
      if (atLeast(v, 30) && !atLeast(v, 68) && b.force !== undefined && truthy(b.force) && !b.host) {
        throw new BadRequest("Can't force to a non-provided destination");
      }
      if (b.host) {
        const s = await lookup(c);
        requirePolicy(c, 'manager', 'os_compute_api:os-migrate-server:migrate_live', s);
        if (!adminOf(c.req)) throw new Forbidden(policyMessage('os_compute_api:os-migrate-server:migrate_live:host'));
      }
      const block = b.block_migration === 'auto' ? 'auto' : truthy(b.block_migration);
      await c.svc.engine.act(ctxOf(c.req), c.id, 'live_migrate', { host: b.host ?? null, block_migration: block, force: forcedHost(v, 30, b), synchronous: !atLeast(v, 34) });
      return empty(202)(c);
    },
  },
  evacuate: {
    async run(c) {
      const v = c.req.microversion;
      validateBody(S.evacuateSchema(v), c.body);
      const b = c.body.evacuate as Body;
      if (!atLeast(v, 14) && truthy(b.onSharedStorage) && b.adminPass !== undefined) {
        throw new BadRequest("admin password can't be changed on existing disk");
      }
      if (atLeast(v, 29) && !atLeast(v, 68) && b.force !== undefined && truthy(b.force) && !b.host) {
        throw new BadRequest("Can't force to a non-provided destination");
      }
      const params: Record<string, unknown> = { host: b.host ?? null, force: forcedHost(v, 29, b) };
      if (b.adminPass !== undefined) params.admin_pass = b.adminPass;
      const out = await c.svc.engine.act(ctxOf(c.req), c.id, 'evacuate', params);
      if (atLeast(v, 14)) return c.reply.code(200).send();
      return c.reply.code(200).send({ adminPass: out.admin_pass });
    },
  },
  createImage: {
    async run(c) {
      validateBody(S.createImageSchema, c.body);
      const b = c.body.createImage as Body;
      // A volume-backed server is snapshotted in Cinder, as Nova's snapshot_volume_backed does.
      const out = (await snapshotVolumeBacked(c.svc, ctxOf(c.req), c.id, b.name, b.metadata ?? {})) ?? (await c.svc.engine.act(ctxOf(c.req), c.id, 'createImage', { name: b.name, metadata: b.metadata ?? {} }));
      if (atLeast(c.req.microversion, 45)) return c.reply.code(202).send({ image_id: out.image_id });
      c.reply.header('location', `${publicUrl(c.svc.config)}/image/v2/images/${out.image_id}`);
      return c.reply.code(202).send();
    },
  },
  createBackup: {
    async run(c) {
      validateBody(S.createBackupSchema, c.body);
      const b = c.body.createBackup as Body;
      const rotation = int(b.rotation);
      const out = await c.svc.engine.act(ctxOf(c.req), c.id, 'createBackup', { name: b.name, backup_type: b.backup_type, rotation, metadata: b.metadata ?? {} });
      if (atLeast(c.req.microversion, 45)) return c.reply.code(202).send({ image_id: out.image_id });
      if (rotation > 0) c.reply.header('location', `${publicUrl(c.svc.config)}/compute/images/${out.image_id}`);
      return c.reply.code(202).send();
    },
  },
  addSecurityGroup: securityGroupAction('addSecurityGroup', 'add'),
  removeSecurityGroup: securityGroupAction('removeSecurityGroup', 'remove'),
  'os-getConsoleOutput': {
    async run(c) {
      validateBody(S.consoleOutputSchema, c.body);
      const s = await lookup(c);
      requirePolicy(c, 'member', 'os_compute_api:os-console-output', s);
      if (!s.host) throw new Conflict(`Instance ${s.uuid} is not ready`);
      const raw = c.body['os-getConsoleOutput']?.length;
      const length = raw === undefined || raw === null ? null : int(raw);
      let lines = consoleLines(s);
      if (length !== null && length >= 0) lines = length === 0 ? [] : lines.slice(-length);
      return c.reply.code(200).send({ output: lines.join('\n') });
    },
  },
  injectNetworkInfo: {
    async run(c) {
      const s = await lookup(c);
      requirePolicy(c, 'admin', 'os_compute_api:os-admin-actions:inject_network_info', s);
      return empty(202)(c);
    },
  },
  resetNetwork: {
    async run() {
      throw new Gone('This resource is no longer available.  No forwarding address is given.');
    },
  },
  addFixedIp: multinicAction('addFixedIp', S.addFixedIpSchema, 'add'),
  removeFixedIp: multinicAction('removeFixedIp', S.removeFixedIpSchema, 'remove'),
  addFloatingIp: floatingIpAction('addFloatingIp', S.addFloatingIpSchema),
  removeFloatingIp: floatingIpAction('removeFloatingIp', S.removeFloatingIpSchema),
};

/**
 * add/removeSecurityGroup (nova/network/security_group_api.py over Neutron): the group is looked up
 * by name or id in the caller's project (404 unknown, 409 ambiguous), the server must have a port
 * (404), and removing a group the port does not have is a 404 too.
 */
function securityGroupAction(key: string, verb: 'add' | 'remove'): ActionHandler {
  return {
    async run(c) {
      validateBody(S.securityGroupSchema(key), c.body);
      const rule = `os_compute_api:os-security-groups:${verb}`;
      const s = await lookup(c);
      requirePolicy(c, 'member', rule, s);
      const name = c.body[key].name as string;
      if (name.trim() === '') throw new BadRequest('Security group name cannot be empty');
      await changeServerGroup(c.svc, c.req.auth!, s, name, verb === 'add');
      return empty(202)(c);
    },
  };
}

/**
 * addFixedIp / removeFixedIp (nova/api/openstack/compute/multinic.py, 2.1–2.43): the server and the
 * policy here, then the engine casts and the server's ports change in Neutron. Nova's 400s for
 * NoMoreFixedIps and FixedIpNotFoundForInstance are never reached over Neutron (the manager raises
 * them after the 202): an unknown network or address is answered 202 and left as an instance fault.
 */
function multinicAction(key: string, schema: Schema, verb: 'add' | 'remove'): ActionHandler {
  return {
    max: 43,
    async run(c) {
      validateBody(schema, c.body);
      const s = await lookup(c);
      requirePolicy(c, 'member', `os_compute_api:os-multinic:${verb}`, s);
      const creds = c.req.auth!;
      await c.svc.engine.fixedIpAction(ctxOf(c.req), s.uuid, verb === 'add' ? 'add_fixed_ip' : 'remove_fixed_ip', (cur) => verb === 'add'
        ? addFixedIpToInstance(c.svc, creds, cur, String(c.body[key].networkId))
        : removeFixedIpFromInstance(c.svc, creds, cur, c.body[key].address as string));
      return empty(202)(c);
    },
  };
}

function floatingIpAction(key: string, schema: Schema): ActionHandler {
  return {
    max: 43,
    async run(c) {
      validateBody(schema, c.body);
      const s = await lookup(c);
      requirePolicy(c, 'member', `os_compute_api:os-floating-ips:${key === 'addFloatingIp' ? 'add' : 'remove'}`, s);
      const b = c.body[key] as { address: string; fixed_address?: string };
      await floatingIpOnServer(c.svc, c.req, s, key === 'addFloatingIp', b.address, b.fixed_address);
      return empty(202)(c);
    },
  };
}

async function dispatch(svc: Services, req: FastifyRequest, reply: FastifyReply) {
  const { id } = req.params as { id: string };
  const body = req.body as unknown;
  if (!body || typeof body !== 'object' || Array.isArray(body) || Object.keys(body).length !== 1) {
    throw new BadRequest('Malformed request body');
  }
  const key = Object.keys(body)[0];
  const handler = HANDLERS[key] ?? extraActions.get(key);
  if (!handler) throw new BadRequest(`There is no such action: ${key}`);
  const v = req.microversion;
  if ((handler.min !== undefined && !atLeast(v, handler.min)) || (handler.max !== undefined && atLeast(v, handler.max + 1))) {
    throw new DomainError('itemNotFound', 404, 'The resource could not be found.');
  }
  return handler.run({ svc, req, reply, id, body: body as Body });
}

export async function registerServerActions(scope: FastifyInstance, svc: Services): Promise<void> {
  scope.post('/servers/:id/action', (req, reply) => dispatch(svc, req, reply));
}

