// Every public action of the engine's table from every reachable status: 2xx when the table allows
// the action in that state, 409 with Nova's message otherwise. Plus the /action body rules.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ACTIONS, PUBLIC_ACTIONS, checkState, stateConflictMessage, type ActionName } from '../../src/domain/actions.ts';
import { defaultConfig } from '../../src/config.ts';
import { act, boot, call, setup, settle, show, type Env } from './servers-helpers.ts';

let env: Env;
before(async () => { env = await setup({ quota_defaults: { ...defaultConfig().quota_defaults, instances: 500, cores: 1000, ram: 10_000_000 } }); });
after(async () => { await env.close(); });

/** The request body that asks for each action (admin-only ones are sent by the admin). */
function bodyOf(a: ActionName, env: Env): { body: unknown; mv?: string } | null {
  switch (a) {
    case 'reboot_soft': return { body: { reboot: { type: 'SOFT' } } };
    case 'reboot_hard': return { body: { reboot: { type: 'HARD' } } };
    case 'rebuild': return { body: { rebuild: { imageRef: env.imageId } } };
    case 'resize': return { body: { resize: { flavorRef: '2' } } };
    case 'start': return { body: { 'os-start': null } };
    case 'stop': return { body: { 'os-stop': null } };
    case 'live_migrate': return { body: { 'os-migrateLive': { block_migration: 'auto', host: null } }, mv: '2.25' };
    case 'resetState': return { body: { 'os-resetState': { state: 'active' } } };
    case 'trigger_crash_dump': return { body: { trigger_crash_dump: null }, mv: '2.17' };
    case 'changePassword': return { body: { changePassword: { adminPass: 'pw' } } };
    case 'createImage': return { body: { createImage: { name: 'snap' } } };
    case 'createBackup': return { body: { createBackup: { name: 'b', backup_type: 'daily', rotation: 1 } } };
    case 'evacuate': return null; // needs its host down: tested apart
    case 'create': case 'delete': case 'restore': return null; // not /action (restore needs soft delete)
    default: return { body: { [a]: null } };
  }
}

/** Drive a fresh server into a status through the API; returns its id. */
async function inStatus(status: string): Promise<string> {
  const id = await boot(env, env.demo);
  const step = async (body: unknown, token = env.demo, mv?: string) => {
    const r = await act(env, token, id, body, mv);
    assert.ok(r.statusCode < 300, `${JSON.stringify(body)} → ${r.statusCode} ${r.body}`);
    await settle(env);
  };
  switch (status) {
    case 'ACTIVE': break;
    case 'SHUTOFF': await step({ 'os-stop': null }); break;
    case 'PAUSED': await step({ pause: null }); break;
    case 'SUSPENDED': await step({ suspend: null }); break;
    case 'RESCUE': await step({ rescue: null }); break;
    case 'SHELVED_OFFLOADED': await step({ shelve: null }); break;
    case 'VERIFY_RESIZE': await step({ resize: { flavorRef: '2' } }); break;
    case 'ERROR': await step({ 'os-resetState': { state: 'error' } }, env.admin); break;
  }
  assert.equal((await show(env, env.demo, id)).status, status);
  return id;
}

const STATUSES = ['ACTIVE', 'SHUTOFF', 'PAUSED', 'SUSPENDED', 'RESCUE', 'SHELVED_OFFLOADED', 'VERIFY_RESIZE', 'ERROR'];

describe('every action from every status', () => {
  for (const status of STATUSES) {
    it(`from ${status}`, async () => {
      for (const name of PUBLIC_ACTIONS) {
        const req = bodyOf(name, env);
        if (!req) continue;
        const rule = ACTIONS[name];
        const id = await inStatus(status);
        const before = await env.nb.services.engine.getServer({ user_id: 'x', project_id: null, roles: ['admin'], request_id: 'r', microversion: [2, 1] }, id);
        const token = rule.policy === 'admin' || rule.policy === 'manager' ? env.admin : env.demo;
        const r = await act(env, token, id, req.body, req.mv);
        const failure = checkState(rule, before);
        if (failure) {
          assert.equal(r.statusCode, 409, `${name} from ${status}: ${r.body}`);
          assert.deepEqual(r.json(), { conflictingRequest: { code: 409, message: stateConflictMessage(rule, id, failure) } });
        } else {
          const expected = name === 'live_migrate' || name === 'migrate' ? 202 : rule.http;
          assert.equal(r.statusCode, expected, `${name} from ${status}: ${r.body}`);
        }
        await settle(env);
      }
    });
  }
});

