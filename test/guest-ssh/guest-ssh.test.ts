// The simulated guests' SSH service end to end: a novabox with guest_ssh on 0.0.0.0 (any free port),
// a server booted on a network whose subnet is in 127.66.0.0/24, so that dialling its fixed IP on
// this machine reaches the one listener (all of 127/8 is local on Linux), which routes by the
// address dialled. The guest answers from the server's real state: hostname, vCPUs, NICs, metadata.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import ssh2 from 'ssh2';
import { createTestNovabox } from '../helpers/novabox.ts';
import { passwordAuth } from '../helpers/novabox.ts';
import type { Novabox } from '../../src/novabox.ts';
import type { Config } from '../../src/config.ts';

const { Client } = ssh2;
const IMAGE = '4fa04c19-09fa-51ff-9872-fac075d1145b';

interface Exec { stdout: string; stderr: string; code: number | null }

/** Connects as `user` to addr:port with a key or a password; rejects on refusal or a dropped connection. */
function connect(host: string, port: number, auth: { privateKey?: string; password?: string; username?: string }): Promise<InstanceType<typeof Client>> {
  return new Promise((ok, fail) => {
    const c = new Client();
    c.once('ready', () => ok(c));
    // A dropped connection can report more than one error (a reset, then 'lost before handshake'): keep listening.
    c.on('error', fail);
    c.once('close', () => fail(new Error('connection closed before it was ready')));
    c.connect({ host, port, username: auth.username ?? 'cirros', privateKey: auth.privateKey, password: auth.password, readyTimeout: 5000, tryKeyboard: false });
  });
}

function exec(c: InstanceType<typeof Client>, command: string): Promise<Exec> {
  return new Promise((ok, fail) => {
    c.exec(command, (err, stream) => {
      if (err) return fail(err);
      let stdout = '';
      let stderr = '';
      let code: number | null = null;
      stream.on('data', (b: Buffer) => (stdout += b.toString()));
      stream.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      stream.on('exit', (n: number | null) => (code = n));
      stream.on('close', () => ok({ stdout, stderr, code }));
    });
  });
}

