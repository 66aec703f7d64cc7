// Where the reference material lives: outside this repository, in a `shared/` directory beside the
// checkout (as CI lays it out), or wherever NOVABOX_SHARED says. Only `npm run conformance` and the
// replays under conformance/replays read it; `npm test` never does.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** The shared directory: $NOVABOX_SHARED, else ../shared next to the checkout. */
export const SHARED_DIR = resolve(process.env.NOVABOX_SHARED ?? join(REPO_ROOT, '..', 'shared'));

export class MissingReference extends Error {}

/** The absolute path of `sub` under the shared directory; throws a message saying where it looked when absent. */
export function referencePath(sub: string, override?: string): string {
  const p = override ? resolve(override) : join(SHARED_DIR, sub);
  if (!existsSync(p)) {
    throw new MissingReference(
      `reference material not found: ${p}\n` +
      `  The replays read Nova's recorded exchanges and API samples, which are not part of this repository.\n` +
      `  Put the shared directory beside the checkout (${join(REPO_ROOT, '..', 'shared')}) or set NOVABOX_SHARED=/path/to/shared.`,
    );
  }
  return p;
}
