// Networking API: the endpoint, the seeded devstack topology, and networks, subnets and ports
// through the generic controller (filters, fields, sorting, paging, tags, If-Match, policy, faults).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fault, useNetApi } from './helpers.ts';

const cloud = useNetApi();

test('the version document needs no token; v2.0 needs one and answers keystonemiddleware 401', async () => {
  const v = await cloud.api.nb.app.inject({ method: 'GET', url: '/networking' });
  assert.equal(v.statusCode, 200);
  assert.equal(v.json().versions[0].id, 'v2.0');
  assert.match(v.json().versions[0].links[0].href, /\/networking\/v2\.0\/$/);
  const anon = await cloud.api.nb.app.inject({ method: 'GET', url: '/networking/v2.0/networks' });
  assert.equal(anon.statusCode, 401);
  assert.equal(anon.json().error.code, 401);
});

test('the catalog has a network endpoint at /networking', async () => {
  const res = await cloud.api.nb.app.inject({ method: 'POST', url: '/identity/v3/auth/tokens', payload: { auth: { identity: { methods: ['password'], password: { user: { name: 'demo', domain: { name: 'Default' }, password: 'secret' } } }, scope: { project: { name: 'demo', domain: { name: 'Default' } } } } } });
  const net = res.json().token.catalog.find((s: any) => s.type === 'network');
  assert.ok(net);
  assert.match(net.endpoints[0].url, /\/networking$/);
});

test('extensions list what is served, and one can be shown by alias', async () => {
  const r = await cloud.api.call('demo', 'GET', '/extensions');
  const aliases = r.body.extensions.map((e: any) => e.alias);
  for (const a of ['router', 'security-group', 'external-net', 'binding', 'quotas', 'standard-attr-tag', 'revision-if-match', 'auto-allocated-topology']) assert.ok(aliases.includes(a), a);
  assert.ok(aliases.includes('trunk'));
  assert.ok(!aliases.includes('qos'));
  assert.equal((await cloud.api.call('demo', 'GET', '/extensions/router')).body.extension.alias, 'router');
  fault(await cloud.api.call('demo', 'GET', '/extensions/qos'), 404, 'HTTPNotFound');
});

test('seeded as devstack: external default public, demo-owned unshared private with IPv4 and SLAAC IPv6, router1 between them', async () => {
  // Another project sees only the external network; the demo project sees its own private too.
  assert.deepEqual((await cloud.api.call('alt_demo', 'GET', '/networks?sort_key=name')).body.networks.map((n: any) => n.name), ['public']);
  const nets = (await cloud.api.call('demo', 'GET', '/networks?sort_key=name')).body.networks;
  assert.deepEqual(nets.map((n: any) => n.name), ['private', 'public']);
  const [priv, pub] = nets;
  assert.deepEqual([pub['router:external'], pub.shared, pub.is_default], [true, false, true]);
  assert.deepEqual([priv['router:external'], priv.shared], [false, false]);
  assert.equal(priv.project_id, cloud.api.nb.projectId('demo'));
  assert.equal(pub.project_id, cloud.api.nb.projectId('admin'));
  fault(await cloud.api.call('alt_demo', 'GET', `/networks/${priv.id}`), 404, 'NetworkNotFound');
  const subs = (await cloud.api.call('demo', 'GET', `/subnets?network_id=${priv.id}`)).body.subnets;
  assert.deepEqual(subs.map((s: any) => [s.name, s.ip_version]).sort(), [['ipv6-private-subnet', 6], ['private-subnet', 4]]);
  assert.equal(subs.find((s: any) => s.ip_version === 6).ipv6_address_mode, 'slaac');
  const routers = (await cloud.api.call('demo', 'GET', '/routers')).body.routers;
  assert.equal(routers.length, 1);
  assert.equal(routers[0].name, 'router1');
  assert.equal(routers[0].external_gateway_info.network_id, pub.id);
  assert.equal((await cloud.api.call('alt_demo', 'GET', '/routers')).body.routers.length, 0);
  const ifaces = (await cloud.api.call('demo', 'GET', `/ports?device_id=${routers[0].id}&device_owner=network:router_interface`)).body.ports;
  assert.equal(ifaces.length, 2);
});

