// Black-box tests of /servers: create, show, list, update, delete, with and without the project id.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { act, boot, call, setup, settle, show, type Env } from './servers-helpers.ts';
import { defaultConfig } from '../../src/config.ts';
import { PRIVATE_NETWORK_ID } from '../../src/api/compute/network.ts';

let env: Env;
// The manual clock: a step runs only when a test settles, so a server just created is seen still
// unscheduled (with time_scale 0 and the system clock the engine's timer may run it between two
// requests, as it does on PostgreSQL, where every query yields to the event loop).
before(async () => { env = await setup({ clock: 'manual', quota_defaults: { ...defaultConfig().quota_defaults, instances: 50, cores: 100, ram: 1_000_000 } }); });
after(async () => { await env.close(); });

describe('POST /servers', () => {
  it('answers 202 with Location, links, diskConfig, security groups and a 12-character adminPass', async () => {
    const r = await call(env, { method: 'POST', url: '/servers', token: env.demo, body: { server: { name: 'c1', imageRef: env.imageId, flavorRef: '1' } } });
    assert.equal(r.statusCode, 202);
    const s = r.json().server;
    assert.deepEqual(Object.keys(s).sort(), ['OS-DCF:diskConfig', 'adminPass', 'id', 'links', 'security_groups']);
    assert.equal(r.headers.location, s.links[0].href);
    assert.match(s.links[0].href, /\/compute\/v2\.1\/servers\/[0-9a-f-]{36}$/);
    assert.match(s.links[1].href, /\/compute\/servers\/[0-9a-f-]{36}$/);
    assert.deepEqual(s.security_groups, [{ name: 'default' }]);
    assert.match(s.adminPass, /^[2-9A-HJ-NP-Za-km-z]{12}$/);
    const building = await show(env, env.demo, s.id);
    assert.equal(building.status, 'BUILD');
    assert.deepEqual(building.addresses, {});
    assert.equal(building.hostId, '');
    await settle(env);
    const active = await show(env, env.demo, s.id);
    assert.equal(active.status, 'ACTIVE');
    assert.equal(active.addresses.private[0].version, 4);
  });

  it('returns only a reservation id when asked, and names multi-created servers name-1, name-2', async () => {
    const r = await call(env, { method: 'POST', url: '/servers', token: env.demo, body: { server: { name: 'multi', imageRef: env.imageId, flavorRef: '42', min_count: 2, max_count: 2, return_reservation_id: true } } });
    assert.equal(r.statusCode, 202);
    assert.match(r.json().reservation_id, /^r-[0-9a-z]{8}$/);
    const list = await call(env, { url: `/servers?reservation_id=${r.json().reservation_id}`, token: env.demo });
    assert.deepEqual(list.json().servers.map((s: { name: string }) => s.name).sort(), ['multi-1', 'multi-2']);
  });

  it('refuses bad bodies with Nova messages and creates nothing', async () => {
    const cases: [unknown, string, string?][] = [
      [{ server: { name: 'bad', imageRef: env.imageId } }, `Invalid input for field/attribute server. Value: {'name': 'bad', 'imageRef': '${env.imageId}'}. 'flavorRef' is a required property`],
      [{}, "'server' is a required property"],
      [{ server: { name: 'x', flavorRef: '1', imageRef: env.imageId }, foo: 1 }, "Additional properties are not allowed ('foo' was unexpected)"],
      [{ server: { name: '', flavorRef: '1', imageRef: env.imageId } }, "Invalid input for field/attribute name. Value: . '' is too short"],
      [{ server: { name: ' lead', flavorRef: '1', imageRef: env.imageId } }, "An invalid 'name' value was provided. The name must be: printable characters. Can not start or end with whitespace."],
      [{ server: { name: 12345, flavorRef: '1', imageRef: env.imageId } }, "Invalid input for field/attribute name. Value: 12345. 12345 is not of type 'string'"],
      [{ server: { name: 'x', flavorRef: '999', imageRef: env.imageId } }, 'Flavor 999 could not be found.'],
      [{ server: { name: 'x', flavorRef: 'http://h/flavors/998', imageRef: env.imageId } }, 'Flavor 998 could not be found.'],
      [{ server: { name: 'x', flavorRef: '1', imageRef: '11111111-2222-3333-4444-555555555555' } }, 'Can not find requested image'],
      [{ server: { name: 'x', flavorRef: '1' } }, 'Missing imageRef attribute'],
      [{ server: { name: 'x', flavorRef: '1', imageRef: env.imageId, accessIPv4: '1.2.3' } }, "Invalid input for field/attribute accessIPv4. Value: 1.2.3. '1.2.3' is not a 'ipv4'"],
      [{ server: { name: 'x', flavorRef: '1', imageRef: env.imageId, metadata: { '': 'v' } } }, "Invalid input for field/attribute metadata. Value: {'': 'v'}. '' does not match any of the regexes: '^[a-zA-Z0-9-_:. ]{1,255}$'"],
      [{ server: { name: 'x', flavorRef: '1', imageRef: env.imageId, min_count: 3, max_count: 2 } }, 'min_count must be <= max_count'],
      [{ server: { name: 'x', flavorRef: '1', imageRef: env.imageId, min_count: 0 } }, 'Invalid input for field/attribute min_count. Value: 0. 0 is less than the minimum of 1'],
      [{ server: { name: 'x', flavorRef: '1', imageRef: env.imageId, key_name: 'nokey' } }, 'Invalid key_name provided.'],
      [{ server: { name: 'x', flavorRef: '1', imageRef: env.imageId, networks: [{ uuid: 'not-a-uuid' }] } }, 'Bad networks format: network uuid is not in proper format (not-a-uuid)'],
      [{ server: { name: 'x', flavorRef: '1', imageRef: env.imageId, user_data: 'abc' } }, "Invalid input for field/attribute user_data. Value: abc. 'abc' is not a 'base64'"],
      [{ server: { name: 'x', flavorRef: '1', imageRef: env.imageId, tags: ['a'] } }, `Invalid input for field/attribute server. Value: {'name': 'x', 'flavorRef': '1', 'imageRef': '${env.imageId}', 'tags': ['a']}. Additional properties are not allowed ('tags' was unexpected)`],
      [{ server: { name: 'x', flavorRef: '1', imageRef: env.imageId, networks: 'auto' } }, "Invalid input for field/attribute networks. Value: auto. 'auto' is not of type 'array'"],
    ];
    const before = (await call(env, { url: '/servers', token: env.demo })).json().servers.length;
    for (const [body, message] of cases) {
      const r = await call(env, { method: 'POST', url: '/servers', token: env.demo, body });
      assert.equal(r.statusCode, 400, JSON.stringify(body));
      assert.deepEqual(r.json(), { badRequest: { code: 400, message } }, JSON.stringify(body));
    }
    assert.equal((await call(env, { url: '/servers', token: env.demo })).json().servers.length, before);
  });

  it('requires networks from 2.37 and accepts auto, none and the private network id', async () => {
    const r = await call(env, { method: 'POST', url: '/servers', token: env.demo, mv: '2.37', body: { server: { name: 'n', imageRef: env.imageId, flavorRef: '1' } } });
    assert.equal(r.statusCode, 400);
    assert.match(r.json().badRequest.message, /'networks' is a required property/);
    const none = await boot(env, env.demo, { networks: 'none' }, '2.37');
    assert.deepEqual((await show(env, env.demo, none, '2.37')).addresses, {});
    assert.equal((await show(env, env.demo, none, '2.37')).security_groups, undefined);
    const net = await boot(env, env.demo, { networks: [{ uuid: PRIVATE_NETWORK_ID }] }, '2.37');
    assert.equal((await show(env, env.demo, net, '2.37')).addresses.private.length, 2);
    const other = await call(env, { method: 'POST', url: '/servers', token: env.demo, mv: '2.37', body: { server: { name: 'n', imageRef: env.imageId, flavorRef: '1', networks: [{ uuid: '6a1b9e61-0000-4000-8000-000000000000' }] } } });
    assert.equal(other.statusCode, 400);
  });

  it('stores tags (2.52), description (2.19) and refuses host for non-admins (2.74)', async () => {
    const id = await boot(env, env.demo, { tags: ['t1', 't2'], description: 'd' }, '2.52');
    const s = await show(env, env.demo, id, '2.52');
    assert.deepEqual(s.tags, ['t1', 't2']);
    assert.equal(s.description, 'd');
    const r = await call(env, { method: 'POST', url: '/servers', token: env.demo, mv: '2.74', body: { server: { name: 'h', imageRef: env.imageId, flavorRef: '1', networks: 'none', host: 'compute-0' } } });
    assert.equal(r.statusCode, 403);
    assert.equal(r.json().forbidden.message, "Policy doesn't allow compute:servers:create:requested_destination to be performed.");
    const admin = await boot(env, env.admin, { host: 'compute-1', networks: 'none' }, '2.74');
    assert.equal((await show(env, env.admin, admin, '2.74'))['OS-EXT-SRV-ATTR:host'], 'compute-1');
  });

  it('answers 403 when the instance quota is exceeded', async () => {
    const r = await call(env, { method: 'POST', url: '/servers', token: env.alt, body: { server: { name: 'q', imageRef: env.imageId, flavorRef: '1', min_count: 51 } } });
    assert.equal(r.statusCode, 403);
    assert.match(r.json().forbidden.message, /^Quota exceeded for instances: Requested 51, but already used 0 of 50 instances$/);
  });
});

