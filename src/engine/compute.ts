// The compute engine: the only writer of servers. It checks an action against the action table and
// the server's current state in one transaction, persists the accepted task, and walks the driver
// through the task's steps with durable timers (transitions.ts); recovery.ts resumes after a restart.
import { randomUUID, randomBytes } from 'node:crypto';
import type { Config } from '../config.ts';
import { ACTIONS, checkState, stateConflictMessage, type ActionName, type ActionRule, type Plan, type PlanInput } from '../domain/actions.ts';
import { BadRequest, Conflict, DomainError, Forbidden, NotFound, QuotaExceeded } from '../domain/errors.ts';
import { allows, isAdmin, policyMessage } from '../domain/policy.ts';
import type { FixedAddress, ServerPatch, ServerRecord } from '../domain/server.ts';
import type { VmState } from '../domain/states.ts';
import type { ImagePort, ImageRecord } from '../api/ports.ts';
import type { VirtDriver } from '../drivers/driver.ts';
import type { ComputeHostRow, ComputeStore, ComputeTx, FaultRow, HostChange, InstanceActionEventRow, InstanceActionRow, MigrationRow, ServerQuery, TaskContext, Usage } from '../store/store.ts';
import type { Clock } from './clock.ts';
import { Quotas } from './quotas.ts';
import { Scheduling, type HostRequest, type HostSource, type HostStatus } from './scheduling.ts';
import { listAggregates } from '../store/compute/aggregates.ts';
import type { InfraRepositories } from '../store/compute/infra.ts';
import { EngineEvents, observeStore } from './events.ts';
import { endTask, Transitions } from './transitions.ts';
import { Leases } from './leases.ts';
import { newLeaseOwner } from '../store/lease-owner.ts';
import { recoverAll, type RecoverySummary } from './recovery.ts';
import { PREPARATIONS } from './actions/index.ts';
import { planInput, stepWait } from './plans.ts';
import type { ActionOutcome, CreateRequest, RequestContext } from './types.ts';

export interface EngineDeps {
  store: ComputeStore;
  driver: VirtDriver;
  clock: Clock;
  config: Config;
  images: ImagePort;
  /** Aggregates (availability zones) and quota classes; without them hosts keep their configured zone. */
  infra?: InfraRepositories;
}

/** devstack's flavors: [flavorid, name, vcpus, ram MB, disk GB]. */
export const DEVSTACK_FLAVORS: [string, string, number, number, number][] = [
  ['42', 'm1.nano', 1, 128, 1], ['84', 'm1.micro', 1, 192, 1], ['1', 'm1.tiny', 1, 512, 1], ['2', 'm1.small', 1, 2048, 20],
  ['3', 'm1.medium', 2, 4096, 40], ['4', 'm1.large', 4, 8192, 80], ['5', 'm1.xlarge', 8, 16384, 160],
];

export const PRIVATE_NETWORK = 'private';

export { generatePassword } from './guest-password.ts';

export function sanitizeHostname(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9.-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '').slice(0, 63).replace(/-+$/, '');
}

