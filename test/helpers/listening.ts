// A novabox listening on a free loopback port, for tests that need real sockets (event streams, a
// browser): its base URL, and fetch helpers that log in as the seeded users.
import assert from 'node:assert/strict';
import type { Config } from '../../src/config.ts';
import { startNovabox, type TestNovabox } from './novabox.ts';

export interface Listening {
  nb: TestNovabox;
  base: string;
  /** fetch `path` as `user` (a seeded user's project token), with a JSON body when given. */
  api(method: string, path: string, user: string, body?: unknown): Promise<Response>;
  /** POST /servers as demo (m1.nano, the cirros image); returns the new server's id. */
  create(name: string): Promise<string>;
  close(): Promise<void>;
}

export async function listenNovabox(overrides: Partial<Config> = {}): Promise<Listening> {
  const nb = await startNovabox(overrides);
  await nb.app.listen({ host: '127.0.0.1', port: 0 });
  const addr = nb.app.server.address();
  const base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  const api = async (method: string, path: string, user: string, body?: unknown) =>
    fetch(`${base}${path}`, { method, headers: { 'x-auth-token': await nb.token(user), 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  return {
    nb, base, api,
    async create(name) {
      const r = await api('POST', '/compute/v2.1/servers', 'demo', { server: { name, imageRef: '4fa04c19-09fa-51ff-9872-fac075d1145b', flavorRef: '42' } });
      assert.equal(r.status, 202);
      return (await r.json()).server.id;
    },
    close: () => nb.close(),
  };
}
