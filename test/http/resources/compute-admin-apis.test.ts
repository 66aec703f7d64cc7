// The compute admin APIs added for tempest tier2: aggregates (and the zones they give hosts),
// os-hosts, usage, the audit log, quota classes, external events, extensions, the v2.0 version
// document, removed APIs (410), disk config on rebuild/resize, x509 keypairs, hypervisor uptime.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import forge from 'node-forge';
import { act, boot, call, fault, setup, settle, show, type Env } from '../servers-helpers.ts';

let env: Env;
before(async () => {
  env = await setup();
});
after(() => env.close());

const post = (url: string, body: unknown, mv?: string, token = env.admin) => call(env, { method: 'POST', url, token, body, mv });

describe('os-aggregates', () => {
  test('create, list, show, update, metadata, hosts, delete with Nova codes; uuid from 2.41', async () => {
    const c = await post('/os-aggregates', { aggregate: { name: 'agg-a', availability_zone: 'zone-a' } });
    assert.equal(c.statusCode, 200, c.body);
    const created = c.json().aggregate;
    assert.deepEqual(Object.keys(created).sort(), ['availability_zone', 'created_at', 'deleted', 'deleted_at', 'id', 'name', 'updated_at']);
    const id = created.id as number;
    fault(await post('/os-aggregates', { aggregate: { name: 'agg-a' } }), 409, 'Aggregate agg-a already exists.');
    fault(await post('/os-aggregates', { aggregate: { name: 'x'.repeat(256) } }), 400);
    fault(await post('/os-aggregates', { aggregate: { name: '' } }), 400);
    fault(await post('/os-aggregates', { aggregate: { name: 'u' } }, undefined, env.demo), 403);
    fault(await call(env, { url: '/os-aggregates', token: env.demo }), 403);
    fault(await call(env, { url: '/os-aggregates/-1', token: env.admin }), 404, 'Aggregate -1 could not be found.');
    // Beyond any stored id (PostgreSQL's BIGINT would refuse it; the fuzz test found the 500).
    fault(await call(env, { url: '/os-aggregates/99999999999999999999', token: env.admin }), 404, 'Aggregate 99999999999999999999 could not be found.');
    fault(await call(env, { url: '/os-aggregates/abc', token: env.admin }), 400);
    const shown = (await call(env, { url: `/os-aggregates/${id}`, token: env.admin, mv: '2.41' })).json().aggregate;
    assert.match(shown.uuid, /^[0-9a-f-]{36}$/);
    assert.deepEqual([shown.hosts, shown.metadata], [[], { availability_zone: 'zone-a' }]);
    const add = await post(`/os-aggregates/${id}/action`, { add_host: { host: 'compute-0' } });
    assert.deepEqual(add.json().aggregate.hosts, ['compute-0']);
    fault(await post(`/os-aggregates/${id}/action`, { add_host: { host: 'compute-0' } }), 409, `Aggregate ${id} already has host compute-0.`);
    fault(await post(`/os-aggregates/${id}/action`, { add_host: { host: 'nowhere' } }), 404, 'Compute host nowhere could not be found.');
    fault(await post(`/os-aggregates/${id}/action`, { remove_host: { host: 'compute-1' } }), 404, `Cannot remove host compute-1 in aggregate ${id}`);
    const md = await post(`/os-aggregates/${id}/action`, { set_metadata: { metadata: { k: 'v' } } });
    assert.deepEqual(md.json().aggregate.metadata, { availability_zone: 'zone-a', k: 'v' });
    assert.ok(md.json().aggregate.updated_at);
    const up = await call(env, { method: 'PUT', url: `/os-aggregates/${id}`, token: env.admin, body: { aggregate: { name: 'agg-b' } } });
    assert.equal(up.json().aggregate.name, 'agg-b');
    // The zone is the host's: in the zone list, the services, os-hosts; a server asked into it lands there.
    const zones = (await call(env, { url: '/os-availability-zone', token: env.demo })).json().availabilityZoneInfo.map((z: { zoneName: string }) => z.zoneName);
    assert.ok(zones.includes('zone-a'), JSON.stringify(zones));
    const svcZone = (await call(env, { url: '/os-services?binary=nova-compute&host=compute-0', token: env.admin })).json().services[0].zone;
    assert.equal(svcZone, 'zone-a');
    const vm = await boot(env, env.demo, { availability_zone: 'zone-a' });
    const s = await show(env, env.admin, vm);
    assert.deepEqual([s.status, s['OS-EXT-SRV-ATTR:host'], s['OS-EXT-AZ:availability_zone']], ['ACTIVE', 'compute-0', 'zone-a']);
    fault(await call(env, { method: 'DELETE', url: `/os-aggregates/${id}`, token: env.admin }), 400);
    assert.equal((await call(env, { method: 'DELETE', url: `/servers/${vm}`, token: env.demo })).statusCode, 204);
    await settle(env);
    assert.equal((await post(`/os-aggregates/${id}/action`, { remove_host: { host: 'compute-0' } })).statusCode, 200);
    assert.equal((await call(env, { method: 'DELETE', url: `/os-aggregates/${id}`, token: env.admin })).statusCode, 200);
    fault(await call(env, { url: `/os-aggregates/${id}`, token: env.admin }), 404);
  });

  test('a host cannot join aggregates of two zones; image cache at 2.81 only', async () => {
    const a = (await post('/os-aggregates', { aggregate: { name: 'z1', availability_zone: 'z-one' } })).json().aggregate.id;
    const b = (await post('/os-aggregates', { aggregate: { name: 'z2', availability_zone: 'z-two' } })).json().aggregate.id;
    assert.equal((await post(`/os-aggregates/${a}/action`, { add_host: { host: 'compute-1' } })).statusCode, 200);
    fault(await post(`/os-aggregates/${b}/action`, { add_host: { host: 'compute-1' } }), 400);
    fault(await post(`/os-aggregates/${a}/images`, { cache: [{ id: env.imageId }] }, '2.80'), 404);
    assert.equal((await post(`/os-aggregates/${a}/images`, { cache: [{ id: env.imageId }] }, '2.81')).statusCode, 202);
    await post(`/os-aggregates/${a}/action`, { remove_host: { host: 'compute-1' } });
  });
});

