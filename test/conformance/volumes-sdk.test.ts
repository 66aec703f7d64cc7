// Block storage with openstacksdk (Debian's, unmodified) against a novabox child process: the
// script conformance/py/sdk_volumes.py drives the scenario and reports what the SDK sees at every
// step; this test asserts each status. Skipped where openstacksdk is not importable.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { haveOpenstackSdk } from '../../conformance/lib/debian.ts';
import { runSdkScript, startClientCloud, type ClientCloud, type SdkRun } from './clients.ts';

const skip = haveOpenstackSdk() ? false : 'openstacksdk is not importable by /usr/bin/python3 (apt-get install python3-openstacksdk)';

describe('openstacksdk: volumes, boot from volume, attach, snapshot, extend, detach', { skip, timeout: 300_000 }, () => {
  let cloud: ClientCloud;
  let run: SdkRun;

  before(async () => {
    cloud = await startClientCloud();
    run = await runSdkScript(cloud, 'sdk_volumes.py', ['--image', cloud.facts.imageName, '--flavor', 'm1.nano']);
  });
  after(async () => {
    await cloud?.stop();
  });

  const at = (name: string) => run.at(name);

  test('the script ran every step without an exception', () => run.assertClean());

  test('a volume from an image is created, then available and bootable', () => {
    assert.ok(['creating', 'downloading', 'available'].includes(String(at('create_boot_volume').status)));
    const s = at('boot_volume_available');
    assert.equal(s.status, 'available');
    assert.equal(s.bootable, true);
  });

  test('a server boots from it: ACTIVE, the volume in-use and attached to it', () => {
    const s = at('boot_from_volume');
    assert.equal(s.status, 'ACTIVE');
    const v = at('boot_volume_in_use');
    assert.equal(v.status, 'in-use');
    assert.deepEqual(s.volumes, [at('boot_volume_available').id]);
    assert.ok(v.server_id, 'the volume names the server it is attached to');
  });

  test('a second volume attaches (in-use, listed), is snapshotted, extended in use, and detached', () => {
    assert.equal(at('create_data_volume').status, 'available');
    const a = at('attach');
    assert.equal(a.status, 'in-use');
    assert.equal(a.device, '/dev/vdb');
    assert.equal((a.listed as string[]).length, 2);
    const s = at('snapshot');
    assert.equal(s.status, 'available');
    const e = at('extend');
    assert.equal(e.status, 'in-use');
    assert.equal(e.size, 2);
    assert.equal(at('detach').status, 'available');
  });

  test('deleting the server frees its boot volume; the snapshot and volumes are deleted', () => {
    assert.equal(at('delete_server').status, 'available');
    assert.deepEqual(at('delete_volumes').remaining, []);
  });
});
