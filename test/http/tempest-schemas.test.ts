// Every route tempest calls, at the microversions tempest's schemas distinguish, answers a body that
// validates against tempest's response schema for that microversion (test/http/tempest-schemas.ts),
// closed objects included: a key tempest does not expect fails here as it would fail tempest.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { act, boot, call, settle, setup, type Call, type Env } from './servers-helpers.ts';
import { checkResponse, tempestSchema } from './tempest-schemas.ts';

let env: Env;
before(async () => {
  env = await setup();
});
after(() => env?.close());

/** Collects schema problems of one area so a test reports all of them at once. */
class Checker {
  problems: string[] = [];
  count = 0;
  check(method: string, v: number, r: LightMyRequestResponse, what = ''): void {
    this.count++;
    const found = checkResponse(tempestSchema(method, v), r.statusCode, r.body);
    for (const p of found) this.problems.push(`${method} @2.${v}${what ? ` (${what})` : ''}: ${p}`);
  }
  async call(method: string, v: number, c: Call, what = ''): Promise<LightMyRequestResponse> {
    const r = await call(env, { ...c, mv: `2.${v}` });
    this.check(method, v, r, what);
    return r;
  }
  done(): void {
    assert.ok(this.count > 0, 'nothing was checked');
    assert.deepEqual(this.problems, []);
  }
}

const SERVER_VERSIONS = [1, 3, 9, 16, 19, 26, 47, 54, 57, 63, 71, 73, 75, 79];
const nets = (v: number) => (v >= 37 ? { networks: 'auto' } : {});

test('servers: create, list, detail, show, update, rebuild and delete match tempest at each schema version', async () => {
  const k = new Checker();
  for (const v of SERVER_VERSIONS) {
    const created = await k.call('ServersClient.create_server', v, {
      method: 'POST', url: '/servers', token: env.demo,
      body: { server: { name: `ts-${v}`, imageRef: env.imageId, flavorRef: '1', metadata: { a: 'b' }, accessIPv4: '10.1.2.3', ...nets(v) } },
    });
    const id = created.json().server?.id as string;
    // BUILD first (no addresses yet), then ACTIVE.
    await k.call('ServersClient.show_server', v, { url: `/servers/${id}`, token: env.demo }, 'BUILD');
    await settle(env);
    for (const [who, token] of [['member', env.demo], ['admin', env.admin]] as const) {
      await k.call('ServersClient.show_server', v, { url: `/servers/${id}`, token }, who);
      await k.call('ServersClient.list_servers', v, { url: '/servers?limit=1', token }, who);
      await k.call('ServersClient.list_servers_detail', v, { url: `/servers/detail${who === 'admin' ? '?all_tenants=1' : ''}`, token }, who);
    }
    await k.call('ServersClient.update_server', v, { method: 'PUT', url: `/servers/${id}`, token: env.demo, body: { server: { name: `ts-${v}-renamed`, accessIPv6: '::babe:dc0c:1602' } } });
    await k.call('ServersClient.rebuild_server', v, { method: 'POST', url: `/servers/${id}/action`, token: env.demo, body: { rebuild: { imageRef: env.imageId, adminPass: 'secret-pass' } } });
    await settle(env);
    // An ERROR server shows a fault.
    await act(env, env.admin, id, { 'os-resetState': { state: 'error' } });
    await k.call('ServersClient.show_server', v, { url: `/servers/${id}`, token: env.demo }, 'ERROR');
    await k.call('ServersClient.list_servers_detail', v, { url: '/servers/detail', token: env.admin }, 'ERROR');
    await k.call('ServersClient.delete_server', v, { method: 'DELETE', url: `/servers/${id}`, token: env.demo });
    await settle(env);
  }
  k.done();
});

