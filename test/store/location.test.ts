// `--db` / NOVABOX_DB: a file path, ':memory:', or a PostgreSQL URL; another scheme is a clear
// error before anything is created (it used to become a folder named after the scheme).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, ConfigError } from '../../src/config.ts';
import { parseDbLocation } from '../../src/store/location.ts';

test('database locations', () => {
  assert.deepEqual(parseDbLocation('.novabox/novabox.db'), { kind: 'sqlite', path: '.novabox/novabox.db' });
  assert.deepEqual(parseDbLocation(':memory:'), { kind: 'sqlite', path: ':memory:' });
  assert.deepEqual(parseDbLocation('postgres://postgres@127.0.0.1:5432/nova'), { kind: 'postgres', url: 'postgres://postgres@127.0.0.1:5432/nova' });
  assert.equal(parseDbLocation('postgresql://u:p@db.example:5433/nova').kind, 'postgres');
  assert.throws(() => parseDbLocation('mysql://root@127.0.0.1/nova'), /unknown database scheme 'mysql:'/);
  assert.throws(() => parseDbLocation('postgres://127.0.0.1:5432'), /names a host and a database/);
  assert.throws(() => loadConfig({}, { NOVABOX_DB: 'sqlite3://x.db' }), ConfigError);
  assert.throws(() => loadConfig({ db: 'redis://127.0.0.1/0' }, {}), /unknown database scheme 'redis:'/);
});