describe('simulated guest SSH', () => {
  let nb: Novabox & { config: Config };
  let port = 0;
  const tokens = new Map<string, string>();
  const PROLOGUE = 'set -eu -o pipefail; PATH=$PATH:/sbin;';

  async function api(user: string, method: string, url: string, payload?: unknown): Promise<{ status: number; body: any }> {
    let token = tokens.get(user);
    if (!token) {
      const r = await nb.app.inject({ method: 'POST', url: '/identity/v3/auth/tokens', payload: passwordAuth(user, 'secret', { project: { name: user, domain: { name: 'Default' } } }) });
      token = String(r.headers['x-subject-token']);
      tokens.set(user, token);
    }
    const r = await nb.app.inject({ method: method as 'GET', url, headers: { 'x-auth-token': token, 'x-openstack-nova-api-version': '2.79' }, ...(payload === undefined ? {} : { payload: payload as object }) });
    return { status: r.statusCode, body: r.body ? r.json() : null };
  }

  async function settle(): Promise<void> {
    await nb.services.engine.settle();
    await nb.services.network.idle();
  }

  /** Polls the server as a client would until it shows `status` (5 s at most). */
  async function waitStatus(id: string, status: string): Promise<void> {
    const until = Date.now() + 5000;
    for (;;) {
      await settle();
      const shown = await api('demo', 'GET', `/compute/v2.1/servers/${id}`);
      if (shown.body.server.status === status && shown.body.server['OS-EXT-STS:task_state'] === null) return;
      assert.ok(Date.now() < until, `server ${id} is ${shown.body.server.status}/${shown.body.server['OS-EXT-STS:task_state']}, not ${status}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  let netId = '';
  let privateKey = '';
  let serverId = '';
  const ip = '127.66.0.10';

  before(async () => {
    nb = await createTestNovabox({ guest_ssh: '0.0.0.0:0', guest_boot_seconds: 0 });
    port = nb.guestSsh!.address!.port;
    const net = await api('demo', 'POST', '/networking/v2.0/networks', { network: { name: 'guestnet' } });
    assert.equal(net.status, 201, JSON.stringify(net.body));
    netId = net.body.network.id;
    const sub = await api('demo', 'POST', '/networking/v2.0/subnets', { subnet: { network_id: netId, cidr: '127.66.0.0/24', ip_version: 4 } });
    assert.equal(sub.status, 201, JSON.stringify(sub.body));
    const kp = await api('demo', 'POST', '/compute/v2.1/os-keypairs', { keypair: { name: 'guest-key' } });
    assert.equal(kp.status, 201, JSON.stringify(kp.body));
    privateKey = kp.body.keypair.private_key;
    const s = await api('demo', 'POST', '/compute/v2.1/servers', {
      server: { name: 'Web Server_1', imageRef: IMAGE, flavorRef: '42', key_name: 'guest-key', networks: [{ uuid: netId, fixed_ip: ip, tag: 'first-nic' }] },
    });
    assert.equal(s.status, 202, JSON.stringify(s.body));
    serverId = s.body.server.id;
    await waitStatus(serverId, 'ACTIVE');
  });

  after(async () => nb?.close());

  it('answers hostname, vCPUs and uptime from the server', async () => {
    const c = await connect(ip, port, { privateKey });
    try {
      const server = (await nb.services.engine.store.getServer(serverId))!;
      const h = await exec(c, `${PROLOGUE} hostname`);
      assert.deepEqual(h, { stdout: `${server.hostname}\n`, stderr: '', code: 0 });
      assert.equal(server.hostname, 'web-server-1');
      const cpus = await exec(c, `${PROLOGUE} grep -c ^processor /proc/cpuinfo`);
      assert.equal(cpus.stdout.trim(), String(server.flavor.vcpus));
      const up = await exec(c, `${PROLOGUE} cut -f1 -d. /proc/uptime`);
      assert.match(up.stdout, /^\d+\n$/);
      const missing = await exec(c, `${PROLOGUE} frobnicate --now`);
      assert.deepEqual(missing, { stdout: '', stderr: 'sh: frobnicate: not found\n', code: 127 });
    } finally {
      c.end();
    }
  });

  it('shows its ports as NICs and its tagged devices in the metadata service', async () => {
    const ports = await api('demo', 'GET', `/networking/v2.0/ports?device_id=${serverId}`);
    const mac = ports.body.ports[0].mac_address;
    const c = await connect(ip, port, { privateKey });
    try {
      assert.equal((await exec(c, `${PROLOGUE} ip addr | awk '/ether/ {print $2}'`)).stdout, `${mac}\n`);
      assert.equal((await exec(c, `${PROLOGUE} ip -o link | awk '/${mac}/ {print $2}'`)).stdout, 'eth0:\n');
      assert.equal((await exec(c, `${PROLOGUE} ip -o addr | awk '/${ip.replace(/\./g, '\\.')}/ {print $2}'`)).stdout, 'eth0\n');
      const md = await exec(c, 'curl http://169.254.169.254/openstack/latest/meta_data.json');
      const doc = JSON.parse(md.stdout);
      assert.equal(doc.uuid, serverId);
      assert.deepEqual(doc.devices, [{ type: 'nic', bus: 'pci', address: '0000:00:03.0', mac, tags: ['first-nic'] }]);
      assert.equal(doc.public_keys['guest-key'].split(' ')[0], 'ssh-rsa');
      const disks = await exec(c, 'lsblk -lb --nodeps');
      assert.match(disks.stdout.split('\n')[1], /^vda\s.*\sdisk/);
    } finally {
      c.end();
    }
  });

  it('sees an interface attached after boot as its next NIC', async () => {
    const att = await api('demo', 'POST', `/compute/v2.1/servers/${serverId}/os-interface`, { interfaceAttachment: { net_id: netId } });
    assert.equal(att.status, 200, JSON.stringify(att.body));
    await settle();
    const c = await connect(ip, port, { privateKey });
    try {
      const out = await exec(c, `ip -o link | awk '/${att.body.interfaceAttachment.mac_addr}/ {print $2}'`);
      assert.equal(out.stdout, 'eth1:\n');
    } finally {
      c.end();
    }
    const del = await api('demo', 'DELETE', `/compute/v2.1/servers/${serverId}/os-interface/${att.body.interfaceAttachment.port_id}`);
    assert.equal(del.status, 202);
    await settle();
  });

  it('refuses a key that is not the server\'s and a wrong password, and accepts the password it was given', async () => {
    const other = await api('demo', 'POST', '/compute/v2.1/os-keypairs', { keypair: { name: 'other-key' } });
    await assert.rejects(connect(ip, port, { privateKey: other.body.keypair.private_key }), /authentication methods failed/);
    await assert.rejects(connect(ip, port, { password: 'not-it' }), /authentication methods failed/);
    await assert.rejects(connect(ip, port, { privateKey, username: 'root' }), /authentication methods failed/);
    const r = await api('demo', 'POST', `/compute/v2.1/servers/${serverId}/action`, { changePassword: { adminPass: 'Newpass1234' } });
    assert.equal(r.status, 202);
    await waitStatus(serverId, 'ACTIVE');
    const c = await connect(ip, port, { password: 'Newpass1234' });
    assert.equal((await exec(c, 'whoami')).stdout, 'cirros\n');
    c.end();
  });

  it('drops a connection to an address no server holds', async () => {
    await assert.rejects(connect('127.66.0.99', port, { privateKey }));
  });

  it('is unreachable while stopped, and boots afresh when started', async () => {
    const bootedBefore = nb.guestSsh!.service.bootTime((await nb.services.engine.store.getServer(serverId))!);
    assert.equal((await api('demo', 'POST', `/compute/v2.1/servers/${serverId}/action`, { 'os-stop': null })).status, 202);
    await waitStatus(serverId, 'SHUTOFF');
    await assert.rejects(connect(ip, port, { privateKey }));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal((await api('demo', 'POST', `/compute/v2.1/servers/${serverId}/action`, { 'os-start': null })).status, 202);
    await waitStatus(serverId, 'ACTIVE');
    const c = await connect(ip, port, { privateKey });
    c.end();
    const bootedAfter = nb.guestSsh!.service.bootTime((await nb.services.engine.store.getServer(serverId))!);
    assert.ok(bootedAfter >= bootedBefore + 20, `booted again at start: ${bootedBefore} → ${bootedAfter}`);
  });
});
