// revertResize: the finished migration becomes reverting; a resize needs the old flavor to go back to.
import { BadRequest } from '../../domain/errors.ts';
import { finishedMigration } from './finished-migration.ts';
import type { ActionPreparation } from './preparation.ts';

export const revertResize: ActionPreparation = {
  prepare: (input) => finishedMigration(input, 'reverting', (m) => {
    if (!input.server.old_flavor && m.migration_type === 'resize') throw new BadRequest('Flavor used by the instance could not be found.');
  }),
};
