// Hostile input and tenancy (issue 10): each hole found by trying the API as an attacker would has
// its own test here, through the HTTP interface of a started novabox.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { act, boot, call, fault, setup, type Env } from './servers-helpers.ts';

/** Runs `fn` while a 1 ms timer probes the event loop; returns the longest gap between ticks (ms). */
async function loopHeld<T>(fn: () => Promise<T>): Promise<{ result: T; maxGap: number }> {
  let last = performance.now();
  let maxGap = 0;
  const probe = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
  }, 1);
  try {
    await new Promise((r) => setTimeout(r, 5));
    last = performance.now();
    const result = await fn();
    await new Promise((r) => setTimeout(r, 5));
    return { result, maxGap };
  } finally {
    clearInterval(probe);
  }
}

describe('hostile input', () => {
  let env: Env;
  before(async () => {
    env = await setup();
  });
  after(() => env.close());

  test('1. a catastrophic name pattern against 255-character names does not hold the event loop', async () => {
    const long = `${'a'.repeat(254)}!`;
    for (let i = 0; i < 5; i++) await boot(env, env.demo, { name: long });
    const flavor = await call(env, { method: 'POST', url: '/flavors', token: env.admin, body: { flavor: { name: long, ram: 64, vcpus: 1, disk: 1 } } });
    assert.equal(flavor.statusCode, 200, flavor.body);
    for (const pattern of ['^(a+)+$', '(a|aa)+$', '(a*)*b', '^(a|a?)+$', '(.*a){20}']) {
      const q = encodeURIComponent(pattern);
      for (const url of [`/servers?name=${q}`, `/servers/detail?name=${q}`, `/flavors?name=${q}`]) {
        const token = url.startsWith('/flavors') ? env.admin : env.demo;
        const { result: r, maxGap } = await loopHeld(() => call(env, { url, token }));
        assert.equal(r.statusCode, 200, `${url}: ${r.body}`);
        assert.ok(maxGap < 100, `${url} held the event loop ${maxGap.toFixed(0)} ms`);
      }
    }
    // Nova's meaning is kept: an unanchored search.
    const found = await call(env, { url: `/servers?name=${encodeURIComponent('a{200}!$')}`, token: env.demo });
    assert.equal(found.json().servers.length, 5);
    const py = await call(env, { url: `/servers?name=${encodeURIComponent('a!\\Z')}`, token: env.demo });
    assert.equal(py.json().servers.length, 5, 'Python\'s \\Z is end of text');
    // What the linear engine cannot run is refused as Nova refuses a pattern that is not a regex.
    fault(await call(env, { url: `/servers?name=${encodeURIComponent('(a)\\1')}`, token: env.demo }), 400,
      "Invalid input for query parameters name. Value: (a)\\1. '(a)\\\\1' is not a 'regex'");
    fault(await call(env, { url: `/servers?name=${encodeURIComponent('a(?=!)')}`, token: env.demo }), 400);
    fault(await call(env, { url: `/flavors?name=${encodeURIComponent('a(?!b)')}`, token: env.demo }), 400);
  });

  test("2. a member cannot put a server into another project's server group", async () => {
    const g = await call(env, { method: 'POST', url: '/os-server-groups', token: env.alt, body: { server_group: { name: 'victim', policies: ['affinity'] } } });
    assert.equal(g.statusCode, 200, g.body);
    const gid = g.json().server_group.id;
    const r = await call(env, { method: 'POST', url: '/servers', token: env.demo, body: { server: { name: 'intruder', imageRef: env.imageId, flavorRef: '1' }, 'os:scheduler_hints': { group: gid } } });
    fault(r, 400, `Instance group ${gid} could not be found.`);
    const shown = await call(env, { url: `/os-server-groups/${gid}`, token: env.alt });
    assert.deepEqual(shown.json().server_group.members, []);
    // Its own project's member still can.
    const own = await call(env, { method: 'POST', url: '/servers', token: env.alt, body: { server: { name: 'member', imageRef: env.imageId, flavorRef: '1' }, 'os:scheduler_hints': { group: gid } } });
    assert.equal(own.statusCode, 202, own.body);
    assert.equal((await call(env, { url: `/os-server-groups/${gid}`, token: env.alt })).json().server_group.members.length, 1);
  });

  test('3. a private flavor without access is refused by create and resize', async () => {
    const f = await call(env, { method: 'POST', url: '/flavors', token: env.admin, body: { flavor: { name: 'secret-flavor', id: 'secret-1', ram: 128, vcpus: 1, disk: 1, 'os-flavor-access:is_public': false } } });
    assert.equal(f.statusCode, 200, f.body);
    fault(await call(env, { url: '/flavors/secret-1', token: env.demo }), 404);
    fault(await call(env, { method: 'POST', url: '/servers', token: env.demo, body: { server: { name: 'x', imageRef: env.imageId, flavorRef: 'secret-1' } } }), 400, 'Flavor secret-1 could not be found.');
    const id = await boot(env, env.demo);
    fault(await act(env, env.demo, id, { resize: { flavorRef: 'secret-1' } }), 400, 'Flavor secret-1 could not be found.');
    // With access granted to the project, both work.
    const grant = await call(env, { method: 'POST', url: '/flavors/secret-1/action', token: env.admin, body: { addTenantAccess: { tenant: env.projects.demo } } });
    assert.equal(grant.statusCode, 200, grant.body);
    assert.equal((await call(env, { method: 'POST', url: '/servers', token: env.demo, body: { server: { name: 'x', imageRef: env.imageId, flavorRef: 'secret-1' } } })).statusCode, 202);
    assert.equal((await act(env, env.demo, id, { resize: { flavorRef: 'secret-1' } })).statusCode, 202);
  });

  test("4. another project's server is not a list marker", async () => {
    const theirs = await boot(env, env.alt);
    for (const url of [`/servers?marker=${theirs}`, `/servers/detail?marker=${theirs}`]) {
      fault(await call(env, { url, token: env.demo }), 400, `marker [${theirs}] not found`);
    }
    assert.equal((await call(env, { url: `/servers?marker=${theirs}`, token: env.alt })).statusCode, 200);
    assert.equal((await call(env, { url: `/servers?all_tenants=1&marker=${theirs}`, token: env.admin })).statusCode, 200);
  });

  test("5. another project's server group is not found, not forbidden", async () => {
    const g = await call(env, { method: 'POST', url: '/os-server-groups', token: env.alt, body: { server_group: { name: 'hidden', policies: ['anti-affinity'] } } });
    const gid = g.json().server_group.id;
    fault(await call(env, { url: `/os-server-groups/${gid}`, token: env.demo }), 404, `Instance group ${gid} could not be found.`);
    fault(await call(env, { method: 'DELETE', url: `/os-server-groups/${gid}`, token: env.demo }), 404, `Instance group ${gid} could not be found.`);
    assert.equal((await call(env, { url: `/os-server-groups/${gid}`, token: env.admin })).statusCode, 200);
    assert.equal((await call(env, { url: `/os-server-groups/${gid}`, token: env.alt })).statusCode, 200);
  });
});
