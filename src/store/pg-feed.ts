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
// - Membership (the counterpart of SQLite's src/store/presence.ts): the connection holds a session
//   advisory lock on MEMBERS, shared by every replica, or held exclusively by a replica that is
//   *alone* on the database. Alone, a replica needs no barrier per request: only its own writes can
//   have committed, so a barrier is sent only when one of them committed after the last barrier
//   (wrote()). A replica that joins cannot take the shared lock while one is alone; it notifies
//   `novabox_members` until the lone one, which switches back to a barrier per request first, gives
//   the lock up. No replica writes before it holds the lock (member()), so by the time a joiner's
//   first write commits, nobody trusts a memo without a barrier. A replica alone again takes the
//   lock exclusively (it succeeds only when no other session holds it, i.e. no other replica lives);
//   a session that ends (a replica killed, a connection lost) releases its lock in the database.
import type pg from 'pg';

export type Generations = ReadonlyMap<string, number>;

interface Waiters {
  promise: Promise<Generations | null>;
  resolve(g: Generations | null): void;
}

const BARRIER = 'SELECT name, generation FROM cache_generations';
/** How long after a lost connection the feed tries again. */
const RETRY_MS = 1000;
/** The advisory lock of the replicas on one database (two-key form: 'nova', 1). */
const MEMBERS = '1852798561, 1';
/** How often a replica that is not alone tries to be; after acknowledging a joiner it waits QUIET_MS. */
const ALONE_EVERY_MS = 1000;
const QUIET_MS = 3000;
/** How often a joiner asks the lone replica to give the lock up, and for how long before it fails. */
const JOIN_POLL_MS = 20;
const JOIN_TIMEOUT_MS = 30_000;

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
  /** Holding the members' lock exclusively: no other replica is on the database. */
  private alone = false;
  /** When (performance.now()) the last write of this process ended (wrote()). */
  private lastWrite = 0;
  private aloneTimer: NodeJS.Timeout | null = null;
  private quietUntil = 0;
  /** Waiting in member() for the connection to hold the members' lock. */
  private readonly joining = new Set<() => void>();

  constructor(private readonly open: () => pg.Client) {}

  /** Whether this replica holds the database alone (for metrics and tests). */
  get holdsAlone(): boolean {
    return this.ready && this.alone;
  }

  /** Whether this process may write now: its connection holds the members' lock. */
  get isMember(): boolean {
    return this.ready;
  }

  /**
   * Resolves once the connection holds the members' lock (connecting if need be); rejects when that
   * cannot be had within JOIN_TIMEOUT_MS (PostgreSQL unreachable, or a lone replica not answering).
   */
  member(): Promise<void> {
    if (this.ready) return Promise.resolve();
    this.start();
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.joining.delete(done);
        resolve();
      };
      const timer = setTimeout(() => {
        this.joining.delete(done);
        reject(new Error(`could not join the replicas on this PostgreSQL database within ${JOIN_TIMEOUT_MS / 1000} s`));
      }, JOIN_TIMEOUT_MS);
      this.joining.add(done);
    });
  }

  /** A write of this process has ended (committed or not): alone, the next barrier-free look must wait for a barrier. */
  wrote(): void {
    this.lastWrite = performance.now();
  }

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
    if (this.done && (this.done.sentAt >= since || (this.alone && this.done.sentAt >= this.lastWrite))) return this.done.gens;
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
      if (this.client !== client) return;
      if (m.channel === 'novabox_members') {
        if (this.alone && this.ready) this.giveUpAlone(client);
        return;
      }
      if (m.channel !== 'novabox_views') return;
      const payload = m.payload ?? '*';
      for (const fn of this.listeners) fn(payload);
    });
    this.client = client;
    await client.connect();
    await client.query('LISTEN novabox_views');
    await client.query('LISTEN novabox_members');
    // Join: the shared lock, asking a lone replica to let go of it meanwhile.
    const deadline = Date.now() + JOIN_TIMEOUT_MS;
    while (!(await client.query(`SELECT pg_try_advisory_lock_shared(${MEMBERS}) AS ok`)).rows[0].ok) {
      if (this.closed || this.client !== client) break;
      if (Date.now() > deadline) throw new Error('a lone replica did not let go of the database');
      await client.query("SELECT pg_notify('novabox_members', 'join')");
      await new Promise((r) => setTimeout(r, JOIN_POLL_MS));
    }
    if (this.closed || this.client !== client) {
      await client.end().catch(() => undefined);
      return;
    }
    // Nothing heard before LISTEN: whatever was memoized meanwhile goes.
    for (const fn of this.listeners) fn('*');
    this.alone = false;
    this.ready = true;
    for (const fn of [...this.joining]) fn();
    this.aloneTimer ??= setInterval(() => this.tryAlone(), ALONE_EVERY_MS);
    this.aloneTimer.unref();
    this.tryAlone();
  }

  /** No other session holds the members' lock: take it alone (ours shared is then let go). */
  private tryAlone(): void {
    const client = this.client;
    if (!client || !this.ready || this.alone || this.closed || performance.now() < this.quietUntil) return;
    client.query(`SELECT pg_try_advisory_lock(${MEMBERS}) AS ok`).then(async (r) => {
      if (!r.rows[0].ok || this.client !== client) return;
      await client.query(`SELECT pg_advisory_unlock_shared(${MEMBERS})`);
      if (this.client !== client || !this.ready) return;
      // Other replicas' writes before the lock are heard (delivered ahead of its answer), but the
      // generations are read again by one barrier before the first request is answered alone.
      this.done = null;
      this.alone = true;
    }).catch(() => undefined);
  }

  /** A replica joins: a barrier per request again from now on, then the exclusive lock goes (shared kept). */
  private giveUpAlone(client: pg.Client): void {
    this.alone = false;
    this.quietUntil = performance.now() + QUIET_MS;
    client.query(`SELECT pg_advisory_lock_shared(${MEMBERS})`)
      .then(() => client.query(`SELECT pg_advisory_unlock(${MEMBERS})`))
      .catch(() => this.lost(client));
  }

  private lost(client?: pg.Client): void {
    if (client && this.client !== client) return;
    const wasReady = this.ready;
    this.ready = false;
    this.alone = false;
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
    if (this.aloneTimer) clearInterval(this.aloneTimer);
    const client = this.client;
    this.client = null;
    this.ready = false;
    this.alone = false;
    this.done = null;
    if (this.queued) {
      this.queued.resolve(null);
      this.queued = null;
    }
    await client?.end().catch(() => undefined);
  }
}
