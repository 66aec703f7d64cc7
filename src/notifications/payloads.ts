// Nova's versioned notification payloads (nova/notifications/objects/instance.py) rendered from a
// server record: the same object names, versions and fields, so a consumer written against Nova's
// doc/notification_samples reads ours unchanged. Pure: no I/O.
import { createHash } from 'node:crypto';
import type { FlavorSnapshot, ServerRecord } from '../domain/server.ts';

export interface VersionedObject {
  'nova_object.name': string;
  'nova_object.namespace': 'nova';
  'nova_object.version': string;
  'nova_object.data': Record<string, unknown>;
}

function obj(name: string, version: string, data: Record<string, unknown>): VersionedObject {
  return { 'nova_object.name': name, 'nova_object.namespace': 'nova', 'nova_object.version': version, 'nova_object.data': data };
}

/** Nova's notification time format (DateTimeField in a notification: second precision, Z). */
export function notificationTime(ms: number | null): string | null {
  return ms === null ? null : new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** nova.compute.power_state's names, as InstancePowerStateField renders them. */
const POWER_NAMES: Record<number, string> = { 0: 'pending', 1: 'running', 3: 'paused', 4: 'shutdown', 6: 'crashed', 7: 'suspended' };

/** A stable uuid derived from a string (the simulated network has no Neutron port ids). */
function derivedUuid(seed: string): string {
  const h = createHash('sha1').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16], 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function flavorPayload(f: FlavorSnapshot): VersionedObject {
  return obj('FlavorPayload', '1.4', {
    flavorid: f.flavorid, name: f.name, root_gb: f.root_gb, vcpus: f.vcpus, ephemeral_gb: f.ephemeral_gb, memory_mb: f.memory_mb,
    disabled: f.disabled, rxtx_factor: f.rxtx_factor, extra_specs: f.extra_specs, projects: null, swap: f.swap, is_public: f.is_public,
    vcpu_weight: 0, description: f.description,
  });
}

export interface PayloadContext {
  request_id: string | null;
  /** Who asked (action_initiator_user / _project). */
  user_id: string | null;
  project_id: string | null;
  /** ExceptionPayload data for .error notifications. */
  fault?: { exception: string; exception_message: string; function_name: string; module_name: string; traceback: string } | null;
}

/** InstancePayload 1.9 + InstanceActionPayload 1.9's fault. */
function instanceData(s: ServerRecord, ctx: PayloadContext): Record<string, unknown> {
  const portOf = (mac: string) => derivedUuid(`${s.uuid}/${mac}`);
  return {
    uuid: s.uuid, user_id: s.user_id, tenant_id: s.project_id, reservation_id: s.reservation_id,
    display_name: s.display_name, display_description: s.display_description, host_name: s.hostname,
    host: s.host, node: s.node, os_type: s.image_properties.os_type ?? null, architecture: s.image_properties.architecture ?? null,
    availability_zone: s.availability_zone ?? (s.host ? 'nova' : null),
    flavor: flavorPayload(s.flavor), image_uuid: s.image_ref || null, key_name: s.key_name, kernel_id: '', ramdisk_id: '',
    created_at: notificationTime(s.created_at), launched_at: notificationTime(s.launched_at), terminated_at: notificationTime(s.terminated_at),
    deleted_at: notificationTime(s.deleted_at), updated_at: notificationTime(s.updated_at),
    state: s.vm_state, power_state: POWER_NAMES[s.power_state] ?? 'pending', task_state: s.task_state, progress: s.progress,
    ip_addresses: s.vm_state === 'deleted' ? [] : s.addresses.map((a) => {
      const port = portOf(a.mac);
      return obj('IpPayload', '1.0', { label: a.network, mac: a.mac, meta: {}, port_uuid: port, version: a.version, address: a.addr, device_name: `tap${port.slice(0, 11)}` });
    }),
    block_devices: s.block_device_mapping.filter((b) => b.destination_type === 'volume' && b.uuid).map((b) => obj('BlockDevicePayload', '1.0', {
      device_name: b.device_name ?? null, boot_index: b.boot_index ?? null, delete_on_termination: b.delete_on_termination ?? false, volume_id: b.uuid, tag: (b.tag as string | undefined) ?? null,
    })),
    metadata: s.metadata, locked: s.locked_by !== null, auto_disk_config: s.auto_disk_config ? 'AUTO' : 'MANUAL',
    request_id: ctx.request_id, action_initiator_user: ctx.user_id, action_initiator_project: ctx.project_id,
    locked_reason: s.locked_reason, shares: [],
    fault: ctx.fault ? obj('ExceptionPayload', '1.1', ctx.fault) : null,
  };
}

export type PayloadKind = 'action' | 'create' | 'resize_prep' | 'rebuild' | 'rescue' | 'snapshot';

/** The payload object Nova sends with an instance.<action>.<phase> notification. */
export function instancePayload(kind: PayloadKind, s: ServerRecord, ctx: PayloadContext, extra: { snapshot_image_id?: string; rescue_image_ref?: string | null } = {}): VersionedObject {
  const data = instanceData(s, ctx);
  switch (kind) {
    case 'create':
      return obj('InstanceCreatePayload', '1.13', {
        ...data,
        keypairs: s.key_name ? [obj('KeypairPayload', '1.0', { user_id: s.user_id, name: s.key_name, fingerprint: null, public_key: s.key_data, type: 'ssh' })] : [],
        tags: s.tags, trusted_image_certificates: s.trusted_image_certificates, instance_name: `instance-${s.id.toString(16).padStart(8, '0')}`,
      });
    case 'resize_prep':
      return obj('InstanceActionResizePrepPayload', '1.4', { ...data, new_flavor: s.new_flavor ? flavorPayload(s.new_flavor) : null });
    case 'rebuild':
      return obj('InstanceActionRebuildPayload', '1.10', { ...data, trusted_image_certificates: s.trusted_image_certificates });
    case 'rescue':
      return obj('InstanceActionRescuePayload', '1.4', { ...data, rescue_image_ref: extra.rescue_image_ref ?? null });
    case 'snapshot':
      return obj('InstanceActionSnapshotPayload', '1.10', { ...data, snapshot_image_id: extra.snapshot_image_id ?? null });
    default:
      return obj('InstanceActionPayload', '1.9', data);
  }
}
