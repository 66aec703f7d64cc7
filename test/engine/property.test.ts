// Long random sequences of actions, injected faults, out-of-band events and restarts: after every
// command each server is a valid Nova state combination, none is lost, and none is stuck.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeEngine, ctx, ADMIN, DEMO, createRequest, MemoryImages, type Harness } from './harness.ts';
import { ManualClock } from '../../src/engine/clock.ts';
import { DRIVER_OPS, PUBLIC_ACTIONS, type ActionName } from '../../src/domain/actions.ts';
import { POWER_STATES, STATUSES, TASK_STATES, VM_STATES, statusOf } from '../../src/domain/states.ts';
import { DomainError } from '../../src/domain/errors.ts';

type Cmd =
  | { kind: 'act'; server: number; action: ActionName; admin: boolean }
  | { kind: 'fault'; action: ActionName; op: string }
  | { kind: 'step'; n: number }
  | { kind: 'settle' }
  | { kind: 'restart' }
  | { kind: 'guest'; server: number; event: 'shutdown' | 'crash' }
  | { kind: 'host'; index: number; up: boolean }
  | { kind: 'create' };

const actions = PUBLIC_ACTIONS.filter((a) => a !== 'create');
const ops = Object.keys(DRIVER_OPS);
const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('act' as const), server: fc.nat(4), action: fc.constantFrom(...actions), admin: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('fault' as const), action: fc.constantFrom(...actions, 'create' as ActionName), op: fc.constantFrom(...ops, '*') }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('step' as const), n: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'settle' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'restart' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('guest' as const), server: fc.nat(4), event: fc.constantFrom('shutdown' as const, 'crash' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('host' as const), index: fc.nat(1), up: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'create' as const }) },
);

async function paramsFor(h: Harness, action: ActionName): Promise<Record<string, unknown>> {
  switch (action) {
    case 'resize': return { flavor: await h.engine.store.getFlavor(Math.random() < 0.5 ? '84' : '1') };
    case 'rebuild': return { image_ref: 'img-2' };
    case 'createImage': return { name: 'snap' };
    case 'createBackup': return { name: 'bk', backup_type: 'daily', rotation: 1 };
    case 'resetState': return { state: Math.random() < 0.5 ? 'active' : 'error' };
    case 'changePassword': return { admin_pass: 'pw' };
    default: return {};
  }
}

async function checkInvariants(h: Harness, uuids: string[]): Promise<void> {
  const tasks = new Set((await h.engine.store.allTasks()).map((t) => t.server_id));
  for (const uuid of uuids) {
    const s = await h.engine.store.getServer(uuid);
    assert.ok(s, `server ${uuid} was lost`);
    assert.ok((VM_STATES as readonly string[]).includes(s.vm_state), `vm_state ${s.vm_state}`);
    assert.ok(s.task_state === null || (TASK_STATES as readonly string[]).includes(s.task_state), `task_state ${s.task_state}`);
    assert.ok(POWER_STATES.includes(s.power_state), `power_state ${s.power_state}`);
    const status = statusOf(s.vm_state, s.task_state, s.deleted);
    assert.ok((STATUSES as readonly string[]).includes(status) && status !== 'UNKNOWN', `status ${status}`);
    if (s.deleted) assert.equal(s.vm_state, 'deleted');
    // A transitional task state is always backed by a durable task that will move it on.
    if (s.task_state !== null) assert.ok(tasks.has(s.id), `${uuid} stuck in ${s.vm_state}/${s.task_state}`);
  }
}

test('random actions, faults and restarts keep every server valid, present and moving', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'novabox-prop-'));
  let run = 0;
  try {
    await fc.assert(
      fc.asyncProperty(fc.array(cmd, { minLength: 10, maxLength: 60 }), async (cmds) => {
        const db = join(dir, `run-${run++}.db`);
        const clock = new ManualClock();
        const images = new MemoryImages();
        const config = { quota_defaults: { instances: -1, cores: -1, ram: -1 }, reclaim_instance_interval: run % 2 ? 30 : 0, shelved_offload_time: run % 3 ? 0 : 20 };
        let h = await makeEngine({ db, clock, images, config });
        const uuids: string[] = [];
        try {
          for (const s of await h.engine.create(ctx(DEMO), await createRequest(h, { min_count: 3, max_count: 3 }))) uuids.push(s.uuid);
          await h.engine.settle();
          for (const c of cmds) {
            try {
              switch (c.kind) {
                case 'act': {
                  const uuid = uuids[c.server % uuids.length];
                  const who = c.admin ? ADMIN : DEMO;
                  if (c.action === 'delete') await h.engine.delete(ctx(who), uuid);
                  else await h.engine.act(ctx(who), uuid, c.action, await paramsFor(h, c.action));
                  break;
                }
                case 'fault':
                  h.driver.inject({ action: c.action, op: c.op });
                  break;
                case 'step':
                  for (let i = 0; i < c.n; i++) await h.engine.transitions.runOne();
                  break;
                case 'settle':
                  clock.advance(60_000);
                  await h.engine.settle();
                  break;
                case 'restart':
                  await h.close();
                  h = await makeEngine({ db, clock, images, config });
                  break;
                case 'guest':
                  await h.engine.guestEvent(uuids[c.server % uuids.length], c.event);
                  break;
                case 'host':
                  await h.engine.setHost(h.config.hosts[c.index].name, { up: c.up });
                  break;
                case 'create':
                  for (const s of await h.engine.create(ctx(DEMO), await createRequest(h))) uuids.push(s.uuid);
                  break;
              }
            } catch (e) {
              if (!(e instanceof DomainError)) throw e;
              assert.ok([400, 403, 404, 409].includes(e.code), `unexpected ${e.code} ${e.message}`);
            }
            await checkInvariants(h, uuids);
          }
          // Once every host is up and time passes, every server reaches a stable state.
          for (const host of h.config.hosts) await h.engine.setHost(host.name, { up: true });
          for (let i = 0; i < 5; i++) {
            clock.advance(120_000);
            await h.engine.settle();
          }
          await checkInvariants(h, uuids);
          for (const uuid of uuids) assert.equal((await h.engine.store.getServer(uuid))!.task_state, null, `${uuid} never settled`);
          assert.deepEqual(await h.engine.store.allTasks(), []);
        } finally {
          await h.close();
        }
      }),
      { numRuns: 40 },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
