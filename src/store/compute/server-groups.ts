// Server groups (os-server-groups) and their members.
import type { Sql } from '../sql.ts';

export interface ServerGroupRow {
  id: number;
  uuid: string;
  name: string;
  project_id: string;
  user_id: string;
  policy: string;
  rules: string;
  created_at: number;
}

export interface ServerGroupRepository {
  get(uuid: string): Promise<ServerGroupRow | undefined>;
  /** Every group, or a project's, oldest first. */
  list(project_id?: string): Promise<ServerGroupRow[]>;
  count(project_id: string): Promise<number>;
  insert(g: Omit<ServerGroupRow, 'id'>): Promise<ServerGroupRow>;
  delete(id: number): Promise<void>;
  /** Adds a server to the group with that uuid (nothing when there is no such group). */
  addMember(group_uuid: string, server_uuid: string): Promise<void>;
  /** Members that are servers not deleted (Nova hides deleted members). */
  members(group_id: number): Promise<string[]>;
  /** The groups each server belongs to (show's `server_groups`, 2.71+). */
  groupsOf(server_uuids: string[]): Promise<Map<string, string[]>>;
}

export class SqlServerGroupRepository implements ServerGroupRepository {
  constructor(private readonly sql: Sql) {}

  get(uuid: string): Promise<ServerGroupRow | undefined> {
    return this.sql.get<ServerGroupRow>('SELECT * FROM server_groups WHERE uuid = ?', [uuid]);
  }

  list(project_id?: string): Promise<ServerGroupRow[]> {
    return project_id === undefined
      ? this.sql.all<ServerGroupRow>('SELECT * FROM server_groups ORDER BY id')
      : this.sql.all<ServerGroupRow>('SELECT * FROM server_groups WHERE project_id = ? ORDER BY id', [project_id]);
  }

  async count(project_id: string): Promise<number> {
    return Number((await this.sql.get<{ n: number }>('SELECT COUNT(*) AS n FROM server_groups WHERE project_id = ?', [project_id]))!.n);
  }

  async insert(g: Omit<ServerGroupRow, 'id'>): Promise<ServerGroupRow> {
    const r = (await this.sql.get<{ id: number }>(
      'INSERT INTO server_groups (uuid, name, project_id, user_id, policy, rules, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id',
      [g.uuid, g.name, g.project_id, g.user_id, g.policy, g.rules, g.created_at],
    ))!;
    return { id: Number(r.id), ...g };
  }

  async delete(id: number): Promise<void> {
    await this.sql.run('DELETE FROM server_group_members WHERE group_id = ?', [id]);
    await this.sql.run('DELETE FROM server_groups WHERE id = ?', [id]);
  }

  async addMember(group_uuid: string, server_uuid: string): Promise<void> {
    await this.sql.run(
      'INSERT INTO server_group_members (group_id, server_uuid) SELECT id, ? FROM server_groups WHERE uuid = ? ON CONFLICT (group_id, server_uuid) DO NOTHING',
      [server_uuid, group_uuid],
    );
  }

  async members(group_id: number): Promise<string[]> {
    const rows = await this.sql.all<{ uuid: string }>(
      `SELECT m.server_uuid AS uuid FROM server_group_members m JOIN servers s ON s.uuid = m.server_uuid
       WHERE m.group_id = ? AND s.deleted = 0 ORDER BY s.id`,
      [group_id],
    );
    return rows.map((r) => r.uuid);
  }

  async groupsOf(server_uuids: string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    const unique = [...new Set(server_uuids)];
    if (unique.length === 0) return out;
    const rows = await this.sql.all<{ server_uuid: string; uuid: string }>(
      `SELECT m.server_uuid, g.uuid FROM server_groups g JOIN server_group_members m ON m.group_id = g.id
       WHERE m.server_uuid IN (${unique.map(() => '?').join(', ')}) ORDER BY g.id`,
      unique,
    );
    for (const r of rows) (out.get(r.server_uuid) ?? out.set(r.server_uuid, []).get(r.server_uuid)!).push(r.uuid);
    return out;
  }
}
