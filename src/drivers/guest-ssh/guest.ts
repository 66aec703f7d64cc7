import type { ServerRecord } from '../../domain/server.ts';

// What a simulated guest knows about itself: a snapshot of its server's state in novabox (name,
// flavor, ports, disks, boot time, the files and password its cloud-init was given), taken when a
// command runs. The shell (shell.ts) and the metadata service (metadata.ts) are pure functions of it.

export interface GuestIp {
  addr: string;
  /** Prefix length of the subnet the address is on. */
  prefix: number;
  version: 4 | 6;
}

export interface GuestNic {
  /** eth0, eth1 … in the order the ports were plugged. */
  name: string;
  mac: string;
  mtu: number;
  ips: GuestIp[];
  /** Nova's device tag (networks[].tag at boot, tag of an interface attach), null when untagged. */
  tag: string | null;
}

export interface GuestDisk {
  /** vda, vdb … as the guest's kernel names them. */
  name: string;
  bytes: number;
  /** The volume id for a Cinder volume (libvirt's disk serial), null for local disks. */
  serial: string | null;
  tag: string | null;
}

export interface GuestKey {
  name: string;
  type: string;
  data: string;
}

export interface GuestView {
  uuid: string;
  /** The server's display name (the metadata service's `name`). */
  name: string;
  /** Nova's sanitised hostname, which cloud-init sets. */
  hostname: string;
  project_id: string;
  availability_zone: string;
  launch_index: number;
  vcpus: number;
  memory_mb: number;
  nics: GuestNic[];
  disks: GuestDisk[];
  /** Seconds since the guest last booted (its last power-on). */
  uptime: number;
  /** The server's metadata (the metadata service's `meta`). */
  meta: Record<string, string>;
  keys: GuestKey[];
  user_data: string | null;
  config_drive: boolean;
  /** Files injected at boot or rebuild (personality), by absolute path. */
  files: Record<string, string>;
  /** The login user (tempest's image_ssh_user: cirros). */
  user: string;
}

const GiB = 1024 ** 3;

/**
 * The disks a guest's kernel sees: the root disk (the image's, or the volume at boot index 0), the
 * flavor's ephemeral and swap disks, then every volume and blank local disk in device order, each
 * with its mapping's tag. Volume sizes come from Cinder (`sizes`, GiB by volume id).
 */
export function guestDisks(s: Pick<ServerRecord, 'flavor' | 'block_device_mapping'>, sizes: Map<string, number>): GuestDisk[] {
  const out: GuestDisk[] = [];
  const taken = new Set<string>();
  const add = (d: GuestDisk) => {
    if (taken.has(d.name)) return;
    taken.add(d.name);
    out.push(d);
  };
  const bdms = [...s.block_device_mapping].sort((a, b) => String(a.device_name ?? '~').localeCompare(String(b.device_name ?? '~')));
  const dev = (name: unknown) => (typeof name === 'string' && name ? name.replace(/^\/dev\//, '') : null);
  const tagOf = (t: unknown) => (typeof t === 'string' && t ? t : null);
  // A volume at boot index 0 is the root disk (boot from volume), whatever image the request named.
  const imageRoot = !bdms.some((b) => b.destination_type === 'volume' && b.boot_index !== null && Number(b.boot_index) === 0);
  const rootTag = tagOf(bdms.find((b) => b.destination_type !== 'volume' && b.boot_index === 0)?.tag);
  if (imageRoot) add({ name: 'vda', bytes: Math.max(1, s.flavor.root_gb) * GiB, serial: null, tag: rootTag });
  const used = new Set(bdms.map((b) => dev(b.device_name)).filter((d): d is string => d !== null));
  let next = 0;
  const letter = () => {
    let name: string;
    do name = `vd${String.fromCharCode(97 + next++)}`;
    while (used.has(name) || taken.has(name));
    return name;
  };
  if (imageRoot) next = 1;
  if (s.flavor.ephemeral_gb > 0) add({ name: letter(), bytes: s.flavor.ephemeral_gb * GiB, serial: null, tag: null });
  if (s.flavor.swap > 0) add({ name: letter(), bytes: s.flavor.swap * 1024 * 1024, serial: null, tag: null });
  for (const b of bdms) {
    if (b.destination_type === 'volume') {
      const id = String(b.volume_id ?? b.uuid ?? '');
      add({ name: dev(b.device_name) ?? letter(), bytes: (sizes.get(id) ?? b.volume_size ?? 1) * GiB, serial: id || null, tag: tagOf(b.tag) });
    } else if (b.source_type === 'blank' && b.destination_type === 'local') {
      add({ name: dev(b.device_name) ?? letter(), bytes: (b.volume_size ?? 1) * GiB, serial: null, tag: tagOf(b.tag) });
    }
  }
  return out.sort((a, b) => a.name.length - b.name.length || a.name.localeCompare(b.name));
}
