// One in-process novabox for the profiling loops (create-loop.ts, action-loop.ts, burst.ts): a fresh SQLite
// file (or NOVABOX_DB) at time scale 0, the demo project without quota limits, listening on a free
// port, and a client with demo's token. COUNT_SQL=1 counts statements (`sqlCount`, from before the
// novabox is made), COUNT_EXEC=1 the transactions begun and ended (`execs`; COUNT_EXEC=stack: where
// each BEGIN IMMEDIATE comes from).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.ts';
import { createNovabox, type Novabox } from '../src/novabox.ts';
import { Client } from './load.ts';

export interface Counted { n: number; ms: number }

export interface InProcess {
  nb: Novabox;
  demo: Client;
  sqlCount: Map<string, Counted>;
  execs: Map<string, Counted>;
  close(): Promise<void>;
}

export async function inProcessNovabox(name: string): Promise<InProcess> {
  const dir = mkdtempSync(join(tmpdir(), `novabox-${name}-`));
  const cfgFile = join(dir, 'config.json');
  writeFileSync(cfgFile, JSON.stringify({ cpu_allocation_ratio: 1e9, ram_allocation_ratio: 1e9, disk_allocation_ratio: 1e9 }));
  const config = loadConfig({ db: process.env.NOVABOX_DB ?? join(dir, 'n.db'), time_scale: 0, log_level: 'silent', port: 0, config: cfgFile }, {});
  const sqlCount = new Map<string, Counted>();
  if (process.env.COUNT_SQL) {
    const { default: Database } = await import('better-sqlite3');
    const proto = Database.prototype as unknown as { prepare: (sql: string) => Record<string, (...a: unknown[]) => unknown> };
    const prepare = proto.prepare;
    proto.prepare = function (this: unknown, sql: string) {
      const st = prepare.call(this, sql);
      for (const m of ['run', 'get', 'all', 'iterate']) {
        const f = st[m];
        st[m] = (...a: unknown[]) => {
          const t = performance.now();
          const r = f.apply(st, a);
          const k = sql.replace(/\s+/g, ' ').slice(0, 150);
          const e = sqlCount.get(k) ?? { n: 0, ms: 0 };
          e.n++; e.ms += performance.now() - t; sqlCount.set(k, e);
          return r;
        };
      }
      return st;
    };
  }
  const nb = await createNovabox(config);
  const demoProject = await nb.services.identity.store.projectByName('default', 'demo');
  await nb.services.engine.setQuotaLimits(demoProject!.id, { instances: -1, cores: -1, ram: -1 });
  await nb.app.listen({ host: '127.0.0.1', port: 0 });
  const addr = nb.app.server.address() as { port: number };
  const base = `http://127.0.0.1:${addr.port}`;
  const res = await fetch(`${base}/identity/v3/auth/tokens`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { name: 'demo', domain: { name: 'Default' }, password: 'secret' } } }, scope: { project: { name: 'demo', domain: { name: 'Default' } } } } }),
  });
  await res.text();
  const demo = new Client(base, res.headers.get('x-subject-token')!);
  const execs = new Map<string, Counted>();
  if (process.env.COUNT_EXEC) {
    const db = nb.services.db as unknown as { exec: (s: string) => unknown };
    const exec = db.exec.bind(db);
    db.exec = (s: string) => {
      const t = performance.now();
      const r = exec(s);
      const key = s === 'BEGIN IMMEDIATE' && process.env.COUNT_EXEC === 'stack' ? (new Error().stack ?? '').split('\n').slice(3, 9).map((l) => l.trim().replace(/\(file:\/\/\/[^)]*?\/(src|bench)\//, '($1/')).join(' | ') : s;
      const e = execs.get(key) ?? { n: 0, ms: 0 };
      e.n++; e.ms += performance.now() - t; execs.set(key, e);
      return r;
    };
  }
  return {
    nb, demo, sqlCount, execs,
    async close() {
      await nb.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
