// Honest transactions over HTTP, on SQLite and on PostgreSQL: what decides a write is read in the
// unit of work that writes, so requests racing on one server or one project's quota cannot both
// pass on the same reading. Each race is sent as concurrent requests and run several times.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { act, boot, call, fault, setup, show, type Env } from './servers-helpers.ts';
import { createPostgresDatabase } from '../helpers/postgres.ts';

const ROUNDS = 4;

/** Runs `fn` on a novabox over a fresh SQLite file in memory, or over a throw-away PostgreSQL database. */
async function onStore(t: TestContext, store: 'sqlite' | 'postgres', fn: (env: Env) => Promise<void>): Promise<void> {
  const pg = store === 'postgres' ? await createPostgresDatabase() : null;
  if (store === 'postgres' && !pg) {
    t.skip('no PostgreSQL');
    return;
  }
  // The manual clock: a step runs only when a test settles, so the winner's task is still seen in
  // progress when the test looks (with the system clock the engine's timer may finish it first).
  const env = await setup({ ...(pg ? { db: pg.url } : {}), clock: 'manual', quota_defaults: { instances: 1000, cores: -1, ram: -1 } });
  try {
    await fn(env);
  } finally {
    await env.close();
    await pg?.drop();
  }
}

for (const store of ['sqlite', 'postgres'] as const) {
  test(`two actions racing on one server: exactly one is accepted, the other is a 409 (${store})`, async (t) => {
    await onStore(t, store, async (env) => {
      for (let round = 0; round < ROUNDS; round++) {
        const id = await boot(env, env.demo);
        const [stop, pause] = await Promise.all([act(env, env.demo, id, { 'os-stop': null }), act(env, env.demo, id, { pause: null })]);
        const codes = [stop.statusCode, pause.statusCode].sort();
        assert.deepEqual(codes, [202, 409], `round ${round}: ${stop.statusCode} ${stop.body} / ${pause.statusCode} ${pause.body}`);
        const loser = stop.statusCode === 409 ? stop : pause;
        fault(loser, 409);
        const server = await show(env, env.demo, id);
        assert.equal(server['OS-EXT-STS:task_state'], stop.statusCode === 202 ? 'powering-off' : 'pausing', 'the winner’s task, not a mix');
        const actions = (await call(env, { url: `/servers/${id}/os-instance-actions`, token: env.demo })).json().instanceActions as { action: string }[];
        assert.deepEqual(actions.map((a) => a.action).sort(), ['create', stop.statusCode === 202 ? 'stop' : 'pause'], 'only the winner is recorded');
      }
    });
  });

  test(`two creates racing at the edge of the quota: exactly one is accepted (${store})`, async (t) => {
    await onStore(t, store, async (env) => {
      let limit = 1;
      for (let round = 0; round < ROUNDS; round++, limit++) {
        // The project holds limit - 1 servers: room for exactly one more.
        const q = await call(env, { method: 'PUT', url: `/os-quota-sets/${env.projects.demo}`, token: env.admin, body: { quota_set: { instances: limit } } });
        assert.equal(q.statusCode, 200, q.body);
        const create = () => call(env, { method: 'POST', url: '/servers', token: env.demo, body: { server: { name: `edge-${round}`, imageRef: env.imageId, flavorRef: '1' } } });
        const answers = await Promise.all([create(), create()]);
        const codes = answers.map((r) => r.statusCode).sort();
        assert.deepEqual(codes, [202, 403], `round ${round}: ${answers.map((r) => `${r.statusCode} ${r.body}`).join(' / ')}`);
        fault(answers.find((r) => r.statusCode === 403)!, 403);
        const listed = (await call(env, { url: '/servers', token: env.demo })).json().servers as unknown[];
        assert.equal(listed.length, limit, 'the project never holds more servers than its quota');
      }
    });
  });

  test(`two volume creates racing at the edge of the volume quota: exactly one is accepted (${store})`, async (t) => {
    await onStore(t, store, async (env) => {
      const demo = env.projects.demo;
      const volumeCall = (c: { method?: 'GET' | 'PUT' | 'POST'; url: string; token: string; body?: unknown }) => env.nb.app.inject({
        method: c.method ?? 'GET', url: c.url, headers: { 'x-auth-token': c.token }, ...(c.body !== undefined ? { payload: c.body as object } : {}),
      });
      const url = (p: string, project = demo) => `/volume/v3/${project}/${p}`;
      for (let round = 0; round < ROUNDS; round++) {
        const limit = round + 1;
        const q = await volumeCall({ method: 'PUT', url: url(`os-quota-sets/${demo}`, env.projects.admin), token: env.admin, body: { quota_set: { volumes: limit } } });
        assert.equal(q.statusCode, 200, q.body);
        const create = () => volumeCall({ method: 'POST', url: url('volumes'), token: env.demo, body: { volume: { size: 1, name: `edge-${round}` } } });
        const answers = await Promise.all([create(), create()]);
        assert.deepEqual(answers.map((r) => r.statusCode).sort(), [202, 413], `round ${round}: ${answers.map((r) => `${r.statusCode} ${r.body}`).join(' / ')}`);
        const listed = (await volumeCall({ url: url('volumes'), token: env.demo })).json().volumes as unknown[];
        assert.equal(listed.length, limit, 'the project never holds more volumes than its quota');
      }
    });
  });
}
