// Per-project quota limits (os-quota-sets); a resource without a row falls back to the configured default.
import type { Sql } from '../sql.ts';

export interface QuotaRow {
  resource: string;
  hard_limit: number;
}

export interface QuotaRepository {
  rows(project_id: string): Promise<QuotaRow[]>;
  /** Sets (inserts or replaces) the given limits; the caller runs it in a unit of work when it is several. */
  set(project_id: string, limits: Record<string, number>): Promise<void>;
  delete(project_id: string): Promise<void>;
}

export class SqlQuotaRepository implements QuotaRepository {
  constructor(private readonly sql: Sql) {}

  rows(project_id: string): Promise<QuotaRow[]> {
    return this.sql.all<QuotaRow>('SELECT resource, hard_limit FROM quota_limits WHERE project_id = ?', [project_id]);
  }

  async set(project_id: string, limits: Record<string, number>): Promise<void> {
    for (const [k, v] of Object.entries(limits)) {
      await this.sql.run(
        'INSERT INTO quota_limits (project_id, resource, hard_limit) VALUES (?, ?, ?) ON CONFLICT (project_id, resource) DO UPDATE SET hard_limit = excluded.hard_limit',
        [project_id, k, v],
      );
    }
  }

  async delete(project_id: string): Promise<void> {
    await this.sql.run('DELETE FROM quota_limits WHERE project_id = ?', [project_id]);
  }
}
