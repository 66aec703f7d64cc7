// The engine's public vocabulary, shared with the API layer.
import type { Credentials } from '../domain/policy.ts';
import type { BlockDeviceMapping, FlavorSnapshot, ServerRecord } from '../domain/server.ts';

export interface RequestContext extends Credentials {
  request_id: string;
  /** Compute microversion of the request ([2, 1] when not a compute call). */
  microversion: [number, number];
}

export type NetworkRequest = 'auto' | 'none' | { uuid?: string; port?: string; fixed_ip?: string; tag?: string }[];

export interface CreateRequest {
  name: string;
  description: string | null;
  flavor: FlavorSnapshot;
  image_ref: string; // '' when booting from volume
  image_properties: Record<string, string>;
  key_name: string | null;
  key_data: string | null;
  user_data: string | null;
  metadata: Record<string, string>;
  tags: string[];
  networks: NetworkRequest;
  availability_zone: string | null;
  security_groups: string[];
  block_device_mapping: BlockDeviceMapping[];
  scheduler_hints: Record<string, string[]>;
  min_count: number;
  max_count: number;
  config_drive: boolean;
  auto_disk_config: boolean;
  access_ip_v4: string;
  access_ip_v6: string;
  trusted_image_certificates: string[] | null;
  hostname: string | null;
  /** Admin-requested destination (2.74 host / zone:host). */
  requested_host: string | null;
  admin_pass: string;
}

export interface ActionOutcome {
  server: ServerRecord;
  /** createImage / createBackup: the new image's id. */
  image_id?: string;
  /** rescue / rebuild / evacuate: the password set. */
  admin_pass?: string;
}
