// The database holds password and token hashes: its files are readable by their owner only (issue 10).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb } from '../../src/store/db.ts';

const mode = (f: string): string => (statSync(f).mode & 0o777).toString(8);

test('the database, its WAL and shared-memory files are created 0600, and an old 0644 file is narrowed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'novabox-perm-'));
  const old = process.umask(0o022);
  try {
    const path = join(dir, 'sub', 'novabox.db');
    const db = openDb(path);
    db.prepare('CREATE TABLE IF NOT EXISTS t (x)').run();
    db.prepare('INSERT INTO t VALUES (1)').run();
    for (const f of [path, `${path}-wal`, `${path}-shm`]) {
      assert.ok(existsSync(f), f);
      assert.equal(mode(f), '600', f);
    }
    db.close();

    const legacy = join(dir, 'legacy.db');
    writeFileSync(legacy, '');
    chmodSync(legacy, 0o644);
    const db2 = openDb(legacy);
    db2.prepare('CREATE TABLE IF NOT EXISTS t (x)').run();
    assert.equal(mode(legacy), '600');
    assert.equal(mode(`${legacy}-wal`), '600');
    db2.close();
  } finally {
    process.umask(old);
    rmSync(dir, { recursive: true, force: true });
  }
});