describe('os-hosts', () => {
  test('list with zones, show resources, update, power actions; 404 from 2.43; admin only', async () => {
    const hosts = (await call(env, { url: '/os-hosts', token: env.admin })).json().hosts;
    assert.ok(hosts.some((h: { host_name: string; service: string; zone: string }) => h.host_name === 'compute-0' && h.service === 'compute' && h.zone === 'nova'));
    assert.ok(hosts.some((h: { service: string; zone: string }) => h.service === 'scheduler' && h.zone === 'internal'));
    assert.deepEqual((await call(env, { url: '/os-hosts?zone=xxx', token: env.admin })).json().hosts, []);
    assert.equal((await call(env, { url: '/os-hosts?zone=', token: env.admin })).json().hosts.length, hosts.length);
    const detail = (await call(env, { url: '/os-hosts/compute-1', token: env.admin })).json().host;
    assert.deepEqual(detail.slice(0, 3).map((r: { resource: { project: string } }) => r.resource.project), ['(total)', '(used_now)', '(used_max)']);
    assert.equal(detail[0].resource.host, 'compute-1');
    fault(await call(env, { url: '/os-hosts/nowhere', token: env.admin }), 404);
    fault(await call(env, { url: '/os-hosts', token: env.demo }), 403);
    fault(await call(env, { url: '/os-hosts', token: env.admin, mv: '2.43' }), 404);
    const put = (body: unknown, host = 'compute-1') => call(env, { method: 'PUT', url: `/os-hosts/${host}`, token: env.admin, body });
    fault(await put({ status: 'invalid', maintenance_mode: 'enable' }), 400);
    fault(await put({}), 400);
    fault(await put({ status: 'enable' }, 'nowhere'), 404);
    assert.deepEqual((await put({ status: 'disable', maintenance_mode: 'enable' })).json(), { host: 'compute-1', status: 'disabled', maintenance_mode: 'on_maintenance' });
    assert.equal((await call(env, { url: '/os-services?host=compute-1&binary=nova-compute', token: env.admin })).json().services[0].status, 'disabled');
    await put({ status: 'enable' });
    assert.deepEqual((await call(env, { url: '/os-hosts/compute-1/reboot', token: env.admin })).json(), { host: 'compute-1', power_action: 'reboot' });
    fault(await call(env, { url: '/os-hosts/nowhere/startup', token: env.admin }), 404);
  });
});

