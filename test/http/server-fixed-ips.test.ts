// addFixedIp / removeFixedIp (Nova's os-multinic, 2.1–2.43) over Neutron: one more address on the
// server's port on that network, or one address fewer, seen through both the compute and the
// networking API. Nova casts the work to the compute host and answers 202 before it happens, so a
// network or an address the server does not have is a 202 that changes nothing and leaves an
// instance fault; what Nova refuses (2.44+, the lock, no host, the schema, another project) changes nothing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { act, boot, call, type Env, fault, neutron, quiet, setup, show } from './servers-helpers.ts';
import { SEED_IDS } from '../../src/api/network/service.ts';

const PRIVATE = SEED_IDS.private;

describe('addFixedIp and removeFixedIp', () => {
  let env: Env;
  before(async () => { env = await setup(); });
  after(async () => { await env.close(); });

  const net = (token: string, method: string, path: string, body?: unknown) => neutron(env, token, method, path, body);
  const portOf = async (id: string) => {
    const ports = (await net(env.admin, 'GET', `/ports?device_id=${id}`)).body.ports;
    assert.equal(ports.length, 1);
    return ports[0];
  };
  /** What a client can see of the server's addresses and its port: compared before and after a call. */
  const seen = async (id: string) => {
    const s = await show(env, env.admin, id, '2.43');
    const ips = (await call(env, { url: `/servers/${id}/ips`, token: env.admin, mv: '2.43' })).json().addresses;
    const p = await portOf(id);
    return { addresses: s.addresses, ips, fixed_ips: p.fixed_ips, revision_number: p.revision_number, updated_at: p.updated_at };
  };
  const addrsOf = (addresses: Record<string, { addr: string }[]>) => Object.values(addresses).flat().map((a) => a.addr).sort();
  /** The server's latest instance fault, shown once the server is in ERROR (as Nova shows it). */
  const latestFault = async (id: string) => {
    assert.equal((await act(env, env.admin, id, { 'os-resetState': { state: 'error' } })).statusCode, 202);
    const f = (await show(env, env.admin, id)).fault;
    assert.equal((await act(env, env.admin, id, { 'os-resetState': { state: 'active' } })).statusCode, 202);
    return { code: f.code, message: f.message };
  };
  const destroy = async (id: string) => {
    await call(env, { method: 'DELETE', url: `/servers/${id}`, token: env.admin });
    await quiet(env);
  };

  it('addFixedIp on the server\'s network adds an address on its port; removeFixedIp takes it away', async () => {
    const id = await boot(env, env.demo);
    await quiet(env);
    const before = await seen(id);
    const r = await act(env, env.demo, id, { addFixedIp: { networkId: PRIVATE } }, '2.43');
    assert.equal(r.statusCode, 202, r.body);
    assert.equal(r.body, '');
    await quiet(env);
    const added = await seen(id);
    assert.equal(added.fixed_ips.length, before.fixed_ips.length + 1);
    const fresh = added.fixed_ips.find((f: any) => !before.fixed_ips.some((b: any) => b.ip_address === f.ip_address));
    assert.equal(fresh.subnet_id, SEED_IDS.privateSubnet, 'an address on the network\'s first subnet');
    assert.match(fresh.ip_address, /^10\.0\./);
    assert.equal(added.revision_number, before.revision_number + 1);
    assert.deepEqual(addrsOf(added.addresses), [...addrsOf(before.addresses), fresh.ip_address].sort());
    assert.deepEqual(added.ips, { private: added.addresses.private.map((a: any) => ({ version: a.version, addr: a.addr })) });
    const entry = added.addresses.private.find((a: any) => a.addr === fresh.ip_address);
    assert.deepEqual(entry, { version: 4, addr: fresh.ip_address, 'OS-EXT-IPS:type': 'fixed', 'OS-EXT-IPS-MAC:mac_addr': (await portOf(id)).mac_address });
    // The address is the port's: nobody else gets it.
    const taken = await net(env.demo, 'POST', '/ports', { port: { network_id: PRIVATE, fixed_ips: [{ ip_address: fresh.ip_address }] } });
    assert.equal(taken.status, 409);
    assert.equal(taken.body.NeutronError.type, 'IpAddressInUse');

    const rm = await act(env, env.demo, id, { removeFixedIp: { address: fresh.ip_address } }, '2.1');
    assert.equal(rm.statusCode, 202, rm.body);
    assert.equal(rm.body, '');
    await quiet(env);
    const removed = await seen(id);
    assert.deepEqual(removed.fixed_ips, before.fixed_ips);
    assert.deepEqual(removed.addresses, before.addresses);
    assert.deepEqual(removed.ips, before.ips);
    assert.equal(removed.revision_number, added.revision_number + 1);
    // Released: Neutron hands it out again.
    const reuse = await net(env.demo, 'POST', '/ports', { port: { network_id: PRIVATE, fixed_ips: [{ ip_address: fresh.ip_address }] } });
    assert.equal(reuse.status, 201, JSON.stringify(reuse.body));
    await net(env.demo, 'DELETE', `/ports/${reuse.body.port.id}`);
    await destroy(id);
  });

  it('addFixedIp on a network the server is not on is a 202 that changes nothing and leaves Nova\'s fault', async () => {
    const other = (await net(env.demo, 'POST', '/networks', { network: { name: 'other' } })).body.network;
    await net(env.demo, 'POST', '/subnets', { subnet: { network_id: other.id, cidr: '192.168.77.0/24', ip_version: 4 } });
    const id = await boot(env, env.demo, { networks: [{ uuid: PRIVATE }] }, '2.37');
    await quiet(env);
    const before = await seen(id);
    for (const networkId of [other.id, '3f1c6a0e-0000-4000-8000-000000000000', 'x', 42]) {
      const r = await act(env, env.demo, id, { addFixedIp: { networkId } });
      assert.equal(r.statusCode, 202, r.body);
      await quiet(env);
      assert.deepEqual(await seen(id), before, `nothing changes for ${networkId}`);
      assert.deepEqual(await latestFault(id), { code: 404, message: `Network could not be found for instance ${id}.` });
    }
    assert.equal((await net(env.demo, 'GET', `/ports?network_id=${other.id}`)).body.ports.length, 0, 'no port is made on the other network');
    await destroy(id);
    await net(env.demo, 'DELETE', `/networks/${other.id}`);
  });

  it('removeFixedIp of an address the server does not have is a 202 that changes nothing and leaves Nova\'s fault', async () => {
    const id = await boot(env, env.demo);
    const neighbour = await boot(env, env.demo);
    await quiet(env);
    const before = await seen(id);
    const theirs = (await portOf(neighbour)).fixed_ips[0].ip_address;
    for (const address of ['10.0.250.250', theirs, 'fd00:10::dead']) {
      const r = await act(env, env.demo, id, { removeFixedIp: { address } });
      assert.equal(r.statusCode, 202, r.body);
      await quiet(env);
      assert.deepEqual(await seen(id), before);
      assert.deepEqual(await latestFault(id), { code: 404, message: `Instance ${id} does not have fixed IP '${address}'.` });
    }
    assert.ok((await portOf(neighbour)).fixed_ips.some((f: any) => f.ip_address === theirs), 'the other server keeps its address');
    await destroy(id);
    await destroy(neighbour);
  });

  it('Neutron refuses the port update to a caller who does not own the network: 202, nothing changes; an admin may', async () => {
    const shared = (await net(env.admin, 'POST', '/networks', { network: { name: 'shared-net', shared: true } })).body.network;
    await net(env.admin, 'POST', '/subnets', { subnet: { network_id: shared.id, cidr: '192.168.78.0/24', ip_version: 4 } });
    const id = await boot(env, env.demo, { networks: [{ uuid: shared.id }] }, '2.37');
    await quiet(env);
    const before = await seen(id);
    assert.equal((await act(env, env.demo, id, { addFixedIp: { networkId: shared.id } })).statusCode, 202);
    await quiet(env);
    assert.deepEqual(await seen(id), before);
    assert.deepEqual(await latestFault(id), { code: 404, message: `Network could not be found for instance ${id}.` });
    assert.equal((await act(env, env.admin, id, { addFixedIp: { networkId: shared.id } })).statusCode, 202);
    await quiet(env);
    const added = await seen(id);
    assert.equal(added.fixed_ips.length, 2);
    // The member's removal is refused by Neutron too, and Nova only logs that: no fault.
    const extra = added.fixed_ips[1].ip_address;
    assert.equal((await act(env, env.demo, id, { removeFixedIp: { address: extra } })).statusCode, 202);
    await quiet(env);
    assert.deepEqual(await seen(id), added);
    assert.equal((await act(env, env.admin, id, { removeFixedIp: { address: extra } })).statusCode, 202);
    await quiet(env);
    assert.deepEqual((await seen(id)).fixed_ips, before.fixed_ips);
    await destroy(id);
    await net(env.admin, 'DELETE', `/networks/${shared.id}`);
  });

  it('a full first subnet fails the request, as Nova asks for it again with the next subnet', async () => {
    const n = (await net(env.demo, 'POST', '/networks', { network: { name: 'two-subnets' } })).body.network;
    const small = (await net(env.demo, 'POST', '/subnets', { subnet: { network_id: n.id, cidr: '192.168.79.0/29', ip_version: 4, allocation_pools: [{ start: '192.168.79.2', end: '192.168.79.2' }] } })).body.subnet;
    await net(env.demo, 'POST', '/subnets', { subnet: { network_id: n.id, cidr: '192.168.80.0/24', ip_version: 4 } });
    const id = await boot(env, env.demo, { networks: [{ uuid: n.id }] }, '2.37');
    await quiet(env);
    const before = await seen(id);
    assert.equal(before.fixed_ips[0].subnet_id, small.id, 'the port took the small subnet\'s one address');
    assert.equal((await act(env, env.demo, id, { addFixedIp: { networkId: n.id } })).statusCode, 202);
    await quiet(env);
    assert.deepEqual(await seen(id), before);
    assert.deepEqual(await latestFault(id), { code: 404, message: `Network could not be found for instance ${id}.` });
    await destroy(id);
    await net(env.demo, 'DELETE', `/networks/${n.id}`);
  });

  it('refused requests change nothing: 2.44+, the schema, another project, the lock, no host', async () => {
    const id = await boot(env, env.demo);
    await quiet(env);
    const before = await seen(id);
    const address = before.fixed_ips[0].ip_address;
    const unchanged = async (why: string) => {
      await quiet(env);
      assert.deepEqual(await seen(id), before, why);
    };
    for (const mv of ['2.44', '2.45', 'latest']) {
      fault(await act(env, env.demo, id, { addFixedIp: { networkId: PRIVATE } }, mv), 404, 'The resource could not be found.');
      fault(await act(env, env.demo, id, { removeFixedIp: { address } }, mv), 404, 'The resource could not be found.');
    }
    // Removed before the server is looked up.
    fault(await act(env, env.demo, '3f1c6a0e-0000-4000-8000-000000000000', { addFixedIp: { networkId: PRIVATE } }, '2.44'), 404, 'The resource could not be found.');
    await unchanged('2.44+');
    for (const body of [{ addFixedIp: {} }, { addFixedIp: { networkId: '' } }, { addFixedIp: { networkId: 'a'.repeat(37) } }, { addFixedIp: { networkId: PRIVATE, extra: 1 } }, { addFixedIp: { networkId: true } },
      { removeFixedIp: {} }, { removeFixedIp: { address: 'not-an-ip' } }, { removeFixedIp: { address: '' } }, { removeFixedIp: null }]) {
      fault(await act(env, env.demo, id, body), 400);
    }
    await unchanged('schema');
    fault(await act(env, env.alt, id, { addFixedIp: { networkId: PRIVATE } }), 404, `Instance ${id} could not be found.`);
    fault(await act(env, env.alt, id, { removeFixedIp: { address } }), 404, `Instance ${id} could not be found.`);
    fault(await act(env, env.demo, '3f1c6a0e-0000-4000-8000-000000000000', { removeFixedIp: { address } }), 404, 'Instance 3f1c6a0e-0000-4000-8000-000000000000 could not be found.');
    await unchanged('another project');
    // multinic does not expect InstanceIsLocked (Nova: a 500); novabox never answers a 5xx and gives the
    // 409 of every action that expects it. An admin is not held by the lock.
    assert.equal((await act(env, env.demo, id, { lock: null })).statusCode, 202);
    fault(await act(env, env.demo, id, { addFixedIp: { networkId: PRIVATE } }), 409, `Instance ${id} is locked`);
    fault(await act(env, env.demo, id, { removeFixedIp: { address } }), 409, `Instance ${id} is locked`);
    await unchanged('locked');
    assert.equal((await act(env, env.admin, id, { addFixedIp: { networkId: PRIVATE } })).statusCode, 202);
    await quiet(env);
    const added = await seen(id);
    assert.equal(added.fixed_ips.length, before.fixed_ips.length + 1);
    assert.equal((await act(env, env.demo, id, { unlock: null })).statusCode, 202);
    // Shelved and offloaded, the server has no host to cast to (Nova: a 500 again): 409, as InstanceInvalidState.
    assert.equal((await act(env, env.demo, id, { shelve: null })).statusCode, 202);
    await quiet(env);
    assert.equal((await show(env, env.admin, id)).status, 'SHELVED_OFFLOADED');
    const offloaded = await seen(id);
    fault(await act(env, env.demo, id, { addFixedIp: { networkId: PRIVATE } }), 409, `Cannot 'add_fixed_ip' instance ${id} while it is in vm_state shelved_offloaded`);
    fault(await act(env, env.demo, id, { removeFixedIp: { address } }), 409, `Cannot 'remove_fixed_ip' instance ${id} while it is in vm_state shelved_offloaded`);
    await quiet(env);
    assert.deepEqual(await seen(id), offloaded);
    await destroy(id);
  });
});
