// Admin views (AZs, services, hypervisors, migrations), tenant networks and server sub-resources over HTTP.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { act, boot, call, settle, setup, type Env } from '../servers-helpers.ts';

let env: Env;
let vm: string;
before(async () => {
  env = await setup();
  vm = await boot(env, env.demo, { metadata: { a: '1' } });
});
after(() => env.close());

function fault(r: { statusCode: number; json(): unknown }, code: number, kind: string): string {
  assert.equal(r.statusCode, code, JSON.stringify(r.json()));
  return (r.json() as Record<string, { message: string }>)[kind].message;
}

describe('admin infrastructure views', () => {
  test('admin-only routes give members 403', async () => {
    for (const url of ['/os-services', '/os-hypervisors', '/os-hypervisors/detail', '/os-hypervisors/statistics', '/os-migrations', '/os-availability-zone/detail', `/servers/${vm}/diagnostics`]) {
      assert.match(fault(await call(env, { url, token: env.demo }), 403, 'forbidden'), /^Policy doesn't allow os_compute_api:.* to be performed\.$/, url);
    }
  });

  test('availability zones: list for everyone, detail with hosts for admins', async () => {
    const l = (await call(env, { url: '/os-availability-zone', token: env.demo })).json().availabilityZoneInfo;
    assert.deepEqual(l, [{ zoneName: 'nova', zoneState: { available: true }, hosts: null }]);
    const d = (await call(env, { url: '/os-availability-zone/detail', token: env.admin })).json().availabilityZoneInfo;
    const nova = d.find((z: { zoneName: string }) => z.zoneName === 'nova');
    assert.deepEqual(Object.keys(nova.hosts).sort(), ['compute-0', 'compute-1']);
    assert.equal(nova.hosts['compute-0']['nova-compute'].active, true);
  });

  test('services: legacy disable/enable and force-down, 2.53 update by uuid; hosts reflect it', async () => {
    const list = (await call(env, { url: '/os-services?binary=nova-compute', token: env.admin })).json().services;
    assert.equal(list.length, 2);
    assert.ok(!('forced_down' in list[0]));
    const dis = await call(env, { method: 'PUT', url: '/os-services/disable-log-reason', token: env.admin, body: { host: 'compute-1', binary: 'nova-compute', disabled_reason: 'maint' } });
    assert.deepEqual(dis.json(), { service: { binary: 'nova-compute', disabled_reason: 'maint', host: 'compute-1', status: 'disabled' } });
    assert.equal((await env.nb.services.engine.listHosts()).find((h) => h.name === 'compute-1')!.disabled, true);
    const en = await call(env, { method: 'PUT', url: '/os-services/enable', token: env.admin, body: { host: 'compute-1', binary: 'nova-compute' } });
    assert.equal(en.json().service.status, 'enabled');
    fault(await call(env, { method: 'PUT', url: '/os-services/enable', token: env.admin, body: { host: 'nohost', binary: 'nova-compute' } }), 404, 'itemNotFound');
    const fd = await call(env, { method: 'PUT', url: '/os-services/force-down', token: env.admin, mv: '2.11', body: { host: 'compute-1', binary: 'nova-compute', forced_down: true } });
    assert.deepEqual(fd.json(), { service: { binary: 'nova-compute', forced_down: true, host: 'compute-1' } });
    const s53 = (await call(env, { url: '/os-services?host=compute-1', token: env.admin, mv: '2.53' })).json().services[0];
    assert.match(s53.id, /^[0-9a-f-]{36}$/);
    assert.equal(s53.state, 'down');
    const up = await call(env, { method: 'PUT', url: `/os-services/${s53.id}`, token: env.admin, mv: '2.53', body: { forced_down: false, status: 'disabled', disabled_reason: 'x' } });
    assert.equal(up.json().service.state, 'up');
    assert.equal(up.json().service.status, 'disabled');
    fault(await call(env, { method: 'PUT', url: `/os-services/${s53.id}`, token: env.admin, mv: '2.53', body: { status: 'enabled', disabled_reason: 'x' } }), 400, 'badRequest');
    fault(await call(env, { method: 'PUT', url: `/os-services/${s53.id}`, token: env.admin, mv: '2.53', body: {} }), 400, 'badRequest');
    fault(await call(env, { method: 'PUT', url: '/os-services/8d1b3f6a-0000-4000-8000-000000000000', token: env.admin, mv: '2.53', body: { status: 'enabled' } }), 404, 'itemNotFound');
    await call(env, { method: 'PUT', url: `/os-services/${s53.id}`, token: env.admin, mv: '2.53', body: { status: 'enabled' } });
  });

  test('hypervisors reflect hosts and their servers; ids per microversion; statistics sum', async () => {
    const l = (await call(env, { url: '/os-hypervisors', token: env.admin })).json().hypervisors;
    assert.deepEqual(l.map((h: { id: number }) => h.id), [1, 2]);
    const d = (await call(env, { url: '/os-hypervisors/detail', token: env.admin })).json().hypervisors;
    assert.equal(typeof d[0].cpu_info, 'string');
    assert.equal(d.reduce((n: number, h: { running_vms: number }) => n + h.running_vms, 0), 1);
    const st = (await call(env, { url: '/os-hypervisors/statistics', token: env.admin })).json().hypervisor_statistics;
    assert.equal(st.count, 2);
    assert.equal(st.running_vms, 1);
    assert.equal(st.vcpus_used, 1);
    const l53 = (await call(env, { url: '/os-hypervisors?with_servers=true', token: env.admin, mv: '2.53' })).json().hypervisors;
    const withVm = l53.find((h: { servers?: unknown[] }) => h.servers);
    assert.deepEqual(withVm.servers.map((s: { uuid: string }) => s.uuid), [vm]);
    const show = (await call(env, { url: `/os-hypervisors/${withVm.id}`, token: env.admin, mv: '2.53' })).json().hypervisor;
    assert.equal(typeof show.cpu_info, 'object');
    fault(await call(env, { url: '/os-hypervisors/99', token: env.admin }), 404, 'itemNotFound');
    assert.equal((await call(env, { url: '/os-hypervisors/compute/search', token: env.admin })).json().hypervisors.length, 2);
    fault(await call(env, { url: '/os-hypervisors/compute/search', token: env.admin, mv: '2.53' }), 404, 'itemNotFound');
    fault(await call(env, { url: '/os-hypervisors/statistics', token: env.admin, mv: '2.88' }), 404, 'itemNotFound');
    const p = (await call(env, { url: '/os-hypervisors?limit=1', token: env.admin, mv: '2.33' })).json();
    assert.equal(p.hypervisors.length, 1);
    assert.match(p.hypervisors_links[0].href, /marker=1$/);
  });

  test('os-migrations lists the engine migrations with fields per microversion', async () => {
    const id = await boot(env, env.demo, { name: 'mig' });
    assert.equal((await act(env, env.admin, id, { migrate: null })).statusCode, 202);
    await settle(env);
    const base = (await call(env, { url: '/os-migrations', token: env.admin })).json().migrations;
    const m = base.find((x: { instance_uuid: string }) => x.instance_uuid === id);
    assert.ok(m);
    assert.ok(!('migration_type' in m) && !('uuid' in m));
    const m80 = (await call(env, { url: `/os-migrations?instance_uuid=${id}`, token: env.admin, mv: '2.80' })).json().migrations[0];
    assert.equal(m80.migration_type, 'migration');
    assert.match(m80.uuid, /^[0-9a-f-]{36}$/);
    assert.equal(m80.project_id, env.projects.demo);
    fault(await call(env, { url: '/os-migrations?bogus=1', token: env.admin, mv: '2.59' }), 400, 'badRequest');
    fault(await call(env, { url: '/os-migrations?marker=nope', token: env.admin, mv: '2.59' }), 400, 'badRequest');
    assert.deepEqual((await call(env, { url: `/servers/${id}/migrations`, token: env.admin, mv: '2.23' })).json(), { migrations: [] });
    fault(await call(env, { url: `/servers/${id}/migrations/1`, token: env.admin, mv: '2.23' }), 404, 'itemNotFound');
    // Beyond any stored id (PostgreSQL's BIGINT would refuse it): no such migration, not a 500.
    fault(await call(env, { url: `/servers/${id}/migrations/99999999999999999999`, token: env.admin, mv: '2.23' }), 404, 'itemNotFound');
  });

  test('os-tenant-networks lists the demo project\'s private and the external public network; gone at 2.36', async () => {
    const n = (await call(env, { url: '/os-tenant-networks', token: env.demo })).json().networks;
    assert.deepEqual(n.map((x: { label: string }) => x.label).sort(), ['private', 'public']);
    // devstack's private is not shared: another project sees only public.
    assert.deepEqual((await call(env, { url: '/os-tenant-networks', token: env.alt })).json().networks, n.filter((x: { label: string }) => x.label === 'public'));
    assert.deepEqual((await call(env, { url: `/os-tenant-networks/${n[0].id}`, token: env.demo })).json().network, n[0]);
    fault(await call(env, { url: '/os-tenant-networks/6a1b9e61-0000-4000-8000-000000000000', token: env.alt }), 404, 'itemNotFound');
    fault(await call(env, { url: '/os-tenant-networks', token: env.demo, mv: '2.36' }), 404, 'itemNotFound');
  });
});

describe('server sub-resources', () => {
  test('instance actions: create then reboot, newest first; events per role and microversion', async () => {
    assert.equal((await act(env, env.demo, vm, { reboot: { type: 'HARD' } })).statusCode, 202);
    await settle(env);
    const list = (await call(env, { url: `/servers/${vm}/os-instance-actions`, token: env.demo })).json().instanceActions;
    assert.deepEqual(list.map((a: { action: string }) => a.action), ['reboot', 'create']);
    assert.ok(!('updated_at' in list[0]));
    const rid = list[1].request_id;
    const noEvents = (await call(env, { url: `/servers/${vm}/os-instance-actions/${rid}`, token: env.demo })).json().instanceAction;
    assert.ok(!('events' in noEvents));
    const ev51 = (await call(env, { url: `/servers/${vm}/os-instance-actions/${rid}`, token: env.demo, mv: '2.51' })).json().instanceAction.events;
    assert.ok(ev51.length > 0 && !('traceback' in ev51[0]));
    const ev84 = (await call(env, { url: `/servers/${vm}/os-instance-actions/${rid}`, token: env.admin, mv: '2.84' })).json().instanceAction.events[0];
    assert.ok('hostId' in ev84 && 'host' in ev84 && 'details' in ev84 && 'traceback' in ev84);
    assert.equal(fault(await call(env, { url: `/servers/${vm}/os-instance-actions/req-nope`, token: env.demo }), 404, 'itemNotFound'), 'Action req-nope not found');
    fault(await call(env, { url: `/servers/${vm}/os-instance-actions`, token: env.alt }), 404, 'itemNotFound');
    const page = (await call(env, { url: `/servers/${vm}/os-instance-actions?limit=1`, token: env.demo, mv: '2.58' })).json();
    assert.equal(page.instanceActions.length, 1);
    assert.ok('updated_at' in page.instanceActions[0]);
    assert.match(page.links[0].href, /limit=1&marker=req-/);
    fault(await call(env, { url: `/servers/${vm}/os-instance-actions?foo=1`, token: env.demo, mv: '2.58' }), 400, 'badRequest');
    fault(await call(env, { url: `/servers/${vm}/os-instance-actions?marker=zz`, token: env.demo, mv: '2.58' }), 400, 'badRequest');
  });

  test('instance actions of a deleted server from 2.21', async () => {
    const id = await boot(env, env.demo, { name: 'gone' });
    assert.equal((await call(env, { method: 'DELETE', url: `/servers/${id}`, token: env.demo })).statusCode, 204);
    await settle(env);
    fault(await call(env, { url: `/servers/${id}/os-instance-actions`, token: env.demo, mv: '2.20' }), 404, 'itemNotFound');
    const acts = (await call(env, { url: `/servers/${id}/os-instance-actions`, token: env.demo, mv: '2.21' })).json().instanceActions;
    assert.deepEqual(acts.map((a: { action: string }) => a.action).sort(), ['create', 'delete']);
  });

  test('metadata: list, show, replace, merge, item put/delete, mismatches', async () => {
    assert.deepEqual((await call(env, { url: `/servers/${vm}/metadata`, token: env.demo })).json(), { metadata: { a: '1' } });
    assert.deepEqual((await call(env, { method: 'POST', url: `/servers/${vm}/metadata`, token: env.demo, body: { metadata: { b: '2' } } })).json(), { metadata: { a: '1', b: '2' } });
    assert.deepEqual((await call(env, { method: 'PUT', url: `/servers/${vm}/metadata`, token: env.demo, body: { metadata: { c: '3' } } })).json(), { metadata: { c: '3' } });
    assert.deepEqual((await call(env, { method: 'PUT', url: `/servers/${vm}/metadata/d`, token: env.demo, body: { meta: { d: '4' } } })).json(), { meta: { d: '4' } });
    assert.deepEqual((await call(env, { url: `/servers/${vm}/metadata/d`, token: env.demo })).json(), { meta: { d: '4' } });
    assert.equal(fault(await call(env, { method: 'PUT', url: `/servers/${vm}/metadata/d`, token: env.demo, body: { meta: { e: '4' } } }), 400, 'badRequest'), 'Request body and URI mismatch');
    assert.equal(fault(await call(env, { method: 'PUT', url: `/servers/${vm}/metadata/d`, token: env.demo, body: { meta: { d: '1', e: '4' } } }), 400, 'badRequest'), 'Request body contains too many items');
    fault(await call(env, { method: 'PUT', url: `/servers/${vm}/metadata`, token: env.demo, body: { metadata: { '': 'x' } } }), 400, 'badRequest');
    fault(await call(env, { method: 'PUT', url: `/servers/${vm}/metadata`, token: env.demo, body: { meta: {} } }), 400, 'badRequest');
    assert.equal((await call(env, { method: 'DELETE', url: `/servers/${vm}/metadata/d`, token: env.demo })).statusCode, 204);
    assert.equal(fault(await call(env, { url: `/servers/${vm}/metadata/d`, token: env.demo }), 404, 'itemNotFound'), 'Metadata item was not found');
    fault(await call(env, { url: `/servers/${vm}/metadata`, token: env.alt }), 404, 'itemNotFound');
  });

  test('tags from 2.26: replace, add (201 then 204), check, delete, limits', async () => {
    fault(await call(env, { url: `/servers/${vm}/tags`, token: env.demo, mv: '2.25' }), 404, 'itemNotFound');
    assert.deepEqual((await call(env, { method: 'PUT', url: `/servers/${vm}/tags`, token: env.demo, mv: '2.26', body: { tags: ['t1', 't2'] } })).json(), { tags: ['t1', 't2'] });
    const add = await call(env, { method: 'PUT', url: `/servers/${vm}/tags/t3`, token: env.demo, mv: '2.26' });
    assert.equal(add.statusCode, 201);
    assert.match(String(add.headers.location), new RegExp(`/servers/${vm}/tags/t3$`));
    assert.equal((await call(env, { method: 'PUT', url: `/servers/${vm}/tags/t3`, token: env.demo, mv: '2.26' })).statusCode, 204);
    assert.equal((await call(env, { url: `/servers/${vm}/tags/t3`, token: env.demo, mv: '2.26' })).statusCode, 204);
    assert.equal((await call(env, { method: 'DELETE', url: `/servers/${vm}/tags/t3`, token: env.demo, mv: '2.26' })).statusCode, 204);
    fault(await call(env, { url: `/servers/${vm}/tags/t3`, token: env.demo, mv: '2.26' }), 404, 'itemNotFound');
    fault(await call(env, { method: 'PUT', url: `/servers/${vm}/tags`, token: env.demo, mv: '2.26', body: { tags: ['a,b'] } }), 400, 'badRequest');
    fault(await call(env, { method: 'PUT', url: `/servers/${vm}/tags`, token: env.demo, mv: '2.26', body: { tags: Array.from({ length: 51 }, (_, i) => `t${i}`) } }), 400, 'badRequest');
    assert.equal((await call(env, { method: 'DELETE', url: `/servers/${vm}/tags`, token: env.demo, mv: '2.26' })).statusCode, 204);
    assert.deepEqual((await call(env, { url: `/servers/${vm}/tags`, token: env.demo, mv: '2.26' })).json(), { tags: [] });
  });

  test('ips, password, remote consoles, diagnostics', async () => {
    const ips = (await call(env, { url: `/servers/${vm}/ips`, token: env.demo })).json().addresses;
    assert.deepEqual(Object.keys(ips), ['private']);
    assert.deepEqual(Object.keys(ips.private[0]).sort(), ['addr', 'version']);
    assert.deepEqual((await call(env, { url: `/servers/${vm}/ips/private`, token: env.demo })).json(), { private: ips.private });
    assert.equal(fault(await call(env, { url: `/servers/${vm}/ips/other`, token: env.demo }), 404, 'itemNotFound'), 'Instance is not a member of specified network');
    assert.deepEqual((await call(env, { url: `/servers/${vm}/os-server-password`, token: env.demo })).json(), { password: '' });
    assert.equal((await call(env, { method: 'DELETE', url: `/servers/${vm}/os-server-password`, token: env.demo })).statusCode, 204);
    const rc = await call(env, { method: 'POST', url: `/servers/${vm}/remote-consoles`, token: env.demo, mv: '2.6', body: { remote_console: { protocol: 'vnc', type: 'novnc' } } });
    assert.equal(rc.statusCode, 200);
    assert.match(rc.json().remote_console.url, /^http:\/\/.*vnc_auto\.html\?path=/);
    fault(await call(env, { method: 'POST', url: `/servers/${vm}/remote-consoles`, token: env.demo, mv: '2.6', body: { remote_console: { protocol: 'vnc', type: 'spice-html5' } } }), 400, 'badRequest');
    fault(await call(env, { method: 'POST', url: `/servers/${vm}/remote-consoles`, token: env.demo, mv: '2.5', body: { remote_console: { protocol: 'vnc', type: 'novnc' } } }), 404, 'itemNotFound');
    const legacy = await act(env, env.demo, vm, { 'os-getVNCConsole': { type: 'novnc' } });
    assert.equal(legacy.statusCode, 200);
    assert.equal(legacy.json().console.type, 'novnc');
    const d = (await call(env, { url: `/servers/${vm}/diagnostics`, token: env.admin, mv: '2.48' })).json();
    assert.equal(d.state, 'running');
    assert.equal(d.num_cpus, 1);
    assert.equal(typeof (await call(env, { url: `/servers/${vm}/diagnostics`, token: env.admin })).json().memory, 'number');
  });
});
