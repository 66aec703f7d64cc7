// Security groups and rules, routers and floating IPs, quotas, IP availability and auto-allocated
// topology through the networking API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fault, useNetApi } from './helpers.ts';

const cloud = useNetApi();

test('a project gets its default group on first use, with the four default rules', async () => {
  const groups = (await cloud.api.call('alt_demo', 'GET', '/security-groups')).body.security_groups;
  assert.equal(groups.length, 1);
  const g = groups[0];
  assert.equal(g.name, 'default');
  const rules = g.security_group_rules.map((r: any) => `${r.direction}/${r.ethertype}/${r.remote_group_id === g.id ? 'self' : 'any'}`).sort();
  assert.deepEqual(rules, ['egress/IPv4/any', 'egress/IPv6/any', 'ingress/IPv4/self', 'ingress/IPv6/self']);
  assert.ok(g.security_group_rules.every((r: any) => r.belongs_to_default_sg === true));
  assert.equal((await cloud.api.call('alt_demo', 'GET', '/security-groups')).body.security_groups.length, 1, 'made once');
  fault(await cloud.api.call('alt_demo', 'DELETE', `/security-groups/${g.id}`), 409, 'SecurityGroupCannotRemoveDefault');
  fault(await cloud.api.call('alt_demo', 'PUT', `/security-groups/${g.id}`, { security_group: { name: 'other' } }), 409, 'SecurityGroupCannotUpdateDefault');
  fault(await cloud.api.call('alt_demo', 'POST', '/security-groups', { security_group: { name: 'default' } }), 409, 'SecurityGroupDefaultAlreadyExists');
  fault(await cloud.api.call('demo', 'GET', `/security-groups/${g.id}`), 404, 'SecurityGroupNotFound');
});

test('security group rules: protocols, port ranges, remote group or prefix, duplicates, in-use groups', async () => {
  const g = (await cloud.api.call('demo', 'POST', '/security-groups', { security_group: { name: 'web', description: 'http' } })).body.security_group;
  assert.equal(g.security_group_rules.length, 2, 'two egress rules on a new group');
  const rule = (body: Record<string, unknown>) => cloud.api.call('demo', 'POST', '/security-group-rules', { security_group_rule: { security_group_id: g.id, direction: 'ingress', ...body } });
  const ssh = await rule({ protocol: 'tcp', port_range_min: 22, port_range_max: 22, remote_ip_prefix: '10.0.0.1/8' });
  assert.equal(ssh.status, 201);
  // The prefix as given; its network as normalized_cidr (duplicates compare that).
  assert.equal(ssh.body.security_group_rule.remote_ip_prefix, '10.0.0.1/8');
  assert.equal(ssh.body.security_group_rule.normalized_cidr, '10.0.0.0/8');
  assert.equal(ssh.body.security_group_rule.ethertype, 'IPv4');
  const dup = await rule({ protocol: 'tcp', port_range_min: 22, port_range_max: 22, remote_ip_prefix: '10.0.0.0/8' });
  fault(dup, 409, 'SecurityGroupRuleExists');
  assert.match(dup.body.NeutronError.message, new RegExp(ssh.body.security_group_rule.id));
  fault(await rule({ protocol: 'bogus' }), 400, 'HTTPBadRequest');
  fault(await rule({ protocol: 'tcp', port_range_min: 90, port_range_max: 80 }), 400, 'HTTPBadRequest');
  fault(await rule({ port_range_min: 80, port_range_max: 80 }), 400, 'HTTPBadRequest');
  fault(await rule({ protocol: 'icmp', port_range_min: 300 }), 400, 'HTTPBadRequest');
  fault(await rule({ protocol: 'tcp', remote_ip_prefix: 'fd00::/64' }), 400, 'HTTPBadRequest');
  fault(await rule({ direction: 'sideways' }), 400, 'HTTPBadRequest');
  fault(await rule({ remote_group_id: g.id, remote_ip_prefix: '10.0.0.0/8' }), 400, 'HTTPBadRequest');
  fault(await rule({ remote_group_id: '3f1c6a0e-0000-4000-8000-000000000000' }), 404, 'SecurityGroupNotFound');
  const icmp = await rule({ protocol: 'icmp', port_range_min: 8, port_range_max: 0, ethertype: 'IPv4' });
  assert.equal(icmp.status, 201);
  const num = await rule({ protocol: '17', port_range_min: 53, port_range_max: 53 });
  assert.equal(num.body.security_group_rule.protocol, '17');
  const listed = await cloud.api.call('demo', 'GET', `/security-group-rules?security_group_id=${g.id}&direction=ingress`);
  assert.equal(listed.body.security_group_rules.length, 3);
  fault(await cloud.api.call('alt_demo', 'POST', '/security-group-rules', { security_group_rule: { security_group_id: g.id, direction: 'ingress' } }), 404, 'SecurityGroupNotFound');
  const port = (await cloud.api.call('demo', 'POST', '/ports', { port: { network_id: (await cloud.api.call('demo', 'GET', '/networks?name=private')).body.networks[0].id, security_groups: [g.id] } })).body.port;
  assert.deepEqual(port.security_groups, [g.id]);
  fault(await cloud.api.call('demo', 'DELETE', `/security-groups/${g.id}`), 409, 'SecurityGroupInUse');
  assert.equal((await cloud.api.call('demo', 'DELETE', `/ports/${port.id}`)).status, 204);
  assert.equal((await cloud.api.call('demo', 'DELETE', `/security-group-rules/${ssh.body.security_group_rule.id}`)).status, 204);
  fault(await cloud.api.call('demo', 'DELETE', `/security-group-rules/${ssh.body.security_group_rule.id}`), 404, 'SecurityGroupRuleNotFound');
  assert.equal((await cloud.api.call('demo', 'DELETE', `/security-groups/${g.id}`)).status, 204);
  assert.equal((await cloud.api.call('demo', 'GET', `/security-group-rules?security_group_id=${g.id}`)).body.security_group_rules.length, 0);
});

