// The identity and image repositories on SQLite (on top of the tables of 002-identity and 003-image,
// as an existing database has them) and on PostgreSQL (where their migrations create everything).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDb } from '../../src/store/db.ts';
import { SqliteSql, migrateSql, type SqlDatabase } from '../../src/store/sql.ts';
import { identityMigrations } from '../../src/store/identity/schema.ts';
import { imageMigrations } from '../../src/store/image/schema.ts';
import { SqlIdentityStore } from '../../src/store/identity/repository.ts';
import { SqlImageStore, type Image } from '../../src/store/image/repository.ts';
import { withPostgresDatabase } from '../helpers/postgres.ts';

const NOW = 1_790_000_000_000;

async function identityContract(db: SqlDatabase): Promise<void> {
  await migrateSql(db, identityMigrations);
  await migrateSql(db, identityMigrations);
  const s = new SqlIdentityStore(db);
  await s.insertDomain({ id: 'd1', name: 'Dom', description: '', enabled: true, tags: ['a'], created_at: NOW });
  await s.insertProject({ id: 'p1', name: 'proj', domain_id: 'd1', description: 'x', enabled: true, parent_id: null, tags: ['t1', 't2'], extra: { k: 1 }, created_at: NOW });
  await s.insertProject({ id: 'p2', name: 'child', domain_id: 'd1', description: '', enabled: false, parent_id: 'p1', tags: [], extra: {}, created_at: NOW });
  await s.insertUser({ id: 'u1', name: 'alice', domain_id: 'd1', password_hash: null, email: null, description: null, default_project_id: 'p1', enabled: true, options: { lock_password: true }, extra: {}, created_at: NOW });
  await s.insertGroup({ id: 'g1', name: 'devs', domain_id: 'd1', description: '', created_at: NOW });
  await s.insertRole({ id: 'r1', name: 'member', domain_id: null, description: null, options: {}, created_at: NOW });
  await s.insertRole({ id: 'r2', name: 'reader', domain_id: null, description: null, options: {}, created_at: NOW });
  await s.addImplied('r1', 'r2');
  await s.addImplied('r1', 'r2'); // idempotent
  await s.addToGroup('g1', 'u1');
  await s.grant({ actor_type: 'group', actor_id: 'g1', role_id: 'r1', target_type: 'project', target_id: 'p1' });
  await s.grant({ actor_type: 'user', actor_id: 'u1', role_id: 'r2', target_type: 'system', target_id: 'all' });

  assert.deepEqual((await s.getProject('p1'))?.tags, ['t1', 't2']);
  assert.deepEqual((await s.getProject('p1'))?.extra, { k: 1 });
  assert.equal((await s.getProject('p2'))?.enabled, false);
  assert.deepEqual((await s.getUser('u1'))?.options, { lock_password: true });
  assert.deepEqual((await s.listProjects({ id: ['p1', 'p2', 'nope'] })).map((p) => p.name), ['child', 'proj']);
  assert.deepEqual((await s.listProjects({ parent_id: 'p1' })).map((p) => p.id), ['p2']);
  assert.deepEqual((await s.groupsOfUser('u1')).map((g) => g.id), ['g1']);
  assert.deepEqual((await s.usersInGroup('g1')).map((u) => u.id), ['u1']);
  assert.deepEqual(await s.impliedRoles(), [{ prior_role_id: 'r1', implied_role_id: 'r2' }]);
  assert.equal((await s.listAssignments({ actor_type: 'group' })).length, 1);
  assert.equal((await s.listAssignments({ target_type: 'system' }))[0].actor_id, 'u1');

  await s.insertService({ id: 's1', type: 'compute', name: 'nova', description: null, enabled: true, created_at: NOW });
  await s.insertRegion({ id: 'R', description: '', parent_region_id: null, created_at: NOW });
  await s.insertEndpoint({ id: 'e1', service_id: 's1', interface: 'public', region_id: 'R', url: 'http://x', enabled: true, created_at: NOW });
  await s.insertAppCredential({ id: 'a1', name: 'ci', user_id: 'u1', project_id: 'p1', secret_hash: 'h', description: null, expires_at: null, unrestricted: false, roles: [{ id: 'r1', name: 'member' }], created_at: NOW });
  await s.insertToken({ token_hash: 'th', user_id: 'u1', project_id: 'p1', domain_id: null, system_scope: false, app_cred_id: 'a1', methods: ['application_credential'], audit_id: 'au', parent_audit_id: null, issued_at: NOW, expires_at: NOW + 1000, revoked: false });
  assert.deepEqual((await s.getAppCredential('a1'))?.roles, [{ id: 'r1', name: 'member' }]);
  assert.equal((await s.appCredentialByName('u1', 'ci'))?.id, 'a1');

  // A unit of work that fails leaves nothing behind.
  await assert.rejects(s.transaction(async (tx) => {
    await tx.insertRole({ id: 'r3', name: 'temp', domain_id: null, description: null, options: {}, created_at: NOW });
    await tx.insertRole({ id: 'r4', name: 'temp', domain_id: null, description: null, options: {}, created_at: NOW });
  }));
  assert.equal(await s.roleByName('temp'), undefined);

  // Domain-specific roles: a name is unique within its domain (global roles form one more "domain").
  await s.insertRole({ id: 'dr1', name: 'member', domain_id: 'd1', description: null, options: {}, created_at: NOW });
  await s.insertRole({ id: 'dr2', name: 'dom-only', domain_id: 'd1', description: null, options: {}, created_at: NOW });
  await assert.rejects(s.insertRole({ id: 'dr3', name: 'dom-only', domain_id: 'd1', description: null, options: {}, created_at: NOW }));
  assert.equal((await s.roleByName('member'))?.id, 'r1');
  assert.equal((await s.roleByName('member', 'd1'))?.id, 'dr1');
  assert.equal(await s.roleByName('dom-only'), undefined);
  assert.deepEqual((await s.listRoles({ domain_id: null, id: ['r1', 'r2', 'dr1'] })).map((r) => r.id), ['r1', 'r2']);
  assert.deepEqual((await s.listRoles({ domain_id: 'd1' })).map((r) => r.id), ['dr2', 'dr1']);
  await s.grant({ actor_type: 'user', actor_id: 'u1', role_id: 'dr2', target_type: 'project', target_id: 'p2' });

  // Deleting an application credential revokes its tokens; deleting a service drops its endpoints.
  assert.equal(await s.deleteAppCredential('a1'), true);
  assert.equal((await s.tokenByHash('th'))?.revoked, true);
  assert.equal(await s.deleteService('s1'), true);
  assert.equal(await s.getEndpoint('e1'), undefined);

  // Deleting a project takes its assignments away and clears default projects; a role's, its grants and rules.
  assert.equal(await s.deleteProject('p1'), true);
  assert.equal((await s.listAssignments({ target_type: 'project', target_id: 'p1' })).length, 0);
  assert.equal((await s.getUser('u1'))?.default_project_id, null);
  assert.equal(await s.deleteRole('r2'), true);
  assert.equal((await s.impliedRoles()).length, 0);
  assert.equal((await s.listAssignments({ target_type: 'system' })).length, 0);

  // Deleting a domain removes everything in it.
  assert.equal(await s.deleteDomain('d1'), true);
  assert.equal(await s.getUser('u1'), undefined);
  assert.equal(await s.getGroup('g1'), undefined);
  assert.equal(await s.getProject('p2'), undefined);
  assert.equal(await s.getRole('dr2'), undefined, "the domain's roles go with it");
  assert.equal((await s.getRole('r1'))?.domain_id, null);
}

