// start (os-start): a server that never reached a host cannot be powered on.
import { requireHost } from './checks.ts';
import type { ActionPreparation } from './preparation.ts';

export const start: ActionPreparation = {
  prepare({ server }) {
    requireHost(server);
    return {};
  },
};
