// createBackup: a snapshot image of backup_type, after which older backups beyond `rotation` are deleted.
import { snapshotImage, uploading } from './create-image.ts';
import type { ActionPreparation } from './preparation.ts';

export const createBackup: ActionPreparation = {
  image: (env, ctx, s, p) => snapshotImage(env, ctx, s, p, 'backup'),
  prepare: ({ image, params: p }) => uploading(image, { rotation: p.rotation, backup_type: p.backup_type }),
};