describe('GET /servers/{id}', () => {
  it('gates fields by microversion', async () => {
    const id = await boot(env, env.demo);
    const at = async (v: string) => show(env, env.demo, id, v);
    const s21 = await at('2.1');
    assert.deepEqual(s21.flavor.id, '1');
    for (const k of ['locked', 'description', 'tags', 'trusted_image_certificates', 'server_groups', 'locked_reason', 'pinned_availability_zone', 'scheduler_hints', 'host_status', 'OS-EXT-SRV-ATTR:host']) assert.ok(!(k in s21), k);
    const gates: [string, string, string][] = [
      ['locked', '2.8', '2.9'], ['description', '2.18', '2.19'], ['tags', '2.25', '2.26'], ['trusted_image_certificates', '2.62', '2.63'],
      ['server_groups', '2.70', '2.71'], ['locked_reason', '2.72', '2.73'], ['OS-EXT-SRV-ATTR:hostname', '2.89', '2.90'],
      ['pinned_availability_zone', '2.95', '2.96'], ['scheduler_hints', '2.99', '2.100'],
    ];
    for (const [field, below, at_] of gates) {
      assert.ok(!(field in (await at(below))), `${field} absent at ${below}`);
      assert.ok(field in (await at(at_)), `${field} present at ${at_}`);
    }
    assert.equal((await at('2.46')).flavor.id, '1');
    assert.deepEqual(Object.keys((await at('2.47')).flavor).sort(), ['disk', 'ephemeral', 'extra_specs', 'original_name', 'ram', 'swap', 'vcpus']);
    assert.ok(!('properties' in (await at('2.97')).image));
    assert.ok('properties' in (await at('2.98')).image);
  });

  it('shows admin-only attributes to admins only', async () => {
    const id = await boot(env, env.demo);
    const a = await show(env, env.admin, id, '2.16');
    assert.equal(a.host_status, 'UP');
    assert.match(a['OS-EXT-SRV-ATTR:host'], /^compute-/);
    assert.match(a['OS-EXT-SRV-ATTR:instance_name'], /^instance-[0-9a-f]{8}$/);
    assert.match(a['OS-EXT-SRV-ATTR:reservation_id'], /^r-/);
    const u = await show(env, env.demo, id, '2.16');
    assert.ok(!('host_status' in u) && !('OS-EXT-SRV-ATTR:host' in u));
  });

  it('answers 404 for unknown ids and other projects, 401 without a token', async () => {
    const id = await boot(env, env.demo);
    for (const bad of ['00000000-0000-0000-0000-000000000000', 'not-a-uuid']) {
      const r = await call(env, { url: `/servers/${bad}`, token: env.demo });
      assert.equal(r.statusCode, 404);
      assert.deepEqual(r.json(), { itemNotFound: { code: 404, message: `Instance ${bad} could not be found.` } });
    }
    assert.equal((await call(env, { url: `/servers/${id}`, token: env.alt })).statusCode, 404);
    const r = await call(env, { url: `/servers/${id}` });
    assert.equal(r.statusCode, 401);
    assert.equal(r.json().error.code, 401);
    // keystonemiddleware answers before Nova's API: request ids, no microversion headers.
    assert.match(String(r.headers['x-compute-request-id']), /^req-/);
    assert.equal(r.headers['openstack-api-version'], undefined);
  });

  it('serves every route under the token project id and refuses another project id', async () => {
    const id = await boot(env, env.demo);
    const ok = await call(env, { url: `/compute/v2.1/${env.projects.demo}/servers/${id}`, token: env.demo });
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.json().server.links[0].href.includes(`/v2.1/${env.projects.demo}/servers/`), true);
    const bad = await call(env, { url: `/compute/v2.1/${env.projects.alt_demo}/servers/${id}`, token: env.demo });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().badRequest.message, `Malformed request URL: URL's project_id '${env.projects.alt_demo}' doesn't match Context's project_id '${env.projects.demo}'`);
  });
});

