// The filter scheduler as a table: hosts × request × group → the host chosen, or NoValidHost.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_CAPACITY, effectiveZones, NO_VALID_HOST, schedule, type HostState, type PlacementRequest } from '../../src/domain/scheduler.ts';

const host = (name: string, extra: Partial<HostState> = {}): HostState => ({
  name, zone: 'nova', up: true, disabled: false, forced_down: false, vcpus: 4, memory_mb: 8704, local_gb: 100,
  used: { vcpus: 0, memory_mb: 0, disk_gb: 0 }, ...extra,
});
const tiny = { vcpus: 1, memory_mb: 512, root_gb: 1, ephemeral_gb: 0, swap: 0 };
const two = [host('a'), host('b')];

const cases: [string, HostState[], Partial<PlacementRequest>, string | null][] = [
  ['empty hosts tie: first by name', two, {}, 'a'],
  ['RAM weigher spreads to the host with more free RAM', [host('a', { used: { vcpus: 1, memory_mb: 1024, disk_gb: 1 } }), host('b')], {}, 'b'],
  ['disabled host is filtered', [host('a', { disabled: true }), host('b')], {}, 'b'],
  ['forced down and not up are filtered', [host('a', { forced_down: true }), host('b', { up: false })], {}, null],
  ['availability zone', [host('a'), host('b', { zone: 'az2' })], { zone: 'az2' }, 'b'],
  ['host in two zones matches either', [host('a', { zone: 'az1,az2' }), host('b')], { zone: 'az2' }, 'a'],
  ['unknown zone', two, { zone: 'nowhere' }, null],
  ['requested host (2.74)', two, { requested: 'b' }, 'b'],
  ['requested host that is disabled', [host('a'), host('b', { disabled: true })], { requested: 'b' }, null],
  ['source host excluded', two, { exclude: ['a'] }, 'b'],
  ['vCPU: 4 × ratio 4.0 = 16, 16 used', [host('a', { used: { vcpus: 16, memory_mb: 0, disk_gb: 0 } }), host('b', { used: { vcpus: 15, memory_mb: 4096, disk_gb: 0 } })], {}, 'b'],
  ['RAM: 8704 − 512 reserved = 8192 usable', two, { flavor: { ...tiny, memory_mb: 8192 } }, 'a'],
  ['RAM: a flavor bigger than any host', two, { flavor: { ...tiny, memory_mb: 8193 } }, null],
  ['disk: root + ephemeral + swap', [host('a', { used: { vcpus: 0, memory_mb: 0, disk_gb: 95 } }), host('b', { used: { vcpus: 0, memory_mb: 600, disk_gb: 91 } })], { flavor: { ...tiny, root_gb: 5, ephemeral_gb: 4, swap: 1024 } }, null],
  ['disk: fits on the emptier host', [host('a', { used: { vcpus: 0, memory_mb: 0, disk_gb: 95 } }), host('b', { used: { vcpus: 0, memory_mb: 600, disk_gb: 80 } })], { flavor: { ...tiny, root_gb: 5, ephemeral_gb: 4, swap: 1024 } }, 'b'],
  ['affinity: first member anywhere', two, { group: { policy: 'affinity', member_hosts: [] } }, 'a'],
  ['affinity: with the members', two, { group: { policy: 'affinity', member_hosts: ['b'] } }, 'b'],
  ['affinity: members\' host is full', [host('a'), host('b', { disabled: true })], { group: { policy: 'affinity', member_hosts: ['b'] } }, null],
  ['anti-affinity: away from the members', two, { group: { policy: 'anti-affinity', member_hosts: ['a'] } }, 'b'],
  ['anti-affinity: every host has a member', two, { group: { policy: 'anti-affinity', member_hosts: ['a', 'b'] } }, null],
  ['anti-affinity max_server_per_host 2 (2.64)', two, { group: { policy: 'anti-affinity', max_server_per_host: 2, member_hosts: ['a', 'b', 'b'] } }, 'a'],
  ['anti-affinity max_server_per_host 2, both full', two, { group: { policy: 'anti-affinity', max_server_per_host: 2, member_hosts: ['a', 'b', 'b', 'a'] } }, null],
  ['soft-affinity outweighs some free RAM', [host('a'), host('b', { used: { vcpus: 1, memory_mb: 512, disk_gb: 1 } }), host('c', { used: { vcpus: 1, memory_mb: 1024, disk_gb: 1 } })], { group: { policy: 'soft-affinity', member_hosts: ['b'] } }, 'b'],
  ['soft-affinity never refuses', [host('a'), host('b', { disabled: true })], { group: { policy: 'soft-affinity', member_hosts: ['b'] } }, 'a'],
  ['soft-anti-affinity outweighs some free RAM', [host('a'), host('b', { used: { vcpus: 1, memory_mb: 512, disk_gb: 1 } }), host('c', { used: { vcpus: 1, memory_mb: 1024, disk_gb: 1 } })], { group: { policy: 'soft-anti-affinity', member_hosts: ['a', 'a'] } }, 'b'],
  ['soft-anti-affinity places anyway when all have members', two, { group: { policy: 'soft-anti-affinity', member_hosts: ['a', 'b', 'b'] } }, 'a'],
  ['same_host hint', two, { same_host: ['b'] }, 'b'],
  ['different_host hint', two, { different_host: ['a'] }, 'b'],
  ['different_host on every host', two, { different_host: ['a', 'b'] }, null],
  ['forced: a disabled host is taken', [host('a'), host('b', { disabled: true })], { requested: 'b', force: true, exclude: ['a'] }, 'b'],
  ['forced: zone and anti-affinity are not checked', [host('a'), host('b', { zone: 'az2' })], { requested: 'b', force: true, zone: 'nova', group: { policy: 'anti-affinity', member_hosts: ['b'] } }, 'b'],
  ['forced: a host that is down is refused', [host('a'), host('b', { forced_down: true })], { requested: 'b', force: true }, null],
  ['forced: the source is refused', two, { requested: 'a', force: true, exclude: ['a'] }, null],
  ['forced: no room for the claim', [host('a'), host('b', { used: { vcpus: 0, memory_mb: 8000, disk_gb: 0 } })], { requested: 'b', force: true }, null],
  ['force without a requested host schedules as usual', [host('a', { disabled: true }), host('b')], { force: true }, 'b'],
];