test('networks: create with defaults, filters, fields, sorting, paging with links, page_reverse', async () => {
  const ids: string[] = [];
  for (const name of ['pg-c', 'pg-a', 'pg-b']) {
    const r = await cloud.api.call('alt_demo', 'POST', '/networks', { network: { name, description: `net ${name}` } });
    assert.equal(r.status, 201);
    assert.equal(r.body.network.status, 'ACTIVE');
    assert.equal(r.body.network.shared, false);
    assert.equal(r.body.network.revision_number, 0);
    assert.deepEqual(r.body.network.subnets, []);
    assert.ok(!('provider:network_type' in r.body.network), 'provider attributes are admin-only');
    ids.push(r.body.network.id);
  }
  const byName = await cloud.api.call('alt_demo', 'GET', '/networks?name=pg-a&name=pg-b&fields=name&fields=id');
  assert.deepEqual(byName.body.networks.map((n: any) => Object.keys(n).sort()), [['id', 'name'], ['id', 'name']]);
  const shared = await cloud.api.call('alt_demo', 'GET', '/networks?shared=false&sort_key=name&name=pg-a&name=public');
  assert.deepEqual(shared.body.networks.map((n: any) => n.name), ['pg-a', 'public']);
  assert.deepEqual((await cloud.api.call('alt_demo', 'GET', '/networks?shared=true')).body.networks, []);
  const sorted = await cloud.api.call('alt_demo', 'GET', '/networks?sort_key=name&sort_dir=desc&description=net%20pg-a&description=net%20pg-b&description=net%20pg-c');
  assert.deepEqual(sorted.body.networks.map((n: any) => n.name), ['pg-c', 'pg-b', 'pg-a']);
  const page1 = await cloud.api.call('alt_demo', 'GET', '/networks?sort_key=name&sort_dir=asc&limit=2&name=pg-a&name=pg-b&name=pg-c');
  assert.deepEqual(page1.body.networks.map((n: any) => n.name), ['pg-a', 'pg-b']);
  const next = page1.body.networks_links.find((l: any) => l.rel === 'next');
  assert.ok(next);
  const page2 = await cloud.api.call('alt_demo', 'GET', next.href.replace(/^.*\/v2\.0/, ''));
  assert.deepEqual(page2.body.networks.map((n: any) => n.name), ['pg-c']);
  assert.ok(page2.body.networks_links.some((l: any) => l.rel === 'previous'));
  assert.ok(!page2.body.networks_links.some((l: any) => l.rel === 'next'));
  const back = await cloud.api.call('alt_demo', 'GET', `/networks?sort_key=name&limit=1&name=pg-a&name=pg-b&name=pg-c&marker=${page2.body.networks[0].id}&page_reverse=True`);
  assert.deepEqual(back.body.networks.map((n: any) => n.name), ['pg-b']);
  fault(await cloud.api.call('alt_demo', 'GET', '/networks?sort_key=bogus'), 400, 'HTTPBadRequest');
  fault(await cloud.api.call('alt_demo', 'GET', '/networks?bogus=1'), 400, 'HTTPBadRequest');
  fault(await cloud.api.call('alt_demo', 'GET', '/networks?limit=x'), 400, 'HTTPBadRequest');
  for (const id of ids) assert.equal((await cloud.api.call('alt_demo', 'DELETE', `/networks/${id}`)).status, 204);
});

