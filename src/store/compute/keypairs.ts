// Keypairs (os-keypairs): per user, unique by name.
import type { Sql } from '../sql.ts';

export interface KeypairRow {
  id: number;
  user_id: string;
  name: string;
  type: 'ssh' | 'x509';
  fingerprint: string;
  public_key: string;
  created_at: number;
}

export interface KeypairRepository {
  get(user_id: string, name: string): Promise<KeypairRow | undefined>;
  /** A user's keypairs by name. */
  list(user_id: string): Promise<KeypairRow[]>;
  count(user_id: string): Promise<number>;
  /** The new row, or undefined when the user already has a keypair of that name. */
  insert(k: Omit<KeypairRow, 'id'>): Promise<KeypairRow | undefined>;
  /** False when there was none. */
  delete(user_id: string, name: string): Promise<boolean>;
}

export class SqlKeypairRepository implements KeypairRepository {
  constructor(private readonly sql: Sql) {}

  get(user_id: string, name: string): Promise<KeypairRow | undefined> {
    return this.sql.get<KeypairRow>('SELECT * FROM key_pairs WHERE user_id = ? AND name = ?', [user_id, name]);
  }

  list(user_id: string): Promise<KeypairRow[]> {
    return this.sql.all<KeypairRow>('SELECT * FROM key_pairs WHERE user_id = ? ORDER BY name, id', [user_id]);
  }

  async count(user_id: string): Promise<number> {
    return Number((await this.sql.get<{ n: number }>('SELECT COUNT(*) AS n FROM key_pairs WHERE user_id = ?', [user_id]))!.n);
  }

  async insert(k: Omit<KeypairRow, 'id'>): Promise<KeypairRow | undefined> {
    const r = await this.sql.get<{ id: number }>(
      'INSERT INTO key_pairs (user_id, name, type, fingerprint, public_key, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, name) DO NOTHING RETURNING id',
      [k.user_id, k.name, k.type, k.fingerprint, k.public_key, k.created_at],
    );
    return r && { id: Number(r.id), ...k };
  }

  async delete(user_id: string, name: string): Promise<boolean> {
    return (await this.sql.run('DELETE FROM key_pairs WHERE user_id = ? AND name = ?', [user_id, name])).changes > 0;
  }
}
