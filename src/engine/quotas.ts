// Quotas of the compute engine: the configured defaults overlaid with a project's own limits, the
// project's usage, and the check a create or a resize makes inside its unit of work (the count it
// reads decides the write, so it is read through the transaction).
import type { Config } from '../config.ts';
import { QuotaExceeded } from '../domain/errors.ts';
import { SqlQuotaRepository } from '../store/compute/quotas.ts';
import { SqlQuotaClassRepository } from '../store/compute/quota-classes.ts';
import type { SqlDatabase } from '../store/sql.ts';
import type { ComputeStore, ComputeTx, Usage } from '../store/store.ts';

export interface Want {
  instances: number;
  cores: number;
  ram: number;
}

export class Quotas {
  private readonly repo: SqlQuotaRepository;

  constructor(
    private readonly config: Config,
    private readonly store: Pick<ComputeStore, 'usage'>,
    private readonly db: SqlDatabase,
    /** Whether the quota_classes table exists (the infrastructure repositories were opened). */
    private readonly quotaClasses = false,
  ) {
    this.repo = new SqlQuotaRepository(db);
  }

  usage(project_id: string): Promise<Usage> {
    return this.store.usage(project_id);
  }

  /** The configured defaults overridden by the `default` quota class (when quota classes are kept). */
  async defaults(tx?: ComputeTx): Promise<Record<string, number>> {
    if (!this.quotaClasses) return { ...this.config.quota_defaults };
    return { ...this.config.quota_defaults, ...(await new SqlQuotaClassRepository(tx ? tx.sql : this.db).limits('default')) };
  }

  /** Defaults overlaid with the project's rows; inside a unit of work pass its `tx`. */
  async limits(project_id: string, tx?: ComputeTx): Promise<Record<string, number>> {
    const repo = tx ? new SqlQuotaRepository(tx.sql) : this.repo;
    const out = await this.defaults(tx);
    for (const r of await repo.rows(project_id)) out[r.resource] = r.hard_limit;
    return out;
  }

  async setLimits(project_id: string, limits: Record<string, number>): Promise<Record<string, number>> {
    await this.db.transaction((tx) => new SqlQuotaRepository(tx).set(project_id, limits));
    return this.limits(project_id);
  }

  async deleteLimits(project_id: string): Promise<void> {
    await this.repo.delete(project_id);
  }

  /** How many of `want` fit (at least `min`, else QuotaExceeded as Nova words it). */
  async check(tx: ComputeTx, project_id: string, want: Want, min = 1): Promise<number> {
    const limits = await this.limits(project_id, tx);
    const used = await tx.usage(project_id);
    let allowed = Infinity;
    for (const res of ['instances', 'cores', 'ram'] as const) {
      const limit = limits[res] ?? -1;
      if (limit < 0 || want[res] === 0) continue;
      const fit = Math.floor((limit - used[res]) / want[res]);
      if (fit < min) {
        throw new QuotaExceeded(`Quota exceeded for ${res}: Requested ${want[res] * min}, but already used ${used[res]} of ${limit} ${res}`);
      }
      allowed = Math.min(allowed, fit);
    }
    return allowed;
  }
}
