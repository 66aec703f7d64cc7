// Shared set-up for the servers HTTP tests: an in-memory novabox (a throw-away PostgreSQL one with NOVABOX_TEST_DB=postgres), tokens through Keystone, small helpers.
import assert from 'node:assert/strict';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import type { Config } from '../../src/config.ts';
import type { Novabox } from '../../src/novabox.ts';
import { createTestNovabox } from '../helpers/novabox.ts';

export interface Env {
  nb: Novabox;
  admin: string;
  demo: string;
  alt: string;
  projects: Record<string, string>;
  imageId: string;
  close(): Promise<void>;
}

async function token(nb: Novabox, user: string, project: string): Promise<{ token: string; project_id: string }> {
  const r = await nb.app.inject({
    method: 'POST', url: '/identity/v3/auth/tokens',
    payload: { auth: { identity: { methods: ['password'], password: { user: { name: user, domain: { id: 'default' }, password: 'secret' } } }, scope: { project: { name: project, domain: { id: 'default' } } } } },
  });
  if (r.statusCode !== 201) throw new Error(`token for ${user}: ${r.statusCode} ${r.body}`);
  return { token: String(r.headers['x-subject-token']), project_id: r.json().token.project.id };
}

export async function setup(overrides: Record<string, unknown> = {}): Promise<Env> {
  const nb = await createTestNovabox(overrides as Partial<Config>);
  const a = await token(nb, 'admin', 'admin');
  const d = await token(nb, 'demo', 'demo');
  const al = await token(nb, 'alt_demo', 'alt_demo');
  const imgs = await nb.app.inject({ method: 'GET', url: '/image/v2/images', headers: { 'x-auth-token': d.token } });
  const imageId = (imgs.json().images as { id: string; status: string }[]).find((i) => i.status === 'active')!.id;
  return {
    nb, admin: a.token, demo: d.token, alt: al.token, imageId,
    projects: { admin: a.project_id, demo: d.project_id, alt_demo: al.project_id },
    close: () => nb.close(),
  };
}

export interface Call {
  method?: InjectOptions['method'];
  url: string;
  token?: string;
  mv?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

export async function call(env: Env, c: Call): Promise<LightMyRequestResponse> {
  const headers: Record<string, string> = { ...(c.headers ?? {}) };
  if (c.token !== undefined) headers['x-auth-token'] = c.token;
  if (c.mv) headers['openstack-api-version'] = `compute ${c.mv}`;
  const url = c.url.startsWith('/') && !c.url.startsWith('/compute') ? `/compute/v2.1${c.url}` : c.url;
  return env.nb.app.inject({ method: c.method ?? 'GET', url, headers, ...(c.body !== undefined ? { payload: JSON.stringify(c.body), headers: { ...headers, 'content-type': 'application/json' } } : {}) });
}

/** Create a server as `token` and wait until it is ACTIVE; returns its id. */
export async function boot(env: Env, token: string, extra: Record<string, unknown> = {}, mv?: string): Promise<string> {
  const r = await call(env, { method: 'POST', url: '/servers', token, mv, body: { server: { name: 'vm', imageRef: env.imageId, flavorRef: '1', ...(mv && Number(mv.split('.')[1]) >= 37 && !('networks' in extra) ? { networks: 'auto' } : {}), ...extra } } });
  if (r.statusCode !== 202) throw new Error(`boot: ${r.statusCode} ${r.body}`);
  const id = r.json().server.id as string;
  await env.nb.services.engine.settle();
  return id;
}

export async function settle(env: Env): Promise<void> {
  await env.nb.services.engine.settle();
}

export async function show(env: Env, token: string, id: string, mv?: string): Promise<Record<string, any>> {
  const r = await call(env, { url: `/servers/${id}`, token, mv });
  if (r.statusCode !== 200) throw new Error(`show: ${r.statusCode} ${r.body}`);
  return r.json().server;
}

export async function act(env: Env, token: string, id: string, body: unknown, mv?: string): Promise<LightMyRequestResponse> {
  return call(env, { method: 'POST', url: `/servers/${id}/action`, token, mv, body });
}

/** Asserts a Nova fault: the status, the body's one key with that code, and the message when given. */
export function fault(r: LightMyRequestResponse, code: number, message?: string): void {
  assert.equal(r.statusCode, code, r.body);
  const body = r.json();
  const key = Object.keys(body)[0];
  assert.equal(body[key].code, code, r.body);
  if (message !== undefined) assert.equal(body[key].message, message);
}

/** One call to the networking API as `token`: its status and parsed body. */
export async function neutron(env: Env, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const r = await env.nb.app.inject({ method: method as 'GET', url: `/networking/v2.0${path}`, headers: { 'x-auth-token': token }, ...(body ? { payload: body as object } : {}) });
  return { status: r.statusCode, body: r.body ? r.json() : null };
}

/** Until the servers' steps and the ports following them are done. */
export async function quiet(env: Env): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await settle(env);
    await env.nb.services.network.idle();
  }
}
