// Checks several preparations share, in Nova's words.
import { BadRequest, Conflict, NotFound } from '../../domain/errors.ts';
import type { ServerRecord } from '../../domain/server.ts';
import type { ComputeTx } from '../../store/store.ts';
import { generatePassword } from '../guest-password.ts';
import type { ActionEnv } from './preparation.ts';

/** Nova's "not ready": the server has no host yet (it never scheduled). */
export function requireHost(s: ServerRecord): string {
  if (!s.host) throw new Conflict(`Instance ${s.uuid} is not ready`);
  return s.host;
}

/** The server's compute service must be up to take the cast. */
export async function requireHostUp(env: ActionEnv, tx: ComputeTx, s: ServerRecord): Promise<void> {
  const host = requireHost(s);
  if (!(await env.scheduling.isUp(host, tx))) throw new Conflict('Service is unavailable at this time.');
}

/** A host an admin names must exist; `fault` is the error Nova answers for that action. */
export async function requireKnownHost(env: ActionEnv, tx: ComputeTx, host: string | null, fault: 'bad_request' | 'not_found'): Promise<void> {
  if (!host || (await env.scheduling.hosts(tx)).some((h) => h.name === host)) return;
  if (fault === 'not_found') throw new NotFound(`Compute host ${host} not found.`);
  throw new BadRequest(`Compute host ${host} could not be found.`);
}

/** The admin-requested host of a move, or null. */
export function requestedHost(params: Record<string, unknown>): string | null {
  return (params.host as string | null | undefined) ?? null;
}

/** The password a rebuild, rescue or evacuate sets: the one asked for, or a new one (Nova's generate_password). */
export function adminPass(params: Record<string, unknown>): string {
  return (params.admin_pass as string | undefined) ?? generatePassword();
}
