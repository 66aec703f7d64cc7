// Per-process caches with two `novabox serve` replicas on one database (PostgreSQL, and two processes
// on one SQLite file): a change made through one is seen by the other at its very next request, with
// no timer to wait for.
// Tokens (a revocation), the token catalog (a new endpoint) and the compute hosts (an aggregate's
// zone) are each cached by every process; each is checked against its cache generation first. A
// server's rendered view is memoized per process too, and dropped through the database's notifications.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPostgresDatabase } from '../helpers/postgres.ts';
import { call, token } from '../helpers/remote.ts';
import { serveReplica, stopReplicas, type Replica } from '../helpers/replicas.ts';

async function identity(base: string, tok: string | null, method: string, path: string, body?: unknown, extra: Record<string, string> = {}): Promise<Response> {
  return fetch(`${base}/identity${path}`, {
    method,
    headers: { ...(tok ? { 'x-auth-token': tok } : {}), 'content-type': 'application/json', ...extra },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function zones(base: string, tok: string): Promise<Record<string, string[]>> {
  const res = await call(base, tok, 'GET', '/os-availability-zone/detail');
  assert.equal(res.status, 200);
  const out: Record<string, string[]> = {};
  for (const z of (await res.json()).availabilityZoneInfo) out[z.zoneName] = Object.keys(z.hosts ?? {}).sort();
  return out;
}

test('two replicas on one PostgreSQL database: a token revoked, an endpoint added and a zone changed through one are seen by the other at once', { timeout: 180_000 }, async (t) => {
  const made = await createPostgresDatabase();
  if (!made) return t.skip('no PostgreSQL');
  try {
    await changesSeenByTheOther(made.url);
  } finally {
    await made.drop();
  }
});

test('two processes on one SQLite file: the same changes through one are seen by the other at once', { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'novabox-sqlite-caches-'));
  try {
    await changesSeenByTheOther(join(dir, 'novabox.db'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

async function changesSeenByTheOther(db: string): Promise<void> {
  const replicas: Replica[] = [];
  try {
    for (let i = 0; i < 2; i++) replicas.push(await serveReplica(db));
    const [a, b] = replicas;
    const admin = await token(a.base, 'admin');

    // Tokens: B trusts the demo token (and caches it), A revokes it, B refuses it on the next request.
    const demo = await token(a.base, 'demo');
    assert.equal((await call(b.base, demo, 'GET', '/servers')).status, 200);
    assert.equal((await call(b.base, demo, 'GET', '/servers')).status, 200, 'B serves the token from its cache');
    assert.equal((await identity(a.base, admin, 'DELETE', '/v3/auth/tokens', undefined, { 'x-subject-token': demo })).status, 204);
    assert.equal((await call(b.base, demo, 'GET', '/servers')).status, 401, 'B refuses the token A revoked');
    assert.equal((await identity(b.base, admin, 'GET', '/v3/auth/tokens', undefined, { 'x-subject-token': demo })).status, 404);

    // The catalog: B renders it (and caches it), A adds a service with an endpoint, B's next token carries it.
    const demo2 = await token(a.base, 'demo');
    const types = async (base: string) => {
      const res = await identity(base, null, 'POST', '/v3/auth/tokens', { auth: { identity: { methods: ['password'], password: { user: { name: 'demo', domain: { name: 'Default' }, password: 'secret' } } }, scope: { project: { name: 'demo', domain: { name: 'Default' } } } } });
      assert.equal(res.status, 201);
      return ((await res.json()).token.catalog as { type: string }[]).map((s) => s.type);
    };
    assert.ok(!(await types(b.base)).includes('replica-probe'));
    const svc = await identity(a.base, admin, 'POST', '/v3/services', { service: { type: 'replica-probe', name: 'probe' } });
    assert.equal(svc.status, 201);
    const ep = await identity(a.base, admin, 'POST', '/v3/endpoints', { endpoint: { service_id: (await svc.json()).service.id, interface: 'public', url: 'http://probe.example/v1' } });
    assert.equal(ep.status, 201);
    assert.ok((await types(b.base)).includes('replica-probe'), 'B’s catalog has the endpoint A added');

    // Hosts: B reads the zones (and caches the hosts), A puts compute-1 in a new zone, B shows it there.
    assert.deepEqual(Object.keys(await zones(b.base, admin)).filter((z) => z === 'rack-9'), []);
    const agg = await call(a.base, admin, 'POST', '/os-aggregates', { aggregate: { name: 'rack-9', availability_zone: 'rack-9' } });
    assert.equal(agg.status, 200, await agg.clone().text());
    const added = await call(a.base, admin, 'POST', `/os-aggregates/${(await agg.json()).aggregate.id}/action`, { add_host: { host: 'compute-1' } });
    assert.equal(added.status, 200, await added.clone().text());
    assert.deepEqual((await zones(b.base, admin))['rack-9'], ['compute-1'], 'B places compute-1 in the zone A gave it');

    // A server's view: B renders it (and memoizes it), A renames it, B's next show has the new name at
    // once, however many times B showed it before.
    const created = await call(a.base, demo2, 'POST', '/servers', { server: { name: 'memo-0', flavorRef: '42', imageRef: '4fa04c19-09fa-51ff-9872-fac075d1145b' } });
    assert.equal(created.status, 202, await created.clone().text());
    const id = (await created.json()).server.id as string;
    const nameOn = async (base: string) => {
      const res = await call(base, demo2, 'GET', `/servers/${id}`);
      assert.equal(res.status, 200);
      return (await res.json()).server.name as string;
    };
    for (let i = 1; i <= 5; i++) {
      assert.equal(await nameOn(b.base), `memo-${i - 1}`);
      assert.equal(await nameOn(b.base), `memo-${i - 1}`);
      assert.equal((await call(a.base, demo2, 'PUT', `/servers/${id}`, { server: { name: `memo-${i}` } })).status, 200);
      assert.equal(await nameOn(b.base), `memo-${i}`, `B shows the name A gave it (turn ${i})`);
    }
  } finally {
    await stopReplicas(replicas);
  }
}
