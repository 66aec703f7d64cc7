// One contract for the compute store, driven through the engine (create, list pages, actions,
// delete, quotas, flavors, parked tasks), run against every implementation: the hand-tuned
// SqliteComputeStore, and SqlComputeStore on SQLite and on PostgreSQL. Then replicas on one
// PostgreSQL database: concurrent runners apply every step once, and a crashed replica's tasks are
// finished by another once its lease expires.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../src/config.ts';
import { ManualClock } from '../../src/engine/clock.ts';
import { ComputeEngine, allocateAddresses } from '../../src/engine/compute.ts';
import { SimulatedDriver } from '../../src/drivers/simulated.ts';
import { openDb } from '../../src/store/db.ts';
import { SqliteSql, migrateSql, type SqlDatabase } from '../../src/store/sql.ts';
import { SqliteComputeStore } from '../../src/store/sqlite.ts';
import { SqlComputeStore } from '../../src/store/sql-compute.ts';
import { COMPUTE_MIGRATIONS } from '../../src/store/migrations/postgres-compute.ts';
import type { ComputeStore } from '../../src/store/store.ts';
import { statusOf } from '../../src/domain/states.ts';
import { MemoryImages, ctx, DEMO, ALT } from '../engine/harness.ts';
import type { CreateRequest } from '../../src/engine/types.ts';
import { withPostgresDatabase } from '../helpers/postgres.ts';

function engineOn(store: ComputeStore, clock: ManualClock, lease_ms = 5000): ComputeEngine {
  const config = loadConfig({ db: ':memory:', time_scale: 0, log_level: 'silent', task_lease_ms: lease_ms, quota_defaults: { instances: 5, cores: -1, ram: -1 } }, {});
  return new ComputeEngine({ store, driver: new SimulatedDriver({ timeScale: 0 }), clock, config, images: new MemoryImages() });
}

async function request(e: ComputeEngine, over: Partial<CreateRequest> = {}): Promise<CreateRequest> {
  const flavor = (await e.store.getFlavor('42'))!;
  return {
    name: 'vm', description: null, flavor, image_ref: 'img-1', image_properties: {}, key_name: null, key_data: null, user_data: null,
    metadata: {}, tags: [], networks: 'auto', availability_zone: null, security_groups: ['default'], block_device_mapping: [],
    scheduler_hints: {}, min_count: 1, max_count: 1, config_drive: false, auto_disk_config: false, access_ip_v4: '', access_ip_v6: '',
    trusted_image_certificates: null, hostname: null, requested_host: null, admin_pass: 'pw', ...over,
  };
}

async function status(e: ComputeEngine, uuid: string): Promise<string> {
  const s = (await e.store.getServer(uuid))!;
  return statusOf(s.vm_state, s.task_state, s.deleted);
}

