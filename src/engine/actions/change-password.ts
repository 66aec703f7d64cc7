// changePassword (os-admin-password): the guest agent must be running to take it.
import { Conflict } from '../../domain/errors.ts';
import { POWER_STATE } from '../../domain/states.ts';
import type { ActionPreparation } from './preparation.ts';

export const changePassword: ActionPreparation = {
  prepare({ server: s }) {
    if (s.power_state !== POWER_STATE.RUNNING) throw new Conflict(`Failed to set admin password on ${s.uuid} because instance ${s.uuid} is not running`);
    return {};
  },
};
