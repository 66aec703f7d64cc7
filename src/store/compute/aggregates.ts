// Host aggregates (os-aggregates): a name, an optional availability zone, member hosts and metadata.
// The availability zone is also kept as the `availability_zone` metadata key, as Nova does.
import type { Sql, SqlDatabase, SqlMigration } from '../sql.ts';
import { bumpGeneration } from '../generations.ts';

export interface Aggregate {
  id: number;
  uuid: string;
  name: string;
  availability_zone: string | null;
  hosts: string[];
  metadata: Record<string, string>;
  created_at: number;
  updated_at: number | null;
}

export interface AggregateRepository {
  list(): Promise<Aggregate[]>;
  get(id: number): Promise<Aggregate | undefined>;
  /** Undefined when another aggregate already has the name. */
  create(a: { uuid: string; name: string; availability_zone: string | null }, now: number): Promise<Aggregate | undefined>;
  /** Name and zone; 'conflict' when the name is taken by another aggregate. */
  update(id: number, change: { name?: string; availability_zone?: string | null }, now: number): Promise<Aggregate | undefined | 'conflict'>;
  delete(id: number): Promise<boolean>;
  /** Membership does not touch the aggregate's updated_at (as in Nova). */
  addHost(id: number, host: string): Promise<boolean>;
  removeHost(id: number, host: string): Promise<boolean>;
  /** Sets keys (a null value removes the key); `availability_zone` also moves the zone. */
  setMetadata(id: number, metadata: Record<string, string | null>, now: number): Promise<Aggregate | undefined>;
}

/** The same tables in both dialects; only the key types differ. */
const aggregateTables = (id: string, ref: string) => `
CREATE TABLE aggregates (
  id ${id} PRIMARY KEY,
  uuid TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL UNIQUE,
  created_at BIGINT NOT NULL,
  updated_at BIGINT
);
CREATE TABLE aggregate_hosts (
  aggregate_id ${ref} NOT NULL REFERENCES aggregates(id) ON DELETE CASCADE,
  host TEXT NOT NULL,
  PRIMARY KEY (aggregate_id, host)
);
CREATE TABLE aggregate_metadata (
  aggregate_id ${ref} NOT NULL REFERENCES aggregates(id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (aggregate_id, key)
);`;

export const AGGREGATE_MIGRATIONS: SqlMigration[] = [{
  id: 'compute-aggregates-1',
  sqlite: aggregateTables('INTEGER', 'INTEGER'),
  postgres: aggregateTables('BIGSERIAL', 'BIGINT'),
}];

interface Row { id: number; uuid: string; name: string; created_at: number; updated_at: number | null }

const AZ = 'availability_zone';

/** Every aggregate; `q` may be a unit of work's executor (the scheduler reads zones inside one). */
export async function listAggregates(q: Sql): Promise<Aggregate[]> {
  return loadAggregates(q, await q.all<Row>('SELECT id, uuid, name, created_at, updated_at FROM aggregates ORDER BY id'));
}

async function loadAggregates(q: Sql, rows: Row[]): Promise<Aggregate[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => Number(r.id));
  const marks = ids.map(() => '?').join(', ');
  const hosts = await q.all<{ aggregate_id: number; host: string }>(`SELECT aggregate_id, host FROM aggregate_hosts WHERE aggregate_id IN (${marks}) ORDER BY host`, ids);
  const meta = await q.all<{ aggregate_id: number; key: string; value: string }>(`SELECT aggregate_id, key, value FROM aggregate_metadata WHERE aggregate_id IN (${marks}) ORDER BY key`, ids);
  return rows.map((r) => {
    const id = Number(r.id);
    const metadata = Object.fromEntries(meta.filter((m) => Number(m.aggregate_id) === id).map((m) => [m.key, m.value]));
    return {
      id, uuid: r.uuid, name: r.name, availability_zone: metadata[AZ] ?? null,
      hosts: hosts.filter((h) => Number(h.aggregate_id) === id).map((h) => h.host), metadata,
      created_at: Number(r.created_at), updated_at: r.updated_at === null ? null : Number(r.updated_at),
    };
  });
}

export class SqlAggregateRepository implements AggregateRepository {
  constructor(private readonly db: SqlDatabase) {}

