// resize: a different flavor, whose growth must fit the project's quota (read in the same unit of work).
import { BadRequest } from '../../domain/errors.ts';
import type { FlavorSnapshot, ServerPatch } from '../../domain/server.ts';
import { requireHostUp } from './checks.ts';
import { coldMigration } from './cold-migration.ts';
import type { ActionPreparation } from './preparation.ts';

export const resize: ActionPreparation = {
  async prepare(input) {
    const { env, tx, server: s, params: p } = input;
    await requireHostUp(env, tx, s);
    const flavor = p.flavor as FlavorSnapshot;
    if (flavor.flavorid === s.flavor.flavorid) throw new BadRequest('When resizing, instances must change flavor!');
    const dc = flavor.vcpus - s.flavor.vcpus;
    const dr = flavor.memory_mb - s.flavor.memory_mb;
    if (dc > 0 || dr > 0) await env.quotas.check(tx, s.project_id, { instances: 0, cores: Math.max(dc, 0), ram: Math.max(dr, 0) });
    const patch: ServerPatch = { new_flavor: flavor, old_flavor: s.flavor };
    if (p.auto_disk_config !== undefined) patch.auto_disk_config = p.auto_disk_config as boolean;
    return coldMigration(input, (p.host as string | null | undefined) ?? null, patch, flavor);
  },
};