test('routers and floating IPs: gateway, interfaces, association through the router, in-use faults', async () => {
  const pub = (await cloud.api.call('alt_demo', 'GET', '/networks?name=public')).body.networks[0];
  const net = (await cloud.api.call('alt_demo', 'POST', '/networks', { network: { name: 'l3net' } })).body.network;
  const sub = (await cloud.api.call('alt_demo', 'POST', '/subnets', { subnet: { network_id: net.id, cidr: '192.168.70.0/24', ip_version: 4 } })).body.subnet;
  const port = (await cloud.api.call('alt_demo', 'POST', '/ports', { port: { network_id: net.id } })).body.port;
  const fip = (await cloud.api.call('alt_demo', 'POST', '/floatingips', { floatingip: { floating_network_id: pub.id } })).body.floatingip;
  assert.equal(fip.status, 'DOWN');
  assert.match(fip.floating_ip_address, /^172\.24\.4\./);
  // No router joins the subnet to public yet.
  fault(await cloud.api.call('alt_demo', 'PUT', `/floatingips/${fip.id}`, { floatingip: { port_id: port.id } }), 404, 'ExternalGatewayForFloatingIPNotFound');
  fault(await cloud.api.call('alt_demo', 'POST', '/routers', { router: { name: 'r', external_gateway_info: { network_id: net.id } } }), 400, 'BadRequest');
  fault(await cloud.api.call('alt_demo', 'POST', '/routers', { router: { name: 'r', external_gateway_info: { network_id: pub.id, enable_snat: false } } }), 403, 'PolicyNotAuthorized');
  const router = (await cloud.api.call('alt_demo', 'POST', '/routers', { router: { name: 'r1', external_gateway_info: { network_id: pub.id } } })).body.router;
  assert.equal(router.external_gateway_info.network_id, pub.id);
  assert.equal(router.external_gateway_info.enable_snat, true);
  assert.equal(router.external_gateway_info.external_fixed_ips.length, 2);
  const add = await cloud.api.call('alt_demo', 'PUT', `/routers/${router.id}/add_router_interface`, { subnet_id: sub.id });
  assert.equal(add.status, 200);
  assert.equal(add.body.subnet_id, sub.id);
  assert.equal(add.body.network_id, net.id);
  const iface = (await cloud.api.call('alt_demo', 'GET', `/ports/${add.body.port_id}`)).body.port;
  assert.equal(iface.device_owner, 'network:router_interface');
  assert.equal(iface.fixed_ips[0].ip_address, '192.168.70.1');
  fault(await cloud.api.call('alt_demo', 'PUT', `/routers/${router.id}/add_router_interface`, { subnet_id: sub.id }), 400, 'BadRequest');
  fault(await cloud.api.call('alt_demo', 'PUT', `/routers/${router.id}/add_router_interface`, {}), 400, 'HTTPBadRequest');
  fault(await cloud.api.call('alt_demo', 'DELETE', `/ports/${iface.id}`), 409, 'L3PortInUse');
  const assoc = await cloud.api.call('alt_demo', 'PUT', `/floatingips/${fip.id}`, { floatingip: { port_id: port.id } });
  assert.equal(assoc.status, 200, JSON.stringify(assoc.body));
  assert.equal(assoc.body.floatingip.status, 'ACTIVE');
  assert.equal(assoc.body.floatingip.router_id, router.id);
  assert.equal(assoc.body.floatingip.fixed_ip_address, port.fixed_ips[0].ip_address);
  assert.equal(assoc.body.floatingip.port_details.network_id, net.id);
  const fip2 = (await cloud.api.call('alt_demo', 'POST', '/floatingips', { floatingip: { floating_network_id: pub.id } })).body.floatingip;
  fault(await cloud.api.call('alt_demo', 'PUT', `/floatingips/${fip2.id}`, { floatingip: { port_id: port.id } }), 409, 'FloatingIPPortAlreadyAssociated');
  fault(await cloud.api.call('alt_demo', 'POST', '/floatingips', { floatingip: { floating_network_id: pub.id, floating_ip_address: '172.24.4.200' } }), 403, 'PolicyNotAuthorized');
  fault(await cloud.api.call('alt_demo', 'POST', '/floatingips', { floatingip: { floating_network_id: net.id } }), 400, 'BadRequest');
  assert.equal((await cloud.api.call('alt_demo', 'GET', `/floatingips?port_id=${port.id}`)).body.floatingips.length, 1);
  fault(await cloud.api.call('alt_demo', 'PUT', `/routers/${router.id}/remove_router_interface`, { subnet_id: sub.id }), 409, 'RouterInterfaceInUseByFloatingIP');
  fault(await cloud.api.call('alt_demo', 'PUT', `/routers/${router.id}`, { router: { external_gateway_info: {} } }), 409, 'RouterExternalGatewayInUseByFloatingIp');
  fault(await cloud.api.call('alt_demo', 'DELETE', `/routers/${router.id}`), 409, 'RouterInUse');
  fault(await cloud.api.call('demo', 'GET', `/floatingips/${fip.id}`), 404, 'FloatingIPNotFound');
  // Deleting the port disassociates its floating IP.
  assert.equal((await cloud.api.call('alt_demo', 'DELETE', `/ports/${port.id}`)).status, 204);
  const after1 = (await cloud.api.call('alt_demo', 'GET', `/floatingips/${fip.id}`)).body.floatingip;
  assert.equal(after1.port_id, null);
  assert.equal(after1.status, 'DOWN');
  for (const f of [fip, fip2]) assert.equal((await cloud.api.call('alt_demo', 'DELETE', `/floatingips/${f.id}`)).status, 204);
  const rm = await cloud.api.call('alt_demo', 'PUT', `/routers/${router.id}/remove_router_interface`, { subnet_id: sub.id });
  assert.equal(rm.body.port_id, iface.id);
  fault(await cloud.api.call('alt_demo', 'PUT', `/routers/${router.id}/remove_router_interface`, { subnet_id: sub.id }), 404, 'RouterInterfaceNotFoundForSubnet');
  assert.equal((await cloud.api.call('alt_demo', 'DELETE', `/routers/${router.id}`)).status, 204);
  const left = (await cloud.api.call('admin', 'GET', `/ports?device_id=${router.id}`)).body.ports;
  assert.equal(left.length, 0, 'the gateway port goes with the router');
  assert.equal((await cloud.api.call('alt_demo', 'DELETE', `/networks/${net.id}`)).status, 204);
});

