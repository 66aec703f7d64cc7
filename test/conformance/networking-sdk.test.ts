// Networking through Debian's openstacksdk, unmodified (conformance/py/sdk_networking.py): the same
// scenario as the CLI's, each step asserting what the SDK reported. Skipped where the SDK is absent.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { haveOpenstackSdk } from '../../conformance/lib/debian.ts';
import { runSdkScript, startClientCloud, type ClientCloud, type SdkRun } from './clients.ts';

const skip = haveOpenstackSdk() ? false : 'openstacksdk is not importable by /usr/bin/python3 (apt-get install python3-openstacksdk)';

describe('openstacksdk: networking scenario', { skip, timeout: 300_000 }, () => {
  let cloud: ClientCloud;
  let run: SdkRun;
  before(async () => {
    cloud = await startClientCloud();
    run = await runSdkScript(cloud, 'sdk_networking.py', ['--image', cloud.facts.imageName, '--flavor', 'm1.nano']);
  });
  after(async () => {
    await cloud?.stop();
  });

  test('the script ran every step without an exception', () => run.assertClean());
  test('network and subnet', () => {
    assert.equal(run.at('network').status, 'ACTIVE');
    const s = run.at('subnet');
    assert.equal(s.gateway_ip, '192.168.110.1');
    assert.deepEqual(s.pools, [{ start: '192.168.110.2', end: '192.168.110.254' }]);
  });
  test('router with its gateway on public and an interface on the subnet', () => {
    const r = run.at('router');
    assert.equal(r.gateway, r.public);
    assert.ok(run.at('router interface').port_id);
  });
  test('security group with its rule', () => {
    const g = run.at('security group');
    assert.equal(g.rules, 3);
    assert.equal(g.rule_port, 80);
  });
  test('port DOWN until a server binds it, then ACTIVE', () => {
    assert.equal(run.at('port').status, 'DOWN');
    assert.equal(run.at('port').ip, '192.168.110.2');
    const s = run.at('server');
    assert.equal(s.status, 'ACTIVE');
    assert.equal(s.port_status, 'ACTIVE');
    assert.equal(s.device_id, s.server_id);
  });
  test('floating IP associated through the router and shown as floating in addresses', () => {
    const f = run.at('floating ip');
    assert.equal(f.status, 'ACTIVE');
    assert.equal(f.router_id, f.router);
    assert.equal(f.shown, true);
    assert.deepEqual(f.types, ['fixed', 'floating']);
  });
  test('interface attach and detach', () => {
    const a = run.at('interface attach');
    assert.equal(a.net_id, a.private);
    assert.equal(a.listed, 2);
    const d = run.at('interface detach');
    assert.equal(d.listed, 1);
    assert.equal(d.port_gone, true);
  });
  test('teardown leaves the given port released and only the seeded networks', () => {
    const t = run.at('teardown');
    assert.equal(t.port_released, true);
    assert.deepEqual(t.left, ['private', 'public']);
  });
});