async function contract(store: ComputeStore): Promise<void> {
  const clock = new ManualClock();
  const e = engineOn(store, clock);
  await e.seed();
  await e.seed(); // idempotent
  await e.start();
  try {
    const made = [];
    for (let i = 0; i < 3; i++) made.push(...(await e.create(ctx(DEMO), await request(e, { name: `d${i}`, tags: i === 0 ? ['red', 'blue'] : ['blue'] }))));
    const [alt] = await e.create(ctx(ALT), await request(e, { name: 'a0' }));
    assert.equal(await status(e, made[0].uuid), 'BUILD');
    clock.advance(60_000);
    await e.settle();
    for (const s of [...made, alt]) assert.equal(await status(e, s.uuid), 'ACTIVE');
    assert.deepEqual(await e.usage('p-demo'), { instances: 3, cores: 3, ram: 3 * 128 });

    // list pages: project, status, sort with the id tie-breaker, keyset marker, tags, addresses
    const q = { project_id: 'p-demo', deleted: 'exclude' as const, vm_states: ['active'], sort: [{ key: 'display_name' as const, dir: 'asc' as const }], limit: 2 };
    const p1 = await e.listServers(q);
    assert.deepEqual(p1.map((s) => s.display_name), ['d0', 'd1']);
    const p2 = await e.listServers({ ...q, marker: p1[1].uuid });
    assert.deepEqual(p2.map((s) => s.display_name), ['d2']);
    assert.deepEqual((await e.listServers({ ...q, limit: 10, tags: ['red', 'blue'] })).map((s) => s.display_name), ['d0']);
    assert.equal((await e.listServers({ ...q, limit: 10, not_tags_any: ['red'] })).length, 2);
    assert.equal((await e.listServers({ ...q, limit: 10, regex: [{ column: 'display_name', pattern: '^d[12]$' }] })).length, 2);
    // addresses come from the server's ports (Neutron tells the engine); they are searchable rows
    await e.refreshNetworkInfo(made[1].uuid, allocateAddresses(made[1].id));
    const ip = (await e.store.getServer(made[1].uuid))!.addresses.find((a) => a.version === 4)!.addr;
    assert.deepEqual((await e.listServers({ ...q, limit: 10, ip })).map((s) => s.uuid), [made[1].uuid]);
    assert.equal((await e.listServers({ deleted: 'exclude', sort: [{ key: 'created_at', dir: 'desc' }], limit: 100 })).length, 4);
    await assert.rejects(e.listServers({ ...q, marker: 'no-such-server' }), /marker \[no-such-server\] not found/);

    // an action: state, instance action and events, all committed together
    await e.act(ctx(DEMO), made[0].uuid, 'stop');
    assert.equal((await e.store.getServer(made[0].uuid))!.task_state, 'powering-off');
    clock.advance(60_000);
    await e.settle();
    assert.equal(await status(e, made[0].uuid), 'SHUTOFF');
    const actions = await e.store.listActions(made[0].uuid);
    assert.deepEqual(actions.map((a) => a.action), ['stop', 'create']);
    assert.ok((await e.store.listEvents(actions[0].id)).every((ev) => ev.result === 'Success' && ev.finish_time !== null));
    // a save names the task state it expects (Nova's instance.save(expected_task_state=…)) and loses cleanly
    const target = (await e.store.getServer(made[1].uuid))!;
    assert.equal(await store.transaction((tx) => tx.updateServer(target.id, { display_name: 'lost' }, clock.now(), ['rebooting', 'powering-on'])), false);
    assert.equal((await e.store.getServer(made[1].uuid))!.display_name, 'd1', 'nothing written over an unexpected task state');
    assert.equal(await store.transaction((tx) => tx.updateServer(target.id, { display_name: 'd1', tags: ['blue'] }, clock.now(), [null, 'rebooting'])), true);
    await e.setMetadata(ctx(DEMO), made[1].uuid, { k: 'v' }, 'merge');
    assert.deepEqual((await e.store.getServer(made[1].uuid))!.metadata, { k: 'v' });

    // quotas are read in the unit of work that creates
    await assert.rejects(e.create(ctx(DEMO), await request(e, { min_count: 3, max_count: 3 })), /Quota exceeded for instances/);
    await e.setQuotaLimits('p-demo', { instances: 3 });
    await assert.rejects(e.create(ctx(DEMO), await request(e)), /Quota exceeded for instances: Requested 1, but already used 3 of 3/);
    await e.setQuotaLimits('p-demo', { instances: 10 });

    // delete frees the quota
    await e.delete(ctx(DEMO), made[2].uuid);
    clock.advance(60_000);
    await e.settle();
    assert.equal(await status(e, made[2].uuid), 'DELETED');
    assert.equal((await e.usage('p-demo')).instances, 2);

    // a task on a down host is parked, then runs when the host is back
    const host = (await e.store.getServer(made[1].uuid))!.host!;
    await e.setHost(host, { forced_down: true });
    await e.act(ctx(DEMO), made[1].uuid, 'reboot_soft');
    clock.advance(60_000);
    await e.settle();
    assert.equal((await e.store.allTasks())[0].parked_host, host);
    await e.setHost(host, { forced_down: false });
    clock.advance(60_000);
    await e.settle();
    assert.equal(await status(e, made[1].uuid), 'ACTIVE');
    assert.deepEqual(await e.store.allTasks(), []);

    // flavors: private access, description, soft delete
    const f = await e.store.createFlavor({ flavorid: 'p1', name: 'private.one', vcpus: 2, memory_mb: 256, root_gb: 1, is_public: false, extra_specs: { a: 'b' } }, clock.now());
    assert.deepEqual(f.extra_specs, { a: 'b' });
    await e.store.addFlavorAccess('p1', 'p-alt');
    await e.store.addFlavorAccess('p1', 'p-alt');
    assert.deepEqual(await e.store.flavorAccess('p1'), ['p-alt']);
    assert.ok((await e.store.listFlavors({ include_private: false, project_id: 'p-alt' })).some((x) => x.flavorid === 'p1'));
    assert.ok(!(await e.store.listFlavors({ include_private: false, project_id: 'p-demo' })).some((x) => x.flavorid === 'p1'));
    assert.equal(await e.store.setFlavorDescription('p1', 'small'), true);
    assert.equal((await e.store.getFlavor('p1'))!.description, 'small');
    assert.equal(await e.store.deleteFlavor('p1'), true);
    assert.equal(await e.store.getFlavor('p1'), undefined);
    assert.equal((await e.store.getFlavorById(f.id))!.vcpus, 2, 'a deleted flavor is still found by id (servers keep it)');
    // two host changes of different fields at once both stick (each writes only its fields)
    await Promise.all([e.setHost(host, { disabled: true, disabled_reason: 'maintenance' }), e.setHost(host, { forced_down: true })]);
    const changed = (await e.store.listHosts()).find((x) => x.name === host)!;
    assert.deepEqual([changed.disabled, changed.disabled_reason, changed.forced_down], [true, 'maintenance', true]);
    assert.equal(await e.store.updateHost('no-such-host', { up: false }, clock.now()), undefined);
    const counts = await e.store.countServersByState();
    assert.equal(counts.filter((c) => !c.deleted).reduce((n, c) => n + c.count, 0), 3);
  } finally {
    await e.stop();
  }
}