for (const [name, hosts, req, expected] of cases) {
  test(`scheduler: ${name}`, () => {
    const placed = schedule(hosts, { flavor: tiny, ...req }, DEFAULT_CAPACITY);
    if (expected === null) {
      assert.ok('noValidHost' in placed, JSON.stringify(placed));
      assert.equal(placed.noValidHost, NO_VALID_HOST);
      assert.equal(Object.keys(placed.rejected).length, hosts.length);
    } else {
      assert.deepEqual(placed, { host: expected });
    }
  });
}

test('scheduler: allocation ratios come from the capacity given', () => {
  const h = [host('a', { used: { vcpus: 4, memory_mb: 0, disk_gb: 0 } })];
  assert.ok('noValidHost' in schedule(h, { flavor: tiny }, { ...DEFAULT_CAPACITY, cpu_allocation_ratio: 1.0 }));
  assert.deepEqual(schedule(h, { flavor: tiny }, DEFAULT_CAPACITY), { host: 'a' });
});

test('zones: an aggregate\'s zone is its hosts\' zone; hosts outside keep their own', () => {
  const z = effectiveZones([{ name: 'a', availability_zone: 'nova' }, { name: 'b', availability_zone: 'nova' }], [{ hosts: ['a'], availability_zone: 'az1' }, { hosts: ['a', 'b'], availability_zone: null }]);
  assert.deepEqual([...z], [['a', 'az1'], ['b', 'nova']]);
});
