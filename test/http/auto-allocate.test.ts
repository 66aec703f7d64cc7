// A server create that names no network, as Nova decides it over Neutron: the networks the project
// sees (its own unshared ones and the shared ones): none boots without NICs before 2.37, one is used,
// more are ambiguous (409); from 2.37 `networks` is required, 'none' means no NICs, and 'auto' with
// no network gets the project's auto-allocated topology (made once, reused, torn down through
// Neutron). devstack's seeded `private` is the demo project's alone, so alt_demo starts with none.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, type Env, fault, neutron, quiet, setup, show } from './servers-helpers.ts';

const AMBIGUOUS = 'Multiple possible networks found, use a Network ID to be more specific.';

describe('server create without a network', () => {
  let env: Env;
  before(async () => { env = await setup(); });
  after(async () => { await env.close(); });

  const net = (token: string, method: string, path: string, body?: unknown) => neutron(env, token, method, path, body);
  const create = (token: string, mv: string | undefined, extra: Record<string, unknown> = {}) =>
    call(env, { method: 'POST', url: '/servers', token, mv, body: { server: { name: 'vm', imageRef: env.imageId, flavorRef: '1', ...extra } } });
  const created = async (token: string, mv: string | undefined, extra: Record<string, unknown> = {}) => {
    const r = await create(token, mv, extra);
    assert.equal(r.statusCode, 202, r.body);
    await quiet(env);
    return r.json().server.id as string;
  };
  const ownNetworks = async (token: string, project: string) =>
    (await net(token, 'GET', `/networks?tenant_id=${project}&shared=false&admin_state_up=true`)).body.networks;
  const remove = async (token: string, ids: string[]) => {
    for (const id of ids) assert.equal((await call(env, { method: 'DELETE', url: `/servers/${id}`, token })).statusCode, 204);
    await quiet(env);
  };

  it('0 networks: no NICs before 2.37; one: that one; two: 409, before 2.37 and with auto', async () => {
    const none = await created(env.alt, undefined);
    assert.deepEqual((await show(env, env.alt, none)).addresses, {});
    assert.deepEqual((await net(env.admin, 'GET', `/ports?device_id=${none}`)).body.ports, []);
    const noneAt237 = await created(env.alt, '2.37', { networks: 'none' });
    assert.deepEqual((await show(env, env.alt, noneAt237)).addresses, {});
    // From 2.37 the key is required.
    fault(await create(env.alt, '2.37'), 400);

    const one = (await net(env.alt, 'POST', '/networks', { network: { name: 'alt-one' } })).body.network;
    await net(env.alt, 'POST', '/subnets', { subnet: { network_id: one.id, cidr: '192.168.51.0/24', ip_version: 4 } });
    const old = await created(env.alt, '2.1');
    const auto = await created(env.alt, '2.37', { networks: 'auto' });
    for (const id of [old, auto]) assert.deepEqual(Object.keys((await show(env, env.alt, id)).addresses), ['alt-one']);
    assert.equal((await ownNetworks(env.alt, env.projects.alt_demo)).length, 1, 'the one network was used, none made');

    const two = (await net(env.alt, 'POST', '/networks', { network: { name: 'alt-two' } })).body.network;
    fault(await create(env.alt, undefined), 409, AMBIGUOUS);
    fault(await create(env.alt, '2.37', { networks: 'auto' }), 409, AMBIGUOUS);
    await remove(env.alt, [none, noneAt237, old, auto]);
    for (const n of [one, two]) assert.equal((await net(env.alt, 'DELETE', `/networks/${n.id}`)).status, 204);
  });

  it('the demo project has its own private; an admin project owning public boots on it, as Nova lists networks', async () => {
    const d = await created(env.demo, undefined);
    assert.deepEqual(Object.keys((await show(env, env.demo, d)).addresses), ['private']);
    const a = await created(env.admin, undefined);
    assert.deepEqual(Object.keys((await show(env, env.admin, a)).addresses), ['public']);
    await remove(env.demo, [d]);
    await remove(env.admin, [a]);
  });

  it('2.37 auto with no network: the auto-allocated topology, made once for a multiple create and reused', async () => {
    const alt = env.projects.alt_demo;
    assert.deepEqual(await ownNetworks(env.alt, alt), []);
    const r = await create(env.alt, '2.37', { networks: 'auto', min_count: 3, return_reservation_id: true });
    assert.equal(r.statusCode, 202, r.body);
    await quiet(env);
    const servers = (await call(env, { url: `/servers/detail?reservation_id=${r.json().reservation_id}`, token: env.alt })).json().servers;
    assert.equal(servers.length, 3);
    for (const s of servers) assert.deepEqual(Object.keys(s.addresses), ['auto_allocated_network']);
    const nets = await ownNetworks(env.alt, alt);
    assert.deepEqual(nets.map((n: any) => n.name), ['auto_allocated_network']);
    const topo = (await net(env.alt, 'GET', `/auto-allocated-topology/${alt}`)).body.auto_allocated_topology;
    assert.equal(topo.id, nets[0].id);
    const router = (await net(env.alt, 'GET', '/routers?name=auto_allocated_router')).body.routers[0];
    const pub = (await net(env.alt, 'GET', '/networks?name=public')).body.networks[0];
    assert.equal(router.external_gateway_info.network_id, pub.id);

    // The next server reuses it, with auto and before 2.37 alike: it is the project's one network now.
    const again = await created(env.alt, '2.37', { networks: 'auto' });
    const old = await created(env.alt, '2.1');
    for (const id of [again, old]) assert.deepEqual(Object.keys((await show(env, env.alt, id)).addresses), ['auto_allocated_network']);
    assert.equal((await ownNetworks(env.alt, alt)).length, 1);

    // Neutron will not delete a network servers are on; once they are gone the topology goes.
    assert.equal((await net(env.alt, 'DELETE', `/auto-allocated-topology/${alt}`)).status, 409);
    await remove(env.alt, [...servers.map((s: any) => s.id), again, old]);
    assert.equal((await net(env.alt, 'DELETE', `/auto-allocated-topology/${alt}`)).status, 204);
    assert.deepEqual(await ownNetworks(env.alt, alt), []);
    assert.deepEqual((await net(env.alt, 'GET', '/routers')).body.routers, []);
  });

  it('2.37 auto when Neutron cannot allocate (no default external network): Nova\'s 400, nothing made', async () => {
    const alt = env.projects.alt_demo;
    const pub = (await net(env.admin, 'GET', '/networks?name=public')).body.networks[0];
    assert.equal((await net(env.admin, 'PUT', `/networks/${pub.id}`, { network: { is_default: false } })).status, 200);
    try {
      const dry = await net(env.alt, 'GET', `/auto-allocated-topology/${alt}?fields=dry-run`);
      assert.equal(dry.status, 409);
      assert.equal(dry.body.NeutronError.type, 'AutoAllocationFailure');
      fault(await create(env.alt, '2.37', { networks: 'auto' }), 400, `Unable to automatically allocate a network for project ${alt}`);
      assert.deepEqual(await ownNetworks(env.alt, alt), []);
      // Before 2.37 nothing is auto-allocated: the server boots without NICs.
      const id = await created(env.alt, '2.36');
      assert.deepEqual((await show(env, env.alt, id)).addresses, {});
      await remove(env.alt, [id]);
    } finally {
      await net(env.admin, 'PUT', `/networks/${pub.id}`, { network: { is_default: true } });
    }
  });
});
