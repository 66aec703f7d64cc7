// The engine's event stream: one `transition` per committed lifecycle change, named after the
// action that made it, in order; instance actions and their events; nothing for a rejected action.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { InstanceActionEvent, TransitionEvent } from '../../src/engine/events.ts';
import { ctx, createRequest, DEMO, makeEngine, type Harness } from './harness.ts';

describe('engine events', () => {
  let h: Harness;
  const transitions: TransitionEvent[] = [];
  const actions: InstanceActionEvent[] = [];
  before(async () => {
    h = await makeEngine();
    h.engine.events.on('transition', (t) => transitions.push(t));
    h.engine.events.on('instance_action', (a) => actions.push(a));
  });
  after(async () => { await h.close(); });

  it('a create reports every task state from scheduling to ACTIVE, each from the one before', async () => {
    const [s] = await h.engine.create(ctx(DEMO), await createRequest(h, { name: 'vm1' }));
    await h.engine.settle();
    const mine = transitions.filter((t) => t.server_id === s.uuid);
    assert.deepEqual(mine.map((t) => `${t.task_state ?? '-'}/${t.status}`), ['scheduling/BUILD', '-/BUILD', 'networking/BUILD', 'block_device_mapping/BUILD', 'spawning/BUILD', '-/ACTIVE']);
    assert.equal(mine[0].from, null);
    for (let i = 1; i < mine.length; i++) assert.deepEqual(mine[i].from, { vm_state: mine[i - 1].vm_state, task_state: mine[i - 1].task_state, power_state: mine[i - 1].power_state, status: mine[i - 1].status });
    for (const t of mine) {
      assert.equal(t.name, 'vm1');
      assert.equal(t.project_id, DEMO.project_id);
      assert.equal(t.action, 'create');
      assert.equal(typeof t.time, 'number');
    }
    assert.equal(mine.at(-1)!.power_state, 1);
    const phases = actions.filter((a) => a.server_id === s.uuid).map((a) => `${a.phase}:${a.event ?? a.action}`);
    assert.equal(phases[0], 'action_start:create');
    assert.equal(phases.at(-1), 'action_finish:create');
    assert.ok(phases.includes('event_start:compute__do_build_and_run_instance'), phases.join(' '));
    assert.ok(phases.includes('event_finish:compute__do_build_and_run_instance'), phases.join(' '));
  });

  it('a soft reboot is named reboot and passes through REBOOT; a refused action emits nothing', async () => {
    const [s] = await h.engine.create(ctx(DEMO), await createRequest(h, { name: 'vm2' }));
    await h.engine.settle();
    transitions.length = 0;
    await h.engine.act(ctx(DEMO), s.uuid, 'reboot_soft');
    await h.engine.settle();
    assert.deepEqual(transitions.map((t) => `${t.action} ${t.from?.task_state ?? '-'}→${t.task_state ?? '-'} ${t.status}`), [
      'reboot -→rebooting REBOOT', 'reboot rebooting→reboot_pending REBOOT', 'reboot reboot_pending→reboot_started REBOOT', 'reboot reboot_started→- ACTIVE',
    ]);
    transitions.length = 0;
    await assert.rejects(h.engine.act(ctx(DEMO), s.uuid, 'start'));
    assert.equal(transitions.length, 0);
  });

  it('a listener that throws does not undo the change', async () => {
    const boom = () => { throw new Error('listener bug'); };
    h.engine.events.on('transition', boom);
    try {
      const [s] = await h.engine.create(ctx(DEMO), await createRequest(h, { name: 'vm3' }));
      await h.engine.settle();
      assert.equal((await h.engine.store.getServer(s.uuid))!.vm_state, 'active');
    } finally {
      h.engine.events.off('transition', boom);
    }
  });
});
