// `novabox serve` replicas as child processes on one database (PostgreSQL URL or SQLite file), each on
// its own port, for the tests that prove several processes behave as one cloud.
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort, REPO_ROOT } from '../../conformance/lib/novabox.ts';

export interface Replica {
  base: string;
  child: ChildProcess;
}

/** Starts one replica and waits until it says it is ready; NOVABOX_* from the environment do not leak in. */
export async function serveReplica(db: string, opts: { env?: Record<string, string>; args?: string[] } = {}): Promise<Replica> {
  const port = await freePort();
  const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NOVABOX_'))), ...opts.env };
  const args = ['bin/novabox.js', 'serve', '--host', '127.0.0.1', '--port', String(port), '--db', db, '--log-level', 'warn', ...(opts.args ?? [])];
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const end = Date.now() + 60_000;
  while (!out.includes('novabox ready')) {
    if (child.exitCode !== null || Date.now() > end) throw new Error(`replica did not start: ${out.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { base: `http://127.0.0.1:${port}`, child };
}

/** SIGTERMs every replica still running and waits for each to exit. */
export async function stopReplicas(replicas: Replica[]): Promise<void> {
  for (const r of replicas) {
    if (r.child.exitCode !== null || r.child.signalCode !== null) continue;
    const gone = new Promise((res) => r.child.once('exit', res));
    r.child.kill('SIGTERM');
    await gone;
  }
}
