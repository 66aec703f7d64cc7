// Talking to a novabox child process over real HTTP (tests that start `novabox serve`).
import assert from 'node:assert/strict';

/** A project-scoped token for a seeded user (password 'secret', project of the same name). */
export async function token(base: string, user = 'demo'): Promise<string> {
  const res = await fetch(`${base}/identity/v3/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { name: user, domain: { name: 'Default' }, password: 'secret' } } }, scope: { project: { name: user, domain: { name: 'Default' } } } } }),
  });
  assert.equal(res.status, 201);
  return res.headers.get('x-subject-token')!;
}

/** A compute API call at microversion 2.1. */
export async function call(base: string, tok: string, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${base}/compute/v2.1${path}`, {
    method,
    headers: { 'x-auth-token': tok, 'content-type': 'application/json', 'x-openstack-nova-api-version': '2.1' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}
