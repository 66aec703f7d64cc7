// What confirmResize and revertResize share: the server's finished migration (resize or cold
// migration), read and moved on in the accepting unit of work so two requests cannot both take it.
import { BadRequest } from '../../domain/errors.ts';
import type { MigrationStatus } from '../../domain/actions.ts';
import type { MigrationRow } from '../../store/store.ts';
import type { PrepareInput, Prepared } from './preparation.ts';

export async function finishedMigration(
  { env, tx, server: s }: PrepareInput, next: MigrationStatus, check: (m: MigrationRow) => void = () => undefined,
): Promise<Prepared> {
  const m = (await tx.listMigrations({ server_uuid: s.uuid })).find((x) => x.status === 'finished');
  if (!m) throw new BadRequest('Instance has not been resized.');
  check(m);
  await tx.updateMigration(m.id, next, env.clock.now());
  return { context: { migration_id: m.id, source_host: m.source_compute, target_host: m.dest_compute } };
}
