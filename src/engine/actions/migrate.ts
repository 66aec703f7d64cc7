// migrate (cold migration): same flavor, another host; an admin may name one, which must exist and differ.
import { BadRequest } from '../../domain/errors.ts';
import { requestedHost, requireHostUp, requireKnownHost } from './checks.ts';
import { coldMigration } from './cold-migration.ts';
import type { ActionPreparation } from './preparation.ts';

export const migrate: ActionPreparation = {
  async prepare(input) {
    const { env, tx, server: s, params } = input;
    await requireHostUp(env, tx, s);
    const requested = requestedHost(params);
    if (requested === s.host && requested) throw new BadRequest('Cannot migrate to the host where the server exists.');
    await requireKnownHost(env, tx, requested, 'bad_request');
    return coldMigration(input, requested, {}, s.flavor);
  },
};
