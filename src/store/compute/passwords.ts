// Server passwords (os-server-password): set by the metadata service in Nova, read and cleared by the API.
import type { Sql } from '../sql.ts';

export interface PasswordRepository {
  get(server_uuid: string): Promise<string | undefined>;
  /** What the guest posts to the metadata service (the simulated guest does it after its first boot). */
  set(server_uuid: string, password: string): Promise<void>;
  clear(server_uuid: string): Promise<void>;
}

export class SqlPasswordRepository implements PasswordRepository {
  constructor(private readonly sql: Sql) {}

  async get(server_uuid: string): Promise<string | undefined> {
    return (await this.sql.get<{ password: string }>('SELECT password FROM server_passwords WHERE server_uuid = ?', [server_uuid]))?.password;
  }

  async set(server_uuid: string, password: string): Promise<void> {
    await this.sql.run('INSERT INTO server_passwords (server_uuid, password) VALUES (?, ?) ON CONFLICT (server_uuid) DO UPDATE SET password = excluded.password', [server_uuid, password]);
  }

  async clear(server_uuid: string): Promise<void> {
    await this.sql.run('DELETE FROM server_passwords WHERE server_uuid = ?', [server_uuid]);
  }
}
