// Which novabox processes use one SQLite file, so that a process alone on it can stop looking for
// other processes' commits on every request (PostgreSQL's counterpart lives in its change feed,
// src/store/pg-feed.ts, on advisory locks).
//
// Every process that serves from the file has a row in `novabox_processes`. One of them may hold
// the file *alone* (its row says so) while no other row exists; it then trusts its caches without a
// look at PRAGMA data_version per request, and looks only on its tick (every TICK_MS), which also
// catches writes by a program that is not a novabox (those are seen within a tick, not at once).
//
// A process that joins registers its row first, in a write transaction; if a live process holds the
// file alone, the joiner writes nothing else until that process has acknowledged it (cleared its
// `alone`), which it does on its next tick after switching back to a look per request. So by the time
// the joiner's first change commits, every other process reads as if it were alone no longer.
// A process stops being alone only through its own tick; one that sees no other row for a tick
// takes the file alone again in a write transaction, which a joiner's registration cannot interleave.
//
// Rows of processes that are gone (their pid is gone on this machine, or no heartbeat for STALE_MS)
// are removed by whoever notices, so a crashed lone holder frees the file at once.
import type { Db } from './db.ts';
import { newLeaseOwner, ownerIsDead } from './lease-owner.ts';

const TABLE = `CREATE TABLE IF NOT EXISTS novabox_processes (
  owner TEXT PRIMARY KEY,
  alone INTEGER NOT NULL DEFAULT 0,
  seen_at INTEGER NOT NULL
)`;

/** How often a process looks at the file (foreign commits, joiners) and whether it may hold it alone. */
const TICK_MS = 50;
/** A row not renewed for this long is a process that is gone. */
const STALE_MS = 10_000;
/** How often a process renews its row. */
const HEARTBEAT_MS = 2_000;
/** How long a joiner waits for a live lone holder to acknowledge it. */
const JOIN_TIMEOUT_MS = 30_000;

interface Row {
  owner: string;
  alone: number;
  seen_at: number;
}

/** A process whose pid is gone on this machine, or that has not renewed its row for STALE_MS. */
function gone(r: Row): boolean {
  return r.seen_at < Date.now() - STALE_MS || ownerIsDead(r.owner);
}

export class SqlitePresence {
  /** Whether this process holds the file alone (see trusted()). */
  private alone = false;
  private lastTick = 0;
  private lastBeat = 0;
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private closed = false;

  /**
   * @param look a look at the file for other connections' commits (SqliteSql's), run on every tick
   * @param exclusive runs `fn` with no unit of work of this process open (SqliteSql's lock)
   */
  constructor(
    private readonly db: Db,
    private readonly look: () => void,
    private readonly exclusive: <T>(fn: () => T) => Promise<T>,
    readonly owner: string = newLeaseOwner(),
  ) {}

  /**
   * Whether no other process can have committed unseen: this process holds the file alone and its
   * tick has run lately (an event loop held for long may have missed a joiner).
   */
  trusted(now: number): boolean {
    return this.alone && now - this.lastTick < STALE_MS / 4;
  }

  /** Whether the process holds the file alone (for metrics and tests). */
  get holdsAlone(): boolean {
    return this.alone;
  }

  /**
   * Registers this process; resolves once it may write (no live process holds the file alone, or the
   * one that did has acknowledged). Call before anything else writes, migrations included.
   */
  async join(): Promise<void> {
    // Not one of the file's migrations: those write, and they run only once this process has joined.
    this.db.exec(TABLE);
    const deadline = Date.now() + JOIN_TIMEOUT_MS;
    for (;;) {
      const holder = this.db.transaction(() => {
        this.purge();
        this.db.prepare('INSERT INTO novabox_processes (owner, alone, seen_at) VALUES (?, 0, ?) ON CONFLICT (owner) DO UPDATE SET seen_at = excluded.seen_at').run(this.owner, Date.now());
        return this.db.prepare('SELECT owner FROM novabox_processes WHERE alone = 1 AND owner <> ?').get(this.owner) as { owner: string } | undefined;
      }).immediate();
      if (!holder) break;
      if (Date.now() > deadline) {
        this.leave();
        throw new Error(`another novabox process (${holder.owner}) holds this SQLite file and has not answered for ${JOIN_TIMEOUT_MS / 1000} s; stop it or wait until it answers`);
      }
      await new Promise((r) => setTimeout(r, TICK_MS / 2));
    }
    this.lastTick = this.lastBeat = performance.now();
    this.timer = setInterval(() => {
      if (!this.ticking) this.ticking = this.exclusive(() => this.tick()).catch(() => undefined).finally(() => (this.ticking = null));
    }, TICK_MS);
    this.timer.unref();
  }

  /** Stops the tick and removes this process's row. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.ticking;
    this.alone = false;
    await this.exclusive(() => this.leave());
  }

  private leave(): void {
    try {
      this.db.prepare('DELETE FROM novabox_processes WHERE owner = ?').run(this.owner);
    } catch {
      // A closed or read-only file: the row goes stale and the next process removes it.
    }
  }

  private others(): Row[] {
    return this.db.prepare('SELECT owner, alone, seen_at FROM novabox_processes WHERE owner <> ?').all(this.owner) as Row[];
  }

  /** Removes the rows of other processes that are gone. */
  private purge(): void {
    for (const r of this.others()) if (gone(r)) this.db.prepare('DELETE FROM novabox_processes WHERE owner = ?').run(r.owner);
  }

  private tick(): void {
    if (this.closed) return;
    const now = performance.now();
    // The look first: in the alone state it is the only one, and it moves the caches' epoch on any
    // foreign commit (a program that is not a novabox writing to the file).
    this.look();
    const beat = now - this.lastBeat >= HEARTBEAT_MS;
    const others = this.others();
    const own = this.db.prepare('SELECT alone FROM novabox_processes WHERE owner = ?').get(this.owner) as { alone: number } | undefined;
    if (this.alone && (others.length > 0 || !own)) {
      // A joiner (or our row was taken for a gone process's): back to a look per request before the
      // acknowledgement commits, so nothing the joiner writes afterwards can be missed.
      this.alone = false;
      this.register(now);
    } else if (!own) {
      this.register(now);
    } else if (!this.alone && (others.length === 0 || (beat && others.some(gone)))) {
      this.takeAlone(now);
    } else if (beat) {
      this.db.prepare('UPDATE novabox_processes SET seen_at = ? WHERE owner = ?').run(Date.now(), this.owner);
      this.lastBeat = now;
    }
    this.lastTick = now;
  }

  private register(now: number): void {
    this.db.prepare('INSERT INTO novabox_processes (owner, alone, seen_at) VALUES (?, 0, ?) ON CONFLICT (owner) DO UPDATE SET alone = 0, seen_at = excluded.seen_at').run(this.owner, Date.now());
    this.lastBeat = now;
  }

  /** In one write transaction: no other live row, then ours says alone; the state changes only once that has committed. */
  private takeAlone(now: number): void {
    const took = this.db.transaction(() => {
      this.purge();
      const alone = this.db.prepare('SELECT 1 FROM novabox_processes WHERE owner <> ?').get(this.owner) ? 0 : 1;
      this.db.prepare('UPDATE novabox_processes SET alone = ?, seen_at = ? WHERE owner = ?').run(alone, Date.now(), this.owner);
      return alone === 1;
    }).immediate();
    this.lastBeat = now;
    if (took) {
      // Commits up to the transaction are seen by this look; after it, a joiner must wait for us.
      this.look();
      this.alone = true;
    }
  }
}