test('server actions answer tempest\'s codes and bodies', async () => {
  const k = new Checker();
  const id = await boot(env, env.demo, { name: 'ts-actions' });
  const a = (body: unknown) => ({ method: 'POST' as const, url: `/servers/${id}/action`, token: env.demo, body });
  const step = async (method: string, body: unknown, v = 1, token = env.demo) => {
    const r = await k.call(method, v, { ...a(body), token }, Object.keys(body as object)[0]);
    await settle(env);
    return r;
  };
  await step('ServersClient.action', { 'os-stop': {} });
  await step('ServersClient.action', { 'os-start': {} });
  await step('ServersClient.action', { reboot: { type: 'SOFT' } });
  await step('ServersClient.action', { pause: {} });
  await step('ServersClient.action', { unpause: {} });
  await step('ServersClient.action', { suspend: {} });
  await step('ServersClient.action', { resume: {} });
  await step('ServersClient.action', { lock: {} });
  await step('ServersClient.action', { unlock: {} });
  await step('ServersClient.action', { changePassword: { adminPass: 'n3w-pass' } });
  await step('ServersClient.get_console_output', { 'os-getConsoleOutput': { length: 3 } });
  await step('ServersClient.get_console_output', { 'os-getConsoleOutput': { length: null } });
  await step('ServersClient.action', { resize: { flavorRef: '2' } });
  await step('ServersClient.confirm_resize_server', { confirmResize: {} });
  await step('ServersClient.action', { resize: { flavorRef: '1' } });
  await step('ServersClient.action', { revertResize: {} });
  await step('ServersClient.rescue_server', { rescue: {} });
  await step('ServersClient.action', { unrescue: {} });
  await step('ServersClient.create_image', { createImage: { name: 'ts-snap' } });
  await step('ServersClient.create_image', { createImage: { name: 'ts-snap-245' } }, 45);
  await step('ServersClient.action', { createBackup: { name: 'ts-backup', backup_type: 'daily', rotation: 1 } });
  await step('ServersClient.action', { shelve: {} });
  await step('ServersClient.action', { unshelve: null });
  await step('ServersClient.action', { 'os-resetState': { state: 'active' } }, 1, env.admin);
  await step('ServersClient.action', { migrate: {} }, 1, env.admin);
  await step('ServersClient.confirm_resize_server', { confirmResize: {} });
  await step('ServersClient.action', { 'os-migrateLive': { host: null, block_migration: false, disk_over_commit: false } }, 1, env.admin);
  k.done();
});

test('server sub-resources: metadata, tags, ips, instance actions, password', async () => {
  const k = new Checker();
  const id = await boot(env, env.demo, { name: 'ts-sub', metadata: { k0: 'v0' } });
  const u = (p: string) => `/servers/${id}${p}`;
  await k.call('ServersClient.set_server_metadata', 1, { method: 'PUT', url: u('/metadata'), token: env.demo, body: { metadata: { key1: 'value1', key2: 'value2' } } });
  await k.call('ServersClient.update_server_metadata', 1, { method: 'POST', url: u('/metadata'), token: env.demo, body: { metadata: { key3: 'value3' } } });
  await k.call('ServersClient.list_server_metadata', 1, { url: u('/metadata'), token: env.demo });
  await k.call('ServersClient.show_server_metadata_item', 1, { url: u('/metadata/key1'), token: env.demo });
  await k.call('ServersClient.set_server_metadata_item', 1, { method: 'PUT', url: u('/metadata/nova'), token: env.demo, body: { meta: { nova: 'alt' } } });
  await k.call('ServersClient.delete_server_metadata_item', 1, { method: 'DELETE', url: u('/metadata/nova'), token: env.demo });
  await k.call('ServersClient.update_all_tags', 26, { method: 'PUT', url: u('/tags'), token: env.demo, body: { tags: ['t1', 't2'] } });
  await k.call('ServersClient.list_tags', 26, { url: u('/tags'), token: env.demo });
  await k.call('ServersClient.update_tag', 26, { method: 'PUT', url: u('/tags/t3'), token: env.demo }, 'new');
  await k.call('ServersClient.update_tag', 26, { method: 'PUT', url: u('/tags/t3'), token: env.demo }, 'existing');
  await k.call('ServersClient.check_tag_existence', 26, { url: u('/tags/t3'), token: env.demo });
  await k.call('ServersClient.delete_tag', 26, { method: 'DELETE', url: u('/tags/t3'), token: env.demo });
  await k.call('ServersClient.delete_all_tags', 26, { method: 'DELETE', url: u('/tags'), token: env.demo });
  await k.call('ServersClient.list_addresses', 1, { url: u('/ips'), token: env.demo });
  await k.call('ServersClient.list_addresses_by_network', 1, { url: u('/ips/private'), token: env.demo });
  await k.call('ServersClient.show_password', 1, { url: u('/os-server-password'), token: env.demo });
  await act(env, env.demo, id, { 'os-stop': {} });
  await settle(env);
  for (const v of [1, 21, 51, 58, 62]) {
    for (const token of [env.demo, env.admin]) {
      const list = await k.call('ServersClient.list_instance_actions', v, { url: u('/os-instance-actions'), token });
      const req = list.json().instanceActions[0].request_id as string;
      await k.call('ServersClient.show_instance_action', v, { url: u(`/os-instance-actions/${req}`), token });
    }
  }
  k.done();
});

