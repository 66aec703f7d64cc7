// stop (os-stop): a server that never reached a host cannot be powered off.
import { requireHost } from './checks.ts';
import type { ActionPreparation } from './preparation.ts';

export const stop: ActionPreparation = {
  prepare({ server }) {
    requireHost(server);
    return {};
  },
};
