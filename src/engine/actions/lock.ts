// lock (os-lock-server): the owner's lock does not override an admin's; a repeated lock by the owner changes nothing.
import type { ActionPreparation } from './preparation.ts';

export const lock: ActionPreparation = {
  prepare({ ctx, server: s, params }) {
    const by = ctx.project_id === s.project_id ? 'owner' : 'admin';
    if (s.locked_by !== null && by === 'owner') return { noop: true };
    return { patch: { locked_by: by, locked_reason: (params.reason as string | undefined) ?? null } };
  },
};