test('flavors, extra specs and flavor access', async () => {
  const k = new Checker();
  for (const v of [1, 55, 61, 75]) {
    await k.call('FlavorsClient.list_flavors', v, { url: '/flavors', token: env.demo });
    await k.call('FlavorsClient.list_flavors', v, { url: '/flavors?limit=1', token: env.demo }, 'paged');
    await k.call('FlavorsClient.list_flavors_detail', v, { url: '/flavors/detail', token: env.demo });
    await k.call('FlavorsClient.show_flavor', v, { url: '/flavors/1', token: env.demo });
    const id = `ts-flavor-${v}`;
    await k.call('FlavorsClient.create_flavor', v, { method: 'POST', url: '/flavors', token: env.admin, body: { flavor: { name: id, id, ram: 64, vcpus: 1, disk: 0, 'os-flavor-access:is_public': false } } });
    if (v >= 55) await k.call('FlavorsClient.update_flavor', v, { method: 'PUT', url: `/flavors/${id}`, token: env.admin, body: { flavor: { description: 'small' } } });
    await k.call('FlavorsClient.set_flavor_extra_spec', v, { method: 'POST', url: `/flavors/${id}/os-extra_specs`, token: env.admin, body: { extra_specs: { 'hw:numa_nodes': '1', 'hw:cpu_policy': 'shared' } } });
    await k.call('FlavorsClient.list_flavor_extra_specs', v, { url: `/flavors/${id}/os-extra_specs`, token: env.admin });
    await k.call('FlavorsClient.show_flavor_extra_spec', v, { url: `/flavors/${id}/os-extra_specs/hw:numa_nodes`, token: env.admin });
    await k.call('FlavorsClient.update_flavor_extra_spec', v, { method: 'PUT', url: `/flavors/${id}/os-extra_specs/hw:numa_nodes`, token: env.admin, body: { 'hw:numa_nodes': '2' } });
    await k.call('FlavorsClient.add_flavor_access', v, { method: 'POST', url: `/flavors/${id}/action`, token: env.admin, body: { addTenantAccess: { tenant: env.projects.demo } } });
    await k.call('FlavorsClient.list_flavor_access', v, { url: `/flavors/${id}/os-flavor-access`, token: env.admin });
    await k.call('FlavorsClient.remove_flavor_access', v, { method: 'POST', url: `/flavors/${id}/action`, token: env.admin, body: { removeTenantAccess: { tenant: env.projects.demo } } });
    await k.call('FlavorsClient.delete_flavor', v, { method: 'DELETE', url: `/flavors/${id}`, token: env.admin });
  }
  k.done();
});