test('compute store contract: SqliteComputeStore', async () => {
  const db = openDb(':memory:');
  try {
    await contract(new SqliteComputeStore(db));
  } finally {
    db.close();
  }
});

test('compute store contract: SqlComputeStore on SQLite', async () => {
  const db = openDb(':memory:');
  try {
    await contract(new SqlComputeStore(new SqliteSql(db)));
  } finally {
    db.close();
  }
});

async function pgStore(db: SqlDatabase): Promise<SqlComputeStore> {
  await migrateSql(db, COMPUTE_MIGRATIONS);
  return new SqlComputeStore(db);
}

test('compute store contract: SqlComputeStore on PostgreSQL', async (t) => {
  await withPostgresDatabase(t, async (db) => contract(await pgStore(db)));
});

test('replicas on one PostgreSQL database: every step once; a crashed replica’s builds finish elsewhere, none in ERROR', async (t) => {
  await withPostgresDatabase(t, async (db, url) => {
    const { openPostgres } = await import('../../src/store/sql.ts');
    const clock = new ManualClock();
    const pools = [db, await openPostgres(url), await openPostgres(url)];
    const engines = await Promise.all(pools.map(async (p, i) => engineOn(i === 0 ? await pgStore(p) : new SqlComputeStore(p), clock, 400)));
    try {
      await engines[0].seed();
      for (const e of engines) await e.start();
      await engines[0].setQuotaLimits('p-demo', { instances: -1 });
      // builds accepted by all three replicas; all three run steps at once
      const ids: string[] = [];
      for (let i = 0; i < 12; i++) ids.push(...(await engines[i % 3].create(ctx(DEMO), await request(engines[0], { name: `r${i}` }))).map((s) => s.uuid));
      // replica 0 "crashes" with its builds in flight: no more steps, no renewal, nothing released
      await engines[0].transitions.stop();
      (engines[0].leases as unknown as { timer: NodeJS.Timeout | null }).timer?.close();
      clock.advance(60_000);
      await Promise.all(engines.slice(1).map((e) => e.settle()));
      await sleep(600); // replica 0's leases expire
      await Promise.all(engines.slice(1).map((e) => e.settle()));
      for (const e of engines.slice(1)) {
        for (const id of ids) assert.equal(await status(e, id), 'ACTIVE', `${id} settled ACTIVE as replica ${engines.indexOf(e)} sees it`);
        const listed = (await e.listServers({ project_id: 'p-demo', deleted: 'exclude', sort: [{ key: 'created_at', dir: 'desc' }], limit: 100 })).map((s) => s.uuid).sort();
        assert.deepEqual(listed, [...ids].sort(), 'every replica lists the same servers');
      }
      assert.deepEqual(await engines[1].store.allTasks(), []);
      // each step ran once: one create action per server, its events each finished once
      for (const id of ids) {
        const actions = await engines[1].store.listActions(id);
        assert.deepEqual(actions.map((a) => [a.action, a.message]), [['create', null]]);
        const events = await engines[1].store.listEvents(actions[0].id);
        assert.equal(new Set(events.map((ev) => ev.event)).size, events.length, `no event of ${id} repeated`);
      }
    } finally {
      for (const e of engines) await e.stop(); // the crashed one too: its LISTEN connection goes back to its pool
      for (const p of pools.slice(1)) await p.close();
    }
  });
});

test('PostgreSQL: a task or host written by one replica wakes the others at commit (LISTEN/NOTIFY)', async (t) => {
  await withPostgresDatabase(t, async (db, url) => {
    const { openPostgres } = await import('../../src/store/sql.ts');
    const other = await openPostgres(url);
    const a = await pgStore(db);
    const woke: string[] = [];
    const off = await new SqlComputeStore(other).subscribe((what) => woke.push(what));
    try {
      const e = engineOn(a, new ManualClock());
      await e.seed();
      await sleep(100);
      woke.length = 0;
      await assert.rejects(a.transaction(async (tx) => {
        await tx.putTask({ server_id: 1, action: 'x', action_id: null, step: 0, due_at: 0, plan: { steps: [] } as never, context: {} as never });
      }), 'a task for no server is refused');
      await e.create(ctx(DEMO), await request(e));
      for (let i = 0; i < 100 && !woke.includes('tasks'); i++) await sleep(20);
      assert.deepEqual(woke, ['tasks'], 'one wake, at the commit of the create (none for the rolled-back unit of work)');
      await e.setHost('compute-0', { disabled: true });
      for (let i = 0; i < 100 && !woke.includes('hosts'); i++) await sleep(20);
      assert.ok(woke.includes('hosts'));
    } finally {
      await off();
      await other.close();
    }
  });
});
