// os-migrateLive: an admin may name the destination, which must exist and be another host; else the
// scheduler picks one. A forced destination skips the scheduler's filters. Below 2.34 Nova's API waits
// for the conductor's pre-checks, so a destination that cannot be had is its 400, not a failed migration.
import { BadRequest } from '../../domain/errors.ts';
import { NO_VALID_HOST } from '../../domain/scheduler.ts';
import { requestedHost, requireKnownHost } from './checks.ts';
import type { ActionPreparation } from './preparation.ts';

export const liveMigrate: ActionPreparation = {
  async prepare({ env, tx, server: s, params }) {
    const requested = requestedHost(params);
    if (requested && requested === s.host) throw new BadRequest(`Unable to migrate instance (${s.uuid}) to current host (${s.host}).`);
    await requireKnownHost(env, tx, requested, 'bad_request');
    const force = params.force === true;
    const target = await env.scheduling.pickHost({ exclude: s.host, requested, server: s, force }, tx);
    if (!target && params.synchronous === true) {
      if (force && requested && !(await env.scheduling.isUp(requested, tx))) throw new BadRequest(`Compute service of ${requested} is unavailable at this time.`);
      throw new BadRequest(NO_VALID_HOST);
    }
    return { context: { target_host: target, source_host: s.host } };
  },
};
