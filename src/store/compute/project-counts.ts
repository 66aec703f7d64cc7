// Counts of a project's resources that Nova's absolute limits report beside its quotas.
import type { Sql } from '../sql.ts';

/** The project's security groups (the compute proxy's table; `default` included once it exists). */
export async function countSecurityGroups(sql: Sql, project_id: string): Promise<number> {
  return Number((await sql.get<{ n: number }>('SELECT COUNT(*) AS n FROM security_groups WHERE project_id = ?', [project_id]))?.n ?? 0);
}
