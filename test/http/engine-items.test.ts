// The engine items of issue 13, each through HTTP: restore and early unshelve leave the earlier
// action successful; events last as long as their steps; power sync stops a paused server whose
// guest went down; server_group_members quota; restore rechecks quota; the guest posts its
// encrypted password; absolute limits count security groups.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import forge from 'node-forge';
import { act, boot, call, fault, settle, setup, show, type Env } from './servers-helpers.ts';
import { generateSshKey } from '../../src/api/compute/resources/keypairs.ts';

async function actions(env: Env, id: string): Promise<{ action: string; request_id: string; message: string | null }[]> {
  return (await call(env, { url: `/servers/${id}/os-instance-actions`, token: env.admin })).json().instanceActions;
}

describe('soft delete and shelve: the later action does not fail the earlier one', () => {
  let env: Env;
  before(async () => {
    env = await setup({ reclaim_instance_interval: 3600, shelved_offload_time: 3600 });
  });
  after(() => env.close());

  test('restore after a soft delete: delete succeeded, restore succeeded', async () => {
    const id = await boot(env, env.demo);
    assert.equal((await call(env, { method: 'DELETE', url: `/servers/${id}`, token: env.demo })).statusCode, 204);
    await settle(env);
    assert.equal((await show(env, env.admin, id)).status, 'SOFT_DELETED');
    assert.equal((await act(env, env.demo, id, { restore: null })).statusCode, 202);
    await settle(env);
    assert.equal((await show(env, env.admin, id)).status, 'ACTIVE');
    const list = await actions(env, id);
    assert.deepEqual(list.map((a) => [a.action, a.message]), [['restore', null], ['delete', null], ['create', null]]);
  });

  test('unshelve before the offload: shelve succeeded', async () => {
    const id = await boot(env, env.demo);
    assert.equal((await act(env, env.demo, id, { shelve: null })).statusCode, 202);
    await settle(env);
    assert.equal((await show(env, env.admin, id)).status, 'SHELVED');
    assert.equal((await act(env, env.demo, id, { unshelve: null })).statusCode, 202);
    await settle(env);
    assert.equal((await show(env, env.admin, id)).status, 'ACTIVE');
    assert.deepEqual((await actions(env, id)).map((a) => [a.action, a.message]), [['unshelve', null], ['shelve', null], ['create', null]]);
  });

  test('restore rechecks quota: a full project cannot bring a soft-deleted server back', async () => {
    const id = await boot(env, env.alt);
    await call(env, { method: 'DELETE', url: `/servers/${id}`, token: env.alt });
    await settle(env);
    await call(env, { method: 'PUT', url: `/os-quota-sets/${env.projects.alt_demo}`, token: env.admin, body: { quota_set: { instances: 1 } } });
    const other = await boot(env, env.alt);
    const r = await act(env, env.alt, id, { restore: null });
    fault(r, 403, 'Quota exceeded for instances: Requested 1, but already used 1 of 1 instances');
    assert.equal((await show(env, env.admin, id)).status, 'SOFT_DELETED');
    await call(env, { method: 'DELETE', url: `/servers/${other}`, token: env.alt });
  });
});

