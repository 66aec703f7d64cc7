// The README works as written: its shell block of client commands runs as one script (with a throw-away
// HOME, against a novabox started for the test) using Debian's openstack CLI, its clouds.yaml is what
// `novabox clouds-yaml` prints, the environment variant works, and openstacksdk reads the same
// clouds.yaml. Skips, saying why, when the CLI is not installed (CI installs it).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { REPO_ROOT, startNovabox, type RunningNovabox } from '../../conformance/lib/novabox.ts';
import { debianEnv, PYTHON } from '../../conformance/lib/debian.ts';
import { loadConfig } from '../../src/config.ts';
import { cloudsYaml } from '../../src/quickstart.ts';

const OPENSTACK = '/usr/bin/openstack';
const skip = existsSync(OPENSTACK) ? false : `${OPENSTACK} is not installed (apt-get install python3-openstackclient)`;

const README = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
const section = (title: string) => {
  const start = README.indexOf(`## ${title}`);
  assert.ok(start >= 0, `README has a "${title}" section`);
  const end = README.indexOf('\n## ', start + 3);
  return README.slice(start, end < 0 ? undefined : end);
};
const blocks = (text: string, lang: string) => [...text.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]);

describe('README: credentials and clients', { skip }, () => {
  const clients = section('Credentials and clients');
  const [commands, environment] = blocks(clients, 'sh');
  const [yamlText] = blocks(clients, 'yaml');
  let nb: RunningNovabox;
  let home: string;
  before(async () => {
    nb = await startNovabox();
    home = mkdtempSync(join(tmpdir(), 'novabox-readme-'));
  });
  after(async () => {
    await nb?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  /** Runs a README shell block with bash -e, from the repository, HOME a throw-away directory. */
  const run = (script: string, env: Record<string, string> = {}) => {
    const r = spawnSync('/bin/bash', ['-e', '-c', script], {
      cwd: REPO_ROOT, encoding: 'utf8', timeout: 300_000,
      // Debian's python and CLI first; this node after them, for `node bin/novabox.js`.
      env: (() => {
        const e = debianEnv({ HOME: home, ...env });
        return { ...e, PATH: `${e.PATH}:${dirname(process.execPath)}` };
      })(),
    });
    assert.equal(r.status, 0, `README commands failed (exit ${String(r.status)}):\n${script}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
    return r.stdout;
  };

  it('the commands run as written and create ACTIVE servers (vm1 on the private network, vm2 without one)', () => {
    assert.match(commands, /clouds-yaml > ~\/\.config\/openstack\/clouds\.yaml/);
    // As written; only where novabox listens differs, and clouds-yaml reads it from NOVABOX_PORT like serve.
    const out = run(commands, { NOVABOX_PORT: String(nb.port) });
    assert.match(out, /vm1/);
    assert.match(out, /vm2/);
    const list = run(`${OPENSTACK} --os-cloud novabox server list -f json -c Name -c Status -c Networks`);
    const servers = JSON.parse(list) as { Name: string; Status: string; Networks: unknown }[];
    assert.deepEqual(servers.map((s) => `${s.Name} ${s.Status}`).sort(), ['vm1 ACTIVE', 'vm2 ACTIVE']);
    assert.ok(JSON.stringify(servers.find((s) => s.Name === 'vm1')!.Networks).includes('private'));
  });

  it('the clouds.yaml shown is what `novabox clouds-yaml` prints for the default settings', () => {
    const printed = parse(cloudsYaml(loadConfig({}, {})));
    assert.deepEqual(parse(yamlText), printed);
  });

  it('the clouds.yaml shown works with the CLI and with openstacksdk, pointed at this novabox', () => {
    const file = join(home, 'readme-clouds.yaml');
    writeFileSync(file, yamlText.replaceAll('http://127.0.0.1:8774', nb.url));
    const env = { OS_CLIENT_CONFIG_FILE: file };
    const token = run(`${OPENSTACK} --os-cloud novabox-admin token issue -f value -c id`, env);
    assert.match(token.trim(), /^\S{20,}$/);
    const sdk = run(`${PYTHON} - <<'EOF'
import openstack
conn = openstack.connect(cloud='novabox')
image = conn.image.find_image('cirros-0.6.2-x86_64-disk')
flavor = conn.compute.find_flavor('m1.tiny')
server = conn.compute.create_server(name='sdk-vm', image_id=image.id, flavor_id=flavor.id, networks='none')
server = conn.compute.wait_for_server(server, wait=60)
print(server.status, sorted(s.name for s in conn.compute.servers()))
EOF`, env);
    assert.match(sdk, /^ACTIVE \[.*'sdk-vm'.*\]/m);
  });

  it('the environment variant works', () => {
    const out = run(`${environment.replaceAll('http://127.0.0.1:8774', nb.url)}`, { OS_CLIENT_CONFIG_FILE: join(home, 'none.yaml') });
    assert.match(out, /vm1/);
  });
});
