// A memo of rendered server views for GET /servers/{id}, per server. An entry is dropped the moment
// anything it was rendered from is written: the executor reports every update or delete of a
// server row (that server's entries go) and every write to a table the view reads beside the row
// (hosts and aggregates, faults, server groups, Neutron's ports and groups: every entry goes), and
// every entry goes too when another process on the same SQLite file has committed. So a memoized
// view is never staler than a fresh one, and writes to other servers (builds, actions) leave it in
// place. On PostgreSQL (several replicas) the database's triggers notify every replica of each
// committed write (src/store/pg-feed.ts), and a memoized view is served only through lookup(), after a
// barrier sent once the request arrived: every write committed before the request has been heard.
import type { ServerViewWatch, SqlDatabase } from '../../../store/sql.ts';

interface Entry {
  project_id: string;
  body: unknown;
}

const MAX_ENTRIES = 10000;

export class ShowCache {
  /** server uuid → (microversion, admin, URL project) → rendered body. */
  private readonly entries = new Map<string, Map<string, Entry>>();
  private size = 0;
  /** Moves on every invalidation; begin() hands out its value. */
  private generation = 0;
  /** A render that began before this generation is not memoized (set by clear(), and when `forgotten` is full). */
  private cleared = 0;
  /** server uuid → the generation of its last invalidation since `cleared`: a render of that server that began before it is not memoized. */
  private readonly forgotten = new Map<string, number>();
  private readonly watch: ServerViewWatch | null;

  constructor(sql: SqlDatabase) {
    this.watch = sql.watchServerViews?.({ server: (uuid) => this.forget(uuid), other: () => this.clear() }) ?? null;
  }

  /** The memoized body of `variant` of server `uuid`, if nothing it was rendered from has changed. */
  get(uuid: string, variant: string, since?: number): Entry | undefined {
    if (!this.watch || this.watch.fresh) return undefined;
    this.checkOthers(since);
    return this.entries.get(uuid)?.get(variant);
  }

  /** Whether get() answers (SQLite); else lookup() must be awaited (PostgreSQL). */
  get synchronous(): boolean {
    return !this.watch?.fresh;
  }

  /** get() where writes are heard asynchronously: waits until every write committed before `since` (performance.now() ms) is heard. */
  async lookup(uuid: string, variant: string, since: number): Promise<Entry | undefined> {
    if (!this.watch?.fresh) return this.get(uuid, variant, since);
    const fresh = this.watch.fresh(since);
    if (!(fresh === true || (fresh !== false && (await fresh)))) return undefined;
    return this.entries.get(uuid)?.get(variant);
  }

  /** A token to take before reading what a render needs; `set` memoizes only if it still holds for that server. */
  begin(): number {
    if (this.watch) this.checkOthers();
    return this.generation;
  }

  set(token: number, uuid: string, variant: string, project_id: string, body: unknown): void {
    // A write to another server leaves this render good: only one to this server, or a clear, spoils it.
    if (!this.watch || token < this.cleared || (this.forgotten.get(uuid) ?? -1) > token) return;
    if (this.size >= MAX_ENTRIES) this.clear();
    let m = this.entries.get(uuid);
    if (!m) this.entries.set(uuid, (m = new Map()));
    if (!m.has(variant)) this.size++;
    m.set(variant, { project_id, body });
  }

  private forget(uuid: string): void {
    this.generation++;
    if (this.forgotten.size >= MAX_ENTRIES) {
      // Too many to track: every render under way is refused (the memoized entries stay good).
      this.cleared = this.generation;
      this.forgotten.clear();
    } else {
      this.forgotten.set(uuid, this.generation);
    }
    const m = this.entries.get(uuid);
    if (m) {
      this.size -= m.size;
      this.entries.delete(uuid);
    }
  }

  private clear(): void {
    this.generation++;
    this.cleared = this.generation;
    this.forgotten.clear();
    this.entries.clear();
    this.size = 0;
  }

  /** `since`: the request's arrival (a look at the file taken after it, e.g. by authentication, is reused). */
  private checkOthers(since?: number): void {
    if (this.watch!.othersCommitted(since)) this.clear();
  }
}
