// The Glance schema. On SQLite the image tables already exist from migrations/003-image.ts, so the
// SQLite text only adds what came later; on PostgreSQL the same migration creates those tables from
// the same text (times and sizes as BIGINT, bytes as BYTEA), then adds the same columns and tables.
import type { SqlMigration } from '../sql.ts';
import { image003 } from '../migrations/003-image.ts';
import { postgresDdl } from '../table.ts';
import { METADEF_SCHEMA } from './metadefs.ts';

const LATER = (blob: string): string => `
CREATE TABLE image_staging (
  image_id TEXT PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
  data ${blob} NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE TABLE image_tasks (
  id TEXT PRIMARY KEY,
  type TEXT NOT NULL,
  status TEXT NOT NULL,
  owner TEXT,
  image_id TEXT,
  input TEXT NOT NULL DEFAULT '{}',
  result TEXT,
  message TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  expires_at BIGINT
);
CREATE INDEX image_tasks_image ON image_tasks (image_id);
`;

const ALTERS = `
ALTER TABLE image_tags ADD COLUMN position BIGINT NOT NULL DEFAULT 0;
ALTER TABLE images ADD COLUMN stores TEXT;
`;

const SQLITE = `${ALTERS}
${LATER('BLOB')}`;

const POSTGRES = `${postgresDdl(image003.up)}
${ALTERS}
${LATER('BYTEA')}`;

const TASK_REQUEST = `
ALTER TABLE image_tasks ADD COLUMN request_id TEXT;
ALTER TABLE image_tasks ADD COLUMN user_id TEXT;
`;

export const imageMigrations: SqlMigration[] = [
  { id: 'image-glance-import', sqlite: SQLITE, postgres: POSTGRES },
  { id: 'image-metadefs', sqlite: METADEF_SCHEMA, postgres: METADEF_SCHEMA },
  { id: 'image-task-request', sqlite: TASK_REQUEST, postgres: TASK_REQUEST },
];
