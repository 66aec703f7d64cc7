// A memo of rendered server views for GET /servers/{id}. An entry is used only while the database
// is exactly as it was when the view was rendered: SQLite's total_changes() counts every write
// through novabox's connection (server rows, faults, hosts, security and server groups …) and
// PRAGMA data_version every commit by another connection to the same file. So a cached view is
// never staler than a fresh one; under steady reads it spares the lookup and the rendering.
import type { Db } from '../../../store/db.ts';

interface Entry {
  changes: string;
  project_id: string;
  body: unknown;
}

const MAX_ENTRIES = 10000;

export class ShowCache {
  private readonly entries = new Map<string, Entry>();
  private readonly changes: () => string;

  /** Without a SQLite handle (PostgreSQL, several replicas) nothing is memoized: every show renders. */
  private readonly enabled: boolean;

  constructor(db: Db | null) {
    this.enabled = db !== null;
    if (!db) {
      this.changes = () => '';
      return;
    }
    const total = db.prepare('SELECT total_changes() AS n');
    const other = db.prepare('PRAGMA data_version');
    this.changes = () => `${(total.get() as { n: number }).n}/${(other.get() as { data_version: number }).data_version}`;
  }

  /** The cached body for `key` if nothing was written since it was rendered. */
  get(key: string): { project_id: string; body: unknown } | undefined {
    if (!this.enabled) return undefined;
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.changes !== this.changes()) {
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }

  /** Remember a body rendered at the write count read before the render started. */
  set(key: string, changes: string, project_id: string, body: unknown): void {
    if (!this.enabled) return;
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    this.entries.set(key, { changes, project_id, body });
  }

  now(): string {
    return this.changes();
  }
}