describe('usage, audit log, quota classes, external events', () => {
  test('os-simple-tenant-usage: a running server is counted for its project; bad periods are 400; list is admin', async () => {
    const vm = await boot(env, env.demo);
    const start = new Date(Date.now() - 86400_000).toISOString().slice(0, 23);
    const end = new Date(Date.now() + 86400_000).toISOString().slice(0, 23);
    const one = await call(env, { url: `/os-simple-tenant-usage/${env.projects.demo}?start=${start}&end=${end}`, token: env.demo });
    assert.equal(one.statusCode, 200, one.body);
    const u = one.json().tenant_usage;
    assert.equal(Object.keys(u).length, 8);
    assert.ok(u.server_usages.some((s: { instance_id: string; state: string }) => s.instance_id === vm && s.state === 'active'));
    const all = (await call(env, { url: `/os-simple-tenant-usage?start=${start}&end=${end}&detailed=1`, token: env.admin })).json().tenant_usages;
    assert.ok(all.some((x: { tenant_id: string }) => x.tenant_id === env.projects.demo));
    fault(await call(env, { url: `/os-simple-tenant-usage/${env.projects.demo}?start=${end}&end=${start}`, token: env.admin }), 400);
    fault(await call(env, { url: `/os-simple-tenant-usage?start=${start}&end=${end}`, token: env.demo }), 403);
    fault(await call(env, { url: `/os-simple-tenant-usage/?start=${start}&end=${end}`, token: env.admin }), 404);
    await call(env, { method: 'DELETE', url: `/servers/${vm}`, token: env.demo });
    await settle(env);
  });

  test('os-instance_usage_audit_log: the month before, every host done; bad time 400; admin only', async () => {
    const list = (await call(env, { url: '/os-instance_usage_audit_log', token: env.admin })).json().instance_usage_audit_logs;
    assert.equal(list.num_hosts, 2);
    assert.match(list.period_beginning, /^\d{4}-\d{2}-01 00:00:00$/);
    const at = (await call(env, { url: '/os-instance_usage_audit_log/2012-07-05%2010%3A00%3A00', token: env.admin })).json().instance_usage_audit_log;
    assert.deepEqual([at.period_beginning, at.period_ending], ['2012-06-01 00:00:00', '2012-07-01 00:00:00']);
    fault(await call(env, { url: '/os-instance_usage_audit_log/invalid_time', token: env.admin }), 400, 'Invalid timestamp for date invalid_time');
    fault(await call(env, { url: '/os-instance_usage_audit_log', token: env.demo }), 403);
  });

  test('os-quota-class-sets: default class changes every project default; keys per microversion', async () => {
    const v1 = (await call(env, { url: '/os-quota-class-sets/default', token: env.admin })).json().quota_class_set;
    assert.deepEqual([v1.id, v1.cores, 'floating_ips' in v1, 'server_groups' in v1], ['default', 20, true, false]);
    const v57 = (await call(env, { url: '/os-quota-class-sets/default', token: env.admin, mv: '2.57' })).json().quota_class_set;
    assert.deepEqual(Object.keys(v57).sort(), ['cores', 'id', 'instances', 'key_pairs', 'metadata_items', 'ram', 'server_group_members', 'server_groups']);
    const put = await call(env, { method: 'PUT', url: '/os-quota-class-sets/default', token: env.admin, mv: '2.57', body: { quota_class_set: { cores: 33 } } });
    assert.equal(put.statusCode, 200, put.body);
    assert.equal(put.json().quota_class_set.cores, 33);
    assert.ok(!('id' in put.json().quota_class_set));
    assert.equal((await call(env, { url: `/os-quota-sets/${env.projects.alt_demo}`, token: env.alt })).json().quota_set.cores, 33);
    assert.equal((await call(env, { url: `/os-quota-sets/${env.projects.alt_demo}/defaults`, token: env.alt })).json().quota_set.cores, 33);
    fault(await call(env, { method: 'PUT', url: '/os-quota-class-sets/default', token: env.admin, mv: '2.57', body: { quota_class_set: { injected_files: 1 } } }), 400);
    fault(await call(env, { url: '/os-quota-class-sets/default', token: env.demo }), 403);
    await call(env, { method: 'PUT', url: '/os-quota-class-sets/default', token: env.admin, body: { quota_class_set: { cores: 20 } } });
  });

  test('os-server-external-events: 200 delivered, 207 partly, 404 none; admin only', async () => {
    const vm = await boot(env, env.demo);
    const ok = await post('/os-server-external-events', { events: [{ name: 'network-changed', server_uuid: vm, tag: 'foo' }] });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.deepEqual(ok.json().events, [{ name: 'network-changed', server_uuid: vm, status: 'completed', tag: 'foo', code: 200 }]);
    const missing = '00000000-0000-4000-8000-000000000000';
    const mixed = await post('/os-server-external-events', { events: [{ name: 'network-changed', server_uuid: vm }, { name: 'network-changed', server_uuid: missing }] });
    assert.equal(mixed.statusCode, 207);
    assert.deepEqual(mixed.json().events.map((e: { code: number }) => e.code), [200, 404]);
    fault(await post('/os-server-external-events', { events: [{ name: 'network-changed', server_uuid: missing }] }), 404);
    fault(await post('/os-server-external-events', { events: [{ name: 'power-update', server_uuid: vm }] }, '2.75'), 400);
    fault(await post('/os-server-external-events', { events: [{ name: 'network-changed', server_uuid: vm }] }, undefined, env.demo), 403);
  });
});

