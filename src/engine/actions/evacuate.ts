// evacuate: only off a host whose compute service is down, to another host (forced past the scheduler's filters when asked); the guest gets a password.
import { BadRequest } from '../../domain/errors.ts';
import { adminPass, requestedHost, requireKnownHost } from './checks.ts';
import type { ActionPreparation } from './preparation.ts';

export const evacuate: ActionPreparation = {
  async prepare({ env, tx, server: s, params }) {
    if (s.host && (await env.scheduling.isUp(s.host, tx))) throw new BadRequest(`Compute service of ${s.host} is still in use.`);
    const requested = requestedHost(params);
    await requireKnownHost(env, tx, requested, 'not_found');
    if (requested && requested === s.host) throw new BadRequest("The target host can't be the same one.");
    const target = await env.scheduling.pickHost({ exclude: s.host, requested, server: s, force: params.force === true }, tx);
    return { context: { target_host: target, source_host: s.host }, outcome: { admin_pass: adminPass(params) } };
  },
};
