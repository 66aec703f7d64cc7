// unshelve: an offloaded server may be pinned to a zone or sent to a host (2.77, 2.91), which must exist.
import { BadRequest, Conflict } from '../../domain/errors.ts';
import type { ServerPatch } from '../../domain/server.ts';
import { requireKnownHost } from './checks.ts';
import type { ActionPreparation } from './preparation.ts';

export const unshelve: ActionPreparation = {
  async prepare({ env, tx, server: s, params: p }) {
    if (s.vm_state === 'shelved' && (p.availability_zone !== undefined || p.host !== undefined)) {
      throw new Conflict(`Specifying an availability zone or a host when unshelving server "${s.uuid}" with status "shelved" is not supported. The server status must be SHELVED_OFFLOADED.`);
    }
    const zone = p.availability_zone as string | null | undefined;
    if (typeof zone === 'string' && !(await env.scheduling.hosts(tx)).some((h) => h.availability_zone === zone)) {
      throw new BadRequest('The requested availability zone is not available');
    }
    const host = (p.host as string | undefined) ?? null;
    await requireKnownHost(env, tx, host, 'bad_request');
    const patch: ServerPatch = {};
    if (zone !== undefined) patch.pinned_availability_zone = zone;
    return { patch, context: { target_host: host }, taskParams: { zone: zone ?? s.pinned_availability_zone ?? s.availability_zone } };
  },
};