describe('events, power sync, group quota, passwords', () => {
  let env: Env;
  before(async () => {
    env = await setup({ time_scale: 0.05 });
  });
  after(() => env.close());

  const until = async (id: string, status: string) => {
    for (let i = 0; i < 200; i++) {
      await settle(env);
      const s = await show(env, env.admin, id);
      if (s.status === status && s['OS-EXT-STS:task_state'] === null) return s;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`${id} never became ${status}`);
  };

  test('a one-step action\'s event lasts as long as its step', async () => {
    const r = await call(env, { method: 'POST', url: '/servers', token: env.demo, body: { server: { name: 'ev', imageRef: env.imageId, flavorRef: '1' } } });
    const id = r.json().server.id;
    await until(id, 'ACTIVE');
    const p = await act(env, env.demo, id, { pause: null });
    await until(id, 'PAUSED');
    const req = p.headers['x-compute-request-id'];
    const a = (await call(env, { url: `/servers/${id}/os-instance-actions/${req}`, token: env.admin, mv: '2.51' })).json().instanceAction;
    assert.equal(a.events.length, 1);
    const ev = a.events[0];
    assert.equal(ev.event, 'compute_pause_instance');
    assert.ok(Date.parse(`${ev.finish_time}Z`) > Date.parse(`${ev.start_time}Z`), JSON.stringify(ev));
    // The create's events follow each other: each starts when the previous ends.
    const c = (await call(env, { url: `/servers/${id}/os-instance-actions/${r.headers['x-compute-request-id']}`, token: env.admin, mv: '2.51' })).json().instanceAction;
    const evs = [...c.events].sort((x: { start_time: string }, y: { start_time: string }) => x.start_time.localeCompare(y.start_time));
    assert.ok(evs.length >= 2);
    assert.ok(evs.every((e: { finish_time: string; start_time: string }) => e.finish_time > e.start_time), JSON.stringify(evs));
  });

  test('power sync stops a paused server whose guest shut down', async () => {
    const id = await boot(env, env.demo);
    await until(id, 'ACTIVE');
    await act(env, env.demo, id, { pause: null });
    await until(id, 'PAUSED');
    const g = await env.nb.app.inject({ method: 'POST', url: `/novabox/v1/servers/${id}/guest`, headers: { 'x-auth-token': env.admin, 'content-type': 'application/json' }, payload: { event: 'shutdown' } });
    assert.equal(g.statusCode, 202);
    const s = await until(id, 'SHUTOFF');
    assert.equal(s['OS-EXT-STS:vm_state'], 'stopped');
  });

  test('server_group_members quota is enforced on create', async () => {
    await call(env, { method: 'PUT', url: `/os-quota-sets/${env.projects.demo}`, token: env.admin, body: { quota_set: { server_group_members: 1 } } });
    const g = (await call(env, { method: 'POST', url: '/os-server-groups', token: env.demo, body: { server_group: { name: 'q', policies: ['affinity'] } } })).json().server_group.id;
    const body = (n: string) => ({ server: { name: n, imageRef: env.imageId, flavorRef: '1' }, 'os:scheduler_hints': { group: g } });
    assert.equal((await call(env, { method: 'POST', url: '/servers', token: env.demo, body: body('one') })).statusCode, 202);
    fault(await call(env, { method: 'POST', url: '/servers', token: env.demo, body: body('two') }), 403, 'Quota exceeded, too many servers in group');
    await call(env, { method: 'PUT', url: `/os-quota-sets/${env.projects.demo}`, token: env.admin, body: { quota_set: { server_group_members: 10 } } });
  });

  test('a guest booted with an RSA key posts its password, encrypted with the key', async () => {
    const kp = generateSshKey();
    const imported = await call(env, { method: 'POST', url: '/os-keypairs', token: env.demo, body: { keypair: { name: 'pw-key', public_key: kp.public_key } } });
    assert.equal(imported.statusCode, 200, imported.body);
    const id = await boot(env, env.demo, { key_name: 'pw-key' });
    await until(id, 'ACTIVE');
    const pw = (await call(env, { url: `/servers/${id}/os-server-password`, token: env.demo })).json().password;
    // PKCS#1 v1.5, as Nova's clients decrypt it (node's own crypto no longer decrypts that padding).
    const clear = forge.pki.privateKeyFromPem(kp.private_key).decrypt(forge.util.decode64(pw), 'RSAES-PKCS1-V1_5');
    assert.match(clear, /^[A-Za-z0-9]{16}$/);
    assert.equal((await call(env, { method: 'DELETE', url: `/servers/${id}/os-server-password`, token: env.demo })).statusCode, 204);
    assert.equal((await call(env, { url: `/servers/${id}/os-server-password`, token: env.demo })).json().password, '');
  });
});

describe('absolute limits', () => {
  let env: Env;
  before(async () => {
    env = await setup();
  });
  after(() => env.close());

  test('totalSecurityGroupsUsed counts the project\'s security groups (below 2.36)', async () => {
    const before = (await call(env, { url: '/limits', token: env.demo, mv: '2.35' })).json().limits.absolute.totalSecurityGroupsUsed;
    const r = await call(env, { method: 'POST', url: '/os-security-groups', token: env.demo, mv: '2.35', body: { security_group: { name: 'lim', description: 'd' } } });
    assert.equal(r.statusCode, 200, r.body);
    const afterCount = (await call(env, { url: '/limits', token: env.demo, mv: '2.35' })).json().limits.absolute.totalSecurityGroupsUsed;
    assert.ok(afterCount >= before + 1);
    // The count is the project's list (its lazily made `default` group included).
    assert.equal(afterCount, (await call(env, { url: '/os-security-groups', token: env.demo, mv: '2.35' })).json().security_groups.length);
  });
});

describe('changes-before', () => {
  let env: Env;
  before(async () => {
    env = await setup();
  });
  after(() => env.close());

  test('the boundary second is included by changes-before as by changes-since (Nova keeps whole seconds)', async () => {
    const id = await boot(env, env.demo);
    const updated = (await show(env, env.demo, id)).updated as string; // whole seconds, e.g. 2026-12-02T08:20:01Z
    const list = async (q: string) => (await call(env, { url: `/servers?${q}`, token: env.demo, mv: '2.66' })).json().servers.map((s: { id: string }) => s.id);
    assert.ok((await list(`changes-since=${updated}`)).includes(id));
    assert.ok((await list(`changes-before=${updated}`)).includes(id));
    assert.ok((await list(`changes-since=${updated}&changes-before=${updated}`)).includes(id));
    const earlier = new Date(Date.parse(updated) - 1000).toISOString().replace('.000', '');
    assert.ok(!(await list(`changes-before=${earlier}`)).includes(id));
    const actions = (await call(env, { url: `/servers/${id}/os-instance-actions?changes-before=${updated}`, token: env.demo, mv: '2.66' })).json().instanceActions;
    assert.ok(actions.some((a: { action: string }) => a.action === 'create'));
  });
});
