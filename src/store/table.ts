// A table described as data: its columns and their kinds, so a repository reads and writes records
// through one small mapper instead of hand-writing each statement. The SQL is portable (SQLite and
// PostgreSQL through `Sql`); booleans are INTEGER 0/1, JSON is TEXT, times are BIGINT milliseconds.
import type { Param, Sql } from './sql.ts';

export type ColumnKind = 'text' | 'int' | 'bool' | 'json' | 'blob';

export type Columns<T> = { [K in keyof T]-?: ColumnKind };

/** `undefined` in a filter means "any"; an array means "one of". */
export type Filter<T> = { [K in keyof T]?: T[K] | readonly T[K][] };

export class Table<T extends object> {
  readonly names: (keyof T & string)[];

  constructor(readonly name: string, readonly columns: Columns<T>) {
    this.names = Object.keys(columns) as (keyof T & string)[];
  }

  /** The record a row stands for (NULL stays null; JSON text is parsed). */
  fromRow(row: Record<string, unknown>): T {
    const out: Record<string, unknown> = {};
    for (const k of this.names) {
      const v = row[k];
      const kind = this.columns[k];
      if (v === null || v === undefined) out[k] = kind === 'bool' ? false : null;
      else if (kind === 'bool') out[k] = v === 1 || v === true || v === '1';
      else if (kind === 'int') out[k] = Number(v);
      else if (kind === 'json') out[k] = JSON.parse(String(v));
      else if (kind === 'blob') out[k] = Buffer.isBuffer(v) ? v : Buffer.from(v as Uint8Array);
      else out[k] = String(v);
    }
    return out as T;
  }

  param(k: keyof T & string, v: unknown): Param {
    if (v === null || v === undefined) return null;
    switch (this.columns[k]) {
      case 'bool':
        return v ? 1 : 0;
      case 'json':
        return JSON.stringify(v);
      case 'int':
        return Number(v);
      case 'blob':
        return v as Buffer;
      default:
        return String(v);
    }
  }

  where(filter: Filter<T>): { sql: string; params: Param[] } {
    const parts: string[] = [];
    const params: Param[] = [];
    for (const [k, v] of Object.entries(filter) as [keyof T & string, unknown][]) {
      if (v === undefined || !this.names.includes(k)) continue;
      if (Array.isArray(v)) {
        if (v.length === 0) {
          parts.push('1 = 0');
          continue;
        }
        parts.push(`${k} IN (${v.map(() => '?').join(', ')})`);
        params.push(...v.map((x) => this.param(k, x)));
      } else if (v === null) {
        parts.push(`${k} IS NULL`);
      } else {
        parts.push(`${k} = ?`);
        params.push(this.param(k, v));
      }
    }
    return { sql: parts.length ? ` WHERE ${parts.join(' AND ')}` : '', params };
  }

  async get(sql: Sql, filter: Filter<T>): Promise<T | undefined> {
    const w = this.where(filter);
    const row = await sql.get(`SELECT * FROM ${this.name}${w.sql} LIMIT 1`, w.params);
    return row ? this.fromRow(row) : undefined;
  }

  async list(sql: Sql, filter: Filter<T> = {}, orderBy?: string): Promise<T[]> {
    const w = this.where(filter);
    const rows = await sql.all(`SELECT * FROM ${this.name}${w.sql}${orderBy ? ` ORDER BY ${orderBy}` : ''}`, w.params);
    return rows.map((r) => this.fromRow(r));
  }

  async insert(sql: Sql, record: T, onConflict: 'fail' | 'ignore' = 'fail'): Promise<number> {
    const cols = this.names.filter((k) => record[k] !== undefined);
    const text = `INSERT INTO ${this.name} (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})${onConflict === 'ignore' ? ' ON CONFLICT DO NOTHING' : ''}`;
    return (await sql.run(text, cols.map((k) => this.param(k, record[k])))).changes;
  }

  /** Sets the given fields on the rows matching `filter`; returns how many changed. */
  async update(sql: Sql, filter: Filter<T>, patch: Partial<T>): Promise<number> {
    const cols = (Object.keys(patch) as (keyof T & string)[]).filter((k) => patch[k] !== undefined && this.names.includes(k));
    if (cols.length === 0) return 0;
    const w = this.where(filter);
    const text = `UPDATE ${this.name} SET ${cols.map((k) => `${k} = ?`).join(', ')}${w.sql}`;
    return (await sql.run(text, [...cols.map((k) => this.param(k, patch[k])), ...w.params])).changes;
  }

  async delete(sql: Sql, filter: Filter<T>): Promise<number> {
    const w = this.where(filter);
    if (!w.sql) throw new Error(`refusing to delete every row of ${this.name}`);
    return (await sql.run(`DELETE FROM ${this.name}${w.sql}`, w.params)).changes;
  }
}

/** True when a statement failed on a UNIQUE or PRIMARY KEY constraint (both dialects). */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || /UNIQUE constraint failed/.test(e?.message ?? '');
}

/**
 * SQLite DDL of the embedded store's first migrations, as PostgreSQL takes it: times (`*_at`) and
 * sizes are BIGINT (milliseconds and bytes outgrow INTEGER there), BLOB is BYTEA.
 */
export function postgresDdl(sqlite: string): string {
  return sqlite.replace(/\b(\w*_at|size|virtual_size) INTEGER\b/g, '$1 BIGINT').replace(/\bBLOB\b/g, 'BYTEA');
}