/** Fixed addresses on the project's simulated network, derived from the server's internal id. */
export function allocateAddresses(id: number): FixedAddress[] {
  const n = id + 1;
  const v4 = `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
  const hex = n.toString(16);
  const mac = `fa:16:3e:${[(n >> 16) & 255, (n >> 8) & 255, n & 255].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
  return [
    { network: PRIVATE_NETWORK, version: 4, addr: v4, mac, type: 'fixed' },
    { network: PRIVATE_NETWORK, version: 6, addr: `fd00:10::${hex}`, mac, type: 'fixed' },
  ];
}

const SYSTEM_CONTEXT = (request_id: string): RequestContext => ({ user_id: 'nova', project_id: null, roles: ['admin'], request_id, microversion: [2, 1] });

export class ComputeEngine {
  readonly store: ComputeStore;
  readonly driver: VirtDriver;
  readonly clock: Clock;
  readonly config: Config;
  readonly images: ImagePort;
  readonly transitions: Transitions;
  readonly scheduling: Scheduling;
  readonly quotas: Quotas;
  readonly leases: Leases;
  /** Committed lifecycle changes and instance actions, for logs, event streams and metrics. */
  readonly events = new EngineEvents();

  constructor(deps: EngineDeps) {
    this.store = observeStore(deps.store, this.events);
    this.driver = deps.driver;
    this.clock = deps.clock;
    this.config = deps.config;
    this.images = deps.images;
    const c = deps.config;
    this.scheduling = deps.infra
      ? new Scheduling(deps.store, (q) => listAggregates(q ?? deps.store.sql), {
        hosts: c.hosts, sql: deps.store.sql,
        capacity: { cpu_allocation_ratio: c.cpu_allocation_ratio, ram_allocation_ratio: c.ram_allocation_ratio, disk_allocation_ratio: c.disk_allocation_ratio, reserved_host_memory_mb: c.reserved_host_memory_mb, reserved_host_disk_mb: c.reserved_host_disk_mb },
      })
      : new Scheduling(deps.store);
    this.quotas = new Quotas(deps.config, deps.store, deps.store.sql, deps.infra !== undefined);
    this.transitions = new Transitions({ store: this.store, driver: this.driver, clock: this.clock, images: this.images, scheduling: this.scheduling });
    deps.store.lease = { owner: newLeaseOwner(), ms: deps.config.task_lease_ms };
    this.leases = new Leases(deps.store, () => this.beat());
  }

  /** Idempotent first-start data: devstack's flavors and the configured compute hosts. */
  async seed(): Promise<void> {
    this.scheduling.invalidate();
    for (const [flavorid, name, vcpus, memory_mb, root_gb] of DEVSTACK_FLAVORS) {
      if (!(await this.store.getFlavor(flavorid))) await this.store.createFlavor({ flavorid, name, vcpus, memory_mb, root_gb }, this.clock.now());
    }
    const known = new Set((await this.store.listHosts()).map((h) => h.name));
    for (const h of this.config.hosts) {
      if (!known.has(h.name)) {
        await this.store.upsertHost({ name: h.name, availability_zone: h.availability_zone, disabled: false, disabled_reason: null, forced_down: false, up: true, updated_at: this.clock.now() });
      }
    }
  }

  /**
   * Recovery touches only tasks no live process holds (free, expired, or of a process on this
   * machine that is gone); then the timers run and the leases are renewed.
   */
  async start(): Promise<RecoverySummary> {
    await this.leases.reapDead();
    const summary = await recoverAll({ store: this.store, clock: this.clock, driver: this.driver, config: this.config, images: this.images });
    this.leases.start();
    // Another replica wrote a task or changed a host: look now rather than at the next lease beat.
    this.unsubscribe = (await this.store.subscribe?.((what) => {
      if (what === 'hosts') this.scheduling.invalidate();
      this.transitions.kick();
    })) ?? null;
    this.transitions.start();
    return summary;
  }

  private unsubscribe: (() => Promise<void>) | null = null;

  async stop(): Promise<void> {
    await this.unsubscribe?.();
    this.unsubscribe = null;
    await this.transitions.stop();
    await this.leases.stop();
  }

  /** The lease beat: wake tasks parked for hosts that are up (here or in another process), then look for due work. */
  private async beat(): Promise<void> {
    // Hosts may have been changed by another process: read them afresh at every beat.
    this.scheduling.invalidate();
    for (const h of await this.scheduling.hosts()) {
      if (h.up && !h.forced_down) await this.store.unparkHost(h.name);
    }
    this.transitions.kick();
  }

  /** Run every transition due now (tests and instant mode use it to reach a stable state). */
  async settle(): Promise<void> {
    await this.transitions.settle();
  }

  // ---- lookups -------------------------------------------------------------------------------

  private visible(ctx: RequestContext, s: ServerRecord | undefined, uuid: string, opts: { include_deleted?: boolean } = {}): ServerRecord {
    if (!s || (s.deleted && !opts.include_deleted) || (!isAdmin(ctx) && s.project_id !== ctx.project_id)) {
      throw new NotFound(`Instance ${uuid} could not be found.`);
    }
    return s;
  }

  async getServer(ctx: RequestContext, uuid: string, opts: { include_deleted?: boolean } = {}): Promise<ServerRecord> {
    return this.visible(ctx, await this.store.getServer(uuid), uuid, opts);
  }

  async listServers(q: ServerQuery): Promise<ServerRecord[]> {
    return this.store.listServers(q);
  }

  async faults(uuids: string[]): Promise<Map<string, FaultRow>> {
    return this.store.latestFaults(uuids);
  }

  async listActions(ctx: RequestContext, uuid: string): Promise<InstanceActionRow[]> {
    await this.getServer(ctx, uuid, { include_deleted: true });
    return this.store.listActions(uuid);
  }

  async getAction(ctx: RequestContext, uuid: string, request_id: string): Promise<(InstanceActionRow & { events: InstanceActionEventRow[] }) | undefined> {
    await this.getServer(ctx, uuid, { include_deleted: true });
    const a = await this.store.getAction(uuid, request_id);
    return a && { ...a, events: await this.store.listEvents(a.id) };
  }

  async listMigrations(filter: Parameters<ComputeStore['listMigrations']>[0]): Promise<MigrationRow[]> {
    return this.store.listMigrations(filter);
  }

  async listHosts(): Promise<ComputeHostRow[]> {
    return this.scheduling.hosts();
  }

  async setHost(name: string, change: HostChange): Promise<ComputeHostRow> {
    // Only the changed fields are written: a read-modify-write of the row would undo a concurrent change of another field.
    const next = await this.store.updateHost(name, change, this.clock.now());
    if (!next) throw new NotFound(`Compute host ${name} could not be found.`);
    this.scheduling.invalidate();
    if (next.up && !next.forced_down) await this.store.unparkHost(name);
    this.transitions.kick();
    return next;
  }

  hostStatusSync(host: string | null): HostStatus {
    return this.scheduling.statusSync(host);
  }

  hostStatus(host: string | null): Promise<HostStatus> {
    return this.scheduling.status(host);
  }

  hostIsUp(host: string | null, tx?: HostSource): Promise<boolean> {
    return this.scheduling.isUp(host, tx);
  }

  pickHost(req: HostRequest, tx?: HostSource): Promise<string | null> {
    return this.scheduling.pickHost(req, tx);
  }

  // ---- quotas (quotas.ts) ------------------------------------------------------------------------

  usage(project_id: string): Promise<Usage> {
    return this.quotas.usage(project_id);
  }

  /** Every project's default limits (configuration, then the `default` quota class). */
  quotaDefaults(): Promise<Record<string, number>> {
    return this.quotas.defaults();
  }

  /** Aggregate membership or zones changed: hosts are read again with their zones. */
  hostsChanged(): void {
    this.scheduling.invalidate();
  }

  quotaLimits(project_id: string): Promise<Record<string, number>> {
    return this.quotas.limits(project_id);
  }

  setQuotaLimits(project_id: string, limits: Record<string, number>): Promise<Record<string, number>> {
    return this.quotas.setLimits(project_id, limits);
  }

  // ---- create --------------------------------------------------------------------------------

  async create(ctx: RequestContext, req: CreateRequest): Promise<ServerRecord[]> {
    const project_id = ctx.project_id;
    if (!project_id) throw new Forbidden(policyMessage('os_compute_api:servers:create'));
    if (!allows('member', ctx, { project_id })) throw new Forbidden(policyMessage('os_compute_api:servers:create'));
    const now = this.clock.now();
    const reservation_id = `r-${randomBytes(8).toString('base64').replace(/[^a-z0-9]/gi, '').toLowerCase().padEnd(8, '0').slice(0, 8)}`;
    const plan = ACTIONS.create.plan({} as ServerRecord, this.planInput(ctx, {}));
    const created = await this.store.transaction(async (tx) => {
      const allowed = await this.quotas.check(tx, project_id, { instances: 1, cores: req.flavor.vcpus, ram: req.flavor.memory_mb }, req.min_count);
      const count = Math.min(req.max_count, allowed);
      const out: ServerRecord[] = [];
      for (let i = 0; i < count; i++) {
        const uuid = randomUUID();
        const multi = count > 1;
        const display_name = multi ? `${req.name}-${i + 1}` : req.name;
        const base = req.hostname ?? sanitizeHostname(req.name);
        const hostname = multi ? `${base || 'server'}-${i + 1}` : base || `Server-${uuid}`;
        const record: Omit<ServerRecord, 'id'> = {
          uuid, project_id, user_id: ctx.user_id, display_name,
          display_description: req.description, hostname,
          vm_state: 'building', task_state: 'scheduling', power_state: 0,
          host: null, node: null, availability_zone: req.availability_zone, pinned_availability_zone: req.availability_zone,
          flavor: req.flavor, old_flavor: null, new_flavor: null,
          image_ref: req.image_ref, image_properties: req.image_properties,
          key_name: req.key_name, key_data: req.key_data, user_data: req.user_data,
          config_drive: req.config_drive ? 'True' : '', auto_disk_config: req.auto_disk_config,
          access_ip_v4: req.access_ip_v4, access_ip_v6: req.access_ip_v6,
          metadata: req.metadata, system_metadata: {}, tags: req.tags, addresses: [],
          security_groups: req.networks === 'none' ? [] : req.security_groups,
          block_device_mapping: req.block_device_mapping, scheduler_hints: req.scheduler_hints,
          trusted_image_certificates: req.trusted_image_certificates,
          locked_by: null, locked_reason: null, reservation_id, launch_index: i, progress: 0,
          created_at: now, updated_at: now, launched_at: null, terminated_at: null, deleted_at: null, deleted: false,
          ...plan.accept,
        } as Omit<ServerRecord, 'id'>;
        const s = await tx.insertServer(record);
        // Addresses come from the server's Neutron ports (src/api/compute/server-network.ts → refreshNetworkInfo).
        const action_id = await tx.insertAction({ server_uuid: uuid, action: 'create', request_id: ctx.request_id, user_id: ctx.user_id, project_id, start_time: now, finish_time: null, message: null, updated_at: now });
        const context: TaskContext = { request_id: ctx.request_id, user_id: ctx.user_id, project_id, target_host: req.requested_host, params: { zone: req.availability_zone } };
        await tx.putTask({ server_id: s.id, action: 'create', action_id, step: 0, due_at: now + this.driver.duration(plan.steps[0].op, 'create'), plan, context });
        out.push(s);
      }
      return out;
    });
    this.transitions.kick();
    return created;
  }

  planInput(ctx: RequestContext, params: Record<string, unknown>): PlanInput {
    return planInput(this.config, ctx.microversion, params);
  }

  // ---- actions -------------------------------------------------------------------------------

  /** Lookup → policy → lock → state, as Nova orders them. */
  private async admit(tx: ComputeTx, ctx: RequestContext, uuid: string, rule: ActionRule): Promise<ServerRecord> {
    return this.admissible(ctx, await tx.getServerForUpdate(uuid), uuid, rule);
  }

  private admissible(ctx: RequestContext, found: ServerRecord | undefined, uuid: string, rule: ActionRule): ServerRecord {
    const s = this.visible(ctx, found, uuid);
    if (!allows(rule.policy, ctx, { project_id: s.project_id })) throw new Forbidden(policyMessage(rule.rule));
    if (rule.lock && s.locked_by !== null && !isAdmin(ctx)) throw new Conflict(`Instance ${uuid} is locked`);
    const failure = checkState(rule, s);
    if (failure) throw new Conflict(stateConflictMessage(rule, uuid, failure));
    return s;
  }

  async act(ctx: RequestContext, uuid: string, action: ActionName, params: Record<string, unknown> = {}): Promise<ActionOutcome> {
    const rule = ACTIONS[action];
    const now = this.clock.now();
    // The image an action makes is created first (as Nova's API does), outside the unit of work, and
    // only for a request that passes the checks; it is deleted again when the action is refused.
    const preparation = PREPARATIONS[action];
    let image: ImageRecord | undefined;
    if (preparation.image) image = await preparation.image(this, ctx, this.admissible(ctx, await this.store.getServer(uuid), uuid, rule), params);
    const outcome = await this.store.transaction(async (tx) => {
      const s = await this.admit(tx, ctx, uuid, rule);
      const prep = await preparation.prepare({ env: this, tx, ctx, server: s, rule, params, image });
      if (prep.noop) return { server: s };
      // The plan sees the server as the API leaves it (new flavor, old_vm_state …).
      const plan: Plan = rule.plan({ ...s, ...prep.patch } as ServerRecord, this.planInput(ctx, params));
      const patch: ServerPatch = { ...plan.accept, ...prep.patch };
      await this.save(tx, s, patch, now, rule);
      const context: TaskContext = { request_id: ctx.request_id, user_id: ctx.user_id, project_id: s.project_id, ...prep.context, params: prep.taskParams ?? {} };
      let action_id: number | null = null;
      if (rule.record) {
        action_id = await tx.insertAction({ server_uuid: uuid, action: rule.record, request_id: ctx.request_id, user_id: ctx.user_id, project_id: s.project_id, start_time: now, finish_time: null, message: null, updated_at: now });
      }
      if (plan.migration) {
        context.migration_id = await tx.insertMigration({
          uuid: randomUUID(), server_uuid: uuid, project_id: s.project_id, user_id: ctx.user_id,
          source_compute: s.host, dest_compute: context.target_host ?? null, source_node: s.node, dest_node: context.target_host ?? null,
          dest_host: null, old_instance_type_id: s.flavor.id, new_instance_type_id: (patch.new_flavor ?? s.flavor).id,
          status: plan.migration.status, migration_type: plan.migration.type, created_at: now, updated_at: now,
        });
      }
      if (rule.replaces_task) await this.supersede(tx, s.id, now, rule.record ?? action);
      if (plan.steps.length > 0) {
        await tx.putTask({ server_id: s.id, action, action_id, step: 0, due_at: now + this.stepWait(plan, 0, action), plan, context });
      } else {
        if (action_id !== null) {
          if (rule.instant_event) {
            const ev = await tx.startEvent(action_id, rule.instant_event, now, s.host);
            await tx.finishEvent(ev, now, 'Success');
          }
          await tx.finishAction(action_id, now, null);
        }
      }
      return { server: (await tx.getServerById(s.id))!, ...prep.outcome };
    }).catch(async (e: unknown) => {
      if (image) await this.images.deleteImage(image.id).catch(() => undefined);
      throw e;
    });
    this.transitions.kick();
    return outcome;
  }

  /**
   * Nova's instance.save(expected_task_state=…): the accepted state is written only over the task
   * state the checks saw; another writer in between (none can while the row is locked, but the
   * save does not rely on it) makes the request a conflict.
   */
  private async save(tx: ComputeTx, s: ServerRecord, patch: ServerPatch, now: number, rule: ActionRule): Promise<void> {
    if (!(await tx.updateServer(s.id, patch, now, [s.task_state]))) throw new Conflict(`Instance ${s.uuid} is in an invalid state for '${rule.message_name}'`);
  }

  /** A task replaced by a new action ends: its open event and its action finish as failed. */
  private async supersede(tx: ComputeTx, server_id: number, now: number, by: string): Promise<void> {
    const old = await tx.getTask(server_id);
    if (old) await endTask(tx, old, now, `Superseded by ${by}`);
  }

  stepWait(plan: Plan, i: number, action: string): number {
    return stepWait(this.driver, plan, i, action);
  }

  async delete(ctx: RequestContext, uuid: string): Promise<void> {
    const rule = ACTIONS.delete;
    const now = this.clock.now();
    const deletedNow = await this.store.transaction(async (tx): Promise<ServerRecord | null> => {
      const s = await this.admit(tx, ctx, uuid, rule);
      // A repeated DELETE while one is already running is ignored (Nova answers 204).
      if (s.task_state === 'deleting' || s.task_state === 'soft-deleting') return null;
      const action_id = await tx.insertAction({ server_uuid: uuid, action: 'delete', request_id: ctx.request_id, user_id: ctx.user_id, project_id: s.project_id, start_time: now, finish_time: null, message: null, updated_at: now });
      // Not yet on a host, or its host is down: Nova deletes the record locally at once.
      await this.supersede(tx, s.id, now, 'delete');
      if (!s.host || !(await this.hostIsUp(s.host, tx))) {
        await this.save(tx, s, { vm_state: 'deleted', task_state: null, power_state: 0, deleted: true, terminated_at: now, deleted_at: now, host: null, node: null }, now, rule);
        await tx.finishAction(action_id, now, null);
        return s;
      }
      const plan = rule.plan(s, this.planInput(ctx, {}));
      await this.save(tx, s, plan.accept, now, rule);
      await tx.putTask({ server_id: s.id, action: 'delete', action_id, step: 0, due_at: now + this.stepWait(plan, 0, 'delete'), plan, context: { request_id: ctx.request_id, user_id: ctx.user_id, project_id: s.project_id } });
      return null;
    });
    if (deletedNow) await this.cleanupImages(deletedNow);
    this.transitions.kick();
  }

  /** A deleted shelved server loses its shelve snapshot. */
  async cleanupImages(s: ServerRecord): Promise<void> {
    const id = s.system_metadata.shelved_image_id;
    if (id && (s.vm_state === 'shelved' || s.vm_state === 'shelved_offloaded')) await this.images.deleteImage(id).catch(() => undefined);
  }

  async update(ctx: RequestContext, uuid: string, patch: Pick<ServerPatch, 'display_name' | 'display_description' | 'access_ip_v4' | 'access_ip_v6' | 'hostname' | 'auto_disk_config' | 'pinned_availability_zone'>): Promise<ServerRecord> {
    return this.store.transaction(async (tx) => {
      const s = this.visible(ctx, await tx.getServerForUpdate(uuid), uuid);
      if (!allows('member', ctx, { project_id: s.project_id })) throw new Forbidden(policyMessage('os_compute_api:servers:update'));
      await tx.updateServer(s.id, patch, this.clock.now());
      return (await tx.getServerById(s.id))!;
    });
  }

  /** Nova's network info cache: the addresses the server's ports give it, written when Neutron says they changed. */
  async refreshNetworkInfo(uuid: string, addresses: FixedAddress[]): Promise<void> {
    await this.store.transaction(async (tx) => {
      const s = await tx.getServerForUpdate(uuid);
      if (s && !s.deleted && JSON.stringify(s.addresses) !== JSON.stringify(addresses)) await tx.updateServer(s.id, { addresses }, this.clock.now());
    });
  }

  /** Metadata and tags: Nova checks the lock and these states (task_state must be null). */
  private async changeServer(
    ctx: RequestContext, uuid: string, what: string, vm_states: VmState[], change: (s: ServerRecord, tx: ComputeTx) => ServerPatch | Promise<ServerPatch>, rule: string,
  ): Promise<ServerRecord> {
    return this.store.transaction(async (tx) => {
      const s = this.visible(ctx, await tx.getServerForUpdate(uuid), uuid);
      if (!allows('member', ctx, { project_id: s.project_id })) throw new Forbidden(policyMessage(rule));
      if (s.locked_by !== null && !isAdmin(ctx)) throw new Conflict(`Instance ${uuid} is locked`);
      if (!vm_states.includes(s.vm_state)) throw new Conflict(`Cannot '${what}' instance ${uuid} while it is in vm_state ${s.vm_state}`);
      if (s.task_state !== null) throw new Conflict(`Cannot '${what}' instance ${uuid} while it is in task_state ${s.task_state}`);
      await tx.updateServer(s.id, await change(s, tx), this.clock.now());
      return (await tx.getServerById(s.id))!;
    });
  }

  /**
   * Volume attach, detach and swap (nova/compute/api.py): the lock and the vm_states checked as
   * check_instance_lock/check_instance_state do (task_state must be null), the instance action
   * recorded, and the block device mappings replaced by `change`, in one unit of work. With no
   * `ctx` (the volume engine reporting a finished detach) only the mappings change.
   */
  async changeBlockDevices(
    ctx: RequestContext | null, uuid: string, what: string, vm_states: VmState[] | 'any',
    change: (s: ServerRecord) => ServerRecord['block_device_mapping'],
  ): Promise<ServerRecord> {
    return this.store.transaction(async (tx) => {
      const now = this.clock.now();
      if (!ctx) {
        const s = await tx.getServerForUpdate(uuid);
        if (!s) throw new NotFound(`Instance ${uuid} could not be found.`);
        await tx.updateServer(s.id, { block_device_mapping: change(s) }, now);
        return (await tx.getServerById(s.id))!;
      }
      const s = this.visible(ctx, await tx.getServerForUpdate(uuid), uuid);
      if (!allows('member', ctx, { project_id: s.project_id })) throw new Forbidden(policyMessage(`os_compute_api:os-volumes-attachments:${what}`));
      if (s.locked_by !== null && !isAdmin(ctx)) throw new Conflict(`Instance ${uuid} is locked`);
      if (vm_states !== 'any' && !vm_states.includes(s.vm_state)) throw new Conflict(`Cannot '${what}' instance ${uuid} while it is in vm_state ${s.vm_state}`);
      if (vm_states !== 'any' && s.task_state !== null) throw new Conflict(`Cannot '${what}' instance ${uuid} while it is in task_state ${s.task_state}`);
      const bdms = change(s);
      await tx.insertAction({ server_uuid: uuid, action: what, request_id: ctx.request_id, user_id: ctx.user_id, project_id: s.project_id, start_time: now, finish_time: now, message: null, updated_at: now });
      await tx.updateServer(s.id, { block_device_mapping: bdms }, now);
      return (await tx.getServerById(s.id))!;
    });
  }

  private static INTERFACE_STATES: VmState[] = ['active', 'paused', 'stopped'];

  /**
   * Interface attach and detach (nova/compute/api.py attach_interface / detach_interface, then the
   * manager's compute_attach_interface / compute_detach_interface): the lock and the states are
   * checked, the instance action is recorded with its event, `work` plugs or unplugs the port, and
   * the event finishes Success, or Error with the failure (which is rethrown for the API to answer).
   */
  async interfaceAction<T>(ctx: RequestContext, uuid: string, action: 'attach_interface' | 'detach_interface', work: (s: ServerRecord) => Promise<T>): Promise<T> {
    const started = await this.store.transaction(async (tx) => {
      const now = this.clock.now();
      const s = this.visible(ctx, await tx.getServerForUpdate(uuid), uuid);
      if (s.locked_by !== null && !isAdmin(ctx)) throw new Conflict(`Instance ${uuid} is locked`);
      if (s.task_state !== null) throw new Conflict(`Cannot '${action}' instance ${uuid} while it is in task_state ${s.task_state}`);
      if (!ComputeEngine.INTERFACE_STATES.includes(s.vm_state)) throw new Conflict(`Cannot '${action}' instance ${uuid} while it is in vm_state ${s.vm_state}`);
      const action_id = await tx.insertAction({ server_uuid: uuid, action, request_id: ctx.request_id, user_id: ctx.user_id, project_id: s.project_id, start_time: now, finish_time: null, message: null, updated_at: now });
      const event_id = await tx.startEvent(action_id, `compute_${action}`, now, s.host);
      return { s, action_id, event_id };
    });
    const finish = (error: unknown) => this.store.transaction(async (tx) => {
      const now = this.clock.now();
      const why = error === null ? null : error instanceof Error ? error.message : String(error);
      await tx.finishEvent(started.event_id, now, why === null ? 'Success' : 'Error', why);
      await tx.finishAction(started.action_id, now, why === null ? null : 'Error');
    });
    let out: T;
    try {
      out = await work(started.s);
    } catch (e) {
      await finish(e);
      throw e;
    }
    await finish(null);
    return out;
  }

  /**
   * addFixedIp / removeFixedIp (nova/compute/api.py add_fixed_ip / remove_fixed_ip): the API checks
   * only the lock and casts to the server's host, whose manager asks Neutron (`work`) and bumps
   * updated_at. The API never hears back, so a failure there (a DomainError from `work`) is kept as
   * an instance fault, as wrap_instance_fault keeps it, and the request still succeeds. No instance
   * action is recorded, no state checked. A locked server and one without a host (the cast has
   * nowhere to go) are exceptions multinic does not expect, which Nova answers with a 500; novabox
   * never answers a 5xx for a client's request, so it gives the 409 Nova gives these conditions in
   * every action that expects them (InstanceIsLocked, InstanceInvalidState).
   */
  async fixedIpAction(ctx: RequestContext, uuid: string, action: 'add_fixed_ip' | 'remove_fixed_ip', work: (s: ServerRecord) => Promise<void>): Promise<void> {
    const s = this.visible(ctx, await this.store.getServer(uuid), uuid);
    if (s.locked_by !== null && !isAdmin(ctx)) throw new Conflict(`Instance ${uuid} is locked`);
    if (!s.host) throw new Conflict(`Cannot '${action}' instance ${uuid} while it is in vm_state ${s.vm_state}`);
    let failure: DomainError | null = null;
    try {
      await work(s);
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      failure = e;
    }
    await this.store.transaction(async (tx) => {
      const now = this.clock.now();
      if (failure) {
        await tx.insertFault({ server_uuid: uuid, code: failure.code, message: failure.message.slice(0, 255), details: null, host: s.host, created_at: now });
        return;
      }
      const cur = await tx.getServerForUpdate(uuid);
      if (cur && !cur.deleted) await tx.updateServer(cur.id, {}, now);
    });
  }

  private static META_STATES: VmState[] = ['active', 'paused', 'suspended', 'stopped'];
  private static TAG_STATES: VmState[] = ['active', 'paused', 'suspended', 'stopped', 'shelved', 'shelved_offloaded'];

  async setMetadata(ctx: RequestContext, uuid: string, metadata: Record<string, string>, mode: 'replace' | 'merge'): Promise<Record<string, string>> {
    const s = await this.changeServer(ctx, uuid, 'update metadata', ComputeEngine.META_STATES, async (cur, tx) => {
      // The limit that decides the write is read in its unit of work.
      const limits = await this.quotas.limits(cur.project_id, tx);
      const next = mode === 'replace' ? { ...metadata } : { ...cur.metadata, ...metadata };
      const max = limits.metadata_items ?? 128;
      if (max >= 0 && Object.keys(next).length > max) throw new QuotaExceeded(`Quota exceeded for metadata_items: Requested ${Object.keys(next).length}, but already used 0 of ${max} metadata_items`);
      return { metadata: next };
    }, 'os_compute_api:server-metadata:update');
    return s.metadata;
  }

  async deleteMetadata(ctx: RequestContext, uuid: string, key: string): Promise<void> {
    await this.changeServer(ctx, uuid, 'delete metadata', ComputeEngine.META_STATES, (cur) => {
      if (!(key in cur.metadata)) throw new NotFound('Metadata item was not found');
      const next = { ...cur.metadata };
      delete next[key];
      return { metadata: next };
    }, 'os_compute_api:server-metadata:delete');
  }

  async setTags(ctx: RequestContext, uuid: string, tags: string[]): Promise<string[]> {
    const s = await this.changeServer(ctx, uuid, 'update tags', ComputeEngine.TAG_STATES, () => ({ tags: [...new Set(tags)] }), 'os_compute_api:os-server-tags:update_all');
    return s.tags;
  }

  async addTag(ctx: RequestContext, uuid: string, tag: string): Promise<{ tags: string[]; added: boolean }> {
    let added = false;
    const s = await this.changeServer(ctx, uuid, 'update tag', ComputeEngine.TAG_STATES, (cur) => {
      if (cur.tags.includes(tag)) return {};
      if (cur.tags.length >= 50) throw new BadRequest(`Instance ${uuid} has too many tags: the limit is 50`);
      added = true;
      return { tags: [...cur.tags, tag] };
    }, 'os_compute_api:os-server-tags:update');
    return { tags: s.tags, added };
  }

  async deleteTag(ctx: RequestContext, uuid: string, tag: string | null): Promise<void> {
    await this.changeServer(ctx, uuid, tag === null ? 'delete tags' : 'delete tag', ComputeEngine.TAG_STATES, (cur) => {
      if (tag === null) return { tags: [] };
      if (!cur.tags.includes(tag)) throw new NotFound(`Tag ${tag} could not be found.`);
      return { tags: cur.tags.filter((t) => t !== tag) };
    }, tag === null ? 'os_compute_api:os-server-tags:delete_all' : 'os_compute_api:os-server-tags:delete');
  }

  // ---- live migration control (2.22 force_complete, 2.24 abort) ------------------------------------

  /**
   * Force-complete or abort a running live migration. Both need vm active/paused with task
   * migrating and check the lock; the migration must be in a state that allows it.
   */
  async controlLiveMigration(ctx: RequestContext, uuid: string, migration_id: number, op: 'force_complete' | 'abort'): Promise<void> {
    const now = this.clock.now();
    await this.store.transaction(async (tx) => {
      const s = this.visible(ctx, await tx.getServerForUpdate(uuid), uuid);
      const rule = op === 'force_complete' ? 'os_compute_api:servers:migrations:force_complete' : 'os_compute_api:servers:migrations:delete';
      if (!allows('admin', ctx, { project_id: s.project_id })) throw new Forbidden(policyMessage(rule));
      if (s.locked_by !== null && !isAdmin(ctx)) throw new Conflict(`Instance ${uuid} is locked`);
      const name = op === 'force_complete' ? 'force_complete' : 'abort live migration';
      if (op === 'force_complete' && s.vm_state !== 'active') throw new Conflict(`Cannot '${name}' instance ${uuid} while it is in vm_state ${s.vm_state}`);
      if (s.task_state !== 'migrating') throw new Conflict(`Cannot '${name}' instance ${uuid} while it is in task_state ${s.task_state ?? 'None'}`);
      const m = await tx.getMigration(migration_id);
      if (!m || m.server_uuid !== uuid || m.migration_type !== 'live-migration') {
        throw new NotFound(`Instance ${uuid} does not have the migration ${migration_id}.`);
      }
      const allowed = op === 'force_complete' ? ['running'] : ['queued', 'preparing', 'running', 'accepted'];
      if (!allowed.includes(m.status)) {
        throw new Conflict(`Migration ${migration_id} state of instance ${uuid} is ${m.status}. Cannot ${op === 'force_complete' ? 'force_complete' : 'abort'} while the migration is in this state.`);
      }
      const record = op === 'force_complete' ? 'live_migration_force_complete' : 'live_migration_cancel';
      const action_id = await tx.insertAction({ server_uuid: uuid, action: record, request_id: ctx.request_id, user_id: ctx.user_id, project_id: s.project_id, start_time: now, finish_time: null, message: null, updated_at: now });
      const ev = await tx.startEvent(action_id, op === 'force_complete' ? 'compute_live_migration_force_complete' : 'compute_live_migration_abort', now, s.host);
      const task = await tx.getTask(s.id);
      if (op === 'force_complete') {
        // The guest is paused for the final copy: the remaining steps are due now.
        if (task) await tx.putTask({ ...task, due_at: now });
      } else {
        if (task) {
          if (task.context.event_id) await tx.finishEvent(task.context.event_id, now, 'Error', 'Live migration aborted by request');
          if (task.action_id !== null) await tx.finishAction(task.action_id, now, 'Error');
          await tx.deleteTask(s.id);
        }
        await tx.updateServer(s.id, { task_state: null }, now);
        await tx.updateMigration(migration_id, 'cancelled', now);
      }
      await tx.finishEvent(ev, now, 'Success');
      await tx.finishAction(action_id, now, null);
    });
    this.transitions.kick();
  }

  // ---- out-of-band events (the simulated hypervisor's view changes) -----------------------------

  /**
   * The guest shut itself down or crashed. Nova's power-state sync then stops an active or paused
   * server through its own stop API (task powering-off → SHUTOFF).
   */
  async guestEvent(uuid: string, kind: 'shutdown' | 'crash'): Promise<void> {
    const now = this.clock.now();
    const request_id = `req-${randomUUID()}`;
    const ctx = SYSTEM_CONTEXT(request_id);
    await this.store.transaction(async (tx) => {
      const s = await tx.getServerForUpdate(uuid);
      if (!s || s.deleted) throw new NotFound(`Instance ${uuid} could not be found.`);
      await tx.updateServer(s.id, { power_state: kind === 'crash' ? 6 : 4 }, now);
      // Nova's _sync_instance_power_state stops an active or a paused server whose guest went down.
      if ((s.vm_state !== 'active' && s.vm_state !== 'paused') || s.task_state !== null) return;
      const rule = ACTIONS.power_sync_stop;
      const plan = rule.plan(s, this.planInput(ctx, {}));
      await this.save(tx, s, plan.accept, now, rule);
      const action_id = await tx.insertAction({ server_uuid: uuid, action: 'stop', request_id, user_id: s.user_id, project_id: s.project_id, start_time: now, finish_time: null, message: null, updated_at: now });
      await tx.putTask({ server_id: s.id, action: 'power_sync_stop', action_id, step: 0, due_at: now + this.stepWait(plan, 0, 'power_sync_stop'), plan, context: { request_id, user_id: s.user_id, project_id: s.project_id } });
    });
    this.transitions.kick();
  }
}
