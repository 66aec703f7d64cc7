// rescue: the rescue image boots with the password asked for, or a new one.
import { adminPass } from './checks.ts';
import type { ActionPreparation } from './preparation.ts';

export const rescue: ActionPreparation = {
  prepare: ({ params }) => ({ outcome: { admin_pass: adminPass(params) } }),
};
