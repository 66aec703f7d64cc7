// The compute side's small aggregates (keypairs, server groups, quota limits, server passwords) as
// repositories over the portable executor: pass the database for plain use, or a unit of work's
// executor (`tx.sql`) to join it.
import type { Sql } from '../sql.ts';
import { SqlKeypairRepository, type KeypairRepository } from './keypairs.ts';
import { SqlPasswordRepository, type PasswordRepository } from './passwords.ts';
import { SqlQuotaRepository, type QuotaRepository } from './quotas.ts';
import { SqlServerGroupRepository, type ServerGroupRepository } from './server-groups.ts';

export type { KeypairRow, KeypairRepository } from './keypairs.ts';
export type { ServerGroupRow, ServerGroupRepository } from './server-groups.ts';
export type { QuotaRow, QuotaRepository } from './quotas.ts';
export type { PasswordRepository } from './passwords.ts';

export interface ComputeRepositories {
  keypairs: KeypairRepository;
  serverGroups: ServerGroupRepository;
  quotas: QuotaRepository;
  passwords: PasswordRepository;
}

export function computeRepositories(sql: Sql): ComputeRepositories {
  return {
    keypairs: new SqlKeypairRepository(sql),
    serverGroups: new SqlServerGroupRepository(sql),
    quotas: new SqlQuotaRepository(sql),
    passwords: new SqlPasswordRepository(sql),
  };
}