describe('extensions, versions, removed APIs', () => {
  test('/extensions lists Hosts; /extensions/os-consoles shows it; unknown alias 404', async () => {
    const list = (await call(env, { url: '/extensions', token: env.demo })).json().extensions;
    assert.ok(list.some((e: { name: string }) => e.name === 'Hosts'));
    const one = (await call(env, { url: '/extensions/os-consoles', token: env.demo })).json().extension;
    assert.deepEqual([one.alias, one.links, one.updated], ['os-consoles', [], '2014-12-03T00:00:00Z']);
    fault(await call(env, { url: '/extensions/nope', token: env.demo }), 404);
  });

  test('GET /compute/v2/ is the deprecated v2.0 version document', async () => {
    const r = await env.nb.app.inject({ method: 'GET', url: '/compute/v2/' });
    assert.equal(r.statusCode, 200);
    const v = r.json().version;
    assert.deepEqual([v.id, v.status, v.version, v['media-types'][0].type], ['v2.0', 'DEPRECATED', '', 'application/vnd.openstack.compute+json;version=2']);
  });

  test('removed APIs answer 410 at every microversion, to everyone', async () => {
    for (const [method, url] of [['GET', '/os-agents'], ['POST', '/os-agents'], ['PUT', '/os-agents/1'], ['GET', '/os-cells'], ['GET', '/os-fping'], ['GET', '/os-floating-ips-bulk'], ['GET', '/os-fixed-ips/10.0.0.1'], ['POST', '/os-certificates'], ['GET', '/os-cloudpipe'], ['GET', '/os-security-group-default-rules']] as const) {
      const r = await call(env, { method, url, token: env.demo, mv: '2.1', ...(method === 'GET' ? {} : { body: {} }) });
      fault(r, 410, 'This resource is no longer available.  No forwarding address is given.');
    }
  });
});