test('keypairs, limits, quotas, server groups and availability zones', async () => {
  const k = new Checker();
  for (const v of [1, 2, 10, 35]) {
    const name = `ts-kp-${v}`;
    await k.call('KeyPairsClient.create_keypair', v, { method: 'POST', url: '/os-keypairs', token: env.demo, body: { keypair: { name } } });
    await k.call('KeyPairsClient.list_keypairs', v, { url: '/os-keypairs', token: env.demo });
    await k.call('KeyPairsClient.show_keypair', v, { url: `/os-keypairs/${name}`, token: env.demo });
    await k.call('KeyPairsClient.delete_keypair', v, { method: 'DELETE', url: `/os-keypairs/${name}`, token: env.demo });
  }
  for (const v of [1, 36, 39, 57]) await k.call('LimitsClient.show_limits', v, { url: '/limits', token: env.demo });
  const pid = env.projects.demo;
  for (const v of [1, 36, 57]) {
    await k.call('QuotasClient.show_quota_set', v, { url: `/os-quota-sets/${pid}`, token: env.demo });
    await k.call('QuotasClient.show_default_quota_set', v, { url: `/os-quota-sets/${pid}/defaults`, token: env.demo });
    await k.call('QuotasClient.show_quota_set_detail', v, { url: `/os-quota-sets/${pid}/detail`, token: env.demo });
    await k.call('QuotasClient.update_quota_set', v, { method: 'PUT', url: `/os-quota-sets/${pid}`, token: env.admin, body: { quota_set: { instances: 20 } } });
    await k.call('QuotasClient.delete_quota_set', v, { method: 'DELETE', url: `/os-quota-sets/${pid}`, token: env.admin });
  }
  for (const v of [1, 13, 64]) {
    const body = v >= 64 ? { server_group: { name: `ts-sg-${v}`, policy: 'anti-affinity' } } : { server_group: { name: `ts-sg-${v}`, policies: ['affinity'] } };
    const created = await k.call('ServerGroupsClient.create_server_group', v, { method: 'POST', url: '/os-server-groups', token: env.demo, body });
    const gid = created.json().server_group.id as string;
    await boot(env, env.demo, { name: `ts-sg-member-${v}` }).catch(() => undefined);
    await k.call('ServerGroupsClient.show_server_group', v, { url: `/os-server-groups/${gid}`, token: env.demo });
    await k.call('ServerGroupsClient.list_server_groups', v, { url: '/os-server-groups', token: env.demo });
    await k.call('ServerGroupsClient.delete_server_group', v, { method: 'DELETE', url: `/os-server-groups/${gid}`, token: env.demo });
  }
  await k.call('AvailabilityZoneClient.list_availability_zones', 1, { url: '/os-availability-zone', token: env.demo });
  await k.call('AvailabilityZoneClient.list_availability_zones_detail', 1, { url: '/os-availability-zone/detail', token: env.admin });
  await k.call('TenantNetworksClient.list_tenant_networks', 1, { url: '/os-tenant-networks', token: env.demo });
  k.done();
});

