// Server representations per microversion (nova/api/openstack/compute/views/servers.py):
// the minimal list item, show/detail, the core set PUT and rebuild return below 2.75, and create's.
import { createHash } from 'node:crypto';
import type { ServerRecord } from '../../../domain/server.ts';
import { instanceName } from '../../../domain/server.ts';
import { PROGRESS_STATUSES, statusOf } from '../../../domain/states.ts';
import type { FaultRow } from '../../../store/store.ts';
import type { Version } from '../../microversion.ts';
import { atLeast } from '../../microversion.ts';
import { bookmarkHref, type LinkBase, resourceLinks } from './links.ts';

export type Json = Record<string, unknown>;

export interface ViewContext {
  mv: Version;
  admin: boolean;
  links: LinkBase;
  /** Availability zone of a compute host. */
  hostAz(host: string): string | undefined;
  hostStatus(host: string | null): string;
  faults: Map<string, FaultRow>;
  /** Server groups a server belongs to (2.71 show/PUT/rebuild). */
  serverGroups?(uuid: string): string[];
  /** Names of the security groups the servers reference by id. */
  /** The groups on each server's ports (Neutron's), by server uuid. */
  securityGroups?: Map<string, { name: string }[]>;
}

/** `YYYY-MM-DDTHH:MM:SSZ` (created, updated, fault.created). */
export function isoZ(ms: number): string {
  const iso = new Date(ms).toISOString();
  // Four-digit years (every real date) are `YYYY-MM-DDTHH:MM:SS.sssZ`: cut, no regex.
  return iso.length === 24 ? `${iso.slice(0, 19)}Z` : iso.replace(/\.\d{3}Z$/, 'Z');
}

/** `YYYY-MM-DDTHH:MM:SS.ffffff` without zone (OS-SRV-USG:*). */
export function isoMicro(ms: number | null): string | null {
  if (ms === null) return null;
  const iso = new Date(ms).toISOString();
  return iso.length === 24 ? `${iso.slice(0, 23)}000` : iso.replace(/\.(\d{3})Z$/, '.$1000');
}

const hostIds = new Map<string, string>();

export function hostId(s: ServerRecord): string {
  if (!s.host) return '';
  // A pure function of (project, host), asked for on every view: remember the few pairs in use.
  const key = s.project_id + s.host;
  let id = hostIds.get(key);
  if (id === undefined) {
    id = createHash('sha224').update(key).digest('hex');
    if (hostIds.size >= 10000) hostIds.clear();
    hostIds.set(key, id);
  }
  return id;
}

export function minimalView(s: ServerRecord, links: LinkBase): Json {
  return { id: s.uuid, name: s.display_name, links: resourceLinks(links, 'servers', s.uuid) };
}

function imageView(s: ServerRecord, c: ViewContext): Json | string {
  if (!s.image_ref) return '';
  const img: Json = { id: s.image_ref, links: [{ rel: 'bookmark', href: bookmarkHref(c.links, 'images', s.image_ref) }] };
  if (atLeast(c.mv, 98)) {
    const props: Record<string, string> = {};
    for (const [k, v] of Object.entries(s.image_properties ?? {})) if (v !== null && v !== undefined) props[k.replace(/^image_/, '')] = v;
    img.properties = props;
  }
  return img;
}

function flavorView(s: ServerRecord, c: ViewContext): Json {
  const f = s.flavor;
  if (!atLeast(c.mv, 47)) return { id: f.flavorid, links: [{ rel: 'bookmark', href: bookmarkHref(c.links, 'flavors', f.flavorid) }] };
  // extra_specs: policy show:flavor-extra-specs is reader, which every caller who can see the server passes.
  return {
    vcpus: f.vcpus, ram: f.memory_mb, disk: f.root_gb, ephemeral: f.ephemeral_gb, swap: f.swap,
    original_name: f.name, extra_specs: { ...f.extra_specs },
  };
}

function addressesView(s: ServerRecord, extended: boolean): Record<string, Json[]> {
  if (s.vm_state === 'building') return {};
  const out: Record<string, Json[]> = {};
  const ordered = [...s.addresses].sort((a, b) => (a.type === b.type ? 0 : a.type === 'fixed' ? -1 : 1));
  for (const a of ordered) {
    const entry: Json = { version: a.version, addr: a.addr };
    if (extended) {
      entry['OS-EXT-IPS:type'] = a.type;
      entry['OS-EXT-IPS-MAC:mac_addr'] = a.mac;
    }
    (out[a.network] ??= []).push(entry);
  }
  return out;
}

function faultView(s: ServerRecord, status: string, c: ViewContext): Json | undefined {
  if (status !== 'ERROR' && status !== 'DELETED') return undefined;
  const f = c.faults.get(s.uuid);
  if (!f) return undefined;
  const out: Json = { code: f.code, created: isoZ(f.created_at), message: f.message };
  if (f.details && (c.admin || f.code !== 500)) out.details = f.details;
  return out;
}

function volumesAttached(s: ServerRecord, mv: Version): Json[] {
  return s.block_device_mapping
    .filter((b) => b.destination_type === 'volume' && typeof b.uuid === 'string')
    .map((b) => (atLeast(mv, 3) ? { id: b.uuid, delete_on_termination: Boolean(b.delete_on_termination) } : { id: b.uuid }));
}

function availabilityZone(s: ServerRecord, c: ViewContext): string {
  if (s.host) return c.hostAz(s.host) ?? s.availability_zone ?? '';
  return s.availability_zone ?? '';
}