  /** Aggregates give hosts their zones: every write moves the hosts' cache generation (src/store/generations.ts) for every process. */
  private write<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    return this.db.transaction(async (tx) => {
      const out = await fn(tx);
      await bumpGeneration(tx, 'hosts');
      return out;
    });
  }

  private load(q: Sql, rows: Row[]): Promise<Aggregate[]> {
    return loadAggregates(q, rows);
  }

  private async one(q: Sql, id: number): Promise<Aggregate | undefined> {
    const r = await q.get<Row>('SELECT id, uuid, name, created_at, updated_at FROM aggregates WHERE id = ?', [id]);
    return r ? (await this.load(q, [r]))[0] : undefined;
  }

  async list(): Promise<Aggregate[]> {
    return listAggregates(this.db);
  }

  async get(id: number): Promise<Aggregate | undefined> {
    return this.one(this.db, id);
  }

  async create(a: { uuid: string; name: string; availability_zone: string | null }, now: number): Promise<Aggregate | undefined> {
    return this.write(async (tx) => {
      if (await tx.get('SELECT id FROM aggregates WHERE name = ?', [a.name])) return undefined;
      await tx.run('INSERT INTO aggregates (uuid, name, created_at, updated_at) VALUES (?, ?, ?, NULL)', [a.uuid, a.name, now]);
      const row = (await tx.get<{ id: number }>('SELECT id FROM aggregates WHERE uuid = ?', [a.uuid]))!;
      if (a.availability_zone !== null) await tx.run('INSERT INTO aggregate_metadata (aggregate_id, key, value) VALUES (?, ?, ?)', [row.id, AZ, a.availability_zone]);
      return this.one(tx, Number(row.id));
    });
  }

  async update(id: number, change: { name?: string; availability_zone?: string | null }, now: number): Promise<Aggregate | undefined | 'conflict'> {
    return this.write(async (tx) => {
      if (!(await tx.get('SELECT id FROM aggregates WHERE id = ?', [id]))) return undefined;
      if (change.name !== undefined) {
        if (await tx.get('SELECT id FROM aggregates WHERE name = ? AND id <> ?', [change.name, id])) return 'conflict';
        await tx.run('UPDATE aggregates SET name = ? WHERE id = ?', [change.name, id]);
      }
      if (change.availability_zone !== undefined) await this.putMeta(tx, id, { [AZ]: change.availability_zone });
      await tx.run('UPDATE aggregates SET updated_at = ? WHERE id = ?', [now, id]);
      return this.one(tx, id);
    });
  }

  private async putMeta(tx: Sql, id: number, metadata: Record<string, string | null>): Promise<void> {
    for (const [k, v] of Object.entries(metadata)) {
      await tx.run('DELETE FROM aggregate_metadata WHERE aggregate_id = ? AND key = ?', [id, k]);
      if (v !== null) await tx.run('INSERT INTO aggregate_metadata (aggregate_id, key, value) VALUES (?, ?, ?)', [id, k, v]);
    }
  }

  async delete(id: number): Promise<boolean> {
    return this.write(async (tx) => {
      await tx.run('DELETE FROM aggregate_hosts WHERE aggregate_id = ?', [id]);
      await tx.run('DELETE FROM aggregate_metadata WHERE aggregate_id = ?', [id]);
      return (await tx.run('DELETE FROM aggregates WHERE id = ?', [id])).changes > 0;
    });
  }

  async addHost(id: number, host: string): Promise<boolean> {
    return this.write(async (tx) => {
      if (await tx.get('SELECT host FROM aggregate_hosts WHERE aggregate_id = ? AND host = ?', [id, host])) return false;
      await tx.run('INSERT INTO aggregate_hosts (aggregate_id, host) VALUES (?, ?)', [id, host]);
      return true;
    });
  }

  async removeHost(id: number, host: string): Promise<boolean> {
    return this.write(async (tx) => {
      return (await tx.run('DELETE FROM aggregate_hosts WHERE aggregate_id = ? AND host = ?', [id, host])).changes > 0;
    });
  }

  async setMetadata(id: number, metadata: Record<string, string | null>, now: number): Promise<Aggregate | undefined> {
    return this.write(async (tx) => {
      if (!(await tx.get('SELECT id FROM aggregates WHERE id = ?', [id]))) return undefined;
      await this.putMeta(tx, id, metadata);
      await tx.run('UPDATE aggregates SET updated_at = ? WHERE id = ?', [now, id]);
      return this.one(tx, id);
    });
  }
}
