// The default virt driver: no guests, just step timings and injected faults.
//
// Step durations come from a timing profile (docs/TIMINGS.md says where the figures come from):
//   libvirt  a real KVM cloud's (devstack-like, a cirros guest): long enough that a client polling
//            once a second sees every intermediate status (BUILD, REBOOT, HARD_REBOOT, REBUILD,
//            RESIZE, REVERT_RESIZE, MIGRATING, PASSWORD, and each task state of stop/start…)
//   fake     Nova's fake virt driver as measured on a live Nova (create → ACTIVE ≈ 1.8 s)
//   instant  every step at once (as --time-scale 0)
// and are multiplied by the time scale.
import type { TimingProfile } from '../config.ts';
import { DRIVER_OPS, type DriverOp } from '../domain/actions.ts';
import type { ServerRecord } from '../domain/server.ts';
import { DriverFault, type VirtDriver } from './driver.ts';

export interface InjectedFault {
  /** Engine action name (e.g. 'create', 'resize', 'reboot_soft'), or '*' for any. */
  action: string;
  /** Driver op to fail (e.g. 'spawn', 'migrate_disk'), or '*' for the action's first step. */
  op: string;
  /** Only this server, when set. */
  server_uuid?: string;
  message?: string;
  code?: number;
  /** How many times it fires before it is used up; default once. */
  times?: number;
}

/** Milliseconds per driver op; `action/op` keys override an op for one engine action. */
export type Durations = Partial<Record<DriverOp | `${string}/${DriverOp}`, number>>;

/**
 * A KVM host under devstack-like load booting cirros (docs/TIMINGS.md): each transient API status
 * lasts at least 2 s, so a poller with a 1 s interval cannot miss it.
 */
export const LIBVIRT_DURATIONS: Record<DriverOp, number> & Durations = {
  schedule: 1000, // conductor → placement claim → scheduler → cast (BUILD, task scheduling)
  allocate_network: 2500, // Neutron port create and binding (networking)
  block_device_mapping: 500, // local root disk only, twice (block_device_mapping, then spawning)
  spawn: 6000, // qcow2 overlay on the cached image, define and start the domain, wait for vif-plugged
  terminate: 2000, // destroy the domain, unplug VIFs, delete ports, remove disks
  soft_delete: 1500,
  restore: 3000,
  reboot_prepare: 500, // twice: reboot_pending, reboot_started
  reboot: 2500, // hard: destroy and recreate the domain
  'reboot_soft/reboot': 5000, // soft: ACPI shutdown of the guest, wait until it is off, start it again
  rebuild_prepare: 1000, // twice: rebuild_block_device_mapping, rebuild_spawning
  rebuild_spawn: 6000,
  power_off: 4000, // clean shutdown: the guest answers ACPI (bounded by shutdown_timeout, 60 s)
  power_on: 3000,
  pause: 1000,
  unpause: 1000,
  suspend: 3000, // managed save writes the guest's memory to disk
  resume: 3000,
  rescue: 6000,
  unrescue: 4000,
  snapshot: 3000, // live snapshot of the disk (image_snapshot)
  image_upload: 5000, // upload to Glance (image_pending_upload, image_uploading)
  shelve_offload: 2000,
  unshelve_spawn: 8000,
  migrate_prepare: 2000, // conductor and scheduler pick a destination (resize_migrating)
  migrate_disk: 5000, // power off, copy the disk to the destination (resize_migrated)
  finish_resize: 3000, // twice: plug, define and start on the destination (resize_finish)
  confirm_resize: 2000,
  revert_resize: 3000,
  finish_revert: 3000,
  live_migration: 8000, // memory copy of a small guest, then switch-over
  set_admin_password: 2000, // through the QEMU guest agent
  crash_dump: 500,
  reclaim: 0,
  shelved_offload: 0,
};

export const PROFILE_DURATIONS: Record<TimingProfile, Durations> = {
  libvirt: LIBVIRT_DURATIONS,
  fake: DRIVER_OPS,
  instant: {},
};

export interface SimulatedOptions {
  /** Multiplies every duration; 0 = instant. */
  timeScale: number;
  /** Which durations (default fake: Nova's fake driver, as measured). */
  timings?: TimingProfile;
  /** Per-op durations in ms at scale 1, overriding the profile's. */
  durations?: Durations;
}

export class SimulatedDriver implements VirtDriver {
  private faults: (InjectedFault & { left: number; id: number })[] = [];
  private seq = 0;
  constructor(private opts: SimulatedOptions) {}

  duration(op: DriverOp, action?: string): number {
    const profile = this.timings;
    if (profile === 'instant' || this.opts.timeScale === 0) return 0;
    const keyed = action === undefined ? undefined : (`${action}/${op}` as const);
    const pick = (t: Durations | undefined) => (t && keyed !== undefined ? t[keyed] : undefined) ?? t?.[op];
    const ms = pick(this.opts.durations) ?? pick(PROFILE_DURATIONS[profile]) ?? DRIVER_OPS[op];
    return Math.round(ms * this.opts.timeScale);
  }

  get timeScale(): number {
    return this.opts.timeScale;
  }

  get timings(): TimingProfile {
    return this.opts.timings ?? 'fake';
  }

  setTimeScale(scale: number): void {
    this.opts.timeScale = scale;
  }

  setTimings(profile: TimingProfile): void {
    this.opts.timings = profile;
  }

  inject(f: InjectedFault): number {
    const id = ++this.seq;
    this.faults.push({ ...f, left: f.times ?? 1, id });
    return id;
  }

  listFaults(): (InjectedFault & { id: number; left: number })[] {
    return this.faults.map((f) => ({ ...f }));
  }

  clearFaults(): void {
    this.faults = [];
  }

  async perform(op: DriverOp, action: string, server: ServerRecord): Promise<void> {
    this.throwInjected(op, action, server.uuid);
  }

  /** Fails with the first pending fault matching (action, op, resource), using it up; the block driver shares the list. */
  throwInjected(op: string, action: string, resourceId: string): void {
    const i = this.faults.findIndex(
      (f) => (f.action === '*' || f.action === action) && (f.op === '*' || f.op === op) && (!f.server_uuid || f.server_uuid === resourceId),
    );
    if (i < 0) return;
    const f = this.faults[i];
    if (--f.left <= 0) this.faults.splice(i, 1);
    throw new DriverFault(f.message ?? `Injected fault in ${action}/${op}`, f.code ?? 500);
  }
}
