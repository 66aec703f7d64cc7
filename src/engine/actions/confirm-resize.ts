// confirmResize: the finished migration becomes confirming.
import { finishedMigration } from './finished-migration.ts';
import type { ActionPreparation } from './preparation.ts';

export const confirmResize: ActionPreparation = {
  prepare: (input) => finishedMigration(input, 'confirming'),
};
