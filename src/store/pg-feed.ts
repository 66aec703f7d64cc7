// One LISTEN connection per process on PostgreSQL that keeps the process's caches honest across
// replicas without a round trip per request each.
//
// - Writes that change a rendered server view notify `novabox_views` from triggers in the database
//   (migration 'compute-view-notify'): the payload is the server's uuid, or '*' when a table the view
//   reads beside the row was written. A notification is sent at commit, so every replica hears of
//   every committed change; none is lost while the connection lives (a lost connection drops
//   everything memoized).
// - A *barrier* is one query on this connection: PostgreSQL delivers every notification of a
//   transaction that committed before the query ran ahead of the query's result. So once a barrier
//   sent after a request arrived has answered, the process has heard of every write committed before
//   that request, and a memo not dropped by then is as fresh as a read would be. Requests that
//   arrive together share one barrier (it is batched: at most one in flight, the next one sent when
//   it answers, for everyone who arrived meanwhile).
// - The barrier reads the cache generations (src/store/generations.ts) as it goes, so a generation
//   check is one shared barrier instead of a query of its own.
import type pg from 'pg';

export type Generations = ReadonlyMap<string, number>;

interface Waiters {
  promise: Promise<Generations | null>;
  resolve(g: Generations | null): void;
}

const BARRIER = 'SELECT name, generation FROM cache_generations';
/** How long after a lost connection the feed tries again. */
const RETRY_MS = 1000;

export class PgChangeFeed {
  private client: pg.Client | null = null;
  private connecting: Promise<void> | null = null;
  private ready = false;
  private closed = false;
  private retryAt = 0;
  private readonly listeners = new Set<(payload: string) => void>();
  /** The barrier in flight: when it was sent and who waits for it. */
  private inflight: { sentAt: number; waiters: Waiters } | null = null;
  /** Everyone waiting for a barrier sent after the one in flight. */
  private queued: Waiters | null = null;
  /** The last barrier answered. */
  private done: { sentAt: number; gens: Generations } | null = null;

  constructor(private readonly open: () => pg.Client) {}

  /** Calls `fn(payload)` for every server-view notification; `fn('*')` too when the connection was lost. */
  onChange(fn: (payload: string) => void): () => void {
    this.listeners.add(fn);
    this.start();
    return () => this.listeners.delete(fn);
  }

  /** Whether the connection listens (a memo may be trusted only after a barrier while it does). */
  get listening(): boolean {
    return this.ready;
  }

  /**
   * Resolves once a barrier sent at or after `since` (performance.now() ms) has answered, with the
   * generations it read; null when the feed cannot tell (not connected, the query failed): the
   * caller then reads for itself.
   */
  after(since: number): Promise<Generations | null> | Generations | null {
    if (!this.ready) {
      this.start();
      return null;
    }
    if (this.done && this.done.sentAt >= since) return this.done.gens;
    if (this.inflight && this.inflight.sentAt >= since) return this.inflight.waiters.promise;
    if (!this.queued) {
      let resolve!: (g: Generations | null) => void;
      const promise = new Promise<Generations | null>((r) => (resolve = r));
      this.queued = { promise, resolve };
    }
    const waiting = this.queued.promise;
    if (!this.inflight) this.send();
    return waiting;
  }

  private send(): void {
    const waiters = this.queued!;
    this.queued = null;
    const client = this.client;
    if (!client || !this.ready) {
      waiters.resolve(null);
      return;
    }
    const sentAt = performance.now();
    this.inflight = { sentAt, waiters };
    client.query({ name: 'novabox_barrier', text: BARRIER }).then(
      (r) => {
        const gens = new Map<string, number>();
        for (const row of r.rows as { name: string; generation: number | string }[]) gens.set(row.name, Number(row.generation));
        if (this.client === client) this.done = { sentAt, gens };
        this.finish(waiters, gens);
      },
      () => this.finish(waiters, null),
    );
  }

  private finish(waiters: Waiters, gens: Generations | null): void {
    this.inflight = null;
    waiters.resolve(gens);
    if (this.queued) this.send();
  }

  private start(): void {
    if (this.ready || this.connecting || this.closed || Date.now() < this.retryAt) return;
    this.connecting = this.connect()
      .catch(() => this.lost())
      .finally(() => (this.connecting = null));
  }

  private async connect(): Promise<void> {
    const client = this.open();
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    client.on('notification', (m: { channel: string; payload?: string }) => {
      if (m.channel !== 'novabox_views' || this.client !== client) return;
      const payload = m.payload ?? '*';
      for (const fn of this.listeners) fn(payload);
    });
    this.client = client;
    await client.connect();
    await client.query('LISTEN novabox_views');
    if (this.closed || this.client !== client) {
      await client.end().catch(() => undefined);
      return;
    }
    // Nothing heard before LISTEN: whatever was memoized meanwhile goes.
    for (const fn of this.listeners) fn('*');
    this.ready = true;
  }

  private lost(client?: pg.Client): void {
    if (client && this.client !== client) return;
    const wasReady = this.ready;
    this.ready = false;
    this.done = null;
    const old = this.client;
    this.client = null;
    this.retryAt = Date.now() + RETRY_MS;
    old?.end().catch(() => undefined);
    if (wasReady || client) for (const fn of this.listeners) fn('*');
    if (this.queued) {
      this.queued.resolve(null);
      this.queued = null;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = null;
    this.ready = false;
    this.done = null;
    if (this.queued) {
      this.queued.resolve(null);
      this.queued = null;
    }
    await client?.end().catch(() => undefined);
  }
}