test('networks: admin-only attributes, other projects, unknown and read-only attributes', async () => {
  fault(await cloud.api.call('demo', 'POST', '/networks', { network: { name: 'x', shared: true } }), 403, 'PolicyNotAuthorized');
  fault(await cloud.api.call('demo', 'POST', '/networks', { network: { name: 'x', 'provider:network_type': 'vlan' } }), 403, 'PolicyNotAuthorized');
  fault(await cloud.api.call('demo', 'POST', '/networks', { network: { name: 'x', project_id: cloud.api.nb.projectId('alt_demo') } }), 400, 'HTTPBadRequest');
  fault(await cloud.api.call('demo', 'POST', '/networks', { network: { name: 'x', bogus: 1 } }), 400, 'HTTPBadRequest');
  fault(await cloud.api.call('demo', 'POST', '/networks', { network: { name: 'x', status: 'DOWN' } }), 400, 'HTTPBadRequest');
  fault(await cloud.api.call('demo', 'POST', '/networks', { network: { admin_state_up: 'maybe' } }), 400, 'HTTPBadRequest');
  fault(await cloud.api.call('demo', 'POST', '/networks', { netwerk: {} }), 400, 'HTTPBadRequest');
  const bad = await cloud.api.nb.app.inject({ method: 'POST', url: '/networking/v2.0/networks', headers: { ...(await cloud.api.nb.headers('demo')), 'content-type': 'application/json' }, payload: '{bad' });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().NeutronError.type, 'HTTPBadRequest');

  const adm = await cloud.api.call('admin', 'POST', '/networks', { network: { name: 'provider-net', shared: true, 'provider:network_type': 'vlan', 'provider:physical_network': 'physnet1', 'provider:segmentation_id': 101, project_id: cloud.api.nb.projectId('alt_demo') } });
  assert.equal(adm.status, 201);
  assert.equal(adm.body.network['provider:segmentation_id'], 101);
  assert.equal(adm.body.network.project_id, cloud.api.nb.projectId('alt_demo'));
  const seen = await cloud.api.call('alt_demo', 'GET', `/networks/${adm.body.network.id}`);
  assert.equal(seen.status, 200);
  assert.ok(!('provider:physical_network' in seen.body.network));
  // Owned by alt_demo but shared: demo sees it, cannot change it.
  fault(await cloud.api.call('demo', 'PUT', `/networks/${adm.body.network.id}`, { network: { name: 'mine' } }), 403, 'PolicyNotAuthorized');
  fault(await cloud.api.call('alt_demo', 'PUT', `/networks/${adm.body.network.id}`, { network: { shared: false } }), 403, 'PolicyNotAuthorized');
  const mine = await cloud.api.call('alt_demo', 'POST', '/networks', { network: { name: 'alt-only' } });
  fault(await cloud.api.call('demo', 'GET', `/networks/${mine.body.network.id}`), 404, 'NetworkNotFound');
  fault(await cloud.api.call('demo', 'DELETE', `/networks/${mine.body.network.id}`), 404, 'NetworkNotFound');
  assert.equal((await cloud.api.call('admin', 'DELETE', `/networks/${adm.body.network.id}`)).status, 204);
  assert.equal((await cloud.api.call('alt_demo', 'DELETE', `/networks/${mine.body.network.id}`)).status, 204);
  fault(await cloud.api.call('alt_demo', 'GET', `/networks/${mine.body.network.id}`), 404, 'NetworkNotFound');
});

