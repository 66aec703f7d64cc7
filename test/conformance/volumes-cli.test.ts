// Block storage with Debian's `openstack` CLI, unmodified, against a novabox child process: a
// volume from an image, a server booted from it, a second volume attached, snapshotted, extended
// while in use (3.42), detached, then the server and the volumes deleted; every step asserts the
// status the CLI itself reports. Skipped where /usr/bin/openstack is not installed.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { haveOpenstackCli } from '../../conformance/lib/debian.ts';
import { openstack, openstackJson, openstackOk, startClientCloud, type ClientCloud } from './clients.ts';

const skip = haveOpenstackCli() ? false : '/usr/bin/openstack is not installed (apt-get install python3-openstackclient)';

type Doc = Record<string, any>;

describe('openstack CLI: volumes, boot from volume, attach, snapshot, extend, detach', { skip, timeout: 600_000 }, () => {
  let cloud: ClientCloud;
  let env: NodeJS.ProcessEnv;
  const ids: Record<string, string> = {};

  before(async () => {
    cloud = await startClientCloud();
    env = cloud.env;
  });
  after(async () => {
    await cloud?.stop();
  });

  /** Polls `<kind> show` until the CLI reports `status` (or the resource is gone for 'deleted'). */
  async function settles(kind: string[], id: string, status: string): Promise<Doc> {
    const seen: string[] = [];
    const deadline = Date.now() + 60_000;
    for (;;) {
      const r = await openstack(env, [...kind, 'show', id, '-f', 'json']);
      if (r.code !== 0) {
        if (status === 'deleted' && /No .* with a name or ID|could not be found|Not Found/i.test(r.stderr)) return {};
        assert.fail(`${kind.join(' ')} show ${id}: ${r.stderr.trim().slice(-500)}`);
      }
      const d = JSON.parse(r.stdout) as Doc;
      const st = String(d.status);
      if (seen[seen.length - 1] !== st) seen.push(st);
      if (st === status) return d;
      if (/error/i.test(st) || Date.now() > deadline) assert.fail(`expected ${status}, the CLI reported ${seen.join(' → ')}`);
      await new Promise((r2) => setTimeout(r2, 200));
    }
  }

  test('volume create --image makes a bootable volume that becomes available', async () => {
    const v = await openstackJson<Doc>(env, ['volume', 'create', '--image', cloud.facts.imageName, '--size', '1', 'boot-vol']);
    assert.ok(['creating', 'downloading', 'available'].includes(v.status), v.status);
    ids.boot = v.id;
    const shown = await settles(['volume'], v.id, 'available');
    assert.equal(shown.bootable, 'true');
    assert.equal(shown.size, 1);
  });

  test('server create --volume boots from it; the volume becomes in-use', async () => {
    const s = await openstackJson<Doc>(env, ['server', 'create', '--flavor', 'm1.nano', '--volume', ids.boot, '--wait', 'bfv']);
    assert.equal(s.status, 'ACTIVE');
    ids.server = s.id;
    const v = await settles(['volume'], ids.boot, 'in-use');
    assert.equal(v.attachments[0].server_id, s.id);
    const shown = await openstackJson<Doc>(env, ['server', 'show', s.id]);
    assert.match(JSON.stringify(shown.volumes_attached), new RegExp(ids.boot));
  });

  test('a second volume is attached with server add volume', async () => {
    const v = await openstackJson<Doc>(env, ['volume', 'create', '--size', '1', 'data-vol']);
    ids.data = v.id;
    await settles(['volume'], v.id, 'available');
    await openstackOk(env, ['server', 'add', 'volume', ids.server, ids.data]);
    const inUse = await settles(['volume'], ids.data, 'in-use');
    assert.equal(inUse.attachments[0].server_id, ids.server);
    const list = await openstackJson<Doc[]>(env, ['volume', 'list', '--status', 'in-use']);
    assert.deepEqual(list.map((x) => x.ID).sort(), [ids.boot, ids.data].sort());
  });

  test('the in-use volume is snapshotted with --force', async () => {
    const refused = await openstack(env, ['volume', 'snapshot', 'create', '--volume', ids.data, 'no-force']);
    assert.notEqual(refused.code, 0, 'an in-use volume needs --force at 3.0');
    assert.match(refused.stderr, /status must be available/);
    const s = await openstackJson<Doc>(env, ['volume', 'snapshot', 'create', '--volume', ids.data, '--force', 'data-snap']);
    ids.snap = s.id;
    const shown = await settles(['volume', 'snapshot'], s.id, 'available');
    assert.equal(shown.volume_id, ids.data);
  });

  test('the in-use volume is extended at 3.42 and stays in-use', async () => {
    const old = await openstack(env, ['volume', 'set', '--size', '2', ids.data]);
    assert.notEqual(old.code, 0, 'before 3.42 an in-use volume cannot be extended');
    await openstackOk(env, ['--os-volume-api-version', '3.42', 'volume', 'set', '--size', '2', ids.data]);
    const v = await settles(['volume'], ids.data, 'in-use');
    assert.equal(v.size, 2);
  });

  test('server remove volume detaches it: available again', async () => {
    await openstackOk(env, ['server', 'remove', 'volume', ids.server, ids.data]);
    const v = await settles(['volume'], ids.data, 'available');
    assert.deepEqual(v.attachments, []);
  });

  test('deleting the server frees its boot volume; snapshot and volumes are deleted', async () => {
    await openstackOk(env, ['server', 'delete', '--wait', ids.server]);
    await settles(['volume'], ids.boot, 'available');
    const refused = await openstack(env, ['volume', 'delete', ids.data]);
    assert.notEqual(refused.code, 0, 'a volume with a snapshot is not deleted without --purge');
    await openstackOk(env, ['volume', 'snapshot', 'delete', ids.snap]);
    await settles(['volume', 'snapshot'], ids.snap, 'deleted');
    await openstackOk(env, ['volume', 'delete', ids.data, ids.boot]);
    await settles(['volume'], ids.data, 'deleted');
    await settles(['volume'], ids.boot, 'deleted');
    assert.deepEqual(await openstackJson<Doc[]>(env, ['volume', 'list']), []);
  });
});
