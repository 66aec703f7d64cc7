// openstacksdk from Debian (python3-openstacksdk), unmodified, drives one server through its whole
// lifecycle against a novabox child process (conformance/py/sdk_lifecycle.py); this test asserts the
// status the SDK reported at every step. Skipped where the SDK is not installed (CI installs it).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { haveOpenstackSdk } from '../../conformance/lib/debian.ts';
import { runSdkScript, startClientCloud, type ClientCloud, type SdkRun } from './clients.ts';

const skip = haveOpenstackSdk() ? false : 'openstacksdk is not importable by /usr/bin/python3 (apt-get install python3-openstacksdk)';

describe('openstacksdk against novabox', { skip, timeout: 300_000 }, () => {
  let cloud: ClientCloud;
  let run: SdkRun;

  before(async () => {
    cloud = await startClientCloud();
    run = await runSdkScript(cloud, 'sdk_lifecycle.py', ['--image', cloud.facts.imageName, '--flavor', 'm1.nano', '--flavor-alt', 'm1.micro']);
  });
  after(async () => {
    await cloud?.stop();
  });

  const at = (name: string) => run.at(name);

  test('the script ran every step without an exception', () => run.assertClean());

  test('compute.find_image finds the image through the compute API too', () => {
    const s = at('compute find_image');
    assert.equal(s.failed, undefined, `${String(s.failed)}: ${String(s.message)}`);
    assert.equal(s.image, cloud.facts.imageRef);
  });

  const settled: [string, string][] = [
    ['create', 'ACTIVE'], ['stop', 'SHUTOFF'], ['start', 'ACTIVE'], ['pause', 'PAUSED'], ['unpause', 'ACTIVE'],
    ['suspend', 'SUSPENDED'], ['resume', 'ACTIVE'], ['reboot soft', 'ACTIVE'], ['reboot hard', 'ACTIVE'], ['rebuild', 'ACTIVE'],
    ['resize', 'VERIFY_RESIZE'], ['resize confirm', 'ACTIVE'], ['resize again', 'VERIFY_RESIZE'], ['resize revert', 'ACTIVE'],
    ['shelve', 'SHELVED_OFFLOADED'], ['unshelve', 'ACTIVE'], ['rescue', 'RESCUE'], ['unrescue', 'ACTIVE'],
  ];
  for (const [name, status] of settled) {
    test(`${name} → ${status}`, () => {
      const s = at(name);
      assert.equal(s.status, status);
      assert.equal(s.task_state ?? null, null, `${name}: no task left running`);
    });
  }

  for (const status of ['ACTIVE', 'SHUTOFF', 'PAUSED', 'SUSPENDED', 'VERIFY_RESIZE', 'SHELVED_OFFLOADED', 'RESCUE']) {
    test(`servers(status=${status}) lists the server while it is ${status}`, () => {
      assert.equal(at(`list ${status}`).listed, true);
    });
  }

  test('rebuild renamed the server and kept the image', () => {
    const s = at('rebuilt');
    assert.match(String(s.name), /-rebuilt$/);
    assert.equal(s.image, cloud.facts.imageRef);
  });

  test('resize confirm keeps the new flavor; revert goes back to it', () => {
    assert.equal(at('flavor after confirm').flavor, 'm1.micro');
    assert.equal(at('flavor after revert').flavor, 'm1.micro');
  });

  test('lock refuses an action with 409; unlock clears the lock', () => {
    assert.equal(at('lock').locked, true);
    const refused = at('action while locked');
    assert.equal(refused.refused, true, 'stop of a locked server must be refused');
    assert.equal(refused.http_status, 409);
    assert.equal(refused.status, 'ACTIVE');
    assert.equal(at('unlock').locked, false);
  });

  test('metadata set and unset', () => {
    assert.deepEqual(at('metadata set').metadata, { purpose: 'conformance', owner: 'sdk' });
    assert.deepEqual(at('metadata unset').metadata, { purpose: 'conformance' });
  });

  test('delete waits until the server is gone', () => {
    const s = at('delete');
    assert.equal(s.gone, true);
  });
});
