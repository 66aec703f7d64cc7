// The `openstack` CLI from Debian (python3-openstackclient), unmodified, against a novabox child
// process: the everyday read commands, then one server's whole lifecycle, each step asserting the
// status the CLI itself reports. Skipped where /usr/bin/openstack is not installed (CI installs it).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { haveOpenstackCli } from '../../conformance/lib/debian.ts';
import { openstack, openstackJson, openstackOk, startClientCloud, type ClientCloud } from './clients.ts';

const skip = haveOpenstackCli() ? false : '/usr/bin/openstack is not installed (apt-get install python3-openstackclient)';

interface ServerShow { id: string; name: string; status: string; flavor: string; image: string; properties?: unknown }
interface Row { ID: string; Name: string; Status: string }

describe('openstack CLI against novabox', { skip, timeout: 600_000 }, () => {
  let cloud: ClientCloud;
  let env: NodeJS.ProcessEnv;
  let id = '';

  before(async () => {
    cloud = await startClientCloud();
    env = cloud.env;
  });
  after(async () => {
    await cloud?.stop();
  });

  const show = (): Promise<ServerShow> => openstackJson<ServerShow>(env, ['server', 'show', id]);

  /** Polls `server show` until the CLI reports `status` (actions without --wait return at once). */
  async function settles(status: string): Promise<ServerShow> {
    const seen: string[] = [];
    const deadline = Date.now() + 60_000;
    for (;;) {
      const s = await show();
      seen.push(s.status);
      // Settled: the status, and no task still running (some show the status before they end).
      const task = (s as unknown as Record<string, unknown>)['OS-EXT-STS:task_state'];
      if (s.status === status && (task === null || task === undefined || task === '')) return s;
      if (s.status === 'ERROR' || Date.now() > deadline) assert.fail(`expected ${status}, the CLI reported ${seen.join(' → ')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async function listedAs(status: string): Promise<void> {
    const rows = await openstackJson<Row[]>(env, ['server', 'list', '--status', status]);
    const mine = rows.find((r) => r.ID === id);
    assert.ok(mine, `server list --status ${status} does not list the server (got ${JSON.stringify(rows)})`);
    assert.equal(mine.Status, status);
  }

  /** `openstack server ARGS… <id>`, then the status the CLI must settle on (and list it by). */
  async function act(args: string[], status: string, list = false): Promise<ServerShow> {
    await openstackOk(env, ['server', ...args, id]);
    const s = await settles(status);
    if (list) await listedAs(status);
    return s;
  }

  test('token issue returns a token for the demo project', async () => {
    const tok = await openstackJson<{ id: string; project_id: string; expires: string }>(env, ['token', 'issue']);
    assert.match(tok.id, /\S{16,}/);
    assert.ok(tok.project_id, 'token issue shows a project_id');
    assert.ok(!Number.isNaN(Date.parse(tok.expires)), `expires is a date: ${tok.expires}`);
  });

  test('catalog list names compute, identity and image', async () => {
    const rows = await openstackJson<{ Name: string; Type: string }[]>(env, ['catalog', 'list']);
    const types = rows.map((r) => r.Type).sort();
    for (const t of ['compute', 'identity', 'image']) assert.ok(types.includes(t), `catalog has ${t}: ${types.join(', ')}`);
  });

  test('image list shows the seeded image', async () => {
    const rows = await openstackJson<{ ID: string; Name: string; Status: string }[]>(env, ['image', 'list']);
    const img = rows.find((r) => r.ID === cloud.facts.imageRef);
    assert.ok(img, `image list has ${cloud.facts.imageRef}`);
    assert.equal(img.Status, 'active');
  });

  test('flavor list shows m1.nano and m1.micro', async () => {
    const rows = await openstackJson<{ ID: string; Name: string }[]>(env, ['flavor', 'list']);
    const names = rows.map((r) => r.Name);
    assert.ok(names.includes('m1.nano') && names.includes('m1.micro'), `flavors: ${names.join(', ')}`);
  });

  test('server list works on an empty project', async () => {
    const rows = await openstackJson<Row[]>(env, ['server', 'list']);
    assert.ok(Array.isArray(rows));
  });

  describe('a server lifecycle', () => {
    test('server create --wait reaches ACTIVE', async () => {
      const s = await openstackJson<ServerShow>(env, ['server', 'create', '--flavor', 'm1.nano', '--image', cloud.facts.imageName, '--wait', 'cli-lifecycle']);
      id = s.id;
      assert.match(id, /^[0-9a-f-]{36}$/);
      assert.equal(s.status, 'ACTIVE');
      await listedAs('ACTIVE');
    });

    test('stop then start', async () => {
      await act(['stop'], 'SHUTOFF', true);
      await act(['start'], 'ACTIVE');
    });

    test('pause then unpause', async () => {
      await act(['pause'], 'PAUSED', true);
      await act(['unpause'], 'ACTIVE');
    });

    test('suspend then resume', async () => {
      await act(['suspend'], 'SUSPENDED', true);
      await act(['resume'], 'ACTIVE');
    });

    test('reboot soft and hard', async () => {
      await act(['reboot', '--soft', '--wait'], 'ACTIVE');
      await act(['reboot', '--hard', '--wait'], 'ACTIVE');
    });

    test('rebuild with a new name', async () => {
      const s = await openstackJson<ServerShow>(env, ['server', 'rebuild', '--image', cloud.facts.imageName, '--name', 'cli-rebuilt', '--wait', id]);
      assert.equal(s.name, 'cli-rebuilt');
      const after = await settles('ACTIVE');
      assert.equal(after.name, 'cli-rebuilt');
    });

    test('resize to m1.micro and confirm', async () => {
      await act(['resize', '--flavor', 'm1.micro', '--wait'], 'VERIFY_RESIZE', true);
      const s = await act(['resize', 'confirm'], 'ACTIVE');
      assert.match(s.flavor, /m1\.micro/);
    });

    test('resize to m1.nano and revert', async () => {
      await act(['resize', '--flavor', 'm1.nano', '--wait'], 'VERIFY_RESIZE');
      const s = await act(['resize', 'revert'], 'ACTIVE');
      assert.match(s.flavor, /m1\.micro/, 'a reverted resize keeps the old flavor');
    });

    test('shelve then unshelve', async () => {
      await act(['shelve', '--wait'], 'SHELVED_OFFLOADED', true);
      await act(['unshelve', '--wait'], 'ACTIVE');
    });

    test('rescue then unrescue', async () => {
      await act(['rescue'], 'RESCUE', true);
      await act(['unrescue'], 'ACTIVE');
    });

    // Deleting at the end proves the unlock: a locked server refuses delete too.
    test('lock refuses an action; unlock lifts the lock', async () => {
      await openstackOk(env, ['server', 'lock', id]);
      const refused = await openstack(env, ['server', 'pause', id]);
      assert.notEqual(refused.code, 0, 'pause of a locked server must fail');
      assert.match(refused.stderr, /lock/i);
      assert.equal((await show()).status, 'ACTIVE');
      await openstackOk(env, ['server', 'unlock', id]);
    });

    test('server set --property and server unset --property', async () => {
      await openstackOk(env, ['server', 'set', '--property', 'purpose=conformance', '--property', 'owner=cli', id]);
      let s = await show();
      assert.deepEqual(properties(s.properties), { purpose: 'conformance', owner: 'cli' });
      await openstackOk(env, ['server', 'unset', '--property', 'owner', id]);
      s = await show();
      assert.deepEqual(properties(s.properties), { purpose: 'conformance' });
      assert.equal(s.status, 'ACTIVE');
    });

    test('delete --wait removes the server', async () => {
      await openstackOk(env, ['server', 'delete', '--wait', id]);
      const gone = await openstack(env, ['server', 'show', id]);
      assert.notEqual(gone.code, 0, 'server show of a deleted server fails');
      assert.match(gone.stderr, /No server with a name or ID|could not be found/i);
      const rows = await openstackJson<Row[]>(env, ['server', 'list']);
      assert.ok(!rows.some((r) => r.ID === id), 'server list no longer shows it');
    });
  });
});

/** `server show -f json` renders properties as a dict (newer OSC) or as "k='v', …" text (older). */
function properties(p: unknown): Record<string, string> {
  if (p && typeof p === 'object') return p as Record<string, string>;
  const out: Record<string, string> = {};
  for (const m of String(p ?? '').matchAll(/(\w+)='([^']*)'/g)) out[m[1]] = m[2];
  return out;
}