test('quotas: defaults, per-project limits enforced with OverQuota, details, admin-only changes', async () => {
  const alt = cloud.api.nb.projectId('alt_demo');
  const q = await cloud.api.call('alt_demo', 'GET', `/quotas/${alt}`);
  assert.equal(q.body.quota.network, 100);
  fault(await cloud.api.call('alt_demo', 'PUT', `/quotas/${alt}`, { quota: { network: 1 } }), 403, 'PolicyNotAuthorized');
  fault(await cloud.api.call('alt_demo', 'GET', `/quotas/${cloud.api.nb.projectId('demo')}`), 403, 'PolicyNotAuthorized');
  const set = await cloud.api.call('admin', 'PUT', `/quotas/${alt}`, { quota: { network: 1 } });
  assert.equal(set.body.quota.network, 1);
  fault(await cloud.api.call('admin', 'PUT', `/quotas/${alt}`, { quota: { network: 'lots' } }), 400, 'HTTPBadRequest');
  const one = await cloud.api.call('alt_demo', 'POST', '/networks', { network: { name: 'q1' } });
  assert.equal(one.status, 201);
  fault(await cloud.api.call('alt_demo', 'POST', '/networks', { network: { name: 'q2' } }), 409, 'OverQuota');
  const det = await cloud.api.call('alt_demo', 'GET', `/quotas/${alt}/details.json`);
  assert.deepEqual(det.body.quota.network, { limit: 1, used: 1, reserved: 0 });
  assert.ok((await cloud.api.call('admin', 'GET', '/quotas')).body.quotas.some((x: any) => x.project_id === alt));
  assert.equal((await cloud.api.call('admin', 'DELETE', `/quotas/${alt}`)).status, 204);
  assert.equal((await cloud.api.call('alt_demo', 'POST', '/networks', { network: { name: 'q2' } })).status, 201);
  for (const n of (await cloud.api.call('alt_demo', 'GET', '/networks?name=q1&name=q2')).body.networks) await cloud.api.call('alt_demo', 'DELETE', `/networks/${n.id}`);
});