async function imageContract(db: SqlDatabase): Promise<void> {
  await migrateSql(db, imageMigrations);
  const s = new SqlImageStore(db);
  const img: Image = {
    id: '11111111-2222-3333-4444-555555555555', name: 'x', status: 'queued', visibility: 'shared', owner: 'p', container_format: 'bare', disk_format: 'raw',
    size: null, virtual_size: null, checksum: null, os_hash_algo: null, os_hash_value: null, min_disk: 0, min_ram: 0, protected: false, os_hidden: true,
    properties: { a: 'b' }, created_at: NOW, updated_at: NOW, stores: null, tags: ['z', 'a'],
  };
  await s.insert(img);
  assert.deepEqual(await s.get(img.id), img);
  assert.equal(await s.addTag(img.id, 'm'), true);
  assert.equal(await s.addTag(img.id, 'm'), false);
  assert.deepEqual((await s.get(img.id))?.tags, ['z', 'a', 'm'], 'tags keep their order');
  const bytes = Buffer.from([0, 1, 2, 255, 254]);
  await s.putStaging(img.id, bytes, NOW);
  assert.deepEqual(await s.getStaging(img.id), bytes);
  await s.putData(img.id, bytes);
  await s.putData(img.id, Buffer.from('again'));
  assert.equal((await s.getData(img.id))?.toString(), 'again');
  await s.update({ ...img, status: 'active', size: 5, stores: 'local', tags: ['only'] });
  assert.deepEqual((await s.get(img.id))?.tags, ['only']);
  assert.equal((await s.listLive()).length, 1);
  await s.insertMember({ image_id: img.id, member: 'q', status: 'pending', created_at: NOW, updated_at: NOW });
  await s.updateMember(img.id, 'q', { status: 'accepted' });
  assert.equal((await s.membershipsOf('q'))[0].status, 'accepted');
  await s.insertTask({ id: 't1', type: 'api_image_import', status: 'pending', owner: 'p', image_id: img.id, input: { a: 1 }, result: null, message: '', created_at: NOW, updated_at: NOW, expires_at: null, request_id: 'req-1', user_id: 'u' });
  assert.equal((await s.getTask('t1'))?.request_id, 'req-1');
  await s.updateTask('t1', { status: 'success', result: { image_id: img.id } });
  assert.deepEqual((await s.getTask('t1'))?.result, { image_id: img.id });
  assert.equal(await s.markDeleted(img.id, NOW + 1), true);
  assert.equal(await s.get(img.id), undefined);
  assert.equal(await s.exists(img.id), true, 'a deleted id stays taken');
  assert.equal(await s.getData(img.id), undefined);
}

