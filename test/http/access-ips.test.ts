// accessIPv4/accessIPv6: Nova stores them through netaddr, so an IPv6 address comes back in its
// canonical compressed form on create, update and rebuild (what tempest's test_verify_server_details checks).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { canonicalIp } from '../../src/api/compute/ip.ts';
import { act, boot, call, type Env, settle, setup, show } from './servers-helpers.ts';

describe('access IPs', () => {
  let env: Env;
  before(async () => { env = await setup(); });
  after(async () => { await env.close(); });

  it('formats IPv6 as inet_ntop does and leaves IPv4 alone', () => {
    const cases: [string, string][] = [
      ['0000:0000:0000:0000:0000:babe:220.12.22.2', '::babe:dc0c:1602'],
      ['2001:DB8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['1:0:1:0:0:1:0:0', '1:0:1::1:0:0'],
      ['1:2:3:4:5:6:0:8', '1:2:3:4:5:6:0:8'],
      ['0:0:0:0:0:0:0:0', '::'],
      ['::0.0.0.1', '::1'],
      ['::1.2.3.4', '::1.2.3.4'],
      ['0:0:0:0:0:FFFF:1.2.3.4', '::ffff:1.2.3.4'],
      ['::1:ffff:1.2.3.4', '::1:ffff:102:304'],
      ['1.2.3.4', '1.2.3.4'],
      ['', ''],
    ];
    for (const [given, want] of cases) assert.equal(canonicalIp(given), want, given);
  });

  it('stores the canonical IPv6 on create, update and rebuild', async () => {
    const id = await boot(env, env.demo, { accessIPv4: '1.1.1.1', accessIPv6: '0000:0000:0000:0000:0000:babe:220.12.22.2' });
    let s = await show(env, env.demo, id);
    assert.equal(s.accessIPv4, '1.1.1.1');
    assert.equal(s.accessIPv6, '::babe:dc0c:1602');

    const put = await call(env, { method: 'PUT', url: `/servers/${id}`, token: env.demo, body: { server: { accessIPv6: '2001:0DB8:0000:0000:0000:0000:0000:0001', accessIPv4: '10.0.0.9' } } });
    assert.equal(put.statusCode, 200);
    assert.equal(put.json().server.accessIPv6, '2001:db8::1');
    assert.equal(put.json().server.accessIPv4, '10.0.0.9');

    const rb = await act(env, env.demo, id, { rebuild: { imageRef: env.imageId, accessIPv6: 'FE80:0:0:0:0:0:0:0001' } });
    assert.equal(rb.statusCode, 202);
    assert.equal(rb.json().server.accessIPv6, 'fe80::1');
    await settle(env);
    s = await show(env, env.demo, id);
    assert.equal(s.accessIPv6, 'fe80::1');
  });

  it('filters the list (an admin filter) by the canonical form', async () => {
    const id = await boot(env, env.demo, { accessIPv6: '2001:db8:0:0:0:0:0:42' });
    const r = await call(env, { url: '/servers?all_tenants=1&access_ip_v6=2001:db8::42', token: env.admin });
    assert.deepEqual(r.json().servers.map((x: { id: string }) => x.id), [id]);
  });
});
