// What the compute side needs from the identity and image services, as small interfaces.
import type { Credentials } from '../domain/policy.ts';

export interface AuthContext extends Credentials {
  user_name: string;
  project_name: string | null;
  project_domain_id: string | null;
  user_domain_id: string;
  expires_at: number;
  token: string;
  /** Set on a system-scoped token (`system: {all: true}`). */
  system_scope?: 'all';
  /** Set on a token obtained with an application credential. */
  app_cred_id?: string;
  app_cred_unrestricted?: boolean;
}

export interface TokenValidator {
  /** The token's context, or null when it is unknown, expired or revoked. */
  validate(token: string): Promise<AuthContext | null>;
}

export interface ImageRecord {
  id: string;
  name: string | null;
  status: 'queued' | 'saving' | 'active' | 'killed' | 'deleted' | 'pending_delete' | 'deactivated' | 'uploading' | 'importing';
  visibility: 'public' | 'private' | 'shared' | 'community';
  owner: string | null;
  min_disk: number;
  min_ram: number;
  disk_format: string | null;
  container_format: string | null;
  size: number | null;
  protected: boolean;
  properties: Record<string, string>;
  created_at: number;
  updated_at: number;
}

/** The image service as compute uses it (imageRef checks, snapshots, backups, shelve). */
export interface ImagePort {
  /** An image the credentials may see, or undefined. Deleted images are never returned. */
  getImage(id: string, creds: Credentials): Promise<ImageRecord | undefined>;
  /** Create a snapshot image record in status queued, owned by `owner`. */
  createSnapshot(input: { name: string; owner: string; properties: Record<string, string>; min_disk?: number; min_ram?: number }): Promise<ImageRecord>;
  setStatus(id: string, status: ImageRecord['status']): Promise<void>;
  deleteImage(id: string): Promise<void>;
  /** Images owned by `owner` whose properties include all of `properties` (backup rotation). */
  findByProperties(owner: string, properties: Record<string, string>): Promise<ImageRecord[]>;
}
