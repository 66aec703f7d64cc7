// Nova on Neutron: server create makes or binds ports, addresses come from them and their floating
// IPs, os-interface attaches and detaches, and ports go (or stay, unbound) with the server; every
// step checked through both the compute and the networking API.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { act, boot, call, type Env, fault, settle, setup, show, neutron, quiet } from './servers-helpers.ts';

const PRIVATE = 'c0014e14-3a6f-5656-b976-b29db1caa4e1';

describe('servers on Neutron ports', () => {
  let env: Env;
  before(async () => { env = await setup(); });
  after(async () => { await env.close(); });

  const net = (token: string, method: string, path: string, body?: unknown) => neutron(env, token, method, path, body);
  const portsOf = async (id: string) => (await net(env.admin, 'GET', `/ports?device_id=${id}`)).body.ports;

  it('a server booted without networks gets a bound, ACTIVE port on private and its addresses', async () => {
    const id = await boot(env, env.demo);
    await quiet(env);
    const [port] = await portsOf(id);
    assert.equal(port.device_owner, 'compute:nova');
    assert.equal(port.network_id, PRIVATE);
    assert.equal(port.status, 'ACTIVE');
    const s = await show(env, env.admin, id);
    assert.equal(port['binding:host_id'], s['OS-EXT-SRV-ATTR:host']);
    const addrs = s.addresses.private.map((a: any) => [a.addr, a['OS-EXT-IPS:type'], a['OS-EXT-IPS-MAC:mac_addr']]);
    assert.deepEqual(addrs.sort(), port.fixed_ips.map((f: any) => [f.ip_address, 'fixed', port.mac_address]).sort());
    const def = (await net(env.demo, 'GET', '/security-groups?name=default')).body.security_groups[0];
    assert.deepEqual(port.security_groups, [def.id]);
    // The ip filter finds it by the port's address.
    const v4 = port.fixed_ips.find((f: any) => !f.ip_address.includes(':')).ip_address;
    const found = await call(env, { url: `/servers?ip=${v4}`, token: env.demo });
    assert.deepEqual(found.json().servers.map((x: any) => x.id), [id]);
    assert.equal((await call(env, { method: 'DELETE', url: `/servers/${id}`, token: env.demo })).statusCode, 204);
    await quiet(env);
    assert.deepEqual(await portsOf(id), [], 'the port Nova made goes with the server');
  });

  it('boots on a given port and a fixed IP; the given port stays, unbound, after delete', async () => {
    const p = (await net(env.demo, 'POST', '/ports', { port: { network_id: PRIVATE, name: 'mine' } })).body.port;
    const id = await boot(env, env.demo, { networks: [{ port: p.id }, { uuid: PRIVATE, fixed_ip: '10.0.200.7' }] }, '2.37');
    await quiet(env);
    const ports = await portsOf(id);
    assert.equal(ports.length, 2);
    assert.ok(ports.every((x: any) => x.status === 'ACTIVE'));
    const addrs = (await show(env, env.demo, id)).addresses.private.map((a: any) => a.addr);
    assert.ok(addrs.includes('10.0.200.7'));
    assert.ok(addrs.includes(p.fixed_ips[0].ip_address));
    // Used port, used address, unknown network and port are refused before anything is made.
    fault(await call(env, { method: 'POST', url: '/servers', token: env.demo, mv: '2.37', body: { server: { name: 'x', imageRef: env.imageId, flavorRef: '1', networks: [{ port: p.id }] } } }), 409, `Port ${p.id} is still in use.`);
    fault(await call(env, { method: 'POST', url: '/servers', token: env.demo, mv: '2.37', body: { server: { name: 'x', imageRef: env.imageId, flavorRef: '1', networks: [{ uuid: PRIVATE, fixed_ip: '10.0.200.7' }] } } }), 400, `Fixed IP address 10.0.200.7 is already in use on instance ${id}.`);
    fault(await call(env, { method: 'POST', url: '/servers', token: env.demo, mv: '2.37', body: { server: { name: 'x', imageRef: env.imageId, flavorRef: '1', networks: [{ uuid: '3f1c6a0e-0000-4000-8000-000000000000' }] } } }), 400, 'Network 3f1c6a0e-0000-4000-8000-000000000000 could not be found.');
    fault(await call(env, { method: 'POST', url: '/servers', token: env.demo, mv: '2.37', body: { server: { name: 'x', imageRef: env.imageId, flavorRef: '1', networks: [{ port: '3f1c6a0e-0000-4000-8000-000000000000' }] } } }), 400, 'Port id 3f1c6a0e-0000-4000-8000-000000000000 could not be found.');
    assert.equal((await call(env, { method: 'DELETE', url: `/servers/${id}`, token: env.demo })).statusCode, 204);
    await quiet(env);
    const kept = (await net(env.demo, 'GET', `/ports/${p.id}`)).body.port;
    assert.equal(kept.device_id, '');
    assert.equal(kept.status, 'DOWN');
    assert.equal((await net(env.demo, 'GET', `/ports?fixed_ips=ip_address%3D10.0.200.7`)).body.ports.length, 0, 'the port Nova made is gone');
    await net(env.demo, 'DELETE', `/ports/${p.id}`);
  });

  it('multi-NIC: a second network adds its addresses under its own label; none means no ports', async () => {
    const n = (await net(env.demo, 'POST', '/networks', { network: { name: 'second' } })).body.network;
    await net(env.demo, 'POST', '/subnets', { subnet: { network_id: n.id, cidr: '192.168.90.0/24', ip_version: 4 } });
    const id = await boot(env, env.demo, { networks: [{ uuid: PRIVATE }, { uuid: n.id, tag: 'second-nic' }] }, '2.42');
    await quiet(env);
    const s = await show(env, env.demo, id);
    assert.deepEqual(Object.keys(s.addresses).sort(), ['private', 'second']);
    assert.equal(s.addresses.second[0].addr, '192.168.90.2');
    // Two networks for the project now: naming none is ambiguous (Nova's NetworkAmbiguous).
    fault(await call(env, { method: 'POST', url: '/servers', token: env.demo, mv: '2.37', body: { server: { name: 'x', imageRef: env.imageId, flavorRef: '1', networks: 'auto' } } }), 409, 'Multiple possible networks found, use a Network ID to be more specific.');
    const none = await boot(env, env.demo, { networks: 'none' }, '2.37');
    await quiet(env);
    assert.deepEqual(await portsOf(none), []);
    assert.deepEqual((await show(env, env.demo, none)).addresses, {});
    const ifaces = (await call(env, { url: `/servers/${id}/os-interface`, token: env.demo, mv: '2.70' })).json().interfaceAttachments;
    assert.deepEqual(ifaces.map((i: any) => i.tag).sort(), ['second-nic', null].sort());
    for (const x of [id, none]) await call(env, { method: 'DELETE', url: `/servers/${x}`, token: env.demo });
    await quiet(env);
    assert.equal((await net(env.demo, 'DELETE', `/networks/${n.id}`)).status, 204, 'no port left on the network');
  });

  it('a floating IP associated in Neutron shows in addresses as floating, and goes when disassociated', async () => {
    const id = await boot(env, env.demo);
    await quiet(env);
    const [port] = await portsOf(id);
    const pub = (await net(env.demo, 'GET', '/networks?name=public')).body.networks[0];
    const fip = (await net(env.demo, 'POST', '/floatingips', { floatingip: { floating_network_id: pub.id, port_id: port.id } })).body.floatingip;
    assert.equal(fip.status, 'ACTIVE');
    await quiet(env);
    let addrs = (await show(env, env.demo, id)).addresses.private;
    assert.deepEqual(addrs.filter((a: any) => a['OS-EXT-IPS:type'] === 'floating').map((a: any) => a.addr), [fip.floating_ip_address]);
    await net(env.demo, 'PUT', `/floatingips/${fip.id}`, { floatingip: { port_id: null } });
    await quiet(env);
    addrs = (await show(env, env.demo, id)).addresses.private;
    assert.ok(!addrs.some((a: any) => a['OS-EXT-IPS:type'] === 'floating'));
    await net(env.demo, 'DELETE', `/floatingips/${fip.id}`);
    await call(env, { method: 'DELETE', url: `/servers/${id}`, token: env.demo });
    await quiet(env);
  });

  it('os-interface: list, attach by network and by port, show, detach; faults', async () => {
    const id = await boot(env, env.demo);
    await quiet(env);
    const list = (await call(env, { url: `/servers/${id}/os-interface`, token: env.demo })).json().interfaceAttachments;
    assert.equal(list.length, 1);
    assert.equal(list[0].net_id, PRIVATE);
    assert.equal(list[0].port_state, 'ACTIVE');
    const byNet = await call(env, { method: 'POST', url: `/servers/${id}/os-interface`, token: env.demo, body: { interfaceAttachment: { net_id: PRIVATE, fixed_ips: [{ ip_address: '10.0.201.9' }] } } });
    assert.equal(byNet.statusCode, 200, byNet.body);
    const att = byNet.json().interfaceAttachment;
    assert.equal(att.fixed_ips[0].ip_address, '10.0.201.9');
    assert.equal(att.port_state, 'ACTIVE');
    const shown = await call(env, { url: `/servers/${id}/os-interface/${att.port_id}`, token: env.demo });
    assert.deepEqual(shown.json().interfaceAttachment, att);
    await quiet(env);
    assert.ok((await show(env, env.demo, id)).addresses.private.some((a: any) => a.addr === '10.0.201.9'));
    const own = (await net(env.demo, 'POST', '/ports', { port: { network_id: PRIVATE } })).body.port;
    const byPort = await call(env, { method: 'POST', url: `/servers/${id}/os-interface`, token: env.demo, body: { interfaceAttachment: { port_id: own.id } } });
    assert.equal(byPort.json().interfaceAttachment.port_id, own.id);
    assert.equal((await net(env.demo, 'GET', `/ports/${own.id}`)).body.port.device_id, id);
    fault(await call(env, { method: 'POST', url: `/servers/${id}/os-interface`, token: env.demo, body: { interfaceAttachment: { port_id: own.id, net_id: PRIVATE } } }), 400, 'Must not input both network_id and port_id');
    fault(await call(env, { method: 'POST', url: `/servers/${id}/os-interface`, token: env.demo, body: { interfaceAttachment: { net_id: '3f1c6a0e-0000-4000-8000-000000000000' } } }), 404);
    fault(await call(env, { method: 'GET', url: `/servers/${id}/os-interface/3f1c6a0e-0000-4000-8000-000000000000`, token: env.demo }), 404);
    fault(await call(env, { method: 'GET', url: `/servers/${id}/os-interface`, token: env.alt }), 404);
    // Detach: the port Nova made goes, the given one stays unbound.
    assert.equal((await call(env, { method: 'DELETE', url: `/servers/${id}/os-interface/${att.port_id}`, token: env.demo })).statusCode, 202);
    assert.equal((await net(env.demo, 'GET', `/ports/${att.port_id}`)).status, 404);
    assert.equal((await call(env, { method: 'DELETE', url: `/servers/${id}/os-interface/${own.id}`, token: env.demo })).statusCode, 202);
    assert.equal((await net(env.demo, 'GET', `/ports/${own.id}`)).body.port.device_id, '');
    fault(await call(env, { method: 'DELETE', url: `/servers/${id}/os-interface/${own.id}`, token: env.demo }), 404);
    await quiet(env);
    assert.ok(!(await show(env, env.demo, id)).addresses.private.some((a: any) => a.addr === '10.0.201.9'));
    // Not while the server is paused… it is allowed; while shelved it is not.
    assert.equal((await act(env, env.demo, id, { shelve: null })).statusCode, 202);
    await quiet(env);
    fault(await call(env, { method: 'POST', url: `/servers/${id}/os-interface`, token: env.demo, body: { interfaceAttachment: { net_id: PRIVATE } } }), 409);
    // Each attach and detach is an instance action with its compute event (Error when it failed);
    // the refusal for the state records nothing.
    const actions = (await call(env, { url: `/servers/${id}/os-instance-actions`, token: env.demo })).json().instanceActions;
    const ifaceActions = actions.filter((a: any) => a.action.endsWith('_interface')).reverse();
    assert.deepEqual(ifaceActions.map((a: any) => [a.action, a.message]), [
      ['attach_interface', null], ['attach_interface', null], ['attach_interface', 'Error'], ['detach_interface', null], ['detach_interface', null], ['detach_interface', 'Error'],
    ]);
    const detail = (await call(env, { url: `/servers/${id}/os-instance-actions/${ifaceActions[0].request_id}`, token: env.admin, mv: '2.51' })).json().instanceAction;
    assert.deepEqual(detail.events.map((e: any) => [e.event, e.result]), [['compute_attach_interface', 'Success']]);
    const failed = (await call(env, { url: `/servers/${id}/os-instance-actions/${ifaceActions[5].request_id}`, token: env.admin, mv: '2.51' })).json().instanceAction;
    assert.deepEqual(failed.events.map((e: any) => [e.event, e.result]), [['compute_detach_interface', 'Error']]);
    const shelvedPorts = await portsOf(id);
    assert.ok(shelvedPorts.every((p: any) => p.status === 'DOWN' && p['binding:host_id'] === ''), 'offloaded: ports unbound');
    await net(env.demo, 'DELETE', `/ports/${own.id}`);
    await call(env, { method: 'DELETE', url: `/servers/${id}`, token: env.demo });
    await quiet(env);
  });

  it('os-tenant-networks and os-networks list what Neutron shows the caller (the seeded private is the demo project\'s alone)', async () => {
    const mine = (await net(env.alt, 'POST', '/networks', { network: { name: 'alt-net' } })).body.network;
    const alt = (await call(env, { url: '/os-tenant-networks', token: env.alt })).json().networks.map((n: any) => n.label).sort();
    assert.deepEqual(alt, ['alt-net', 'public']);
    const demo = (await call(env, { url: '/os-tenant-networks', token: env.demo })).json().networks.map((n: any) => n.label).sort();
    assert.deepEqual(demo, ['private', 'public']);
    fault(await call(env, { url: `/os-tenant-networks/${mine.id}`, token: env.demo }), 404);
    assert.equal((await call(env, { url: `/os-tenant-networks/${mine.id}`, token: env.alt })).json().network.label, 'alt-net');
    await net(env.alt, 'DELETE', `/networks/${mine.id}`);
  });

  it('os-floating-ips and addFloatingIp/removeFloatingIp proxy Neutron\'s floating IPs (to 2.35)', async () => {
    assert.deepEqual((await call(env, { url: '/os-floating-ip-pools', token: env.demo })).json(), { floating_ip_pools: [{ name: 'public' }] });
    const made = await call(env, { method: 'POST', url: '/os-floating-ips', token: env.demo, body: { pool: 'public' } });
    assert.equal(made.statusCode, 200, made.body);
    const fip = made.json().floating_ip;
    assert.deepEqual({ ...fip, id: 'x', ip: 'y' }, { id: 'x', ip: 'y', pool: 'public', fixed_ip: null, instance_id: null });
    assert.equal((await net(env.demo, 'GET', `/floatingips/${fip.id}`)).body.floatingip.floating_ip_address, fip.ip);
    fault(await call(env, { method: 'POST', url: '/os-floating-ips', token: env.demo, body: { pool: 'nope' } }), 404, 'Floating IP pool not found.');
    const pub = (await net(env.demo, 'GET', '/networks?name=public')).body.networks[0];
    const byId = (await call(env, { method: 'POST', url: '/os-floating-ips', token: env.demo, body: { pool: pub.id } })).json().floating_ip;
    assert.equal(byId.pool, 'public', 'a pool named by its network id');
    const id = await boot(env, env.demo);
    await quiet(env);
    assert.equal((await act(env, env.demo, id, { addFloatingIp: { address: fip.ip } })).statusCode, 202);
    await quiet(env);
    const shown = (await call(env, { url: `/os-floating-ips/${fip.id}`, token: env.demo })).json().floating_ip;
    assert.equal(shown.instance_id, id);
    assert.ok((await show(env, env.demo, id)).addresses.private.some((a: any) => a.addr === fip.ip && a['OS-EXT-IPS:type'] === 'floating'));
    fault(await act(env, env.demo, id, { addFloatingIp: { address: '172.24.4.250' } }), 404);
    // A second floating IP for the same fixed IP: Neutron's 409 is Nova's 400.
    fault(await act(env, env.demo, id, { addFloatingIp: { address: byId.ip } }), 400);
    assert.equal((await call(env, { method: 'DELETE', url: `/os-floating-ips/${byId.id}`, token: env.demo })).statusCode, 202);
    assert.equal((await act(env, env.demo, id, { removeFloatingIp: { address: fip.ip } })).statusCode, 202);
    fault(await act(env, env.demo, id, { removeFloatingIp: { address: fip.ip } }), 409, `Floating IP ${fip.ip} is not associated with instance ${id}.`);
    assert.equal((await call(env, { method: 'DELETE', url: `/os-floating-ips/${fip.id}`, token: env.demo })).statusCode, 202);
    fault(await call(env, { url: `/os-floating-ips/${fip.id}`, token: env.demo }), 404, `Floating IP not found for ID ${fip.id}`);
    fault(await call(env, { url: '/os-floating-ips', token: env.demo, mv: '2.36' }), 404);
    await call(env, { method: 'DELETE', url: `/servers/${id}`, token: env.demo });
    await quiet(env);
  });
});
