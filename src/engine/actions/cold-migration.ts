// What resize and cold migrate share (Nova's compute API resize(), which serves both): the source
// service must be up, old_vm_state is kept for the revert, and the scheduler picks the destination
// inside the accepting unit of work.
import type { FlavorSnapshot, ServerPatch } from '../../domain/server.ts';
import type { PrepareInput, Prepared } from './preparation.ts';

export async function coldMigration(
  { env, tx, server: s }: PrepareInput, requested: string | null, patch: ServerPatch, flavor: FlavorSnapshot,
): Promise<Prepared> {
  const target = await env.scheduling.pickHost({ exclude: env.config.allow_resize_to_same_host ? null : s.host, requested, server: s, flavor }, tx);
  return { patch: { system_metadata: { ...s.system_metadata, old_vm_state: s.vm_state }, ...patch }, context: { target_host: target, source_host: s.host } };
}
