// The journal: the engine's events (events.ts) numbered, completed with the server's identity and
// state, and kept in a bounded ring, so the SSE stream can resume from Last-Event-ID and the
// dashboard can show a server's recent timeline. It always listens (a client that reconnects must
// find what happened while it was away).
import { statusOf } from '../domain/states.ts';
import type { ServerRecord } from '../domain/server.ts';
import type { ComputeStore } from '../store/store.ts';
import type { EngineEvents, InstanceActionEvent, TransitionEvent } from './events.ts';

export interface JournalState {
  vm_state: string;
  task_state: string | null;
  power_state: number;
  status: string;
  host: string | null;
}

export interface JournalEntry extends JournalState {
  /** Sequence number, increasing for the life of the process (the SSE id). */
  id: number;
  /** transition: a lifecycle change; action / action_event: an instance action or one of its events started or ended. */
  kind: 'transition' | 'action' | 'action_event';
  server_id: string;
  name: string;
  project_id: string;
  user_id: string;
  /** The instance action (create, reboot, resize …). */
  action: string | null;
  /** action_event: compute_reboot_instance … */
  event: string | null;
  phase: 'start' | 'end' | null;
  /** At the end of an action or event: Success or Error. */
  result: 'Success' | 'Error' | null;
  /** transition: the state before. */
  previous: JournalState | null;
  request_id: string | null;
  /** ISO 8601, from the engine's clock. */
  time: string;
  /** The server as of this entry, for listeners only (not kept in the ring, not public). */
  server?: ServerRecord;
}

/** The public JSON of an entry (SSE data, dashboard). */
export function entryJson(e: JournalEntry): Omit<JournalEntry, 'server'> {
  const { server: _server, ...rest } = e;
  return rest;
}

interface Known extends JournalState {
  name: string;
  project_id: string;
  user_id: string;
  server: ServerRecord;
}

export type JournalListener = (e: JournalEntry) => void;

/** Servers whose identity and last state are remembered for action events (the rest are read). */
const KNOWN_MAX = 10000;

/** Dropped entries the ring keeps before it cuts them off at once. */
const CUT_BATCH = 1024;

export class Journal {
  private seq = 0;
  /** The ring: entries from `head` on (those before it are dropped, and cut off in bulk). */
  private readonly ring: JournalEntry[] = [];
  private head = 0;
  private readonly listeners = new Set<JournalListener>();
  private readonly known = new Map<string, Known>();
  /** Entries waiting for a store read keep their order behind it. */
  private queue: Promise<void> | null = null;

  constructor(events: EngineEvents, private readonly store: Pick<ComputeStore, 'getServer'>, readonly capacity = 10000) {
    events.on('transition', (t) => this.enqueue(() => this.transition(t)));
    events.on('instance_action', (a) => this.enqueue(() => this.action(a)));
  }

  on(fn: JournalListener): () => void {
    this.listeners.add(fn);
    return () => {
      this.listeners.delete(fn);
    };
  }

  /** The last id handed out (0 before any). */
  get lastId(): number {
    return this.seq;
  }

  /** Entries after `id` still in the ring; `complete` is false when some were dropped. */
  since(id: number): { entries: JournalEntry[]; complete: boolean } {
    const oldest = this.ring[this.head]?.id ?? this.seq + 1;
    const entries: JournalEntry[] = [];
    for (let i = this.head; i < this.ring.length; i++) if (this.ring[i].id > id) entries.push(this.ring[i]);
    return { entries, complete: id >= oldest - 1 };
  }

  /** What the ring holds about one server, oldest first. */
  forServer(server_id: string): JournalEntry[] {
    const out: JournalEntry[] = [];
    for (let i = this.head; i < this.ring.length; i++) if (this.ring[i].server_id === server_id) out.push(this.ring[i]);
    return out;
  }

  /** Resolves once every event received so far is in the ring. */
  async flushed(): Promise<void> {
    while (this.queue) await this.queue;
  }

  private enqueue(work: () => void | Promise<void>): void {
    if (!this.queue) {
      const r = work();
      if (!r) return;
      this.queue = r;
    } else {
      this.queue = this.queue.then(work);
    }
    const mine = this.queue;
    void mine.catch(() => undefined).then(() => {
      if (this.queue === mine) this.queue = null;
    });
  }

  private transition(t: TransitionEvent): void {
    const state: JournalState = { vm_state: t.vm_state, task_state: t.task_state, power_state: t.power_state, status: t.status, host: t.host };
    // The engine's event has no previous host: the journal remembers it when it saw the server.
    const previousHost = this.known.get(t.server_id)?.host ?? null;
    this.remember(t.server_id, { ...state, name: t.name, project_id: t.project_id, user_id: t.user_id, server: t.server });
    this.append({
      kind: 'transition', server_id: t.server_id, name: t.name, project_id: t.project_id, user_id: t.user_id, action: t.action, event: null, phase: null, result: null,
      ...state, previous: t.from && { ...t.from, host: previousHost }, request_id: t.request_id, time: new Date(t.time).toISOString(), server: t.server,
    });
  }

  private action(a: InstanceActionEvent): void | Promise<void> {
    if (!a.server_id) return;
    const uuid = a.server_id;
    const build = (k: Known) => {
      const end = a.phase === 'action_finish' || a.phase === 'event_finish';
      this.append({
        kind: a.phase.startsWith('action') ? 'action' : 'action_event', server_id: uuid, name: k.name, project_id: k.project_id, user_id: k.user_id,
        action: a.action, event: a.event, phase: end ? 'end' : 'start', result: end ? (a.result === 'Error' ? 'Error' : 'Success') : null,
        vm_state: k.vm_state, task_state: k.task_state, power_state: k.power_state, status: k.status, host: k.host,
        previous: null, request_id: a.request_id, time: new Date(a.time).toISOString(), server: k.server,
      });
    };
    const k = this.known.get(uuid);
    if (k) return build(k);
    return this.store.getServer(uuid).then((s) => {
      if (!s) return;
      const known: Known = {
        name: s.display_name, project_id: s.project_id, user_id: s.user_id, vm_state: s.vm_state, task_state: s.task_state, power_state: s.power_state,
        status: statusOf(s.vm_state, s.task_state, s.deleted), host: s.host, server: s,
      };
      this.remember(uuid, known);
      build(known);
    }, () => undefined);
  }

  private remember(uuid: string, k: Known): void {
    this.known.delete(uuid);
    this.known.set(uuid, k);
    if (this.known.size > KNOWN_MAX) this.known.delete(this.known.keys().next().value!);
  }

  private append(e: Omit<JournalEntry, 'id'>): void {
    const entry = { id: ++this.seq, ...e } as JournalEntry;
    this.ring.push(entry);
    if (this.ring.length - this.head > this.capacity) this.head = this.ring.length - this.capacity;
    // Dropped entries are cut off in batches, not one by one (each cut moves the whole ring).
    if (this.head >= Math.min(this.capacity, CUT_BATCH)) {
      this.ring.splice(0, this.head);
      this.head = 0;
    }
    for (const fn of this.listeners) {
      try {
        fn(entry);
      } catch {
        // A subscriber's failure (a closed socket) never reaches the engine.
      }
    }
    delete entry.server;
  }
}