test('network IP availability is admin-only and counts allocations', async () => {
  fault(await cloud.api.call('demo', 'GET', '/network-ip-availabilities'), 403, 'PolicyNotAuthorized');
  const priv = (await cloud.api.call('demo', 'GET', '/networks?name=private')).body.networks[0];
  const before1 = (await cloud.api.call('admin', 'GET', `/network-ip-availabilities/${priv.id}`)).body.network_ip_availability;
  const port = (await cloud.api.call('demo', 'POST', '/ports', { port: { network_id: priv.id } })).body.port;
  const after1 = (await cloud.api.call('admin', 'GET', `/network-ip-availabilities/${priv.id}`)).body.network_ip_availability;
  assert.equal(after1.used_ips, before1.used_ips + 2);
  assert.equal(after1.subnet_ip_availability.find((s: any) => s.ip_version === 4).total_ips, 65533);
  await cloud.api.call('demo', 'DELETE', `/ports/${port.id}`);
  fault(await cloud.api.call('admin', 'GET', '/network-ip-availabilities/3f1c6a0e-0000-4000-8000-000000000000'), 404, 'NetworkNotFound');
});

test('auto-allocated topology: made once per project, dry-run, torn down', async () => {
  const alt = cloud.api.nb.projectId('alt_demo');
  const dry = await cloud.api.call('alt_demo', 'GET', `/auto-allocated-topology/${alt}?fields=dry-run`);
  assert.deepEqual(dry.body.auto_allocated_topology, { id: 'dry-run=pass', tenant_id: alt, project_id: alt });
  fault(await cloud.api.call('alt_demo', 'GET', `/auto-allocated-topology/${alt}?fields=id`), 400, 'BadRequest');
  // Nothing to tear down yet: Neutron answers 204 all the same.
  assert.equal((await cloud.api.call('alt_demo', 'DELETE', `/auto-allocated-topology/${alt}`)).status, 204);
  const first = await cloud.api.call('alt_demo', 'GET', `/auto-allocated-topology/${alt}`);
  assert.equal(first.status, 200, JSON.stringify(first.body));
  assert.equal(first.body.auto_allocated_topology.project_id, alt);
  // 'None' is the caller's own project.
  const again = await cloud.api.call('alt_demo', 'GET', '/auto-allocated-topology/None');
  assert.equal(again.body.auto_allocated_topology.id, first.body.auto_allocated_topology.id);
  const net = (await cloud.api.call('alt_demo', 'GET', `/networks/${first.body.auto_allocated_topology.id}`)).body.network;
  assert.deepEqual([net.name, net.shared, net.admin_state_up, net.subnets.length], ['auto_allocated_network', false, true, 1]);
  const routers = (await cloud.api.call('alt_demo', 'GET', '/routers?name=auto_allocated_router')).body.routers;
  assert.equal(routers.length, 1);
  const pub = (await cloud.api.call('admin', 'GET', '/networks?name=public')).body.networks[0];
  assert.equal(routers[0].external_gateway_info.network_id, pub.id);
  fault(await cloud.api.call('alt_demo', 'GET', `/auto-allocated-topology/${cloud.api.nb.projectId('demo')}`), 403, 'PolicyNotAuthorized');
  assert.equal((await cloud.api.call('alt_demo', 'DELETE', `/auto-allocated-topology/${alt}`)).status, 204);
  fault(await cloud.api.call('alt_demo', 'GET', `/networks/${net.id}`), 404, 'NetworkNotFound');
  assert.equal((await cloud.api.call('alt_demo', 'GET', '/routers?name=auto_allocated_router')).body.routers.length, 0);
  // Without a default external network: Neutron's AutoAllocationFailure (409), dry-run or not, and nothing made.
  assert.equal((await cloud.api.call('admin', 'PUT', `/networks/${pub.id}`, { network: { is_default: false } })).status, 200);
  try {
    for (const q of ['?fields=dry-run', '']) {
      const r = await cloud.api.call('alt_demo', 'GET', `/auto-allocated-topology/${alt}${q}`);
      fault(r, 409, 'AutoAllocationFailure');
      assert.equal(r.body.NeutronError.message, 'Deployment error: No default router:external network.');
    }
    assert.equal((await cloud.api.call('alt_demo', 'GET', '/networks?name=auto_allocated_network')).body.networks.length, 0);
  } finally {
    await cloud.api.call('admin', 'PUT', `/networks/${pub.id}`, { network: { is_default: true } });
  }
});
