// Versioned notifications on AMQP (novabox serve --notifications amqp://…): what Nova's
// oslo.messaging "messagingv2" driver puts on RabbitMQ. Each notification is a message on the
// topic exchange `nova` with routing key versioned_notifications.<priority> (a queue of that name
// is declared and bound, as oslo.messaging's rabbit driver does so nothing is lost before a
// consumer binds), and body {"oslo.version": "2.0", "oslo.message": "<JSON>"} whose message holds
// message_id, publisher_id, event_type, priority, payload, timestamp and the _context_* keys.
import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import type { ComputeStore } from '../store/store.ts';
import type { Journal, JournalEntry } from '../engine/journal.ts';
import { instancePayload, type PayloadContext } from './payloads.ts';
import { NOTIFICATIONS, type NotificationRule } from './table.ts';

export const EXCHANGE = 'nova';
export const TOPIC = 'versioned_notifications';
const RECONNECT_MS = 5000;

/** str(datetime.utcnow()) as oslo.messaging stamps a notification. */
function osloTimestamp(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}000`;
}

/** The rules a journal entry sets off, in order; `started` remembers which action began per server. */
export function rulesFor(e: JournalEntry, started: Map<string, string>): NotificationRule[] {
  const action = e.action;
  if (!action) return [];
  const rules = NOTIFICATIONS[action] ?? [];
  const out: NotificationRule[] = [];
  const accept = () => {
    if (started.get(e.server_id) !== action) {
      started.set(e.server_id, action);
      out.push(...rules.filter((r) => r.trigger.on === 'accept'));
    }
  };
  if (e.kind === 'transition') {
    accept();
    for (const r of rules) {
      const t = r.trigger;
      if (t.on === 'task' && e.task_state === t.value && e.previous?.task_state !== t.value) out.push(r);
      if (t.on === 'vm' && e.vm_state === t.value && e.previous?.vm_state !== t.value) out.push(r);
      if (t.on === 'scheduled' && e.vm_state === 'building' && e.task_state === null && e.previous?.task_state !== null) out.push(r);
    }
  } else if (e.kind === 'action' && e.phase === 'end') {
    accept();
    out.push(...rules.filter((r) => r.trigger.on === (e.result === 'Error' ? 'error' : 'end')));
    started.delete(e.server_id);
  }
  return out;
}

export interface Notification {
  routing_key: string;
  body: { 'oslo.version': '2.0'; 'oslo.message': string };
}

export class Notifier {
  private readonly started = new Map<string, string>();
  private queue: Promise<void> = Promise.resolve();
  private conn: amqp.ChannelModel | null = null;
  private channel: amqp.ConfirmChannel | null = null;
  private readonly declared = new Set<string>();
  private lastAttempt = 0;
  private closed = false;
  private readonly off: () => void;

  constructor(
    private readonly url: string,
    journal: Journal,
    private readonly store: Pick<ComputeStore, 'getServer' | 'latestFault'>,
    private readonly warn: (msg: string) => void,
  ) {
    this.off = journal.on((entry) => {
      const rules = rulesFor(entry, this.started);
      // The entry's server is the state of this moment; the ring drops it once listeners have run.
      const e = { ...entry };
      if (rules.length) this.queue = this.queue.then(() => this.send(e, rules)).catch((err) => this.warn(`notification failed: ${err instanceof Error ? err.message : String(err)}`));
    });
  }

  /** Resolves when everything notified so far has been handed to the broker. */
  async flushed(): Promise<void> {
    await this.queue;
  }

  async close(): Promise<void> {
    this.off();
    await this.queue;
    this.closed = true;
    await this.conn?.close().catch(() => undefined);
    this.conn = null;
    this.channel = null;
  }

  /** Render the notifications of one journal entry (exported for tests through `render`). */
  async render(e: JournalEntry, rules: NotificationRule[]): Promise<Notification[]> {
    const stored = e.server ?? (await this.store.getServer(e.server_id));
    if (!stored) return [];
    const out: Notification[] = [];
    for (const rule of rules) {
      const error = rule.trigger.on === 'error';
      const s = { ...stored, vm_state: e.vm_state, task_state: e.task_state, power_state: e.power_state, host: e.host } as typeof stored;
      if (rule.event_type === 'instance.create.start') Object.assign(s, { host: null, node: null, addresses: [], launched_at: null });
      const fault = error ? await this.store.latestFault(e.server_id) : undefined;
      const ctx: PayloadContext = {
        request_id: e.request_id, user_id: e.user_id, project_id: e.project_id,
        fault: fault ? { exception: 'NovaException', exception_message: fault.message, function_name: e.action ?? '', module_name: 'nova.compute.manager', traceback: fault.details ?? '' } : null,
      };
      const priority = error ? 'ERROR' : 'INFO';
      const message = {
        message_id: randomUUID(),
        publisher_id: `nova-compute:${stored.host ?? e.host ?? 'compute'}`,
        event_type: rule.event_type,
        priority,
        payload: instancePayload(rule.payload, s, ctx),
        timestamp: osloTimestamp(e.time),
        _context_request_id: e.request_id, _context_global_request_id: null,
        _context_user_id: e.user_id, _context_project_id: e.project_id, _context_user: e.user_id, _context_tenant: e.project_id,
        _context_is_admin: false, _context_read_only: false, _context_show_deleted: false, _context_timestamp: e.time,
      };
      out.push({ routing_key: `${TOPIC}.${priority.toLowerCase()}`, body: { 'oslo.version': '2.0', 'oslo.message': JSON.stringify(message) } });
    }
    return out;
  }

  private async send(e: JournalEntry, rules: NotificationRule[]): Promise<void> {
    const notes = await this.render(e, rules);
    const ch = await this.ready();
    if (!ch) return;
    for (const n of notes) {
      if (!this.declared.has(n.routing_key)) {
        await ch.assertQueue(n.routing_key, { durable: false, autoDelete: false });
        await ch.bindQueue(n.routing_key, EXCHANGE, n.routing_key);
        this.declared.add(n.routing_key);
      }
      ch.publish(EXCHANGE, n.routing_key, Buffer.from(JSON.stringify(n.body)), { contentType: 'application/json', contentEncoding: 'utf-8' });
    }
    await ch.waitForConfirms();
  }

  /** The channel, connecting when needed; null while the broker is unreachable (notifications are dropped, as oslo does after its retries). */
  private async ready(): Promise<amqp.ConfirmChannel | null> {
    if (this.channel || this.closed) return this.channel;
    if (Date.now() - this.lastAttempt < RECONNECT_MS && this.lastAttempt !== 0) return null;
    this.lastAttempt = Date.now();
    try {
      const conn = await amqp.connect(this.url);
      const ch = await conn.createConfirmChannel();
      await ch.assertExchange(EXCHANGE, 'topic', { durable: false, autoDelete: false });
      const lost = () => {
        this.conn = null;
        this.channel = null;
        this.declared.clear();
      };
      conn.on('close', lost);
      conn.on('error', (err: Error) => this.warn(`notifications: broker connection error: ${err.message}`));
      this.conn = conn;
      this.channel = ch;
      return ch;
    } catch (err) {
      this.warn(`notifications: cannot reach ${this.url.replace(/\/\/[^@]*@/, '//***@')}: ${err instanceof Error ? err.message : String(err)}`);
      return null;
    }
  }
}