test('standard attributes: revision bumps, If-Match, tags on create and through /tags', async () => {
  const made = await cloud.api.call('demo', 'POST', '/networks', { network: { name: 'tagged', tags: ['red', 'blue'] } });
  const id = made.body.network.id;
  assert.deepEqual(made.body.network.tags.sort(), ['blue', 'red']);
  const upd = await cloud.api.call('demo', 'PUT', `/networks/${id}`, { network: { name: 'tagged2', mtu: 1400 } }, { 'if-match': 'revision_number=0' });
  assert.equal(upd.status, 200);
  assert.equal(upd.body.network.revision_number, 1);
  assert.equal(upd.body.network.mtu, 1400);
  fault(await cloud.api.call('demo', 'PUT', `/networks/${id}`, { network: { name: 'late' } }, { 'if-match': 'revision_number=0' }), 412, 'RevisionNumberConstraintFailed');
  assert.equal((await cloud.api.call('demo', 'PUT', `/networks/${id}/tags/green`)).status, 201);
  assert.deepEqual((await cloud.api.call('demo', 'GET', `/networks/${id}/tags`)).body.tags, ['blue', 'green', 'red']);
  assert.equal((await cloud.api.call('demo', 'GET', `/networks/${id}/tags/green`)).status, 204);
  fault(await cloud.api.call('demo', 'GET', `/networks/${id}/tags/none`), 404, 'TagNotFound');
  assert.deepEqual((await cloud.api.call('demo', 'GET', '/networks?tags=red,green&fields=id')).body.networks, [{ id }]);
  assert.deepEqual((await cloud.api.call('demo', 'GET', '/networks?tags-any=green&fields=id')).body.networks, [{ id }]);
  assert.ok(!(await cloud.api.call('demo', 'GET', '/networks?not-tags-any=red&fields=id')).body.networks.some((n: any) => n.id === id));
  assert.deepEqual((await cloud.api.call('demo', 'PUT', `/networks/${id}/tags`, { tags: ['one'] })).body.tags, ['one']);
  assert.equal((await cloud.api.call('demo', 'DELETE', `/networks/${id}/tags/one`)).status, 204);
  assert.deepEqual((await cloud.api.call('demo', 'GET', `/networks/${id}`)).body.network.tags, []);
  assert.ok((await cloud.api.call('demo', 'GET', `/networks/${id}`)).body.network.revision_number > 1);
  fault(await cloud.api.call('alt_demo', 'PUT', `/networks/${id}/tags/x`), 404, 'NetworkNotFound');
  assert.equal((await cloud.api.call('demo', 'DELETE', `/networks/${id}`)).status, 204);
});

test('subnets: default gateway and pools, overlaps, host bits, pools outside the CIDR, in-use delete', async () => {
  const net = (await cloud.api.call('demo', 'POST', '/networks', { network: { name: 'sn' } })).body.network;
  const s = await cloud.api.call('demo', 'POST', '/subnets', { subnet: { network_id: net.id, cidr: '192.168.50.0/24', ip_version: 4, dns_nameservers: ['8.8.8.8'], host_routes: [{ destination: '10.9.0.0/16', nexthop: '192.168.50.254' }] } });
  assert.equal(s.status, 201);
  assert.equal(s.body.subnet.gateway_ip, '192.168.50.1');
  assert.deepEqual(s.body.subnet.allocation_pools, [{ start: '192.168.50.2', end: '192.168.50.254' }]);
  assert.equal(s.body.subnet.enable_dhcp, true);
  assert.deepEqual((await cloud.api.call('demo', 'GET', `/networks/${net.id}`)).body.network.subnets, [s.body.subnet.id]);
  const overlap = await cloud.api.call('demo', 'POST', '/subnets', { subnet: { network_id: net.id, cidr: '192.168.50.128/25', ip_version: 4 } });
  fault(overlap, 400, 'InvalidInput');
  assert.match(overlap.body.NeutronError.message, /overlaps with another subnet/);
  fault(await cloud.api.call('demo', 'POST', '/subnets', { subnet: { network_id: net.id, cidr: '192.168.51.5/24', ip_version: 4 } }), 400, 'HTTPBadRequest');
  fault(await cloud.api.call('demo', 'POST', '/subnets', { subnet: { network_id: net.id, cidr: '192.168.52.0/24', ip_version: 4, allocation_pools: [{ start: '192.168.53.1', end: '192.168.53.9' }] } }), 400, 'OutOfBoundsAllocationPool');
  fault(await cloud.api.call('demo', 'POST', '/subnets', { subnet: { network_id: net.id, cidr: '192.168.52.0/24', ip_version: 6 } }), 400, 'InvalidInput');
  fault(await cloud.api.call('demo', 'POST', '/subnets', { subnet: { network_id: net.id, cidr: '192.168.52.0/24' } }), 400, 'HTTPBadRequest');
  fault(await cloud.api.call('demo', 'POST', '/subnets', { subnet: { network_id: net.id, cidr: 'nonsense', ip_version: 4 } }), 400, 'HTTPBadRequest');
  fault(await cloud.api.call('demo', 'POST', '/subnets', { subnet: { network_id: '3f1c6a0e-0000-4000-8000-000000000000', cidr: '192.168.52.0/24', ip_version: 4 } }), 404, 'NetworkNotFound');
  fault(await cloud.api.call('alt_demo', 'POST', '/subnets', { subnet: { network_id: net.id, cidr: '192.168.52.0/24', ip_version: 4 } }), 404, 'NetworkNotFound');
  const v6 = await cloud.api.call('demo', 'POST', '/subnets', { subnet: { network_id: net.id, cidr: 'fd00:abcd::/64', ip_version: 6, gateway_ip: null } });
  assert.equal(v6.status, 201);
  assert.equal(v6.body.subnet.gateway_ip, null);
  assert.equal(v6.body.subnet.allocation_pools[0].start, 'fd00:abcd::1');
  const upd = await cloud.api.call('demo', 'PUT', `/subnets/${s.body.subnet.id}`, { subnet: { name: 'renamed', dns_nameservers: [] } });
  assert.equal(upd.body.subnet.name, 'renamed');
  fault(await cloud.api.call('demo', 'PUT', `/subnets/${s.body.subnet.id}`, { subnet: { cidr: '10.0.0.0/8' } }), 400, 'HTTPBadRequest');
  const port = await cloud.api.call('demo', 'POST', '/ports', { port: { network_id: net.id } });
  fault(await cloud.api.call('demo', 'DELETE', `/subnets/${s.body.subnet.id}`), 409, 'SubnetInUse');
  fault(await cloud.api.call('demo', 'DELETE', `/networks/${net.id}`), 409, 'NetworkInUse');
  assert.equal((await cloud.api.call('demo', 'DELETE', `/ports/${port.body.port.id}`)).status, 204);
  assert.equal((await cloud.api.call('demo', 'DELETE', `/subnets/${s.body.subnet.id}`)).status, 204);
  assert.equal((await cloud.api.call('demo', 'DELETE', `/networks/${net.id}`)).status, 204);
  fault(await cloud.api.call('demo', 'GET', `/subnets/${v6.body.subnet.id}`), 404, 'SubnetNotFound');
});

