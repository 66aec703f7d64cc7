// Trunks: a parent port and VLAN sub-ports through the networking API (create, add/remove/get
// sub-ports, Neutron's faults), and through Nova: a server booted on the parent port makes the trunk
// and its sub-ports ACTIVE on the server's host, a live migration takes them along, and deleting the
// server leaves them DOWN (tempest's test_live_migration_with_trunk).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { act, boot, neutron, quiet, setup, show, type Env } from './servers-helpers.ts';

const PRIVATE = 'c0014e14-3a6f-5656-b976-b29db1caa4e1';

describe('trunks', () => {
  let env: Env;
  before(async () => { env = await setup(); });
  after(async () => { await env.close(); });
  const net = (token: string, method: string, path: string, body?: unknown) => neutron(env, token, method, path, body);
  const fault = (r: { status: number; body: any }, status: number, type: string, message?: string) => {
    assert.equal(r.status, status, JSON.stringify(r.body));
    assert.equal(r.body.NeutronError.type, type, JSON.stringify(r.body));
    if (message) assert.equal(r.body.NeutronError.message, message);
  };
  const port = async (network_id: string, name: string) => (await net(env.demo, 'POST', '/ports', { port: { network_id, name } })).body.port;
  const showPort = async (id: string) => (await net(env.admin, 'GET', `/ports/${id}`)).body.port;
  let subnet_net: string;

  it('creates a trunk with a VLAN sub-port; faults change nothing', async () => {
    subnet_net = (await net(env.demo, 'POST', '/networks', { network: { name: 'subport-net' } })).body.network.id;
    assert.equal((await net(env.demo, 'POST', '/subnets', { subnet: { network_id: subnet_net, cidr: '19.80.0.0/24', ip_version: 4 } })).status, 201);
    const parent = await port(PRIVATE, 'parent');
    const sub = await port(subnet_net, 'sub');
    const other = await port(subnet_net, 'other');
    const made = await net(env.demo, 'POST', '/trunks', { trunk: { name: 't', port_id: parent.id, sub_ports: [{ port_id: sub.id, segmentation_type: 'vlan', segmentation_id: 42 }] } });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const t = made.body.trunk;
    assert.deepEqual([t.name, t.port_id, t.status, t.admin_state_up, t.project_id, t.revision_number], ['t', parent.id, 'DOWN', true, env.projects.demo, 0]);
    assert.deepEqual(t.sub_ports, [{ port_id: sub.id, segmentation_type: 'vlan', segmentation_id: 42 }]);
    const s = await showPort(sub.id);
    assert.deepEqual([s.device_owner, s.device_id, s.status], ['trunk:subport', t.id, 'DOWN']);
    assert.ok((await net(env.demo, 'GET', '/extensions')).body.extensions.some((e: any) => e.alias === 'trunk'));
    assert.deepEqual((await net(env.demo, 'GET', `/trunks?port_id=${parent.id}`)).body.trunks.map((x: any) => x.id), [t.id]);

    // Neutron's faults.
    fault(await net(env.demo, 'POST', '/trunks', { trunk: { port_id: parent.id } }), 409, 'ParentPortInUse', `Port ${parent.id} is currently in use and is not eligible for use as a parent port.`);
    fault(await net(env.demo, 'POST', '/trunks', { trunk: { port_id: sub.id } }), 409, 'TrunkPortInUse', `Port ${sub.id} is in use by another trunk.`);
    fault(await net(env.demo, 'POST', '/trunks', { trunk: { port_id: '3f1c6a0e-0000-4000-8000-000000000000' } }), 404, 'PortNotFound');
    fault(await net(env.alt, 'POST', '/trunks', { trunk: { port_id: other.id } }), 404, 'PortNotFound');
    fault(await net(env.alt, 'GET', `/trunks/${t.id}`), 404, 'TrunkNotFound', `Trunk ${t.id} could not be found.`);
    const add = (sub_ports: unknown, token = env.demo) => net(token, 'PUT', `/trunks/${t.id}/add_subports`, { sub_ports });
    fault(await add([{ port_id: other.id, segmentation_type: 'vlan', segmentation_id: 42 }]), 409, 'DuplicateSubPort', `segmentation_type vlan and segmentation_id 42 already in use on trunk ${t.id}.`);
    fault(await add([{ port_id: other.id, segmentation_type: 'vlan', segmentation_id: 4095 }]), 400, 'InvalidInput', "Invalid input for operation: Segmentation ID '4095' is not in range.");
    fault(await add([{ port_id: other.id, segmentation_type: 'vxlan', segmentation_id: 7 }]), 400, 'InvalidInput', "Invalid input for operation: Unknown segmentation_type 'vxlan'.");
    fault(await add([{ port_id: other.id, segmentation_type: 'vlan' }]), 400, 'InvalidInput');
    fault(await add('nope'), 400, 'InvalidInput');
    fault(await add([{ port_id: parent.id, segmentation_type: 'vlan', segmentation_id: 9 }]), 409, 'ParentPortInUse');
    fault(await add([{ port_id: other.id, segmentation_type: 'vlan', segmentation_id: 7 }], env.alt), 404, 'TrunkNotFound');
    fault(await net(env.demo, 'DELETE', `/ports/${sub.id}`), 409, 'PortInUseAsSubPort', `Port ${sub.id} is currently a subport for trunk ${t.id}.`);
    fault(await net(env.demo, 'DELETE', `/ports/${parent.id}`), 409, 'PortInUseAsTrunkParent', `Port ${parent.id} is currently a parent port for trunk ${t.id}.`);
    assert.equal((await net(env.demo, 'GET', `/trunks/${t.id}`)).body.trunk.revision_number, 0, 'unchanged');

    // Add, get and remove sub-ports; the trunk answers unwrapped.
    const added = await add([{ port_id: other.id, segmentation_type: 'vlan', segmentation_id: 7 }]);
    assert.equal(added.status, 200);
    assert.deepEqual(added.body.sub_ports.map((x: any) => x.segmentation_id), [42, 7]);
    assert.equal((await showPort(other.id)).device_owner, 'trunk:subport');
    assert.deepEqual((await net(env.demo, 'GET', `/trunks/${t.id}/get_subports`)).body.sub_ports.map((x: any) => x.port_id), [sub.id, other.id]);
    fault(await net(env.demo, 'PUT', `/trunks/${t.id}/remove_subports`, { sub_ports: [{ port_id: parent.id }] }), 404, 'SubPortNotFound');
    const removed = await net(env.demo, 'PUT', `/trunks/${t.id}/remove_subports`, { sub_ports: [{ port_id: other.id }] });
    assert.deepEqual(removed.body.sub_ports.map((x: any) => x.port_id), [sub.id]);
    assert.deepEqual([(await showPort(other.id)).device_owner, (await showPort(other.id)).device_id], ['', '']);
    assert.equal((await net(env.demo, 'DELETE', `/ports/${other.id}`)).status, 204);

    // A disabled trunk cannot be changed or deleted.
    assert.equal((await net(env.demo, 'PUT', `/trunks/${t.id}`, { trunk: { admin_state_up: false } })).status, 200);
    fault(await add([]), 409, 'TrunkDisabled', `Trunk ${t.id} is currently disabled.`);
    fault(await net(env.demo, 'DELETE', `/trunks/${t.id}`), 409, 'TrunkDisabled');
    assert.equal((await net(env.demo, 'PUT', `/trunks/${t.id}`, { trunk: { admin_state_up: true } })).status, 200);
  });

  it('a server on the parent port makes the trunk and its sub-ports ACTIVE on its host, live migration takes them along', async () => {
    const [t] = (await net(env.demo, 'GET', '/trunks?name=t')).body.trunks;
    const sub = t.sub_ports[0].port_id;
    const id = await boot(env, env.demo, { networks: [{ port: t.port_id }] });
    await quiet(env);
    const from = (await show(env, env.admin, id))['OS-EXT-SRV-ATTR:host'];
    assert.equal((await net(env.demo, 'GET', `/trunks/${t.id}`)).body.trunk.status, 'ACTIVE');
    for (const p of [t.port_id, sub]) assert.deepEqual([(await showPort(p)).status, (await showPort(p))['binding:host_id']], ['ACTIVE', from]);

    assert.equal((await act(env, env.admin, id, { 'os-migrateLive': { host: null, block_migration: 'auto' } }, '2.25')).statusCode, 202);
    await quiet(env);
    const to = (await show(env, env.admin, id))['OS-EXT-SRV-ATTR:host'];
    assert.notEqual(to, from);
    for (const p of [t.port_id, sub]) assert.deepEqual([(await showPort(p)).status, (await showPort(p))['binding:host_id']], ['ACTIVE', to]);

    // The parent port was given, so it stays (unbound) when the server goes; the trunk goes DOWN.
    await env.nb.app.inject({ method: 'DELETE', url: `/compute/v2.1/servers/${id}`, headers: { 'x-auth-token': env.demo } });
    await quiet(env);
    assert.equal((await net(env.demo, 'GET', `/trunks/${t.id}`)).body.trunk.status, 'DOWN');
    assert.deepEqual([(await showPort(sub)).status, (await showPort(sub))['binding:host_id']], ['DOWN', '']);
    assert.equal((await net(env.demo, 'DELETE', `/trunks/${t.id}`)).status, 204);
    assert.deepEqual([(await showPort(sub)).device_owner, (await showPort(sub)).device_id], ['', '']);
    assert.equal((await net(env.demo, 'DELETE', `/ports/${sub}`)).status, 204);
  });
});
