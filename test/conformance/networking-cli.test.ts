// Networking with Debian's `openstack` CLI, unmodified, against a novabox child process: a network,
// a subnet, a router with a gateway and an interface, a security group with a rule, a port, a
// server on that port, a floating IP shown in `server show`, an interface attached and detached, then
// everything torn down in reverse order. Every step asserts what the CLI reports.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { haveOpenstackCli } from '../../conformance/lib/debian.ts';
import { openstack, openstackJson, openstackOk, startClientCloud, type ClientCloud } from './clients.ts';

const skip = haveOpenstackCli() ? false : '/usr/bin/openstack is not installed (apt-get install python3-openstackclient)';

type J = Record<string, any>;

describe('openstack CLI: networking scenario', { skip, timeout: 600_000 }, () => {
  let cloud: ClientCloud;
  let env: NodeJS.ProcessEnv;
  const ids: Record<string, string> = {};
  let fip = '';

  before(async () => {
    cloud = await startClientCloud();
    env = cloud.env;
  });
  after(async () => {
    await cloud?.stop();
  });

  const os = <T = J>(...args: string[]) => openstackJson<T>(env, args);
  /** The server's addresses as the CLI prints them: {network: [addr, …]}. */
  const addresses = async (): Promise<Record<string, string[]>> => {
    const a = (await os('server', 'show', 'vm1')).addresses;
    return typeof a === 'string' ? Object.fromEntries(a.split(';').map((p: string) => p.trim().split('=')).map(([k, v]: string[]) => [k, v.split(',').map((x) => x.trim())])) : a;
  };
  const until = async (what: string, check: () => Promise<boolean>) => {
    const deadline = Date.now() + 30_000;
    while (!(await check())) {
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  };

  test('network create', async () => {
    const n = await os('network', 'create', 'n1');
    assert.equal(n.name, 'n1');
    assert.equal(n.status, 'ACTIVE');
    assert.equal(n.admin_state_up, true);
    ids.net = n.id;
  });

  test('subnet create with a range, gateway and DNS', async () => {
    const s = await os('subnet', 'create', 's1', '--network', 'n1', '--subnet-range', '192.168.100.0/24', '--dns-nameserver', '8.8.8.8');
    assert.equal(s.cidr, '192.168.100.0/24');
    assert.equal(s.gateway_ip, '192.168.100.1');
    assert.equal(s.network_id, ids.net);
    ids.subnet = s.id;
  });

  test('router create, external gateway on public, interface on the subnet', async () => {
    const r = await os('router', 'create', 'r1');
    ids.router = r.id;
    await openstackOk(env, ['router', 'set', 'r1', '--external-gateway', 'public']);
    const pub = await os('network', 'show', 'public');
    const shown = await os('router', 'show', 'r1');
    assert.equal(shown.external_gateway_info.network_id, pub.id);
    await openstackOk(env, ['router', 'add', 'subnet', 'r1', 's1']);
    const ports = await os<J[]>('port', 'list', '--router', 'r1', '--long');
    const iface = ports.find((p) => JSON.stringify(p['Fixed IP Addresses']).includes('192.168.100.1'));
    assert.ok(iface, JSON.stringify(ports));
  });

  test('security group create with a rule', async () => {
    const g = await os('security', 'group', 'create', 'sg1', '--description', 'ssh in');
    assert.equal(g.name, 'sg1');
    ids.sg = g.id;
    const r = await os('security', 'group', 'rule', 'create', 'sg1', '--protocol', 'tcp', '--dst-port', '22', '--remote-ip', '0.0.0.0/0');
    assert.equal(r.port_range_min, 22);
    assert.equal(r.port_range_max, 22);
    assert.equal(r.direction, 'ingress');
    const rules = await os<J[]>('security', 'group', 'rule', 'list', 'sg1');
    assert.equal(rules.length, 3, 'two egress rules and the new one');
  });

  test('port create on the network with the group: DOWN, unbound', async () => {
    const p = await os('port', 'create', 'p1', '--network', 'n1', '--security-group', 'sg1');
    assert.equal(p.status, 'DOWN');
    assert.deepEqual(p.security_group_ids, [ids.sg]);
    assert.equal(p.fixed_ips[0].ip_address, '192.168.100.2');
    ids.port = p.id;
  });

  test('server create on the port: ACTIVE, the port bound and ACTIVE', async () => {
    const s = await os('server', 'create', 'vm1', '--flavor', 'm1.nano', '--image', cloud.facts.imageName, '--port', 'p1', '--wait');
    assert.equal(s.status, 'ACTIVE');
    ids.server = s.id;
    await until('port p1 ACTIVE', async () => (await os('port', 'show', 'p1')).status === 'ACTIVE');
    const p = await os('port', 'show', 'p1');
    assert.equal(p.device_id, ids.server);
    assert.equal(p.device_owner, 'compute:nova');
    assert.deepEqual((await addresses()).n1, ['192.168.100.2']);
  });

  test('floating IP create from public and attached: shown in server show', async () => {
    const f = await os('floating', 'ip', 'create', 'public');
    assert.match(f.floating_ip_address, /^172\.24\.4\./);
    fip = f.floating_ip_address;
    ids.fip = f.id;
    await openstackOk(env, ['server', 'add', 'floating', 'ip', 'vm1', fip]);
    const shown = await os('floating', 'ip', 'show', fip);
    assert.equal(shown.port_id, ids.port);
    assert.equal(shown.status, 'ACTIVE');
    await until('floating IP in server show', async () => ((await addresses()).n1 ?? []).includes(fip));
    assert.deepEqual((await addresses()).n1, ['192.168.100.2', fip]);
  });

  test('interface attach (server add network private) and detach', async () => {
    await openstackOk(env, ['server', 'add', 'network', 'vm1', 'private']);
    await until('private address', async () => ((await addresses()).private ?? []).length > 0);
    const ports = await os<J[]>('port', 'list', '--server', 'vm1');
    assert.equal(ports.length, 2);
    await openstackOk(env, ['server', 'remove', 'network', 'vm1', 'private']);
    await until('private address gone', async () => !(await addresses()).private);
    assert.equal((await os<J[]>('port', 'list', '--server', 'vm1')).length, 1);
  });

  test('teardown in reverse order', async () => {
    await openstackOk(env, ['server', 'remove', 'floating', 'ip', 'vm1', fip]);
    assert.equal((await os('floating', 'ip', 'show', fip)).port_id, null);
    await openstackOk(env, ['floating', 'ip', 'delete', fip]);
    await openstackOk(env, ['server', 'delete', '--wait', 'vm1']);
    // The port was given to the server, so it stays, unbound.
    await until('port p1 released', async () => (await os('port', 'show', 'p1')).device_id === '');
    await openstackOk(env, ['port', 'delete', 'p1']);
    await openstackOk(env, ['security', 'group', 'delete', 'sg1']);
    await openstackOk(env, ['router', 'remove', 'subnet', 'r1', 's1']);
    await openstackOk(env, ['router', 'unset', '--external-gateway', 'r1']);
    assert.equal((await os('router', 'show', 'r1')).external_gateway_info, null);
    await openstackOk(env, ['router', 'delete', 'r1']);
    await openstackOk(env, ['subnet', 'delete', 's1']);
    await openstackOk(env, ['network', 'delete', 'n1']);
    const names = (await os<J[]>('network', 'list')).map((n) => n.Name).sort();
    assert.deepEqual(names, ['private', 'public']);
    const gone = await openstack(env, ['network', 'show', 'n1']);
    assert.notEqual(gone.code, 0);
  });
});
