// The compute infrastructure repositories (aggregates, quota classes, host usage) over the portable
// executor (src/store/sql.ts), and their schema.
import { migrateSql, type SqlDatabase } from '../sql.ts';
import { GENERATIONS_MIGRATION } from '../generations.ts';
import { AGGREGATE_MIGRATIONS, SqlAggregateRepository, type AggregateRepository } from './aggregates.ts';
import { QUOTA_CLASS_MIGRATIONS, SqlQuotaClassRepository, type QuotaClassRepository } from './quota-classes.ts';
import { SqlHostUsageRepository, type HostUsageRepository } from './host-usage.ts';

export interface InfraRepositories {
  aggregates: AggregateRepository;
  quotaClasses: QuotaClassRepository;
  /** Reads the servers and flavors tables of the compute store (SQLite today). */
  hostUsage: HostUsageRepository;
}

export const INFRA_MIGRATIONS = [...AGGREGATE_MIGRATIONS, ...QUOTA_CLASS_MIGRATIONS, GENERATIONS_MIGRATION];

export async function openInfraRepositories(db: SqlDatabase): Promise<InfraRepositories> {
  await migrateSql(db, INFRA_MIGRATIONS);
  return { aggregates: new SqlAggregateRepository(db), quotaClasses: new SqlQuotaClassRepository(db), hostUsage: new SqlHostUsageRepository(db) };
}
