// `novabox serve` as a newcomer runs it: the banner is a quick start, the database lives under
// XDG_DATA_HOME whatever the working directory, logs are readable lines (or JSON), start-up says what
// it recovered, SIGTERM says it stops, --reset starts from the seed, `clouds-yaml` prints a cloud per user.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parse } from 'yaml';
import { REPO_ROOT } from '../../conformance/lib/novabox.ts';

const BIN = join(REPO_ROOT, 'bin', 'novabox.js');

interface Child { proc: ChildProcess; url: string; output(): string; stop(signal?: NodeJS.Signals): Promise<string> }

/** Starts `novabox serve --port 0 …` from `cwd` with no NOVABOX_ or XDG_DATA_HOME variables but those given; resolves once the banner is out. */
async function serve(args: string[], env: Record<string, string>, cwd: string): Promise<Child> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NOVABOX_') && k !== 'XDG_DATA_HOME'));
  const proc = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], { cwd, env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
  proc.stderr!.on('data', (b: Buffer) => { out += b.toString(); });
  const exited = new Promise<void>((ok) => proc.once('exit', () => ok()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const m = /novabox ready on (http:\/\/127\.0\.0\.1:\d+)|"banner":\["novabox ready on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
    if (m) {
      return {
        proc, url: m[1] ?? m[2], output: () => out,
        async stop(signal = 'SIGTERM') {
          proc.kill(signal);
          await exited;
          return out;
        },
      };
    }
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill('SIGKILL');
      assert.fail(`novabox serve ${args.join(' ')} did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function api(url: string, path: string, init: { method?: string; token?: string; body?: unknown; mv?: string } = {}): Promise<{ status: number; headers: Headers; body: any }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (init.token) headers['x-auth-token'] = init.token;
  if (init.mv) headers['openstack-api-version'] = `compute ${init.mv}`;
  const r = await fetch(`${url}${path}`, { method: init.method ?? 'GET', headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
  const text = await r.text();
  return { status: r.status, headers: r.headers, body: text ? JSON.parse(text) : null };
}

async function token(url: string, user = 'demo'): Promise<string> {
  const r = await api(url, '/identity/v3/auth/tokens', {
    method: 'POST', body: { auth: { identity: { methods: ['password'], password: { user: { name: user, domain: { name: 'Default' }, password: 'secret' } } }, scope: { project: { name: user, domain: { name: 'Default' } } } } },
  });
  assert.equal(r.status, 201);
  return r.headers.get('x-subject-token')!;
}

async function boot(url: string, tok: string, name: string): Promise<string> {
  const r = await api(url, '/compute/v2.1/servers', { method: 'POST', token: tok, mv: '2.37', body: { server: { name, flavorRef: '1', imageRef: '4fa04c19-09fa-51ff-9872-fac075d1145b', networks: 'none' } } });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  return r.body.server.id;
}

async function until(what: string, f: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    assert.ok(Date.now() < end, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('novabox serve', () => {
  const dir = mkdtempSync(join(tmpdir(), 'novabox-cli-'));
  const data = join(dir, 'data');
  const elsewhere = mkdtempSync(join(tmpdir(), 'novabox-cwd-'));
  const env = { XDG_DATA_HOME: data };
  const db = join(data, 'novabox', 'novabox.db');
  after(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(elsewhere, { recursive: true, force: true });
  });

  it('prints a quick start, logs requests and transitions as lines, and says when it stops', async () => {
    const nb = await serve(['--time-scale', '0'], env, elsewhere);
    try {
      const banner = nb.output();
      for (const want of [
        `identity  ${nb.url}/identity/v3`, `compute   ${nb.url}/compute/v2.1`, `image     ${nb.url}/image`, `network   ${nb.url}/networking`, `volume    ${nb.url}/volume/v3/{project_id}`, `control   ${nb.url}/novabox/v1/`, `dashboard ${nb.url}/dashboard/`, `health    ${nb.url}/healthz`,
        "admin (admin in admin), demo (member in demo), alt_demo (member in alt_demo): all with the default password 'secret'",
        `database  ${db} (new, seeded`, 'timings   instant', `clouds-yaml --url ${nb.url} > ~/.config/openstack/clouds.yaml`,
        'openstack --os-cloud novabox server create',
      ]) assert.ok(banner.includes(want), `banner has ${JSON.stringify(want)}:\n${banner}`);
      assert.ok(!banner.includes('Server listening'), 'no Fastify listening line besides the banner');
      assert.ok(existsSync(db), 'the database is under XDG_DATA_HOME, not the working directory');
      assert.ok(!existsSync(join(elsewhere, '.novabox')));

      const health = await api(nb.url, '/healthz');
      assert.equal(health.status, 200);
      assert.equal(health.body.status, 'ok');
      const tok = await token(nb.url);
      const id = await boot(nb.url, tok, 'vm1');
      await until('vm1 ACTIVE in the log', async () => /vm1 create: building\/spawning → active \(ACTIVE\)/.test(nb.output()));
      const log = nb.output();
      assert.match(log, /INFO: vm1 create: new → building\/scheduling \(BUILD\)/);
      assert.match(log, /INFO: vm1 create: networking → block_device_mapping \(BUILD\)/);
      assert.match(log, /INFO: POST \/compute\/v2\.1\/servers 202 [\d.]+ ms req-[0-9a-f-]{36}/);
      assert.match(log, /INFO: GET \/healthz 200 [\d.]+ ms req-/);
      assert.ok(!/"level":/.test(log), 'no raw JSON lines');
      assert.equal(log.match(new RegExp(`POST /compute/v2.1/servers `, 'g'))!.length, 1, 'one line per request');
      assert.match((await api(nb.url, `/compute/v2.1/servers/${id}`, { token: tok })).body.server.status, /ACTIVE/);
    } finally {
      const out = await nb.stop('SIGTERM');
      assert.match(out, /INFO: SIGTERM: stopping/);
      assert.match(out, /INFO: novabox stopped/);
    }
  });

  it('says what start-up recovered after a kill, keeps the database, and --reset starts from the seed', async () => {
    let nb = await serve(['--timings', 'libvirt'], env, elsewhere);
    const tok = await token(nb.url);
    await boot(nb.url, tok, 'in-flight');
    await until('the build under way', async () => /in-flight create: .*→ networking/.test(nb.output()));
    await nb.stop('SIGKILL');

    nb = await serve(['--time-scale', '0'], env, elsewhere);
    try {
      assert.match(nb.output(), /start-up recovery: 1 task\(s\) were in flight: 0 resumed, 0 rebooted again, 1 ended in error, 0 completed/);
      assert.match(nb.output(), /in-flight create: networking → none \(ERROR\)|in-flight create: building\/networking → error \(ERROR\)/);
      assert.match(nb.output(), /\(kept from the last run, 1 task\(s\) recovered; --reset starts from the seed\)/);
      const names = (await api(nb.url, '/compute/v2.1/servers', { token: await token(nb.url) })).body.servers.map((s: { name: string }) => s.name).sort();
      assert.deepEqual(names, ['in-flight', 'vm1']);
    } finally {
      await nb.stop();
    }

    nb = await serve(['--time-scale', '0', '--reset'], env, elsewhere);
    try {
      assert.match(nb.output(), /INFO: reset to the seed: \d+ rows removed from \d+ tables/);
      assert.match(nb.output(), /\(reset to the seed; --reset starts from the seed\)/);
      assert.deepEqual((await api(nb.url, '/compute/v2.1/servers', { token: await token(nb.url) })).body.servers, []);
      assert.equal((await api(nb.url, '/image/v2/images', { token: await token(nb.url, 'admin') })).body.images.length, 2);
    } finally {
      await nb.stop();
    }
  });

  it('--log-format json writes one JSON object per event with the facts as fields', async () => {
    const nb = await serve(['--time-scale', '0', '--log-format', 'json', '--db', ':memory:'], env, elsewhere);
    try {
      await api(nb.url, '/healthz');
      await until('the request line', async () => nb.output().includes('"path":"/healthz"'));
    } finally {
      await nb.stop();
    }
    const lines = nb.output().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const ready = lines.find((l) => l.event === 'ready')!;
    assert.ok(Array.isArray(ready.banner));
    const req = lines.find((l) => l.path === '/healthz')!;
    assert.equal(req.method, 'GET');
    assert.equal(req.status, 200);
    assert.equal(typeof req.duration_ms, 'number');
    assert.match(String(req.req_id), /^req-/);
    assert.ok(lines.some((l) => l.event === 'shutdown'));
  });

  it('clouds-yaml prints a cloud per seeded user for the URL given', () => {
    const r = spawnSync(process.execPath, [BIN, 'clouds-yaml', '--url', 'http://127.0.0.1:9999'], { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, NOVABOX_DEMO_PASSWORD: 'not-secret' } });
    assert.equal(r.status, 0, r.stderr);
    const clouds = parse(r.stdout).clouds;
    assert.deepEqual(Object.keys(clouds), ['novabox', 'novabox-admin', 'novabox-alt']);
    assert.deepEqual(clouds.novabox.auth, {
      auth_url: 'http://127.0.0.1:9999/identity/v3', username: 'demo', password: 'not-secret', project_name: 'demo', user_domain_name: 'Default', project_domain_name: 'Default',
    });
    assert.equal(clouds['novabox-admin'].auth.username, 'admin');
    assert.equal(clouds['novabox-alt'].auth.project_name, 'alt_demo');
  });
});
