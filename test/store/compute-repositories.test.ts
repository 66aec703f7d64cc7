// One contract for the compute side's repositories (keypairs, server groups, quota limits, server
// passwords), run against SQLite and PostgreSQL through the portable executor.
import assert from 'node:assert/strict';
import { migrateSql, type SqlDatabase } from '../../src/store/sql.ts';
import { COMPUTE_MIGRATIONS } from '../../src/store/migrations/postgres-compute.ts';
import { computeRepositories } from '../../src/store/compute/index.ts';
import { testOnBothDialects } from '../helpers/postgres.ts';

async function addServer(db: SqlDatabase, uuid: string, deleted: boolean): Promise<void> {
  await db.run(
    `INSERT INTO servers (uuid, project_id, user_id, display_name, vm_state, instance_type_id, vcpus, memory_mb, reservation_id, created_at, deleted, doc)
     VALUES (?, 'p1', 'u1', ?, 'active', 1, 1, 64, 'r-1', 1, ?, '{}')`,
    [uuid, uuid, deleted ? 1 : 0],
  );
}

async function contract(db: SqlDatabase): Promise<void> {
  await migrateSql(db, COMPUTE_MIGRATIONS);
  const r = computeRepositories(db);

  // keypairs: per user, unique by name, listed by name
  const kp = { user_id: 'u1', type: 'ssh' as const, fingerprint: 'aa', public_key: 'ssh-rsa AAAA', created_at: 1700000000000 };
  const b = await r.keypairs.insert({ ...kp, name: 'b' });
  assert.ok(b && typeof b.id === 'number');
  assert.ok(await r.keypairs.insert({ ...kp, name: 'a' }));
  assert.equal(await r.keypairs.insert({ ...kp, name: 'a' }), undefined, 'a duplicate name is refused');
  assert.ok(await r.keypairs.insert({ ...kp, user_id: 'u2', name: 'a' }), 'another user may reuse a name');
  assert.deepEqual((await r.keypairs.list('u1')).map((k) => k.name), ['a', 'b']);
  assert.equal(await r.keypairs.count('u1'), 2);
  assert.deepEqual(await r.keypairs.get('u1', 'b'), { ...b, name: 'b' });
  assert.equal(await r.keypairs.delete('u1', 'b'), true);
  assert.equal(await r.keypairs.delete('u1', 'b'), false);
  assert.equal(await r.keypairs.get('u1', 'b'), undefined);

  // server groups and members (deleted servers are hidden)
  const g1 = await r.serverGroups.insert({ uuid: 'g-1', name: 'one', project_id: 'p1', user_id: 'u1', policy: 'affinity', rules: '{}', created_at: 1 });
  const g2 = await r.serverGroups.insert({ uuid: 'g-2', name: 'two', project_id: 'p2', user_id: 'u2', policy: 'anti-affinity', rules: '{"max_server_per_host":2}', created_at: 2 });
  assert.ok(g2.id > g1.id);
  assert.deepEqual(await r.serverGroups.get('g-2'), g2);
  assert.deepEqual((await r.serverGroups.list()).map((g) => g.uuid), ['g-1', 'g-2']);
  assert.deepEqual((await r.serverGroups.list('p2')).map((g) => g.uuid), ['g-2']);
  assert.equal(await r.serverGroups.count('p1'), 1);
  await addServer(db, 's-live', false);
  await addServer(db, 's-gone', true);
  for (const s of ['s-live', 's-gone', 's-live']) await r.serverGroups.addMember('g-1', s);
  await r.serverGroups.addMember('g-2', 's-live');
  await r.serverGroups.addMember('g-missing', 's-live');
  assert.deepEqual(await r.serverGroups.members(g1.id), ['s-live']);
  assert.deepEqual(await r.serverGroups.groupsOf(['s-live', 's-gone', 's-none']), new Map([['s-live', ['g-1', 'g-2']], ['s-gone', ['g-1']]]));
  await r.serverGroups.delete(g1.id);
  assert.equal(await r.serverGroups.get('g-1'), undefined);
  assert.deepEqual(await r.serverGroups.groupsOf(['s-live']), new Map([['s-live', ['g-2']]]));

  // quota limits: set and replace; a unit of work that fails leaves them as they were
  await r.quotas.set('p1', { cores: 4, ram: 1024 });
  await r.quotas.set('p1', { cores: 8 });
  const rows = async (p: string) => (await r.quotas.rows(p)).sort((x, y) => x.resource.localeCompare(y.resource));
  assert.deepEqual(await rows('p1'), [{ resource: 'cores', hard_limit: 8 }, { resource: 'ram', hard_limit: 1024 }]);
  await assert.rejects(db.transaction(async (tx) => {
    await computeRepositories(tx).quotas.set('p1', { cores: 99 });
    throw new Error('undo');
  }), /undo/);
  assert.deepEqual(await rows('p1'), [{ resource: 'cores', hard_limit: 8 }, { resource: 'ram', hard_limit: 1024 }]);
  await r.quotas.delete('p1');
  assert.deepEqual(await r.quotas.rows('p1'), []);

  // server passwords
  await db.run('INSERT INTO server_passwords (server_uuid, password) VALUES (?, ?)', ['s-live', 'pw']);
  assert.equal(await r.passwords.get('s-live'), 'pw');
  await r.passwords.clear('s-live');
  assert.equal(await r.passwords.get('s-live'), undefined);
}

testOnBothDialects('keypair, server group, quota and password repositories', contract);
