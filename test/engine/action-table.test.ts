// Every (status × action) pair is accepted or refused as Nova's action table says (reference §2.5),
// written out here independently of src/domain/actions.ts so that a wrong row fails the test.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { makeEngine, ctx, ADMIN, DEMO, createRequest, statusNow, type Harness } from './harness.ts';
import { DomainError } from '../../src/domain/errors.ts';
import type { ActionName } from '../../src/domain/actions.ts';

type Setup = (h: Harness) => Promise<string>;

async function create(h: Harness, settle = true): Promise<string> {
  const [s] = await h.engine.create(ctx(DEMO), await createRequest(h));
  if (settle) await h.engine.settle();
  return s.uuid;
}
async function via(h: Harness, action: ActionName, params: Record<string, unknown> = {}): Promise<string> {
  const uuid = await create(h);
  await h.engine.act(ctx(ADMIN), uuid, action, params);
  await h.engine.settle();
  return uuid;
}

const SETUPS: Record<string, Setup> = {
  ACTIVE: (h) => create(h),
  BUILD: (h) => create(h, false),
  SHUTOFF: (h) => via(h, 'stop'),
  PAUSED: (h) => via(h, 'pause'),
  SUSPENDED: (h) => via(h, 'suspend'),
  RESCUE: (h) => via(h, 'rescue'),
  VERIFY_RESIZE: async (h) => via(h, 'resize', { flavor: await h.engine.store.getFlavor('84') }),
  SHELVED_OFFLOADED: (h) => via(h, 'shelve'),
  ERROR: (h) => via(h, 'resetState', { state: 'error' }),
  REBOOT: async (h) => {
    const uuid = await create(h);
    await h.engine.act(ctx(ADMIN), uuid, 'reboot_soft');
    return uuid;
  },
};

// Allowed actions per status for an admin on an unlocked server (evacuate is checked on its own:
// it also needs the host to be down).
const ALWAYS = ['delete', 'forceDelete', 'lock', 'unlock', 'resetState'];
const EXPECTED: Record<string, string[]> = {
  ACTIVE: [...ALWAYS, 'reboot_soft', 'reboot_hard', 'rebuild', 'resize', 'stop', 'pause', 'suspend', 'rescue', 'shelve', 'migrate', 'live_migrate', 'changePassword', 'createImage', 'createBackup', 'trigger_crash_dump'],
  BUILD: [...ALWAYS],
  SHUTOFF: [...ALWAYS, 'reboot_hard', 'rebuild', 'resize', 'start', 'rescue', 'shelve', 'migrate', 'createImage', 'createBackup'],
  PAUSED: [...ALWAYS, 'reboot_hard', 'unpause', 'shelve', 'live_migrate', 'createImage', 'createBackup', 'trigger_crash_dump'],
  SUSPENDED: [...ALWAYS, 'reboot_hard', 'resume', 'shelve', 'createImage', 'createBackup'],
  RESCUE: [...ALWAYS, 'unrescue', 'trigger_crash_dump'],
  VERIFY_RESIZE: [...ALWAYS, 'confirmResize', 'revertResize', 'trigger_crash_dump'],
  SHELVED_OFFLOADED: [...ALWAYS, 'unshelve'],
  ERROR: [...ALWAYS, 'reboot_hard', 'rebuild', 'stop', 'rescue', 'trigger_crash_dump'],
  // A soft reboot in progress: only a hard reboot may pre-empt it.
  REBOOT: [...ALWAYS, 'reboot_hard'],
};

const ACTIONS_UNDER_TEST: ActionName[] = [
  'delete', 'forceDelete', 'restore', 'reboot_soft', 'reboot_hard', 'rebuild', 'resize', 'confirmResize', 'revertResize',
  'start', 'stop', 'pause', 'unpause', 'suspend', 'resume', 'lock', 'unlock', 'rescue', 'unrescue', 'shelve', 'shelveOffload',
  'unshelve', 'migrate', 'live_migrate', 'changePassword', 'createImage', 'createBackup', 'resetState', 'trigger_crash_dump',
];

async function params(h: Harness, action: ActionName): Promise<Record<string, unknown>> {
  switch (action) {
    case 'resize':
      return { flavor: await h.engine.store.getFlavor('1') };
    case 'rebuild':
      return { image_ref: 'img-2' };
    case 'createImage':
      return { name: 'snap', metadata: {} };
    case 'createBackup':
      return { name: 'bk', backup_type: 'daily', rotation: 1 };
    case 'resetState':
      return { state: 'active' };
    case 'changePassword':
      return { admin_pass: 'x' };
    default:
      return {};
  }
}

async function attempt(h: Harness, uuid: string, action: ActionName): Promise<'accepted' | string> {
  try {
    if (action === 'delete') await h.engine.delete(ctx(ADMIN), uuid);
    else await h.engine.act(ctx(ADMIN), uuid, action, await params(h, action));
    return 'accepted';
  } catch (e) {
    if (e instanceof DomainError) return `${e.code} ${e.message}`;
    throw e;
  }
}

