// Who holds a durable task's lease: an engine identity that names its machine and process.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';

/** A process's engine identity: host and pid (so a dead process on this machine is recognised), and a nonce. */
export function newLeaseOwner(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

/** Whether the process named by a lease owner is certainly gone (only knowable on this machine). */
export function ownerIsDead(owner: string): boolean {
  const [host, pidText] = owner.split(':');
  const pid = Number(pidText);
  if (host !== hostname() || !Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
