// Shared test helper: an in-memory novabox driven through app.inject(), plus tokens for the
// seeded users (admin, demo, alt_demo; password 'secret'), obtained the way clients get them.
//
//   const nb = await startNovabox();
//   const res = await nb.app.inject({ method: 'GET', url: '/image/v2/images', headers: await nb.headers('demo') });
//   await nb.close();
//
// `overrides` are config overrides (db defaults to ':memory:', time_scale 0, log_level silent,
// port 0); pass `db` to reuse a file. The environment is ignored, so NOVABOX_* cannot leak in, with
// one exception: NOVABOX_TEST_DB=postgres runs every novabox that does not name its own `db` on a
// throw-away PostgreSQL database (test/helpers/postgres.ts), dropped again by close(), so the whole
// HTTP suite can be run a second time against PostgreSQL.
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { loadConfig, type Config } from '../../src/config.ts';
import type { Clock } from '../../src/engine/clock.ts';
import { createNovabox, type Novabox, type Services } from '../../src/novabox.ts';
import { createPostgresDatabase, PG_ADMIN_URL } from './postgres.ts';

export interface TestNovabox {
  app: FastifyInstance;
  services: Services;
  config: Config;
  /** A project-scoped token for a seeded (or created) user; cached per user and project. */
  token(user?: string, project?: string): Promise<string>;
  /** `{ 'x-auth-token': token(user, project) }` for app.inject. */
  headers(user?: string, project?: string): Promise<Record<string, string>>;
  /** The id of a seeded project by name (Default domain). */
  projectId(name: string): string;
  close(): Promise<void>;
}

/**
 * createNovabox for tests: `overrides` over the test defaults (':memory:', time_scale 0, fake timings,
 * silent, port 0); with NOVABOX_TEST_DB=postgres and no `db` of its own, on a throw-away PostgreSQL
 * database that close() drops.
 */
export async function createTestNovabox(overrides: Partial<Config> = {}, opts: { clock?: Clock } = {}): Promise<Novabox & { config: Config }> {
  const onPostgres = process.env.NOVABOX_TEST_DB === 'postgres' && overrides.db === undefined;
  const pg = onPostgres ? await createPostgresDatabase() : null;
  if (onPostgres && !pg) throw new Error(`NOVABOX_TEST_DB=postgres but no PostgreSQL answers at ${PG_ADMIN_URL}`);
  const config = loadConfig({ db: pg?.url ?? ':memory:', time_scale: 0, timings: 'fake', log_level: 'silent', port: 0, ...overrides }, {});
  const nb = await createNovabox(config, opts).catch(async (e: unknown) => {
    await pg?.drop();
    throw e;
  });
  const close = nb.close.bind(nb);
  return Object.assign(nb, {
    config,
    async close() {
      await close();
      await pg?.drop();
    },
  });
}

export async function startNovabox(overrides: Partial<Config> = {}, opts: { clock?: Clock } = {}): Promise<TestNovabox> {
  const nb = await createTestNovabox(overrides, opts);
  const config = nb.config;
  const projectIds = new Map((await nb.services.identity.store.listProjects({ domain_id: 'default' })).map((p) => [p.name, p.id]));
  const tokens = new Map<string, string>();
  const seedProject = (user: string): string => config.seed.users.find((u) => u.name === user)?.project ?? user;
  const helper: TestNovabox = {
    app: nb.app,
    services: nb.services,
    config,
    async token(user = 'demo', project = seedProject(user)) {
      const key = `${user}\u0000${project}`;
      const cached = tokens.get(key);
      if (cached) return cached;
      const password = config.seed.users.find((u) => u.name === user)?.password ?? 'secret';
      const res = await nb.app.inject({
        method: 'POST',
        url: '/identity/v3/auth/tokens',
        payload: passwordAuth(user, password, { project: { name: project, domain: { name: 'Default' } } }),
      });
      assert.equal(res.statusCode, 201, `token for ${user}/${project}: ${res.body}`);
      const token = String(res.headers['x-subject-token']);
      tokens.set(key, token);
      return token;
    },
    async headers(user, project) {
      return { 'x-auth-token': await helper.token(user, project) };
    },
    projectId(name) {
      const id = projectIds.get(name);
      assert.ok(id, `project ${name} is seeded`);
      return id;
    },
    close: () => nb.close(),
  };
  return helper;
}

/** The body of a password authentication request (user by name in the Default domain). */
export function passwordAuth(user: string, password: string, scope?: unknown): Record<string, unknown> {
  const auth: Record<string, unknown> = {
    identity: { methods: ['password'], password: { user: { name: user, domain: { name: 'Default' }, password } } },
  };
  if (scope !== undefined) auth.scope = scope;
  return { auth };
}