describe('servers: disk config, x509 keypairs, hypervisor uptime', () => {
  test('OS-DCF:diskConfig is kept on rebuild and resize', async () => {
    const vm = await boot(env, env.demo, { 'OS-DCF:diskConfig': 'AUTO' });
    assert.equal((await show(env, env.demo, vm))['OS-DCF:diskConfig'], 'AUTO');
    assert.equal((await act(env, env.demo, vm, { rebuild: { imageRef: env.imageId, 'OS-DCF:diskConfig': 'MANUAL' } })).statusCode, 202);
    await settle(env);
    assert.equal((await show(env, env.demo, vm))['OS-DCF:diskConfig'], 'MANUAL');
    assert.equal((await act(env, env.demo, vm, { resize: { flavorRef: '2', 'OS-DCF:diskConfig': 'AUTO' } })).statusCode, 202);
    await settle(env);
    const s = await show(env, env.demo, vm);
    assert.deepEqual([s.status, s['OS-DCF:diskConfig']], ['VERIFY_RESIZE', 'AUTO']);
  });

  test('x509 keypairs are generated from 2.2: a certificate for the user and its private key', async () => {
    const r = await post('/os-keypairs', { keypair: { name: 'cert1', type: 'x509' } }, '2.2', env.demo);
    assert.equal(r.statusCode, 201, r.body);
    const kp = r.json().keypair;
    assert.equal(kp.type, 'x509');
    const cert = new X509Certificate(kp.public_key);
    assert.equal(cert.subject, `CN=${kp.user_id}`);
    // nova/crypto.py: client authentication, and the user's UPN as an otherName subjectAltName.
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.2']);
    assert.equal(cert.subjectAltName, `othername:UPN:${kp.user_id}@localhost`);
    assert.equal(kp.fingerprint, cert.fingerprint.toLowerCase());
    // The private key as Nova returns it: a base64 PKCS#12 bundle with an empty password, holding the key of that certificate.
    const p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(Buffer.from(kp.private_key, 'base64').toString('binary')), '');
    const key = p12.getBags({ bagType: forge.pki.oids.pkcs8ShroudedKeyBag })[forge.pki.oids.pkcs8ShroudedKeyBag]![0].key as forge.pki.rsa.PrivateKey;
    assert.equal(key.n.toString(16), (forge.pki.certificateFromPem(kp.public_key).publicKey as forge.pki.rsa.PublicKey).n.toString(16));
    const shown = (await call(env, { url: '/os-keypairs/cert1', token: env.demo, mv: '2.2' })).json().keypair;
    assert.deepEqual([shown.type, shown.fingerprint], ['x509', kp.fingerprint]);
  });

  test('hypervisor uptime follows the clock instead of a constant', async () => {
    const r = (await call(env, { url: '/os-hypervisors/1/uptime', token: env.admin })).json().hypervisor;
    assert.match(r.uptime, /^ \d{2}:\d{2}:\d{2} up .*load average/);
    assert.ok(!r.uptime.includes('93 days'));
    const d = (await call(env, { url: '/os-hypervisors/detail', token: env.admin })).json().hypervisors[0];
    assert.equal(typeof d.running_vms, 'number');
  });
});

describe('tier3 fixes', () => {
  test('createImage: the request metadata overrides image_type, as Nova does', async () => {
    const vm = await boot(env, env.demo);
    const r = await act(env, env.demo, vm, { createImage: { name: 'snap-meta', metadata: { image_type: 'test' } } });
    assert.equal(r.statusCode, 202, r.body);
    await settle(env);
    const id = String(r.headers.location).split('/').pop();
    const img = (await env.nb.app.inject({ method: 'GET', url: `/image/v2/images/${id}`, headers: { 'x-auth-token': env.demo } })).json();
    assert.deepEqual([img.image_type, img.instance_uuid], ['test', vm]);
  });

  test('personality beyond the injected_files quota is 403 (below 2.57)', async () => {
    const files = Array.from({ length: 6 }, (_, i) => ({ path: `/etc/f${i}`, contents: Buffer.from('x').toString('base64') }));
    const r = await call(env, { method: 'POST', url: '/servers', token: env.demo, body: { server: { name: 'p', imageRef: env.imageId, flavorRef: '1', personality: files } } });
    fault(r, 403, 'Personality file limit exceeded');
    const long = await call(env, { method: 'POST', url: '/servers', token: env.demo, body: { server: { name: 'p', imageRef: env.imageId, flavorRef: '1', personality: [{ path: `/${'a'.repeat(300)}`, contents: '' }] } } });
    fault(long, 403, 'Personality file path exceeds maximum 255');
  });

  test('image PATCH also takes Glance\'s older {"add": "/path", "value": …} operations (tempest sends them)', async () => {
    const r = await env.nb.app.inject({
      method: 'PATCH', url: `/image/v2/images/${env.imageId}`, headers: { 'x-auth-token': env.admin, 'content-type': 'application/openstack-images-v2.0-json-patch' },
      payload: JSON.stringify([{ add: '/hw_rescue_bus', value: 'virtio' }]),
    });
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.json().hw_rescue_bus, 'virtio');
  });
});
