// The os-networks proxy (2.1–2.35): Neutron's networks as Nova's network_dict shows them (id and
// label; admins see the admin field set, all null): each caller sees what Neutron shows it, so the
// seeded `private` (the demo project's, unshared as in devstack) is listed to demo and admins only.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { OS_NETWORKS_FIELDS } from '../fixtures/os-networks.ts';
import { boot, call, type Env, fault, setup, show } from './servers-helpers.ts';

const MEMBER_KEYS = [...OS_NETWORKS_FIELDS.member].sort();
/** Every field Nova shows an admin. */
const ADMIN_KEYS = [...OS_NETWORKS_FIELDS.member, ...OS_NETWORKS_FIELDS.adminOnly].sort();

describe('os-networks', () => {
  let env: Env;
  before(async () => { env = await setup(); });
  after(async () => { await env.close(); });

  it('lists devstack\'s public and private networks for admins with every field Nova shows admins, id and label set', async () => {
    const r = await call(env, { url: '/os-networks', token: env.admin });
    assert.equal(r.statusCode, 200);
    const nets = r.json().networks;
    assert.deepEqual(nets.map((n: { label: string }) => n.label).sort(), ['private', 'public']);
    const priv = nets.find((n: { label: string }) => n.label === 'private');
    assert.deepEqual(Object.keys(priv).sort(), ADMIN_KEYS);
    for (const [k, v] of Object.entries(priv)) if (k !== 'id' && k !== 'label') assert.equal(v, null, k);
    const one = await call(env, { url: `/os-networks/${priv.id}`, token: env.admin });
    assert.deepEqual(one.json(), { network: priv });
  });

  it('shows members the short field set and the same id as os-tenant-networks; another project sees only public', async () => {
    const nets = (await call(env, { url: '/os-networks', token: env.demo })).json().networks;
    assert.deepEqual(Object.keys(nets[0]).sort(), MEMBER_KEYS);
    const label = (l: string) => (n: { label: string }) => n.label === l;
    const tenant = (await call(env, { url: '/os-tenant-networks', token: env.demo })).json().networks;
    assert.equal(tenant.find(label('private')).id, nets.find(label('private')).id);
    assert.equal(tenant.find(label('private')).cidr, '10.0.0.0/16');
    const alt = (await call(env, { url: '/os-tenant-networks', token: env.alt })).json().networks;
    assert.deepEqual(alt.map((n: { label: string }) => n.label), ['public']);
    fault(await call(env, { url: `/os-networks/${nets.find(label('private')).id}`, token: env.alt }), 404, 'Network not found');
  });

  it('the private network id boots the demo project\'s servers, addressed on it by label; another project cannot use it', async () => {
    const id = (await call(env, { url: '/os-networks', token: env.admin })).json().networks.find((n: { label: string }) => n.label === 'private').id;
    const s = await boot(env, env.demo, { networks: [{ uuid: id }] });
    assert.equal((await show(env, env.demo, s)).addresses.private.length, 2);
    const r = await call(env, { method: 'POST', url: '/servers', token: env.alt, body: { server: { name: 'x', imageRef: env.imageId, flavorRef: '1', networks: [{ uuid: id }] } } });
    fault(r, 400, `Network ${id} could not be found.`);
  });

  it('answers 404 for another id and from 2.36; network management is gone (410)', async () => {
    fault(await call(env, { url: '/os-networks/6a1b9e61-0000-4000-8000-000000000000', token: env.demo }), 404, 'Network not found');
    fault(await call(env, { url: '/os-networks', token: env.admin, mv: '2.36' }), 404, 'The resource could not be found.');
    assert.equal((await call(env, { url: '/os-networks', token: env.admin, mv: '2.35' })).statusCode, 200);
    fault(await call(env, { method: 'POST', url: '/os-networks', token: env.admin, body: { network: { label: 'x' } } }), 410);
    fault(await call(env, { method: 'DELETE', url: '/os-networks/6a1b9e61-0000-4000-8000-000000000000', token: env.admin }), 410);
    fault(await call(env, { url: '/os-networks', token: undefined }), 401);
  });
});
