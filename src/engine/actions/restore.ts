// restore (os-deferred-delete): a soft-deleted server counts for no quota; coming back it must fit again (Nova rechecks).
import type { ActionPreparation } from './preparation.ts';

export const restore: ActionPreparation = {
  async prepare({ env, tx, server: s }) {
    await env.quotas.check(tx, s.project_id, { instances: 1, cores: s.flavor.vcpus, ram: s.flavor.memory_mb });
    return {};
  },
};