test('hypervisors, services and migrations (admin)', async () => {
  const k = new Checker();
  const id = await boot(env, env.admin, { name: 'ts-admin' });
  for (const v of [1, 28, 33, 53, 79]) {
    const list = await k.call('HypervisorClient.list_hypervisors', v, { url: '/os-hypervisors', token: env.admin });
    const hid = list.json().hypervisors[0].id as string | number;
    await k.call('HypervisorClient.list_hypervisors_detail', v, { url: '/os-hypervisors/detail', token: env.admin });
    await k.call('HypervisorClient.show_hypervisor', v, { url: `/os-hypervisors/${hid}`, token: env.admin });
    await k.call('HypervisorClient.show_hypervisor_statistics', v, { url: '/os-hypervisors/statistics', token: env.admin });
    await k.call('HypervisorClient.show_hypervisor_uptime', v, { url: `/os-hypervisors/${hid}/uptime`, token: env.admin });
    if (v < 53) {
      await k.call('HypervisorClient.search_hypervisor', v, { url: '/os-hypervisors/compute/search', token: env.admin });
      await k.call('HypervisorClient.list_servers_on_hypervisor', v, { url: '/os-hypervisors/compute/servers', token: env.admin });
    } else {
      await k.call('HypervisorClient.list_hypervisors', v, { url: '/os-hypervisors?with_servers=true', token: env.admin }, 'with servers');
    }
  }
  for (const v of [1, 11, 53]) await k.call('ServicesClient.list_services', v, { url: '/os-services', token: env.admin });
  for (const v of [1, 11]) {
    const svc = { host: 'compute-1', binary: 'nova-compute' };
    await k.call('ServicesClient.disable_service', v, { method: 'PUT', url: '/os-services/disable', token: env.admin, body: svc });
    await k.call('ServicesClient.enable_service', v, { method: 'PUT', url: '/os-services/enable', token: env.admin, body: svc });
    await k.call('ServicesClient.disable_log_reason', v, { method: 'PUT', url: '/os-services/disable-log-reason', token: env.admin, body: { ...svc, disabled_reason: 'test' } });
    await k.call('ServicesClient.enable_service', v, { method: 'PUT', url: '/os-services/enable', token: env.admin, body: svc });
    if (v >= 11) {
      await k.call('ServicesClient.update_forced_down', v, { method: 'PUT', url: '/os-services/force-down', token: env.admin, body: { ...svc, forced_down: true } });
      await k.call('ServicesClient.update_forced_down', v, { method: 'PUT', url: '/os-services/force-down', token: env.admin, body: { ...svc, forced_down: false } });
    }
  }
  await act(env, env.admin, id, { migrate: {} });
  await settle(env);
  await act(env, env.admin, id, { confirmResize: {} });
  await settle(env);
  await act(env, env.admin, id, { 'os-migrateLive': { host: null, block_migration: 'auto' } }, '2.25');
  await settle(env);
  for (const v of [1, 23, 59, 79]) await k.call('MigrationsClient.list_migrations', v, { url: '/os-migrations', token: env.admin });
  k.done();
});

test('the compute image proxy: list, detail, show, metadata and delete match tempest (2.1 to 2.35)', async () => {
  const k = new Checker();
  const server = await boot(env, env.demo, { name: 'ts-img-src' });
  const snap = (await act(env, env.demo, server, { createImage: { name: 'ts-snap', metadata: { auto_disk_config: 'False' } } }, '2.45')).json().image_id as string;
  await settle(env);
  for (const v of [1, 35]) {
    await k.call('ImagesClient.list_images', v, { url: '/images?limit=1', token: env.demo });
    await k.call('ImagesClient.list_images_detail', v, { url: '/images/detail', token: env.demo });
    await k.call('ImagesClient.show_image', v, { url: `/images/${snap}`, token: env.demo }, 'snapshot');
    await k.call('ImagesClient.show_image', v, { url: `/images/${env.imageId}`, token: env.demo });
    await k.call('ImagesClient.set_image_metadata', v, { method: 'PUT', url: `/images/${snap}/metadata`, token: env.demo, body: { metadata: { a: '1' } } });
    await k.call('ImagesClient.update_image_metadata', v, { method: 'POST', url: `/images/${snap}/metadata`, token: env.demo, body: { metadata: { b: '2' } } });
    await k.call('ImagesClient.list_image_metadata', v, { url: `/images/${snap}/metadata`, token: env.demo });
    await k.call('ImagesClient.set_image_metadata_item', v, { method: 'PUT', url: `/images/${snap}/metadata/c`, token: env.demo, body: { meta: { c: '3' } } });
    await k.call('ImagesClient.show_image_metadata_item', v, { url: `/images/${snap}/metadata/c`, token: env.demo });
    await k.call('ImagesClient.delete_image_metadata_item', v, { method: 'DELETE', url: `/images/${snap}/metadata/c`, token: env.demo });
  }
  await k.call('ImagesClient.delete_image', 1, { method: 'DELETE', url: `/images/${snap}`, token: env.demo });
  k.done();
});