describe('PUT and DELETE /servers/{id}', () => {
  it('updates name and description and returns the core set below 2.75, the full view from 2.75', async () => {
    const id = await boot(env, env.demo);
    const r = await call(env, { method: 'PUT', url: `/servers/${id}`, token: env.demo, mv: '2.19', body: { server: { name: 'renamed', description: 'new' } } });
    assert.equal(r.statusCode, 200);
    const s = r.json().server;
    assert.equal(s.name, 'renamed');
    assert.equal(s.description, 'new');
    assert.ok(!('OS-EXT-STS:vm_state' in s));
    assert.ok(!('OS-EXT-IPS:type' in s.addresses.private[0]));
    const full = (await call(env, { method: 'PUT', url: `/servers/${id}`, token: env.demo, mv: '2.75', body: { server: { name: 'again' } } })).json().server;
    assert.equal(full['OS-EXT-STS:vm_state'], 'active');
    const bad = await call(env, { method: 'PUT', url: `/servers/${id}`, token: env.demo, body: { server: { name: '' } } });
    assert.equal(bad.statusCode, 400);
    const unknown = await call(env, { method: 'PUT', url: `/servers/${id}`, token: env.demo, body: { server: { description: 'x' } } });
    assert.equal(unknown.json().badRequest.message, "Invalid input for field/attribute server. Value: {'description': 'x'}. Additional properties are not allowed ('description' was unexpected)");
  });

  it('deletes with 204 and an empty body; the server then is 404 and gone from lists', async () => {
    const id = await boot(env, env.demo);
    const r = await call(env, { method: 'DELETE', url: `/servers/${id}`, token: env.demo });
    assert.equal(r.statusCode, 204);
    assert.equal(r.body, '');
    await settle(env);
    assert.equal((await call(env, { url: `/servers/${id}`, token: env.demo })).statusCode, 404);
    const list = (await call(env, { url: '/servers', token: env.demo })).json().servers;
    assert.ok(!list.some((s: { id: string }) => s.id === id));
  });

  it('refuses delete of a locked server for its owner with 409, allows it for an admin', async () => {
    const id = await boot(env, env.demo);
    assert.equal((await act(env, env.demo, id, { lock: null })).statusCode, 202);
    const r = await call(env, { method: 'DELETE', url: `/servers/${id}`, token: env.demo });
    assert.equal(r.statusCode, 409);
    assert.equal(r.json().conflictingRequest.message, `Instance ${id} is locked`);
    assert.equal((await call(env, { method: 'DELETE', url: `/servers/${id}`, token: env.admin })).statusCode, 204);
  });
});
