// Keystone tokens over HTTP: discovery, issue (every request shape tempest and the CLI send),
// catalog, validation, revocation, expiry and every 400/401/403/404 answer.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../src/engine/clock.ts';
import { passwordAuth, startNovabox, type TestNovabox } from '../helpers/novabox.ts';

const TOKENS = '/identity/v3/auth/tokens';
const KEYSTONE_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;
const projectScope = (name: string) => ({ project: { name, domain: { name: 'Default' } } });

interface TokenBody {
  token: {
    methods: string[];
    expires_at: string;
    issued_at: string;
    audit_ids: string[];
    user: { id: string; name: string; domain: { id: string; name: string } };
    project?: { id: string; name: string; domain: { id: string; name: string } };
    domain?: { id: string; name: string };
    roles?: { id: string; name: string }[];
    catalog?: { type: string; name: string; id: string; endpoints: { id: string; interface: string; region: string; region_id: string; url: string }[] }[];
    is_domain?: boolean;
  };
}

describe('identity tokens', () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 1, 12));
  let nb: TestNovabox;
  before(async () => {
    nb = await startNovabox({ token_ttl: 3600, public_url: 'http://cloud.test:8774' }, { clock });
  });
  after(() => nb.close());

  const issue = (body: unknown) => nb.app.inject({ method: 'POST', url: TOKENS, payload: body as Record<string, unknown> });

  test('version discovery answers at /identity (300, list) and /identity/v3 (200)', async () => {
    const root = await nb.app.inject({ method: 'GET', url: '/identity/' });
    assert.equal(root.statusCode, 300);
    assert.equal((await nb.app.inject({ method: 'GET', url: '/identity' })).statusCode, 300);
    const values = root.json().versions.values;
    assert.equal(values[0].id, 'v3.14');
    assert.equal(values[0].links[0].href, 'http://cloud.test:8774/identity/v3/');
    for (const url of ['/identity/v3', '/identity/v3/']) {
      const v3 = await nb.app.inject({ method: 'GET', url });
      assert.equal(v3.statusCode, 200);
      assert.equal(v3.json().version.status, 'stable');
      assert.equal(v3.json().version['media-types'][0].type, 'application/vnd.openstack.identity-v3+json');
    }
  });

  test('password auth by names gives a project-scoped token with roles and catalog', async () => {
    const res = await issue(passwordAuth('demo', 'secret', projectScope('demo')));
    assert.equal(res.statusCode, 201);
    const token = String(res.headers['x-subject-token']);
    assert.ok(token.length >= 32);
    const t = (res.json() as TokenBody).token;
    assert.deepEqual(t.methods, ['password']);
    assert.match(t.expires_at, KEYSTONE_TIME);
    assert.match(t.issued_at, KEYSTONE_TIME);
    assert.equal(Date.parse(t.expires_at) - Date.parse(t.issued_at), 3600_000);
    assert.equal(Date.parse(t.issued_at), clock.now());
    assert.equal(t.user.name, 'demo');
    assert.deepEqual(t.user.domain, { id: 'default', name: 'Default' });
    assert.equal(t.project?.name, 'demo');
    assert.equal(t.project?.id, nb.projectId('demo'));
    assert.deepEqual(t.project?.domain, { id: 'default', name: 'Default' });
    assert.equal(t.is_domain, false);
    assert.deepEqual(t.roles?.map((r) => r.name).sort(), ['member', 'reader']);
    assert.equal(t.audit_ids.length, 1);
  });

  test('the catalog lists identity, compute, image, network and block storage with public, internal and admin endpoints in RegionOne', async () => {
    const t = ((await issue(passwordAuth('demo', 'secret', projectScope('demo')))).json() as TokenBody).token;
    const byType = new Map(t.catalog!.map((s) => [s.type, s]));
    assert.deepEqual([...byType.keys()].sort(), ['block-storage', 'compute', 'identity', 'image', 'network', 'volumev3']);
    const volume = `http://cloud.test:8774/volume/v3/${nb.projectId('demo')}`;
    const urls = { identity: 'http://cloud.test:8774/identity', compute: 'http://cloud.test:8774/compute/v2.1', image: 'http://cloud.test:8774/image', 'block-storage': volume, volumev3: volume, network: 'http://cloud.test:8774/networking' };
    for (const [type, url] of Object.entries(urls)) {
      const s = byType.get(type)!;
      assert.ok(s.id && s.name);
      assert.deepEqual(s.endpoints.map((e) => e.interface).sort(), ['admin', 'internal', 'public']);
      for (const e of s.endpoints) {
        assert.equal(e.url, url);
        assert.equal(e.region, 'RegionOne');
        assert.equal(e.region_id, 'RegionOne');
        assert.ok(e.id);
      }
    }
    const res = await issue(passwordAuth('demo', 'secret', projectScope('demo')));
    const cat = await nb.app.inject({ method: 'GET', url: '/identity/v3/auth/catalog', headers: { 'x-auth-token': String(res.headers['x-subject-token']) } });
    assert.equal(cat.statusCode, 200);
    assert.equal(cat.json().catalog.length, 6);
  });

  test('password auth by ids (the shape tempest sends after its first token) works', async () => {
    const first = ((await issue(passwordAuth('alt_demo', 'secret', projectScope('alt_demo')))).json() as TokenBody).token;
    const res = await issue({
      auth: {
        identity: { methods: ['password'], password: { user: { id: first.user.id, password: 'secret', domain: { id: first.user.domain.id } } } },
        scope: { project: { id: first.project!.id, domain: { id: first.project!.domain.id } } },
      },
    });
    assert.equal(res.statusCode, 201);
    assert.equal((res.json() as TokenBody).token.project?.name, 'alt_demo');
  });

  test('admin gets the admin role and its implied roles, and a domain-scoped token', async () => {
    const t = ((await issue(passwordAuth('admin', 'secret', projectScope('admin')))).json() as TokenBody).token;
    assert.deepEqual(t.roles?.map((r) => r.name).sort(), ['admin', 'manager', 'member', 'reader']);
    const d = await issue(passwordAuth('admin', 'secret', { domain: { name: 'Default' } }));
    assert.equal(d.statusCode, 201);
    const dt = (d.json() as TokenBody).token;
    assert.deepEqual(dt.domain, { id: 'default', name: 'Default' });
    assert.equal(dt.project, undefined);
    assert.ok(dt.catalog?.length);
  });

  test('an unscoped token has no project, roles or catalog', async () => {
    for (const body of [passwordAuth('demo', 'secret'), passwordAuth('demo', 'secret', 'unscoped')]) {
      const res = await issue(body);
      assert.equal(res.statusCode, 201);
      const t = (res.json() as TokenBody).token;
      assert.equal(t.project, undefined);
      assert.equal(t.roles, undefined);
      assert.equal(t.catalog, undefined);
    }
  });

  test('an unscoped token can be exchanged for a project-scoped one (token method)', async () => {
    const unscoped = String((await issue(passwordAuth('demo', 'secret'))).headers['x-subject-token']);
    const res = await issue({ auth: { identity: { methods: ['token'], token: { id: unscoped } }, scope: projectScope('demo') } });
    assert.equal(res.statusCode, 201);
    const t = (res.json() as TokenBody).token;
    assert.equal(t.project?.name, 'demo');
    assert.deepEqual(t.methods, ['password', 'token']);
    const bad = await issue({ auth: { identity: { methods: ['token'], token: { id: 'nope' } }, scope: projectScope('demo') } });
    assert.equal(bad.statusCode, 401);
  });

  test('wrong password, unknown user, unknown domain, unknown project and a project without a role are all 401', async () => {
    const cases = [
      passwordAuth('demo', 'wrong', projectScope('demo')),
      passwordAuth('nobody', 'secret', projectScope('demo')),
      passwordAuth('demo', 'secret', projectScope('no-such-project')),
      passwordAuth('demo', 'secret', projectScope('alt_demo')),
      passwordAuth('demo', 'secret', { domain: { name: 'Default' } }),
      passwordAuth('demo', 'secret', { project: { id: 'ffffffffffffffffffffffffffffffff' } }),
      { auth: { identity: { methods: ['password'], password: { user: { name: 'demo', password: 'secret', domain: { name: 'Nowhere' } } } } } },
    ];
    for (const body of cases) {
      const res = await issue(body);
      assert.equal(res.statusCode, 401, JSON.stringify(body));
      assert.deepEqual(res.json(), { error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' } });
      assert.equal(res.headers['x-subject-token'], undefined);
    }
  });

  test('malformed authentication requests are 400 with a Keystone error body', async () => {
    const cases: unknown[] = [
      {},
      { auth: {} },
      { auth: { identity: { methods: 'password' } } },
      { auth: { identity: { methods: ['password'], password: {} } } },
      { auth: { identity: { methods: ['password'], password: { user: { name: 'demo' } } } } },
      { auth: { identity: { methods: ['password'], password: { user: { name: 'demo', password: 'secret' } } } } },
      { auth: { identity: { methods: ['password'], password: { user: { name: 'demo', password: 'secret', domain: { name: 'Default' } } } }, scope: { project: { name: 'demo' } } } },
    ];
    const broken = await nb.app.inject({ method: 'POST', url: TOKENS, headers: { 'content-type': 'application/json' }, payload: '{"auth": ' });
    assert.equal(broken.statusCode, 400);
    assert.equal(broken.json().error.code, 400);
    const xml = await nb.app.inject({ method: 'POST', url: TOKENS, headers: { 'content-type': 'application/xml' }, payload: '<auth/>' });
    assert.equal(xml.statusCode, 415);
    assert.equal(xml.json().error.code, 415);
    for (const body of cases) {
      const res = await issue(body);
      assert.equal(res.statusCode, 400, JSON.stringify(body));
      const err = res.json().error;
      assert.equal(err.code, 400);
      assert.equal(err.title, 'Bad Request');
      assert.ok(err.message);
    }
  });

  test('GET and HEAD /auth/tokens validate X-Subject-Token; others may not look at your token', async () => {
    const demo = await nb.token('demo');
    const alt = await nb.token('alt_demo');
    const admin = await nb.token('admin');
    const own = await nb.app.inject({ method: 'GET', url: TOKENS, headers: { 'x-auth-token': demo, 'x-subject-token': demo } });
    assert.equal(own.statusCode, 200);
    assert.equal(own.headers['x-subject-token'], demo);
    assert.equal((own.json() as TokenBody).token.user.name, 'demo');
    const head = await nb.app.inject({ method: 'HEAD', url: TOKENS, headers: { 'x-auth-token': demo, 'x-subject-token': demo } });
    assert.equal(head.statusCode, 200);
    assert.equal(head.body, '');
    const byAdmin = await nb.app.inject({ method: 'GET', url: TOKENS, headers: { 'x-auth-token': admin, 'x-subject-token': demo } });
    assert.equal(byAdmin.statusCode, 200);
    const byAlt = await nb.app.inject({ method: 'GET', url: TOKENS, headers: { 'x-auth-token': alt, 'x-subject-token': demo } });
    assert.equal(byAlt.statusCode, 403);
    assert.equal(byAlt.json().error.code, 403);
    const unknown = await nb.app.inject({ method: 'GET', url: TOKENS, headers: { 'x-auth-token': admin, 'x-subject-token': 'not-a-token' } });
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json().error.title, 'Not Found');
  });

  test('identity calls without a valid X-Auth-Token are 401 with WWW-Authenticate', async () => {
    for (const headers of [{}, { 'x-auth-token': 'bogus' }] as Record<string, string>[]) {
      for (const url of [TOKENS, '/identity/v3/projects', '/identity/v3/auth/projects']) {
        const res = await nb.app.inject({ method: 'GET', url, headers });
        assert.equal(res.statusCode, 401, url);
        assert.equal(res.headers['www-authenticate'], 'Keystone uri="http://cloud.test:8774/identity"');
        assert.equal(res.json().error.message, 'The request you have made requires authentication.');
      }
    }
  });

  test('DELETE /auth/tokens revokes: the token stops working everywhere', async () => {
    const res = await issue(passwordAuth('demo', 'secret', projectScope('demo')));
    const token = String(res.headers['x-subject-token']);
    const ok = await nb.app.inject({ method: 'GET', url: '/image/v2/images', headers: { 'x-auth-token': token } });
    assert.equal(ok.statusCode, 200);
    const del = await nb.app.inject({ method: 'DELETE', url: TOKENS, headers: { 'x-auth-token': token, 'x-subject-token': token } });
    assert.equal(del.statusCode, 204);
    assert.equal(del.body, '');
    assert.equal(await nb.services.identity.validate(token), null);
    const refused = await nb.app.inject({ method: 'GET', url: '/image/v2/images', headers: { 'x-auth-token': token } });
    assert.equal(refused.statusCode, 401);
    const admin = await nb.token('admin');
    const gone = await nb.app.inject({ method: 'GET', url: TOKENS, headers: { 'x-auth-token': admin, 'x-subject-token': token } });
    assert.equal(gone.statusCode, 404);
    const again = await nb.app.inject({ method: 'DELETE', url: TOKENS, headers: { 'x-auth-token': admin, 'x-subject-token': token } });
    assert.equal(again.statusCode, 404);
  });

  test('validate() gives the request context compute needs, with effective roles', async () => {
    const ctx = await nb.services.identity.validate(await nb.token('demo'));
    assert.ok(ctx);
    assert.equal(ctx.user_name, 'demo');
    assert.equal(ctx.project_id, nb.projectId('demo'));
    assert.equal(ctx.project_name, 'demo');
    assert.equal(ctx.project_domain_id, 'default');
    assert.equal(ctx.user_domain_id, 'default');
    assert.deepEqual([...ctx.roles].sort(), ['member', 'reader']);
    assert.equal(await nb.services.identity.validate(''), null);
  });

  test('a revocation written behind the identity service\'s back (no cache generation moved) is seen within 10 s', async () => {
    const res = await issue(passwordAuth('demo', 'secret', projectScope('demo')));
    const token = String(res.headers['x-subject-token']);
    assert.ok(await nb.services.identity.validate(token));
    // Through the shared executor, so the row changes on PostgreSQL too (services.db is a private file there).
    await nb.services.sql.run('UPDATE tokens SET revoked = 1');
    assert.ok(await nb.services.identity.validate(token), 'the cache still trusts it for a moment');
    clock.advance(10_000);
    assert.equal(await nb.services.identity.validate(token), null);
  });

  test('a token expires after token_ttl: 401 afterwards, also from the cache', async () => {
    const res = await issue(passwordAuth('demo', 'secret', projectScope('demo')));
    const token = String(res.headers['x-subject-token']);
    assert.ok(await nb.services.identity.validate(token));
    clock.advance(3599_000);
    assert.ok(await nb.services.identity.validate(token));
    clock.advance(1_000);
    assert.equal(await nb.services.identity.validate(token), null);
    const refused = await nb.app.inject({ method: 'GET', url: '/image/v2/images', headers: { 'x-auth-token': token } });
    assert.equal(refused.statusCode, 401);
  });
});
