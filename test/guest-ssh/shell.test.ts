// The simulated guest's shell, as a pure function of a guest snapshot: the command lines tempest's
// remote client sends and the parsing tempest does of their output.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { run } from '../../src/drivers/guest-ssh/shell.ts';
import { devices } from '../../src/drivers/guest-ssh/metadata.ts';
import { guestDisks, type GuestView } from '../../src/drivers/guest-ssh/guest.ts';

const GiB = 1024 ** 3;
const guest = (over: Partial<GuestView> = {}): GuestView => ({
  uuid: 'u-1', name: 'vm', hostname: 'vm', project_id: 'p', availability_zone: 'nova', launch_index: 0, vcpus: 2, memory_mb: 512,
  nics: [
    { name: 'eth0', mac: 'fa:16:3e:00:00:01', mtu: 1442, ips: [{ addr: '10.0.0.5', prefix: 26, version: 4 }], tag: null },
    { name: 'eth1', mac: 'fa:16:3e:00:00:02', mtu: 1500, ips: [{ addr: '10.2.2.100', prefix: 24, version: 4 }], tag: 'net-2-100' },
  ],
  disks: [
    { name: 'vda', bytes: GiB, serial: null, tag: null },
    { name: 'vdb', bytes: 2 * GiB, serial: 'vol-1', tag: 'other' },
  ],
  uptime: 42.5, meta: {}, keys: [], user_data: null, config_drive: false, files: { '/etc/test.txt': 'hello' }, user: 'cirros', ...over,
});
const P = 'set -eu -o pipefail; PATH=$PATH:/sbin;';

describe('guest shell', () => {
  it("answers get_boot_time's cut of /proc/uptime with whole seconds", () => {
    assert.deepEqual(run(`${P} cut -f1 -d. /proc/uptime`, guest()), { stdout: '42\n', stderr: '', code: 0 });
  });

  it('counts one processor per vCPU', () => {
    assert.equal(run(`${P} grep -c ^processor /proc/cpuinfo`, guest({ vcpus: 3 })).stdout, '3\n');
  });

  it("lists disks so that tempest's get_disks finds TYPE column 'disk' on each row", () => {
    const out = run(`${P} lsblk -lb --nodeps`, guest()).stdout;
    const rows = out.trimEnd().split('\n');
    const pos = rows[0].indexOf('TYPE');
    assert.ok(pos > 0);
    assert.deepEqual(rows.slice(1).map((l) => [l.split(/\s+/)[0], l.slice(pos, pos + 4)]), [['vda', 'disk'], ['vdb', 'disk']]);
    assert.match(rows[2], /\s2147483648\s/);
  });

  it('counts its disks in /proc/partitions as the volume tests do', () => {
    assert.equal(run(`${P} grep -c -E [vs]d.$ /proc/partitions`, guest()).stdout, '2\n');
  });

  it("finds a NIC's name by MAC and by IP, and every MAC, as remote_client's awk does", () => {
    const g = guest();
    assert.equal(run(`${P} ip -o link | awk '/fa:16:3e:00:00:02/ {print $2}'`, g).stdout, 'eth1:\n');
    assert.equal(run(`${P} ip -o addr | awk '/10.2.2.100/ {print $2}'`, g).stdout, 'eth1\n');
    assert.equal(run(`${P} ip addr | awk '/ether/ {print $2}'`, g).stdout, 'fa:16:3e:00:00:01\nfa:16:3e:00:00:02\n');
    assert.equal(run(`${P} ip addr show eth0 | awk '/ether/ {print $2}'`, g).stdout, 'fa:16:3e:00:00:01\n');
    assert.match(run('ip addr show eth0', g).stdout, /inet 10\.0\.0\.5\/26 brd 10\.0\.0\.63 scope global eth0/);
  });

  it('cats injected files through sudo, and fails on a missing one', () => {
    assert.deepEqual(run(`${P} sudo cat /etc/test.txt`, guest()), { stdout: 'hello', stderr: '', code: 0 });
    assert.deepEqual(run(`${P} cat /etc/nope`, guest()), { stdout: '', stderr: 'cat: /etc/nope: No such file or directory\n', code: 1 });
  });

  it('stops at the first failure under set -e, and pipefail makes a pipeline fail', () => {
    assert.deepEqual(run(`${P} nosuch; echo after`, guest()), { stdout: '', stderr: 'sh: nosuch: not found\n', code: 127 });
    assert.equal(run('nosuch; echo after', guest()).stdout, 'after\n');
    assert.equal(run(`${P} cat /nope | wc -l`, guest()).code, 1);
    assert.equal(run('cat /nope | wc -l', guest()).code, 0);
    assert.equal(run('false || echo rescued', guest()).stdout, 'rescued\n');
    assert.equal(run('false && echo never', guest()).stdout, '');
  });

  it('writes to the console through sh -c with the output redirected', () => {
    assert.deepEqual(run(`${P} sudo sh -c "echo \\"a message\\" >/dev/console"`, guest()), { stdout: '', stderr: '', code: 0 });
  });

  it('serves the metadata service to curl, listing only tagged devices', () => {
    const g = guest();
    assert.equal(run('curl -V', g).code, 0);
    const md = JSON.parse(run('curl http://169.254.169.254/openstack/latest/meta_data.json', g).stdout);
    assert.deepEqual(md.devices, devices(g));
    assert.deepEqual(md.devices.map((d: { tags: string[] }) => d.tags[0]), ['net-2-100', 'other']);
    assert.equal(md.devices[1].serial, 'vol-1');
    assert.equal(run('curl http://192.0.2.1/', g).code, 7);
  });
});

describe('guest disks', () => {
  const flavor = { id: 1, flavorid: '42', name: 'm1.nano', vcpus: 1, memory_mb: 128, root_gb: 1, ephemeral_gb: 0, swap: 0, rxtx_factor: 1, is_public: true, disabled: false, description: null, extra_specs: {} };

  it('boots from the volume at boot index 0, keeping every mapping\'s tag', () => {
    const disks = guestDisks({
      flavor,
      block_device_mapping: [
        { source_type: 'volume', destination_type: 'volume', uuid: 'boot-vol', volume_id: 'boot-vol', boot_index: 0, device_name: '/dev/vda', tag: 'boot' },
        { source_type: 'volume', destination_type: 'volume', uuid: 'other-vol', volume_id: 'other-vol', boot_index: 1, device_name: '/dev/vdb', tag: 'other' },
        { source_type: 'volume', destination_type: 'volume', uuid: 'plain', volume_id: 'plain', boot_index: 2, device_name: '/dev/vdc' },
      ],
    }, new Map([['boot-vol', 1], ['other-vol', 3]]));
    assert.deepEqual(disks.map((d) => [d.name, d.serial, d.tag, d.bytes / GiB]), [['vda', 'boot-vol', 'boot', 1], ['vdb', 'other-vol', 'other', 3], ['vdc', 'plain', null, 1]]);
  });

  it('gives an image-backed server its root, ephemeral and swap disks before its volumes', () => {
    const disks = guestDisks({
      flavor: { ...flavor, root_gb: 10, ephemeral_gb: 2, swap: 512 },
      block_device_mapping: [{ source_type: 'volume', destination_type: 'volume', uuid: 'v', volume_id: 'v', boot_index: null, device_name: '/dev/vdb' }],
    }, new Map([['v', 5]]));
    assert.deepEqual(disks.map((d) => [d.name, d.bytes]), [['vda', 10 * GiB], ['vdb', 5 * GiB], ['vdc', 2 * GiB], ['vdd', 512 * 1024 * 1024]]);
  });
});
