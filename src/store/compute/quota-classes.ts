// Quota classes (os-quota-class-sets): per-class hard limits; the class `default` overrides the
// configured defaults for every project without limits of its own.
import type { Sql, SqlMigration } from '../sql.ts';

export interface QuotaClassRepository {
  limits(class_name: string): Promise<Record<string, number>>;
  set(class_name: string, limits: Record<string, number>): Promise<void>;
}

const QUOTA_CLASSES_TABLE = 'CREATE TABLE quota_classes (class_name TEXT NOT NULL, resource TEXT NOT NULL, hard_limit BIGINT NOT NULL, PRIMARY KEY (class_name, resource));';

export const QUOTA_CLASS_MIGRATIONS: SqlMigration[] = [{ id: 'compute-quota-classes-1', sqlite: QUOTA_CLASSES_TABLE, postgres: QUOTA_CLASSES_TABLE }];

export class SqlQuotaClassRepository implements QuotaClassRepository {
  /** The database, or a unit of work's executor to read inside it. */
  constructor(private readonly db: Sql) {}

  async limits(class_name: string): Promise<Record<string, number>> {
    const rows = await this.db.all<{ resource: string; hard_limit: number }>('SELECT resource, hard_limit FROM quota_classes WHERE class_name = ? ORDER BY resource', [class_name]);
    return Object.fromEntries(rows.map((r) => [r.resource, Number(r.hard_limit)]));
  }

  async set(class_name: string, limits: Record<string, number>): Promise<void> {
    for (const [resource, limit] of Object.entries(limits)) {
      await this.db.run(
        'INSERT INTO quota_classes (class_name, resource, hard_limit) VALUES (?, ?, ?) ON CONFLICT (class_name, resource) DO UPDATE SET hard_limit = excluded.hard_limit',
        [class_name, resource, limit],
      );
    }
  }
}
