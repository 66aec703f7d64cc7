// The server record and the values it carries. Field names follow Nova's instances table.
import type { PowerState, TaskState, VmState } from './states.ts';

/** A flavor as the server keeps a copy of it (Nova embeds the flavor in the instance). */
export interface FlavorSnapshot {
  id: number; // internal row id (Nova's instance_type_id)
  flavorid: string; // the public id
  name: string;
  vcpus: number;
  memory_mb: number;
  root_gb: number;
  ephemeral_gb: number;
  swap: number;
  rxtx_factor: number;
  is_public: boolean;
  disabled: boolean;
  description: string | null;
  extra_specs: Record<string, string>;
}

export interface FixedAddress {
  network: string;
  version: 4 | 6;
  addr: string;
  mac: string;
  type: 'fixed' | 'floating';
}

export interface BlockDeviceMapping {
  source_type?: string;
  destination_type?: string;
  uuid?: string;
  boot_index?: number | null;
  volume_size?: number;
  device_name?: string;
  delete_on_termination?: boolean;
  [k: string]: unknown;
}

export type LockedBy = 'owner' | 'admin' | null;

export interface ServerRecord {
  id: number; // internal id: instance_name and tie-breaker
  uuid: string;
  project_id: string;
  user_id: string;
  display_name: string;
  display_description: string | null;
  hostname: string;
  vm_state: VmState;
  task_state: TaskState | null;
  power_state: PowerState;
  host: string | null;
  node: string | null;
  availability_zone: string | null; // the requested zone (null: any)
  pinned_availability_zone: string | null;
  flavor: FlavorSnapshot;
  old_flavor: FlavorSnapshot | null;
  new_flavor: FlavorSnapshot | null;
  image_ref: string; // '' for boot from volume
  image_properties: Record<string, string>;
  key_name: string | null;
  key_data: string | null;
  user_data: string | null;
  config_drive: string; // '' or 'True'
  auto_disk_config: boolean;
  access_ip_v4: string;
  access_ip_v6: string;
  metadata: Record<string, string>;
  system_metadata: Record<string, string>; // old_vm_state and friends, as Nova keeps them
  tags: string[];
  addresses: FixedAddress[];
  security_groups: string[];
  block_device_mapping: BlockDeviceMapping[];
  scheduler_hints: Record<string, string[]>;
  trusted_image_certificates: string[] | null;
  locked_by: LockedBy;
  locked_reason: string | null;
  reservation_id: string;
  launch_index: number;
  progress: number;
  created_at: number; // epoch ms
  updated_at: number | null;
  launched_at: number | null;
  terminated_at: number | null;
  deleted_at: number | null;
  deleted: boolean;
}

/** The fields the engine may change on a server in one step. */
export type ServerPatch = Partial<Omit<ServerRecord, 'id' | 'uuid' | 'created_at'>>;

export function isLocked(s: Pick<ServerRecord, 'locked_by'>): boolean {
  return s.locked_by !== null;
}

export function instanceName(s: Pick<ServerRecord, 'id'>): string {
  return `instance-${s.id.toString(16).padStart(8, '0')}`;
}
