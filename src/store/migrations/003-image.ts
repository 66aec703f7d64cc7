import type { Migration } from './index.ts';

// Glance subset: image records, their tags and members; uploaded bytes live in image_data so
// listing never reads them.
export const image003: Migration = {
  id: '003-image',
  up: `
CREATE TABLE images (
  id TEXT PRIMARY KEY,
  name TEXT,
  status TEXT NOT NULL,
  visibility TEXT NOT NULL,
  owner TEXT,
  container_format TEXT,
  disk_format TEXT,
  size INTEGER,
  virtual_size INTEGER,
  checksum TEXT,
  os_hash_algo TEXT,
  os_hash_value TEXT,
  min_disk INTEGER NOT NULL DEFAULT 0,
  min_ram INTEGER NOT NULL DEFAULT 0,
  protected INTEGER NOT NULL DEFAULT 0,
  os_hidden INTEGER NOT NULL DEFAULT 0,
  properties TEXT NOT NULL DEFAULT '{}',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  deleted INTEGER NOT NULL DEFAULT 0,
  deleted_at INTEGER
);
CREATE INDEX images_live ON images (deleted, created_at, id);
CREATE INDEX images_owner ON images (owner, deleted);
CREATE TABLE image_tags (
  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  tag TEXT NOT NULL,
  PRIMARY KEY (image_id, tag)
);
CREATE TABLE image_members (
  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  member TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (image_id, member)
);
CREATE INDEX image_members_member ON image_members (member, status);
CREATE TABLE image_data (
  image_id TEXT PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
  data BLOB NOT NULL
);
`,
};