test('identity and image repositories on SQLite, on top of an existing database', async () => {
  const raw = openDb(':memory:');
  try {
    // A database from before: a row in the old tables keeps working after the new migrations.
    raw.prepare("INSERT INTO domains (id, name, created_at) VALUES ('old', 'Old', 1)").run();
    raw.prepare("INSERT INTO projects (id, name, domain_id, created_at) VALUES ('op', 'oldp', 'old', 1)").run();
    raw.prepare("INSERT INTO users (id, name, domain_id, created_at) VALUES ('ou', 'oldu', 'old', 1)").run();
    raw.prepare("INSERT INTO roles (id, name, created_at) VALUES ('or', 'oldrole', 1)").run();
    raw.prepare("INSERT INTO role_assignments (user_id, role_id, target_type, target_id) VALUES ('ou', 'or', 'project', 'op')").run();
    const db = new SqliteSql(raw);
    await identityContract(db);
    const store = new SqlIdentityStore(db);
    // Rebuilding the roles table for domain-specific roles kept the role and its assignment.
    assert.deepEqual(await store.getRole('or'), { id: 'or', name: 'oldrole', domain_id: null, description: null, options: {}, created_at: 1 });
    assert.deepEqual(await store.listAssignments({ actor_id: 'ou' }), [{ actor_type: 'user', actor_id: 'ou', role_id: 'or', target_type: 'project', target_id: 'op' }]);
    // ... and its foreign keys still cascade.
    assert.equal(await store.deleteRole('or'), true);
    assert.deepEqual(await store.listAssignments({ actor_id: 'ou' }), []);
    assert.deepEqual((await store.getProject('op'))?.tags, []);
    assert.equal((await store.getProject('op'))?.parent_id, null);
    await imageContract(db);
  } finally {
    raw.close();
  }
});

test('identity and image repositories on PostgreSQL', async (t) => {
  await withPostgresDatabase(t, async (db) => {
    await identityContract(db);
    await imageContract(db);
  });
});

test('application credential expiry moves from milliseconds to microseconds once', async () => {
  const raw = openDb(':memory:');
  try {
    const db = new SqliteSql(raw);
    const before = identityMigrations.filter((m) => m.id !== 'identity-app-cred-expiry-us');
    await migrateSql(db, before);
    const s = new SqlIdentityStore(db);
    await s.insertDomain({ id: 'd', name: 'D', description: '', enabled: true, tags: [], created_at: NOW });
    await s.insertUser({ id: 'u', name: 'u', domain_id: 'd', password_hash: null, email: null, description: null, default_project_id: null, enabled: true, options: {}, extra: {}, created_at: NOW });
    await s.insertAppCredential({ id: 'a', name: 'a', user_id: 'u', project_id: 'p', secret_hash: 'h', description: null, expires_at: NOW, unrestricted: false, roles: [], created_at: NOW });
    await s.insertAppCredential({ id: 'b', name: 'b', user_id: 'u', project_id: 'p', secret_hash: 'h', description: null, expires_at: null, unrestricted: false, roles: [], created_at: NOW });
    await migrateSql(db, identityMigrations);
    await migrateSql(db, identityMigrations);
    assert.equal((await s.getAppCredential('a'))?.expires_at, NOW * 1000);
    assert.equal((await s.getAppCredential('b'))?.expires_at, null);
  } finally {
    raw.close();
  }
});
