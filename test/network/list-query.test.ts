// Lists of networking resources, on SQLite and on PostgreSQL: filters on booleans, numbers, lists,
// null, tags and fixed IPs, sorting on text, numbers and booleans, keyset pages after a marker in
// both directions, visibility while paging, derived attributes, and Neutron's next/previous links.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startNovabox, type TestNovabox } from '../helpers/novabox.ts';
import { createPostgresDatabase } from '../helpers/postgres.ts';

async function scenario(nb: TestNovabox): Promise<void> {
  const call = async (user: string, method: string, path: string, body?: unknown) => {
    const res = await nb.app.inject({ method: method as 'GET', url: `/networking/v2.0${path}`, headers: await nb.headers(user), ...(body === undefined ? {} : { payload: body as object }) });
    return { status: res.statusCode, body: res.body ? res.json() : null };
  };
  const names = async (user: string, path: string) => (await call(user, 'GET', path)).body.networks.map((n: any) => n.name);
  // alt_demo's networks: name, MTU, admin state and tags vary.
  const specs: [string, number, boolean, string[]][] = [['lq-d', 1400, true, ['x']], ['lq-b', 1500, false, ['x', 'y']], ['lq-a', 1400, false, []], ['lq-c', 1300, true, ['y']]];
  for (const [name, mtu, up, tags] of specs) {
    assert.equal((await call('alt_demo', 'POST', '/networks', { network: { name, mtu, admin_state_up: up, tags } })).status, 201);
  }
  const mine = 'name=lq-a&name=lq-b&name=lq-c&name=lq-d';
  assert.deepEqual(await names('alt_demo', `/networks?${mine}&admin_state_up=False&sort_key=name&sort_dir=asc`), ['lq-a', 'lq-b']);
  assert.deepEqual(await names('alt_demo', `/networks?${mine}&admin_state_up=true&sort_key=name&sort_dir=asc`), ['lq-c', 'lq-d']);
  assert.deepEqual(await names('alt_demo', `/networks?${mine}&admin_state_up=maybe`), []);
  assert.deepEqual(await names('alt_demo', `/networks?${mine}&mtu=1400&sort_key=name&sort_dir=desc`), ['lq-d', 'lq-a']);
  assert.deepEqual(await names('alt_demo', `/networks?${mine}&tags=x,y`), ['lq-b']);
  assert.deepEqual(await names('alt_demo', `/networks?${mine}&tags-any=y&sort_key=name&sort_dir=asc`), ['lq-b', 'lq-c']);
  assert.deepEqual(await names('alt_demo', `/networks?${mine}&not-tags-any=x&sort_key=name&sort_dir=asc`), ['lq-a', 'lq-c']);
  assert.deepEqual(await names('alt_demo', `/networks?${mine}&not-tags=x,y&sort_key=name&sort_dir=asc`), ['lq-a', 'lq-c', 'lq-d']);
  // Numbers sort by value, then the name breaks ties; booleans false before true.
  assert.deepEqual(await names('alt_demo', `/networks?${mine}&sort_key=mtu&sort_dir=desc&sort_key=name&sort_dir=asc`), ['lq-b', 'lq-a', 'lq-d', 'lq-c']);
  assert.deepEqual(await names('alt_demo', `/networks?${mine}&sort_key=admin_state_up&sort_dir=asc&sort_key=name&sort_dir=desc`), ['lq-b', 'lq-a', 'lq-d', 'lq-c']);

  // Keyset pages of one, forward to the end and back again, as the links lead.
  const order = `${mine}&sort_key=mtu&sort_dir=asc&sort_key=name&sort_dir=asc`;
  const seen: string[] = [];
  let path = `/networks?${order}&limit=1`;
  let last: any;
  for (;;) {
    last = (await call('alt_demo', 'GET', path)).body;
    seen.push(...last.networks.map((n: any) => n.name));
    const next = last.networks_links.find((l: any) => l.rel === 'next');
    if (!next) break;
    path = next.href.replace(/^.*\/v2\.0/, '');
  }
  assert.deepEqual(seen, ['lq-c', 'lq-a', 'lq-d', 'lq-b']);
  // Neutron's links: a full forward page has both, the short last one only `previous` (with no marker).
  assert.deepEqual(last.networks, []);
  assert.deepEqual(last.networks_links.map((l: any) => l.rel), ['previous']);
  assert.ok(!last.networks_links[0].href.includes('marker='));
  const first = (await call('alt_demo', 'GET', `/networks?${order}&limit=2`)).body;
  assert.deepEqual(first.networks_links.map((l: any) => l.rel), ['next', 'previous']);
  const prev = new URL(first.networks_links[1].href);
  assert.equal(prev.searchParams.get('page_reverse'), 'True');
  assert.equal(prev.searchParams.get('marker'), first.networks[0].id);
  const lastId = (await call('alt_demo', 'GET', `/networks?name=lq-b`)).body.networks[0].id;
  const back = (await call('alt_demo', 'GET', `/networks?${order}&limit=2&marker=${lastId}&page_reverse=True`)).body;
  assert.deepEqual(back.networks.map((n: any) => n.name), ['lq-a', 'lq-d']);
  const start = (await call('alt_demo', 'GET', `/networks?${order}&limit=5&marker=${back.networks[0].id}&page_reverse=True`)).body;
  assert.deepEqual(start.networks.map((n: any) => n.name), ['lq-c']);
  assert.deepEqual(start.networks_links.map((l: any) => l.rel), ['next']);
  assert.equal((await call('alt_demo', 'GET', `/networks?limit=1&marker=3f1c6a0e-0000-4000-8000-000000000000`)).status, 404);

  // Another project pages through what it may see only: its own, shared and external networks.
  const demoSees: string[] = [];
  path = '/networks?limit=1';
  for (;;) {
    const page = (await call('demo', 'GET', path)).body;
    demoSees.push(...page.networks.map((n: any) => n.name));
    const next = page.networks_links.find((l: any) => l.rel === 'next');
    if (!next) break;
    path = next.href.replace(/^.*\/v2\.0/, '');
  }
  assert.deepEqual(demoSees.sort(), (await names('demo', '/networks')).sort());
  assert.ok(demoSees.includes('private') && !demoSees.some((n) => n.startsWith('lq-')));

  // Ports: a list (security_groups), null-ish ('' device_id), and fixed IPs held.
  const net = (await call('alt_demo', 'GET', `/networks?name=lq-a`)).body.networks[0].id;
  await call('alt_demo', 'POST', '/subnets', { subnet: { network_id: net, cidr: '10.77.0.0/24', ip_version: 4 } });
  const group = (await call('alt_demo', 'POST', '/security-groups', { security_group: { name: 'lq' } })).body.security_group.id;
  const p1 = (await call('alt_demo', 'POST', '/ports', { port: { network_id: net, security_groups: [group] } })).body.port;
  const p2 = (await call('alt_demo', 'POST', '/ports', { port: { network_id: net, device_id: 'dev-1' } })).body.port;
  const ports = async (q: string) => (await call('alt_demo', 'GET', `/ports?network_id=${net}&${q}`)).body.ports.map((p: any) => p.id);
  assert.deepEqual(await ports(`security_groups=${group}`), [p1.id]);
  assert.deepEqual(await ports('device_id='), [p1.id]);
  assert.deepEqual(await ports('device_id=dev-1'), [p2.id]);
  assert.deepEqual(await ports(`fixed_ips=ip_address%3D${p2.fixed_ips[0].ip_address}`), [p2.id]);
  assert.deepEqual(await ports(`fixed_ips=subnet_id%3D${p2.fixed_ips[0].subnet_id}&sort_key=device_id&sort_dir=desc`), [p2.id, p1.id]);
  assert.deepEqual(await ports('fixed_ips=bogus%3D1'), []);
  // A derived attribute filters after reading.
  const groups = (await call('alt_demo', 'GET', '/security-groups?shared=False&name=lq')).body.security_groups;
  assert.deepEqual(groups.map((g: any) => g.id), [group]);
  assert.deepEqual((await call('alt_demo', 'GET', '/security-groups?shared=True')).body.security_groups, []);
}

describe('networking lists run in the store', () => {
  it('on SQLite', async () => {
    const nb = await startNovabox({ db: ':memory:' });
    try {
      await scenario(nb);
    } finally {
      await nb.close();
    }
  });

  it('on PostgreSQL', async (t) => {
    const made = await createPostgresDatabase();
    if (!made) return t.skip('no PostgreSQL');
    const nb = await startNovabox({ db: made.url });
    try {
      await scenario(nb);
    } finally {
      await nb.close();
      await made.drop();
    }
  });
});