describe('action table: every status × action', () => {
  let h: Harness;
  before(async () => {
    h = await makeEngine({ config: { quota_defaults: { instances: -1, cores: -1, ram: -1, metadata_items: 128 } } });
  });
  after(() => h.close());

  for (const [status, setup] of Object.entries(SETUPS)) {
    test(`from ${status}`, async () => {
      const mismatches: string[] = [];
      for (const action of ACTIONS_UNDER_TEST) {
        const uuid = await setup(h);
        assert.equal(await statusNow(h, uuid), status, `setup for ${status}`);
        const got = await attempt(h, uuid, action);
        const want = EXPECTED[status].includes(action);
        if (want && got !== 'accepted') mismatches.push(`${action}: expected accepted, got ${got}`);
        if (!want && !got.startsWith('409 ')) mismatches.push(`${action}: expected 409, got ${got}`);
        if (!want && got.startsWith('409 ')) {
          // A refusal names the action and the state, and changes nothing.
          assert.match(got, /^409 Cannot '[\w-]+' instance [0-9a-f-]{36} while it is in (vm_state|task_state|launched_at) \S+$/);
          assert.equal(await statusNow(h, uuid), status);
        }
      }
      assert.deepEqual(mismatches, []);
    });
  }

  test('SOFT_DELETED allows restore, delete, forceDelete, lock, unlock and resetState only', async () => {
    const soft = await makeEngine({ config: { reclaim_instance_interval: 3600 } });
    try {
      const mismatches: string[] = [];
      for (const action of ACTIONS_UNDER_TEST) {
        const uuid = await create(soft);
        await soft.engine.delete(ctx(DEMO), uuid);
        await soft.engine.settle();
        assert.equal(await statusNow(soft, uuid), 'SOFT_DELETED');
        const got = await attempt(soft, uuid, action);
        const want = [...ALWAYS, 'restore'].includes(action);
        if (want !== (got === 'accepted')) mismatches.push(`${action}: ${got}`);
      }
      assert.deepEqual(mismatches, []);
    } finally {
      await soft.close();
    }
  });

  test('the 409 message names the action and the state as Nova does', async () => {
    const uuid = await via(h, 'stop');
    const got = await attempt(h, uuid, 'pause');
    assert.equal(got, `409 Cannot 'pause' instance ${uuid} while it is in vm_state stopped`);
    const active = await create(h);
    assert.equal(await attempt(h, active, 'start'), `409 Cannot 'start' instance ${active} while it is in vm_state active`);
    const building = await create(h, false);
    assert.equal(await attempt(h, building, 'rebuild'), `409 Cannot 'rebuild' instance ${building} while it is in vm_state building`);
  });

  test('a lock refuses the owner and lets an admin through', async () => {
    const uuid = await create(h);
    await h.engine.act(ctx(DEMO), uuid, 'lock', { reason: 'maintenance' });
    const s = (await h.engine.store.getServer(uuid))!;
    assert.equal(s.locked_by, 'owner');
    assert.equal(s.locked_reason, 'maintenance');
    await assert.rejects(h.engine.act(ctx(DEMO), uuid, 'stop'), { message: `Instance ${uuid} is locked` });
    await h.engine.act(ctx(ADMIN), uuid, 'stop');
    await h.engine.settle();
    assert.equal(await statusNow(h, uuid), 'SHUTOFF');
  });

  test('an owner cannot remove an admin lock', async () => {
    const uuid = await create(h);
    await h.engine.act(ctx(ADMIN), uuid, 'lock');
    await assert.rejects(h.engine.act(ctx(DEMO), uuid, 'unlock'), { code: 403, message: "Policy doesn't allow os_compute_api:os-lock-server:unlock:unlock_override to be performed." });
  });

  test('admin-only actions are refused to members with the policy message', async () => {
    const uuid = await create(h);
    await assert.rejects(h.engine.act(ctx(DEMO), uuid, 'resetState', { state: 'error' }), { code: 403, message: "Policy doesn't allow os_compute_api:os-admin-actions:reset_state to be performed." });
    await assert.rejects(h.engine.act(ctx(DEMO), uuid, 'migrate'), { code: 403 });
  });

  test("another project's server is not found", async () => {
    const uuid = await create(h);
    const other = { ...DEMO, project_id: 'p-other' };
    await assert.rejects(h.engine.act(ctx(other), uuid, 'stop'), { code: 404, message: `Instance ${uuid} could not be found.` });
  });

  test('evacuate needs its host down and ends where Nova puts it', async () => {
    const uuid = await create(h);
    await assert.rejects(h.engine.act(ctx(ADMIN), uuid, 'evacuate'), { code: 400, message: /^Compute service of compute-\d is still in use\.$/ });
    const host = (await h.engine.store.getServer(uuid))!.host!;
    await h.engine.setHost(host, { forced_down: true });
    try {
      await h.engine.act({ ...ctx(ADMIN), microversion: [2, 94] }, uuid, 'evacuate');
      await h.engine.settle();
      const s = (await h.engine.store.getServer(uuid))!;
      assert.equal(await statusNow(h, uuid), 'ACTIVE');
      assert.notEqual(s.host, host);
    } finally {
      await h.engine.setHost(host, { forced_down: false });
    }
  });
});