/** The fields PUT and rebuild return below 2.75 (and every view starts from). */
function coreView(s: ServerRecord, c: ViewContext, status: string, extendedIps: boolean): Json {
  const out: Json = {
    id: s.uuid,
    name: s.display_name,
    status,
    tenant_id: s.project_id,
    user_id: s.user_id,
    metadata: { ...s.metadata },
    hostId: hostId(s),
    image: imageView(s, c),
    flavor: flavorView(s, c),
    created: isoZ(s.created_at),
    updated: isoZ(s.updated_at ?? s.created_at),
    addresses: addressesView(s, extendedIps),
    accessIPv4: s.access_ip_v4 ?? '',
    accessIPv6: s.access_ip_v6 ?? '',
    links: resourceLinks(c.links, 'servers', s.uuid),
    'OS-DCF:diskConfig': s.auto_disk_config ? 'AUTO' : 'MANUAL',
  };
  if (PROGRESS_STATUSES.has(status as never)) out.progress = s.progress ?? 0;
  return out;
}

function addVersioned(out: Json, s: ServerRecord, c: ViewContext, withGroups: boolean): void {
  const mv = c.mv;
  if (atLeast(mv, 9)) out.locked = s.locked_by !== null;
  if (atLeast(mv, 19)) out.description = s.display_description;
  if (atLeast(mv, 26)) out.tags = [...s.tags];
  if (atLeast(mv, 63)) out.trusted_image_certificates = s.trusted_image_certificates;
  if (atLeast(mv, 71) && withGroups) out.server_groups = c.serverGroups ? c.serverGroups(s.uuid) : [];
  if (atLeast(mv, 73)) out.locked_reason = s.locked_reason;
}

/** GET /servers/{id} (withGroups) and each item of /servers/detail. */
export function detailView(s: ServerRecord, c: ViewContext, opts: { show: boolean }): Json {
  const mv = c.mv;
  const status = statusOf(s.vm_state, s.task_state, s.deleted);
  const out = coreView(s, c, status, true);
  const fault = faultView(s, status, c);
  out['OS-EXT-AZ:availability_zone'] = availabilityZone(s, c);
  out.config_drive = s.config_drive ?? '';
  out.key_name = s.key_name;
  out['OS-SRV-USG:launched_at'] = isoMicro(s.launched_at);
  out['OS-SRV-USG:terminated_at'] = isoMicro(s.terminated_at);
  // One entry per group on each of the server's ports (Neutron's); absent without ports or groups.
  const groups = c.securityGroups?.get(s.uuid);
  if (groups?.length) out.security_groups = groups;
  if (c.admin) {
    out['OS-EXT-SRV-ATTR:host'] = s.host;
    out['OS-EXT-SRV-ATTR:instance_name'] = instanceName(s);
    out['OS-EXT-SRV-ATTR:hypervisor_hostname'] = s.node;
    if (atLeast(mv, 3)) {
      out['OS-EXT-SRV-ATTR:reservation_id'] = s.reservation_id;
      out['OS-EXT-SRV-ATTR:launch_index'] = s.launch_index;
      out['OS-EXT-SRV-ATTR:hostname'] = s.hostname;
      out['OS-EXT-SRV-ATTR:kernel_id'] = '';
      out['OS-EXT-SRV-ATTR:ramdisk_id'] = '';
      out['OS-EXT-SRV-ATTR:root_device_name'] = s.launched_at !== null ? '/dev/vda' : null;
      out['OS-EXT-SRV-ATTR:user_data'] = s.user_data;
    }
  } else if (atLeast(mv, 90)) {
    out['OS-EXT-SRV-ATTR:hostname'] = s.hostname;
  }
  out['OS-EXT-STS:task_state'] = s.task_state;
  out['OS-EXT-STS:vm_state'] = s.vm_state;
  out['OS-EXT-STS:power_state'] = s.power_state;
  out['os-extended-volumes:volumes_attached'] = volumesAttached(s, mv);
  if (fault) out.fault = fault;
  if (atLeast(mv, 16) && c.admin) out.host_status = c.hostStatus(s.host);
  addVersioned(out, s, c, opts.show);
  if (atLeast(mv, 96)) out.pinned_availability_zone = s.pinned_availability_zone;
  if (atLeast(mv, 100)) out.scheduler_hints = { ...s.scheduler_hints };
  return out;
}

/** PUT /servers/{id} and rebuild: the core set below 2.75, the show view from 2.75. */
export function updateView(s: ServerRecord, c: ViewContext): Json {
  if (atLeast(c.mv, 75)) return detailView(s, c, { show: true });
  const status = statusOf(s.vm_state, s.task_state, s.deleted);
  const out = coreView(s, c, status, false);
  const fault = faultView(s, status, c);
  if (fault) out.fault = fault;
  addVersioned(out, s, c, true);
  return out;
}

/** The rebuild response: the update view plus adminPass, key_name (2.54) and user_data (2.57). */
export function rebuildView(s: ServerRecord, c: ViewContext, adminPass: string | undefined): Json {
  const out = updateView(s, c);
  if (atLeast(c.mv, 75)) delete out['OS-EXT-SRV-ATTR:user_data'];
  if (atLeast(c.mv, 54)) out.key_name = s.key_name;
  if (atLeast(c.mv, 57)) out.user_data = s.user_data;
  if (adminPass !== undefined) out.adminPass = adminPass;
  return out;
}

/** POST /servers: id, links, diskConfig, the requested security groups and the password. */
export function createView(s: ServerRecord, links: LinkBase, securityGroups: string[], adminPass: string): Json {
  return {
    id: s.uuid,
    links: resourceLinks(links, 'servers', s.uuid),
    'OS-DCF:diskConfig': s.auto_disk_config ? 'AUTO' : 'MANUAL',
    security_groups: securityGroups.map((name) => ({ name })),
    adminPass,
  };
}
