// Starts novabox as a child process on a free loopback port with a throw-away database and instant
// transitions, and waits until its identity endpoint answers. Shared by the tempest runner and the
// client scenario tests, so both exercise the same `novabox serve` a user would run.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export interface SeedUser { name: string; password: string; project: string; roles: string[] }

export interface StartOptions {
  /** Extra configuration written to a YAML/JSON file passed with --config (e.g. more seeded users). */
  config?: Record<string, unknown>;
  /** Directory for the database, config and log; a fresh temp dir when omitted. */
  dir?: string;
  readyTimeoutMs?: number;
  /** --time-scale; 0 (instant transitions) unless a test wants actions to take their time. */
  timeScale?: number;
  /** --timings; fake (Nova's fake driver, the calibration the harness's tests were written for) unless given. */
  timings?: 'libvirt' | 'fake' | 'instant';
  /** More `novabox serve` arguments (e.g. --reset, --log-format json). */
  args?: string[];
  /** NOVABOX_* variables for the child (every other NOVABOX_* of this process is dropped). */
  env?: Record<string, string>;
}

export interface RunningNovabox {
  url: string;
  port: number;
  dir: string;
  logFile: string;
  child: ChildProcess;
  /** Everything the child printed so far (stdout and stderr). */
  output(): string;
  stop(opts?: { removeDir?: boolean }): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => ok(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/identity/v3`, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.status < 500;
  } catch {
    return false;
  }
}

export async function startNovabox(opts: StartOptions = {}): Promise<RunningNovabox> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'novabox-conf-'));
  const logFile = join(dir, 'novabox.log');
  const args = ['bin/novabox.js', 'serve', '--host', '127.0.0.1', '--db', join(dir, 'novabox.db'), '--time-scale', String(opts.timeScale ?? 0), '--timings', opts.timings ?? 'fake', ...(opts.args ?? [])];
  if (opts.config) {
    const cfgFile = join(dir, 'novabox-config.json');
    writeFileSync(cfgFile, JSON.stringify(opts.config, null, 2));
    args.push('--config', cfgFile);
  }
  let lastError = '';
  // A free port can be taken between probing and binding; try a few.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const log = createWriteStream(logFile, { flags: 'a' });
    // Only the variables novabox reads from the environment could change its behaviour; drop them.
    const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NOVABOX_'))), ...(opts.env ?? {}) };
    const child = spawn(process.execPath, [...args, '--port', String(port)], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let exited: number | null | undefined;
    child.stdout!.on('data', (b: Buffer) => { output += b.toString(); log.write(b); });
    child.stderr!.on('data', (b: Buffer) => { output += b.toString(); log.write(b); });
    child.on('exit', (code) => { exited = code; });
    const deadline = Date.now() + (opts.readyTimeoutMs ?? 30_000);
    while (exited === undefined && Date.now() < deadline) {
      if (output.includes('novabox ready') || (await answers(url))) {
        if (await answers(url)) {
          return {
            url, port, dir, logFile, child,
            output: () => output,
            async stop({ removeDir = opts.dir === undefined } = {}) {
              if (child.exitCode === null && child.signalCode === null) {
                const gone = new Promise((r) => child.once('exit', r));
                child.kill('SIGTERM');
                const t = setTimeout(() => child.kill('SIGKILL'), 5000);
                await gone;
                clearTimeout(t);
              }
              log.end();
              if (removeDir) rmSync(dir, { recursive: true, force: true });
            },
          };
        }
      }
      await sleep(100);
    }
    if (exited === undefined) child.kill('SIGKILL');
    log.end();
    lastError = `novabox did not become ready on ${url} (exit ${String(exited)}):\n${output.slice(-4000)}`;
    if (!/EADDRINUSE/.test(output)) break;
  }
  throw new Error(lastError);
}
