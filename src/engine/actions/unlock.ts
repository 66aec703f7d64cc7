// unlock (os-lock-server): a lock taken by someone else needs the unlock_override rule (an admin).
import { Forbidden } from '../../domain/errors.ts';
import { isAdmin, policyMessage } from '../../domain/policy.ts';
import type { ActionPreparation } from './preparation.ts';

export const unlock: ActionPreparation = {
  prepare({ ctx, server: s }) {
    const expected = ctx.project_id === s.project_id ? 'owner' : 'admin';
    if (s.locked_by !== null && s.locked_by !== expected && !isAdmin(ctx)) {
      throw new Forbidden(policyMessage('os_compute_api:os-lock-server:unlock:unlock_override'));
    }
    return {};
  },
};
