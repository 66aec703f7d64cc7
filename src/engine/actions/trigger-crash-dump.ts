// trigger_crash_dump: the NMI goes to the server's host, which it must have.
import { requireHost } from './checks.ts';
import type { ActionPreparation } from './preparation.ts';

export const triggerCrashDump: ActionPreparation = {
  prepare({ server }) {
    requireHost(server);
    return {};
  },
};