test('ports: addresses without collisions, exhaustion, MACs, SLAAC, binding and status, filters', async () => {
  const net = (await cloud.api.call('demo', 'POST', '/networks', { network: { name: 'pn' } })).body.network;
  const sub = (await cloud.api.call('demo', 'POST', '/subnets', { subnet: { network_id: net.id, cidr: '192.168.60.0/29', ip_version: 4 } })).body.subnet;
  const slaac = (await cloud.api.call('demo', 'POST', '/subnets', { subnet: { network_id: net.id, cidr: 'fd00:60::/64', ip_version: 6, ipv6_ra_mode: 'slaac', ipv6_address_mode: 'slaac' } })).body.subnet;
  const a = (await cloud.api.call('demo', 'POST', '/ports', { port: { network_id: net.id, name: 'a' } })).body.port;
  assert.equal(a.status, 'DOWN');
  assert.match(a.mac_address, /^fa:16:3e(:[0-9a-f]{2}){3}$/);
  assert.deepEqual(a.fixed_ips.map((f: any) => f.subnet_id).sort(), [sub.id, slaac.id].sort());
  assert.equal(a.fixed_ips.find((f: any) => f.subnet_id === sub.id).ip_address, '192.168.60.2');
  const eui = a.mac_address.split(':');
  assert.ok(a.fixed_ips.find((f: any) => f.subnet_id === slaac.id).ip_address.endsWith(`${eui[4]}${eui[5]}`.replace(/^0+/, '')), 'SLAAC address from the MAC');
  assert.ok(!('binding:host_id' in a));
  assert.deepEqual(a.security_groups.length, 1);
  fault(await cloud.api.call('demo', 'POST', '/ports', { port: { network_id: net.id, fixed_ips: [{ ip_address: '192.168.60.2' }] } }), 409, 'IpAddressInUse');
  fault(await cloud.api.call('demo', 'POST', '/ports', { port: { network_id: net.id, fixed_ips: [{ ip_address: '192.168.61.2' }] } }), 400, 'InvalidInput');
  fault(await cloud.api.call('demo', 'POST', '/ports', { port: { network_id: net.id, mac_address: a.mac_address } }), 409, 'MacAddressInUse');
  fault(await cloud.api.call('demo', 'POST', '/ports', { port: { network_id: net.id, 'binding:host_id': 'compute-0' } }), 403, 'PolicyNotAuthorized');
  const made: string[] = [a.id];
  for (let i = 0; i < 4; i++) made.push((await cloud.api.call('demo', 'POST', '/ports', { port: { network_id: net.id, fixed_ips: [{ subnet_id: sub.id }] } })).body.port.id);
  // A /29 has 5 usable addresses past the gateway: .2–.6; the next request finds none.
  fault(await cloud.api.call('demo', 'POST', '/ports', { port: { network_id: net.id, fixed_ips: [{ subnet_id: sub.id }] } }), 409, 'IpAddressGenerationFailure');
  const byIp = await cloud.api.call('demo', 'GET', '/ports?fixed_ips=ip_address%3D192.168.60.3');
  assert.equal(byIp.body.ports.length, 1);
  assert.equal((await cloud.api.call('demo', 'GET', `/ports?network_id=${net.id}&name=a`)).body.ports.length, 1);
  const bound = await cloud.api.call('admin', 'PUT', `/ports/${a.id}`, { port: { 'binding:host_id': 'compute-0', device_id: 'dev-1', device_owner: 'compute:nova' } });
  assert.equal(bound.body.port.status, 'ACTIVE');
  assert.equal(bound.body.port['binding:host_id'], 'compute-0');
  assert.equal(bound.body.port['binding:vif_type'], 'ovs');
  fault(await cloud.api.call('admin', 'PUT', `/ports/${a.id}`, { port: { mac_address: 'fa:16:3e:00:00:01' } }), 409, 'PortBound');
  // Moving an address: release one and take another in one update.
  const moved = await cloud.api.call('demo', 'PUT', `/ports/${made[1]}`, { port: { fixed_ips: [{ subnet_id: sub.id, ip_address: '192.168.60.3' }] } });
  assert.equal(moved.status, 200, JSON.stringify(moved.body));
  fault(await cloud.api.call('demo', 'PUT', `/ports/${made[1]}`, { port: { port_security_enabled: false } }), 409, 'PortSecurityPortHasSecurityGroup');
  const open = await cloud.api.call('demo', 'PUT', `/ports/${made[1]}`, { port: { port_security_enabled: false, security_groups: [] } });
  assert.equal(open.body.port.port_security_enabled, false);
  fault(await cloud.api.call('demo', 'PUT', `/ports/${made[1]}`, { port: { allowed_address_pairs: [{ ip_address: '10.1.1.1' }] } }), 409, 'AddressPairAndPortSecurityRequired');
  fault(await cloud.api.call('alt_demo', 'GET', `/ports/${a.id}`), 404, 'PortNotFound');
  for (const id of made) assert.equal((await cloud.api.call('demo', 'DELETE', `/ports/${id}`)).status, 204);
  const again = await cloud.api.call('demo', 'POST', '/ports', { port: { network_id: net.id, fixed_ips: [{ ip_address: '192.168.60.2' }] } });
  assert.equal(again.status, 201, 'a deleted port frees its address');
  await cloud.api.call('demo', 'DELETE', `/ports/${again.body.port.id}`);
  assert.equal((await cloud.api.call('demo', 'DELETE', `/networks/${net.id}`)).status, 204);
});

test('bulk create makes every item or none', async () => {
  const r = await cloud.api.call('demo', 'POST', '/networks', { networks: [{ name: 'bulk-1' }, { name: 'bulk-2' }] });
  assert.equal(r.status, 201);
  assert.deepEqual(r.body.networks.map((n: any) => n.name), ['bulk-1', 'bulk-2']);
  const bad = await cloud.api.call('demo', 'POST', '/networks', { networks: [{ name: 'bulk-3' }, { name: 'bulk-4', shared: true }] });
  assert.equal(bad.status, 403);
  assert.equal((await cloud.api.call('demo', 'GET', '/networks?name=bulk-3')).body.networks.length, 0);
  for (const n of r.body.networks) await cloud.api.call('demo', 'DELETE', `/networks/${n.id}`);
});