test('version documents', async () => {
  const k = new Checker();
  const list = await call(env, { url: '/compute/' });
  k.check('VersionsClient.list_versions', 1, list);
  for (const entry of list.json().versions as { links: { rel: string; href: string }[] }[]) {
    const self = entry.links.find((l) => l.rel === 'self')!.href;
    const path = new URL(self).pathname;
    if (path === '/compute/v2/') continue; // the legacy v2 API is not served
    k.check('VersionsClient.get_version_by_url', 1, await call(env, { url: path, token: env.demo }));
  }
  k.done();
});

test('the transcribed schemas are closed: a key tempest does not know, or one missing, fails', async () => {
  const id = await boot(env, env.demo, { name: 'ts-closed' });
  const r = await call(env, { url: `/servers/${id}`, token: env.demo });
  const body = r.json();
  assert.deepEqual(checkResponse(tempestSchema('ServersClient.show_server', 1), 200, r.body), []);
  const extra = JSON.stringify({ server: { ...body.server, locked: false } });
  assert.match(checkResponse(tempestSchema('ServersClient.show_server', 1), 200, extra).join('\n'), /additional properties: locked/);
  assert.match(checkResponse(tempestSchema('ServersClient.show_server', 9), 200, r.body).join('\n'), /required property 'locked'/);
  assert.notDeepEqual(checkResponse(tempestSchema('ServersClient.action', 1), 202, '{}'), []);
  assert.notDeepEqual(checkResponse(tempestSchema('ServersClient.show_server', 1), 404, r.body), []);
});

test('security groups, their rules and a server\'s groups (2.1 and 2.35, the proxy\'s last version)', async () => {
  const k = new Checker();
  const id = await boot(env, env.demo, { name: 'ts-secgroups' });
  for (const v of [1, 35]) {
    const g = await k.call('SecurityGroupsClient.create_security_group', v, { method: 'POST', url: '/os-security-groups', token: env.demo, body: { security_group: { name: `ts-sg-${v}`, description: 'd' } } });
    const gid = g.json().security_group.id as string;
    const r = await k.call('SecurityGroupRulesClient.create_security_group_rule', v, { method: 'POST', url: '/os-security-group-rules', token: env.demo, body: { security_group_rule: { parent_group_id: gid, ip_protocol: 'tcp', from_port: 22, to_port: 22 } } });
    await k.call('SecurityGroupRulesClient.create_security_group_rule', v, { method: 'POST', url: '/os-security-group-rules', token: env.demo, body: { security_group_rule: { parent_group_id: gid, ip_protocol: 'icmp', group_id: gid } } }, 'group rule');
    await k.call('SecurityGroupsClient.show_security_group', v, { url: `/os-security-groups/${gid}`, token: env.demo });
    await k.call('SecurityGroupsClient.update_security_group', v, { method: 'PUT', url: `/os-security-groups/${gid}`, token: env.demo, body: { security_group: { name: `ts-sg-${v}-b`, description: 'e' } } });
    await k.call('SecurityGroupsClient.list_security_groups', v, { url: '/os-security-groups', token: env.demo });
    await k.call('ServersClient.action', v, { method: 'POST', url: `/servers/${id}/action`, token: env.demo, body: { addSecurityGroup: { name: `ts-sg-${v}-b` } } }, 'addSecurityGroup');
    await k.call('ServersClient.list_security_groups_by_server', v, { url: `/servers/${id}/os-security-groups`, token: env.demo });
    await k.call('ServersClient.action', v, { method: 'POST', url: `/servers/${id}/action`, token: env.demo, body: { removeSecurityGroup: { name: `ts-sg-${v}-b` } } }, 'removeSecurityGroup');
    await k.call('SecurityGroupRulesClient.delete_security_group_rule', v, { method: 'DELETE', url: `/os-security-group-rules/${r.json().security_group_rule.id}`, token: env.demo });
    await k.call('SecurityGroupsClient.delete_security_group', v, { method: 'DELETE', url: `/os-security-groups/${gid}`, token: env.demo });
  }
  k.done();
});