describe('/action bodies and responses', () => {
  it('refuses unknown actions, several keys and versioned-out actions', async () => {
    const id = await boot(env, env.demo);
    let r = await act(env, env.demo, id, { frobnicate: null });
    assert.deepEqual(r.json(), { badRequest: { code: 400, message: 'There is no such action: frobnicate' } });
    r = await act(env, env.demo, id, { pause: null, unpause: null });
    assert.deepEqual(r.json(), { badRequest: { code: 400, message: 'Malformed request body' } });
    r = await act(env, env.demo, id, { trigger_crash_dump: null }, '2.16');
    assert.deepEqual(r.json(), { itemNotFound: { code: 404, message: 'The resource could not be found.' } });
    r = await act(env, env.demo, id, { addFixedIp: { networkId: 'x' } }, '2.44');
    assert.equal(r.statusCode, 404);
    assert.equal((await act(env, env.demo, id, { addFixedIp: { networkId: 'x' } }, '2.43')).statusCode, 202);
    r = await act(env, env.demo, id, { resetNetwork: null });
    assert.equal(r.statusCode, 410);
    r = await act(env, env.demo, id, { trigger_crash_dump: {} }, '2.17');
    assert.equal(r.statusCode, 400);
  });

  it('validates the body before looking the server up, and looks up before policy', async () => {
    const missing = '00000000-0000-0000-0000-000000000000';
    let r = await act(env, env.demo, missing, { reboot: { type: 'sideways' } });
    assert.equal(r.statusCode, 400);
    r = await act(env, env.demo, missing, { reboot: { type: 'hard' } });
    assert.equal(r.statusCode, 404);
    const id = await boot(env, env.demo);
    r = await act(env, env.demo, id, { 'os-resetState': { state: 'error' } });
    assert.deepEqual(r.json(), { forbidden: { code: 403, message: "Policy doesn't allow os_compute_api:os-admin-actions:reset_state to be performed." } });
  });

  it('rebuild answers 202 with the server, adminPass and Location', async () => {
    const id = await boot(env, env.demo);
    const r = await act(env, env.demo, id, { rebuild: { imageRef: env.imageId, name: 'rebuilt', adminPass: 'pw1' } });
    assert.equal(r.statusCode, 202);
    assert.match(String(r.headers.location), new RegExp(`/servers/${id}$`));
    const s = r.json().server;
    assert.equal(s.adminPass, 'pw1');
    assert.equal(s.name, 'rebuilt');
    assert.equal(s.status, 'REBUILD');
    assert.ok(!('key_name' in s));
    const at257 = await act(env, env.demo, id, { rebuild: { imageRef: '11111111-2222-3333-4444-555555555555' } }, '2.57');
    assert.deepEqual(at257.json(), { badRequest: { code: 400, message: 'Cannot find image for rebuild' } });
  });

  it('resize to the same flavor is 400; confirmResize is 204', async () => {
    const id = await boot(env, env.demo);
    let r = await act(env, env.demo, id, { resize: { flavorRef: '1' } });
    assert.deepEqual(r.json(), { badRequest: { code: 400, message: 'When resizing, instances must change flavor!' } });
    r = await act(env, env.demo, id, { resize: { flavorRef: '999' } });
    assert.deepEqual(r.json(), { badRequest: { code: 400, message: 'Flavor 999 could not be found.' } });
    assert.equal((await act(env, env.demo, id, { resize: { flavorRef: '2' } })).statusCode, 202);
    await settle(env);
    r = await act(env, env.demo, id, { confirmResize: null });
    assert.equal(r.statusCode, 204);
    await settle(env);
    assert.equal((await show(env, env.demo, id)).flavor.id, '2');
  });

  it('rescue answers 200 with adminPass; createImage Location below 2.45 and image_id from 2.45', async () => {
    const id = await boot(env, env.demo);
    const ci = await act(env, env.demo, id, { createImage: { name: 'snap1' } });
    assert.equal(ci.statusCode, 202);
    assert.match(String(ci.headers.location), /\/images\/[0-9a-f-]{36}$/);
    await settle(env);
    const ci45 = await act(env, env.demo, id, { createImage: { name: 'snap2' } }, '2.45');
    assert.match(ci45.json().image_id, /^[0-9a-f-]{36}$/);
    await settle(env);
    const r = await act(env, env.demo, id, { rescue: { adminPass: 'MyPass' } });
    assert.equal(r.statusCode, 200);
    assert.deepEqual(r.json(), { adminPass: 'MyPass' });
  });

  it('lock stores a reason from 2.73 and the owner then gets 409 on stop', async () => {
    const id = await boot(env, env.demo);
    assert.equal((await act(env, env.demo, id, { lock: { locked_reason: 'maintenance' } }, '2.73')).statusCode, 202);
    const s = await show(env, env.demo, id, '2.73');
    assert.equal(s.locked, true);
    assert.equal(s.locked_reason, 'maintenance');
    const r = await act(env, env.demo, id, { 'os-stop': null });
    assert.deepEqual(r.json(), { conflictingRequest: { code: 409, message: `Instance ${id} is locked` } });
    assert.equal((await act(env, env.demo, id, { lock: { reason: 'x' } }, '2.73')).statusCode, 400);
  });

  it('console output honours length', async () => {
    const id = await boot(env, env.demo);
    const all = (await act(env, env.demo, id, { 'os-getConsoleOutput': {} })).json().output.split('\n');
    assert.ok(all.length > 5);
    const two = await act(env, env.demo, id, { 'os-getConsoleOutput': { length: 2 } });
    assert.equal(two.statusCode, 200);
    assert.deepEqual(two.json().output.split('\n'), all.slice(-2));
    assert.equal((await act(env, env.demo, id, { 'os-getConsoleOutput': { length: -2 } })).statusCode, 400);
  });

  it('evacuate needs the host down and answers 200 with adminPass below 2.14', async () => {
    const id = await boot(env, env.demo);
    const s = await show(env, env.admin, id);
    let r = await act(env, env.admin, id, { evacuate: { onSharedStorage: false } });
    assert.equal(r.statusCode, 400);
    await env.nb.services.engine.setHost(s['OS-EXT-SRV-ATTR:host'], { forced_down: true });
    r = await act(env, env.admin, id, { evacuate: { onSharedStorage: false, adminPass: 'ev' } });
    assert.equal(r.statusCode, 200);
    assert.deepEqual(r.json(), { adminPass: 'ev' });
    await settle(env);
    await env.nb.services.engine.setHost(s['OS-EXT-SRV-ATTR:host'], { forced_down: false });
  });
});
