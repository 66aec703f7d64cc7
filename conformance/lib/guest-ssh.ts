// Makes tempest's SSH validation reachable on this machine: the floating IPs tempest dials live in
// devstack's public subnet (172.24.4.0/24), which nothing routes here. As root on Linux,
// `ip route add local 172.24.4.0/24 dev lo` makes the whole range local, so a connection to any of
// them reaches novabox's simulated guests' SSH listening on 0.0.0.0:22, which routes it by the
// address dialled (src/drivers/guest-ssh). Without root, or with port 22 taken, validation stays off.
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';

/** devstack's public subnet: where novabox's `public` network hands out floating IPs. */
export const FLOATING_RANGE = '172.24.4.0/24';
export const GUEST_SSH_LISTEN = '0.0.0.0:22';

export interface GuestRoute {
  /** Whether SSH validation can run; when not, why. */
  ok: boolean;
  reason: string;
  /** Removes the route again, if this process added it. */
  remove(): void;
}

function ip(args: string[]): { ok: boolean; err: string } {
  try {
    execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    return { ok: true, err: '' };
  } catch (e) {
    const err = (e as { stderr?: Buffer }).stderr?.toString().trim() ?? (e as Error).message;
    return { ok: false, err };
  }
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const srv = createServer();
    srv.once('error', () => ok(false));
    srv.listen(port, '0.0.0.0', () => srv.close(() => ok(true)));
  });
}

/** Makes FLOATING_RANGE local (unless it already is) and checks port 22 is free. */
export async function routeFloatingRange(): Promise<GuestRoute> {
  const none = (reason: string): GuestRoute => ({ ok: false, reason, remove: () => undefined });
  if (process.platform !== 'linux') return none(`not Linux (${process.platform}): cannot make ${FLOATING_RANGE} local`);
  if (process.getuid?.() !== 0) return none(`not root: cannot run 'ip route add local ${FLOATING_RANGE} dev lo'`);
  if (!(await portFree(22))) return none('port 22 is taken on this machine (an sshd, or another run): the simulated guests cannot listen there');
  const existing = (() => {
    try {
      return execFileSync('ip', ['route', 'show', 'table', 'local', FLOATING_RANGE], { encoding: 'utf8' }).trim();
    } catch {
      return '';
    }
  })();
  if (existing) return { ok: true, reason: `${FLOATING_RANGE} already local`, remove: () => undefined };
  const added = ip(['route', 'add', 'local', FLOATING_RANGE, 'dev', 'lo']);
  if (!added.ok) return none(`'ip route add local ${FLOATING_RANGE} dev lo' failed: ${added.err}`);
  let removed = false;
  return {
    ok: true,
    reason: `added 'local ${FLOATING_RANGE} dev lo'`,
    remove: () => {
      if (removed) return;
      removed = true;
      ip(['route', 'del', 'local', FLOATING_RANGE, 'dev', 'lo']);
    },
  };
}
