// What the engine did, as events other parts subscribe to (logs, event streams, metrics,
// notifications). Emitted only after the transaction that made the change has committed, in the
// order the changes were written; a rolled-back transaction emits nothing.
//
//   engine.events.on('transition', (t) => log(`${t.name} ${t.action}: ${t.from.task_state} → ${t.task_state}`));
//   engine.events.on('instance_action', (a) => …);
//
// The engine's store is wrapped by `observeStore`: every server write that touches a lifecycle
// column (vm_state, task_state, power_state, deleted) becomes one `transition`, every instance
// action and action event started or finished becomes one `instance_action`. Nothing is read or
// queued while nobody listens.
import { EventEmitter } from 'node:events';
import type { ServerPatch, ServerRecord } from '../domain/server.ts';
import { statusOf } from '../domain/states.ts';
import type { ComputeStore, ComputeTx, TaskRow } from '../store/store.ts';

export interface ServerLifecycle {
  vm_state: string;
  task_state: string | null;
  power_state: number;
  /** The API status derived from vm_state and task_state (ACTIVE, REBOOT, …). */
  status: string;
}

export interface TransitionEvent extends ServerLifecycle {
  kind: 'transition';
  /** The server's uuid. */
  server_id: string;
  name: string;
  project_id: string;
  user_id: string;
  host: string | null;
  /** The instance action (Nova's name: create, reboot, resize, …) or the engine task that made the change; null when neither is known. */
  action: string | null;
  request_id: string | null;
  /** The state before this change; null when the server was just created. */
  from: ServerLifecycle | null;
  /** The host before this change (null when the server was just created or had none). */
  from_host: string | null;
  /** ms since the epoch, from the engine's clock. */
  time: number;
  /** The whole server as this change left it (notification payloads are rendered from it). */
  server: ServerRecord;
}

export interface InstanceActionEvent {
  kind: 'instance_action';
  /** action_start / action_finish: the instance action; event_start / event_finish: one of its events (compute_reboot_instance …). */
  phase: 'action_start' | 'action_finish' | 'event_start' | 'event_finish';
  server_id: string | null;
  /** -1 when the event was opened before a restart and its action is not known. */
  action_id: number;
  action: string | null;
  event: string | null;
  request_id: string | null;
  /** 'Success' / 'Error' on event_finish; 'Error' or null on action_finish. */
  result: string | null;
  time: number;
}

export interface EngineEventMap {
  transition: [TransitionEvent];
  instance_action: [InstanceActionEvent];
  /** The cloud went back to its seed (POST /novabox/v1/reset): forget what you keep about servers. */
  reset: [{ kind: 'reset'; time: number }];
}

export class EngineEvents extends EventEmitter<EngineEventMap> {
  /** Whether anyone listens: the store wrapper does no extra work otherwise. */
  get active(): boolean {
    return this.listenerCount('transition') + this.listenerCount('instance_action') > 0;
  }

