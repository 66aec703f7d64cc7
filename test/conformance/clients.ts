// What the client scenario tests share: a novabox child process with instant transitions, the
// OS_* environment and a clouds.yaml for it, and a runner for Debian's `openstack` CLI.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { debianEnv, OPENSTACK, PYTHON } from '../../conformance/lib/debian.ts';
import { authenticate, discover, type CloudFacts } from '../../conformance/lib/discover.ts';
import { REPO_ROOT, startNovabox, type RunningNovabox } from '../../conformance/lib/novabox.ts';

export interface ClientCloud {
  nb: RunningNovabox;
  facts: CloudFacts;
  /** OS_* variables for the demo user, plus OS_CLIENT_CONFIG_FILE naming the clouds.yaml. */
  env: NodeJS.ProcessEnv;
  cloudsYaml: string;
  stop(): Promise<void>;
}

export const CLOUD = 'novabox';

export async function startClientCloud(): Promise<ClientCloud> {
  const nb = await startNovabox();
  try {
    const user = { username: 'demo', password: 'secret', project_name: 'demo' };
    const authUrl = `${nb.url}/identity/v3`;
    const facts = await discover(await authenticate(authUrl, user));
    const cloudsYaml = join(nb.dir, 'clouds.yaml');
    writeFileSync(cloudsYaml, [
      'clouds:',
      `  ${CLOUD}:`,
      '    auth:',
      `      auth_url: ${authUrl}`,
      `      username: ${user.username}`,
      `      password: ${user.password}`,
      `      project_name: ${user.project_name}`,
      '      user_domain_name: Default',
      '      project_domain_name: Default',
      '    region_name: RegionOne',
      '    identity_api_version: 3',
      '',
    ].join('\n'));
    const env = debianEnv({
      OS_AUTH_URL: authUrl, OS_USERNAME: user.username, OS_PASSWORD: user.password, OS_PROJECT_NAME: user.project_name,
      OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_DOMAIN_NAME: 'Default', OS_IDENTITY_API_VERSION: '3', OS_REGION_NAME: 'RegionOne',
      OS_CLIENT_CONFIG_FILE: cloudsYaml, HOME: nb.dir,
    });
    return { nb, facts, env, cloudsYaml, stop: () => nb.stop() };
  } catch (e) {
    await nb.stop();
    throw e;
  }
}

export interface CliResult { code: number; stdout: string; stderr: string }

/** Runs `openstack ARGS…`; never throws on a non-zero exit (the caller asserts). */
export function openstack(env: NodeJS.ProcessEnv, args: string[], timeoutMs = 90_000): Promise<CliResult> {
  return new Promise((ok) => {
    execFile(OPENSTACK, args, { env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      ok({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** `openstack … -f json`, parsed; throws with the CLI's stderr when it fails. */
export async function openstackJson<T = unknown>(env: NodeJS.ProcessEnv, args: string[]): Promise<T> {
  const r = await openstack(env, [...args, '-f', 'json']);
  if (r.code !== 0) throw new Error(`openstack ${args.join(' ')} exited ${r.code}: ${r.stderr.trim().slice(-2000)}`);
  // With --wait the CLI prints its progress ("Complete") on stdout before the document.
  const start = r.stdout.search(/^[[{]/m);
  return JSON.parse(start > 0 ? r.stdout.slice(start) : r.stdout) as T;
}

/** `openstack …` that must succeed; returns stdout. */
export async function openstackOk(env: NodeJS.ProcessEnv, args: string[]): Promise<string> {
  const r = await openstack(env, args);
  if (r.code !== 0) throw new Error(`openstack ${args.join(' ')} exited ${r.code}: ${r.stderr.trim().slice(-2000)}`);
  return r.stdout;
}

/** One line a conformance/py SDK script printed: the step and what the SDK reported. */
export interface SdkStep { step: string; status?: string; error?: string; message?: string; [k: string]: unknown }

export interface SdkRun {
  steps: SdkStep[];
  exitCode: number;
  stderr: string;
  /** The step named `name`, asserting that it ran without an exception. */
  at(name: string): SdkStep;
  /** Asserts that no step failed and the script exited 0. */
  assertClean(): void;
}

/** Runs `conformance/py/<script>` with Debian's python against `cloud` and collects its steps. */
export function runSdkScript(cloud: ClientCloud, script: string, args: string[]): Promise<SdkRun> {
  return new Promise((done) => {
    execFile(PYTHON, [join(REPO_ROOT, 'conformance', 'py', script), '--cloud', CLOUD, ...args], { env: cloud.env, timeout: 240_000, maxBuffer: 16 * 1024 * 1024 }, (err, out, errOut) => {
      const exitCode = err ? Number((err as { code?: unknown }).code ?? 1) || 1 : 0;
      const stderr = String(errOut);
      const steps = String(out).split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as SdkStep);
      const failed = () => steps.find((x) => x.error);
      done({
        steps, exitCode, stderr,
        at(name) {
          const s = steps.find((x) => x.step === name);
          const f = failed();
          assert.ok(s, `the SDK script never reached "${name}"${f ? `: it failed at "${f.step}" with ${f.error}: ${f.message}` : ''}${stderr ? `\n${stderr.slice(-1500)}` : ''}`);
          assert.equal(s.error, undefined, `${name}: ${s.error}: ${s.message}`);
          return s;
        },
        assertClean() {
          const f = failed();
          assert.equal(f, undefined, f ? `${f.step}: ${f.error}: ${f.message}` : '');
          assert.equal(exitCode, 0, stderr.slice(-1500));
        },
      });
    });
  });
}
