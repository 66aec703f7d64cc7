// Seeding on first start, idempotent on every later start of the same database file.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { SEED_IMAGES } from '../../src/api/image/model.ts';
import { startNovabox } from '../helpers/novabox.ts';

const dir = mkdtempSync(join(tmpdir(), 'novabox-seed-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function snapshot(file: string) {
  const db = new Database(file, { readonly: true });
  try {
    const rows = (sql: string) => db.prepare(sql).all() as { id: string; name: string }[];
    return {
      domains: rows('SELECT id, name FROM domains ORDER BY id'),
      projects: rows('SELECT id, name FROM projects ORDER BY id'),
      users: rows('SELECT id, name FROM users ORDER BY id'),
      roles: rows('SELECT id, name FROM roles ORDER BY id'),
      assignments: rows('SELECT * FROM role_assignments ORDER BY user_id, target_type, target_id, role_id'),
      images: rows('SELECT id, name, status, visibility FROM images ORDER BY id'),
      hashes: db.prepare("SELECT password_hash FROM users").all() as { password_hash: string }[],
    };
  } finally {
    db.close();
  }
}

test('a restart on the same file seeds nothing twice and keeps ids and issued tokens', async () => {
  const file = join(dir, 'idem.db');
  const first = await startNovabox({ db: file });
  const token = await first.token('demo');
  await first.close();
  const a = snapshot(file);
  assert.deepEqual(a.domains, [{ id: 'default', name: 'Default' }]);
  assert.deepEqual(a.projects.map(p => p.name).sort(), ['admin', 'alt_demo', 'demo']);
  assert.deepEqual(a.users.map(u => u.name).sort(), ['admin', 'alt_demo', 'demo']);
  assert.deepEqual(a.roles.map(r => r.name).sort(), ['admin', 'manager', 'member', 'reader']);
  assert.deepEqual(a.images.map(i => i.id).sort(), SEED_IMAGES.map((s) => s.id).sort());
  for (const { password_hash } of a.hashes) {
    assert.match(password_hash, /^scrypt\$/);
    assert.ok(!password_hash.includes('secret'));
  }

  const second = await startNovabox({ db: file });
  const ctx = await second.services.identity.validate(token);
  assert.equal(ctx?.user_name, 'demo', 'a token issued before the restart is still valid');
  const res = await second.app.inject({ method: 'GET', url: '/image/v2/images', headers: await second.headers('demo') });
  assert.equal(res.json().images.length, SEED_IMAGES.length);
  await second.close();
  const b = snapshot(file);
  assert.deepEqual({ ...b, hashes: null }, { ...a, hashes: null });
  assert.deepEqual(b.hashes, a.hashes, 'unchanged passwords are not re-hashed');
});

test('a seeded image deleted by the admin stays deleted after a restart', async () => {
  const file = join(dir, 'deleted.db');
  const first = await startNovabox({ db: file });
  const del = await first.app.inject({ method: 'DELETE', url: `/image/v2/images/${SEED_IMAGES[1].id}`, headers: await first.headers('admin') });
  assert.equal(del.statusCode, 204);
  await first.close();
  const second = await startNovabox({ db: file });
  const res = await second.app.inject({ method: 'GET', url: `/image/v2/images/${SEED_IMAGES[1].id}`, headers: await second.headers('admin') });
  assert.equal(res.statusCode, 404);
  await second.close();
});

test('a changed seed password in the config applies on the next start; the old one stops working', async () => {
  const file = join(dir, 'pw.db');
  const first = await startNovabox({ db: file });
  await first.close();
  const base = (await import('../../src/config.ts')).defaultConfig().seed;
  const seed = { ...base, users: base.users.map((u) => (u.name === 'admin' ? { ...u, password: 'n3w-admin-pw' } : u)) };
  const second = await startNovabox({ db: file, seed });
  const auth = (password: string) => second.app.inject({
    method: 'POST', url: '/identity/v3/auth/tokens',
    payload: { auth: { identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password } } } } },
  });
  assert.equal((await auth('n3w-admin-pw')).statusCode, 201);
  assert.equal((await auth('secret')).statusCode, 401);
  await second.close();
});