  /** Emit without letting a listener's error reach the engine. */
  safeEmit<K extends keyof EngineEventMap>(name: K, ...args: EngineEventMap[K]): void {
    try {
      (this.emit as (n: K, ...a: EngineEventMap[K]) => boolean)(name, ...args);
    } catch (e) {
      // A faulty listener must not undo a committed change.
      process.emitWarning(`engine event listener failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}

const LIFECYCLE_KEYS = ['vm_state', 'task_state', 'power_state', 'deleted'] as const;

/** Unit-of-work methods that write neither a server row nor a task (the rest forget what was read). */
const UNWRITTEN = new Set(['getServerForUpdate', 'getServerById', 'getTask', 'insertAction', 'finishAction', 'startEvent', 'finishEvent', 'getMigration', 'listMigrations', 'listHosts', 'usage', 'insertFault']);

function lifecycle(s: Pick<ServerRecord, 'vm_state' | 'task_state' | 'power_state' | 'deleted'>): ServerLifecycle {
  return { vm_state: s.vm_state, task_state: s.task_state, power_state: s.power_state, status: statusOf(s.vm_state, s.task_state, s.deleted) };
}

type Pending =
  | { kind: 'transition'; server: ServerRecord; from: ServerLifecycle | null; from_host: string | null; time: number; action: string | null; request_id: string | null }
  | { kind: 'instance_action'; ev: Omit<InstanceActionEvent, 'kind'> };

interface OpenAction { uuid: string; action: string; request_id: string }

/** The store as the engine sees it, reporting committed lifecycle changes to `events`. */
export function observeStore(store: ComputeStore, events: EngineEvents): ComputeStore {
  // Instance actions and events still open, so a later transaction that finishes them can name
  // them (those opened before a restart are reported with what is known).
  const openActions = new Map<number, OpenAction>();
  const openEvents = new Map<number, { action_id: number; event: string }>();
  const transaction = async <T>(fn: (tx: ComputeTx) => Promise<T>): Promise<T> => {
    if (!events.active) return store.transaction(fn);
    const pending: Pending[] = [];
    // Staged here, applied to the maps above once the transaction has committed.
    const actions = new Map<number, OpenAction & { finished?: boolean }>();
    const evs = new Map<number, { action_id: number; event: string; finished?: boolean }>();
    const action = (id: number) => actions.get(id) ?? openActions.get(id);
    const result = await store.transaction(async (tx) => {
      // The server rows and tasks this unit of work has read, so a lifecycle write compares with
      // them rather than reading them again. Any other write through the unit of work forgets
      // them all, and a caller that takes its executor (`sql`, which can write anything) ends this.
      const servers = new Map<number, ServerRecord>();
      const tasks = new Map<number, TaskRow | undefined>();
      let remembering = true;
      const forget = () => {
        servers.clear();
        tasks.clear();
      };
      const observed: ComputeTx = new Proxy(tx, {
        get(target, prop, receiver) {
          if (typeof prop === 'string' && Object.hasOwn(overrides, prop)) return overrides[prop as keyof ComputeTx];
          if (prop === 'sql') {
            remembering = false;
            forget();
          }
          const v = Reflect.get(target, prop, receiver) as unknown;
          if (typeof v !== 'function') return v;
          const f = v as (...a: unknown[]) => unknown;
          if (typeof prop === 'string' && UNWRITTEN.has(prop)) return f.bind(target);
          return (...a: unknown[]) => {
            forget();
            return f.apply(target, a);
          };
        },
      });
      const seen = (s: ServerRecord | undefined) => {
        if (s && remembering) servers.set(s.id, s);
        return s;
      };
      const overrides: Partial<ComputeTx> = {};
      overrides.getServerById = async (id) => seen(await tx.getServerById(id));
      overrides.getServerForUpdate = async (uuid) => seen(await tx.getServerForUpdate(uuid));
      overrides.getTask = async (server_id) => {
        const t = await tx.getTask(server_id);
        if (remembering) tasks.set(server_id, t);
        return t;
      };
      overrides.insertServer = async (s) => {
        forget();
        const row = await tx.insertServer(s);
        pending.push({ kind: 'transition', server: { ...row }, from: null, from_host: null, time: row.created_at, action: null, request_id: null });
        return row;
      };
      overrides.updateServer = async (id, patch: ServerPatch, now, expected) => {
        const known = servers.get(id);
        servers.delete(id);
        if (!LIFECYCLE_KEYS.some((k) => k in patch)) return tx.updateServer(id, patch, now, expected);
        const before = known ?? (await tx.getServerById(id));
        if (!(await tx.updateServer(id, patch, now, expected))) return false;
        if (!before) return true;
        const after = { ...before, ...patch } as ServerRecord;
        const from = lifecycle(before);
        const to = lifecycle(after);
        if (from.vm_state === to.vm_state && from.task_state === to.task_state && from.power_state === to.power_state && from.status === to.status) return true;
        const task = tasks.has(id) ? tasks.get(id) : await tx.getTask(id);
        const open = task?.action_id != null ? action(task.action_id) : undefined;
        pending.push({ kind: 'transition', server: after, from, from_host: before.host, time: now, action: open?.action ?? task?.action ?? null, request_id: task?.context.request_id ?? null });
        return true;
      };
      overrides.insertAction = async (a) => {
        const id = await tx.insertAction(a);
        actions.set(id, { uuid: a.server_uuid, action: a.action, request_id: a.request_id });
        pending.push({ kind: 'instance_action', ev: { phase: 'action_start', server_id: a.server_uuid, action_id: id, action: a.action, event: null, request_id: a.request_id, result: null, time: a.start_time } });
        return id;
      };
      overrides.finishAction = async (id, now, message) => {
        await tx.finishAction(id, now, message);
        const a = action(id);
        if (a) actions.set(id, { ...a, finished: true });
        pending.push({ kind: 'instance_action', ev: { phase: 'action_finish', server_id: a?.uuid ?? null, action_id: id, action: a?.action ?? null, event: null, request_id: a?.request_id ?? null, result: message, time: now } });
      };
      overrides.startEvent = async (action_id, event, now, host) => {
        const id = await tx.startEvent(action_id, event, now, host);
        evs.set(id, { action_id, event });
        const a = action(action_id);
        pending.push({ kind: 'instance_action', ev: { phase: 'event_start', server_id: a?.uuid ?? null, action_id, action: a?.action ?? null, event, request_id: a?.request_id ?? null, result: null, time: now } });
        return id;
      };
      overrides.finishEvent = async (id, now, result, details, traceback) => {
        await tx.finishEvent(id, now, result, details, traceback);
        const e = evs.get(id) ?? openEvents.get(id);
        if (e) evs.set(id, { ...e, finished: true });
        const a = e ? action(e.action_id) : undefined;
        pending.push({ kind: 'instance_action', ev: { phase: 'event_finish', server_id: a?.uuid ?? null, action_id: e?.action_id ?? -1, action: a?.action ?? null, event: e?.event ?? null, request_id: a?.request_id ?? null, result, time: now } });
      };
      const out = await fn(observed);
      // A change made by a request is named after the instance action it started for the server.
      for (const p of pending) {
        if (p.kind !== 'transition') continue;
        const started = [...actions.values()].reverse().find((a) => a.uuid === p.server.uuid);
        if (started) {
          p.action = started.action;
          p.request_id = started.request_id;
        }
      }
      return out;
    });
    for (const [id, a] of actions) {
      if (a.finished) openActions.delete(id);
      else openActions.set(id, { uuid: a.uuid, action: a.action, request_id: a.request_id });
    }
    for (const [id, e] of evs) {
      if (e.finished) openEvents.delete(id);
      else openEvents.set(id, { action_id: e.action_id, event: e.event });
    }
    for (const p of pending) {
      if (p.kind === 'instance_action') {
        events.safeEmit('instance_action', { kind: 'instance_action', ...p.ev });
        continue;
      }
      const s = p.server;
      events.safeEmit('transition', {
        kind: 'transition', server_id: s.uuid, name: s.display_name, project_id: s.project_id, user_id: s.user_id, host: s.host,
        action: p.action, request_id: p.request_id, from: p.from, from_host: p.from_host, ...lifecycle(s), time: p.time, server: s,
      });
    }
    return result;
  };
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'transaction') return transaction;
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
