// The control API explains itself: an index of every route under /novabox/v1 (including routes a
// module registers later), a GET for every setting that has a PUT, errors that list the valid values;
// /healthz for readiness; POST /novabox/v1/reset back to the seed.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { ADMIN_ROUTES, PUBLIC_ROUTES } from '../../src/api/novabox/index.ts';
import { DRIVER_OPS } from '../../src/domain/actions.ts';
import { passwordAuth, startNovabox, type TestNovabox } from '../helpers/novabox.ts';

interface Entry { method: string; path: string; description: string | null; admin: boolean }

describe('control API', () => {
  let nb: TestNovabox;
  const extra = async (scope: FastifyInstance) => {
    scope.get('/test-extra', { schema: { description: 'added by another module' } }, async () => ({ ok: true }));
  };
  before(async () => {
    ADMIN_ROUTES.push(extra);
    PUBLIC_ROUTES.push(async (scope) => {
      scope.get('/test-public', async () => ({ ok: true }));
    });
    try {
      nb = await startNovabox();
    } finally {
      ADMIN_ROUTES.splice(ADMIN_ROUTES.indexOf(extra), 1);
      PUBLIC_ROUTES.pop();
    }
  });
  after(() => nb.close());

  const admin = async () => nb.headers('admin');
  const index = async (): Promise<Entry[]> => {
    const r = await nb.app.inject({ method: 'GET', url: '/novabox/v1/' });
    assert.equal(r.statusCode, 200, r.body);
    return r.json().novabox.routes;
  };

  it('GET /novabox/v1/ (no token) lists every route with its method, whether it needs admin, and what it does', async () => {
    const routes = await index();
    const keys = routes.map((r) => `${r.method} ${r.path}`);
    for (const k of [
      'GET /novabox/v1', 'GET /novabox/v1/faults', 'POST /novabox/v1/faults', 'DELETE /novabox/v1/faults', 'POST /novabox/v1/servers/:id/guest',
      'GET /novabox/v1/hosts', 'GET /novabox/v1/hosts/:name', 'PUT /novabox/v1/hosts/:name', 'GET /novabox/v1/time-scale', 'PUT /novabox/v1/time-scale',
      'GET /novabox/v1/timings', 'PUT /novabox/v1/timings', 'POST /novabox/v1/reset',
    ]) assert.ok(keys.includes(k), `${k} in ${keys.join(', ')}`);
    // Routes registered by other modules appear by themselves, with their access.
    assert.deepEqual(routes.find((r) => r.path === '/novabox/v1/test-extra'), { method: 'GET', path: '/novabox/v1/test-extra', description: 'added by another module', admin: true });
    assert.equal(routes.find((r) => r.path === '/novabox/v1/test-public')!.admin, false);
    for (const r of routes.filter((x) => !x.path.startsWith('/novabox/v1/test-'))) assert.ok(r.description, `${r.method} ${r.path} has a description`);
    // Each listed route exists.
    for (const r of routes) assert.ok(nb.app.hasRoute({ method: r.method as 'GET', url: r.path }), `${r.method} ${r.path} is served`);
    const body = (await nb.app.inject({ method: 'GET', url: '/novabox/v1' })).json().novabox;
    assert.ok(body.fault_ops.includes('migrate_disk') && body.fault_actions.includes('resize'));
  });

  it('every setting with a PUT has a GET that answers with what the PUT set', async () => {
    const routes = await index();
    const puts = routes.filter((r) => r.method === 'PUT');
    assert.ok(puts.length >= 3);
    for (const p of puts) assert.ok(routes.some((r) => r.method === 'GET' && r.path === p.path), `GET ${p.path}`);
    const h = await admin();
    assert.deepEqual((await nb.app.inject({ method: 'GET', url: '/novabox/v1/time-scale', headers: h })).json(), { time_scale: 0 });
    assert.equal((await nb.app.inject({ method: 'PUT', url: '/novabox/v1/time-scale', headers: h, payload: { time_scale: 2.5 } })).statusCode, 200);
    assert.deepEqual((await nb.app.inject({ method: 'GET', url: '/novabox/v1/time-scale', headers: h })).json(), { time_scale: 2.5 });
    assert.deepEqual((await nb.app.inject({ method: 'PUT', url: '/novabox/v1/timings', headers: h, payload: { timings: 'libvirt' } })).json(), { timings: 'libvirt', time_scale: 2.5 });
    assert.deepEqual((await nb.app.inject({ method: 'GET', url: '/novabox/v1/timings', headers: h })).json(), { timings: 'libvirt', time_scale: 2.5 });
    const bad = await nb.app.inject({ method: 'PUT', url: '/novabox/v1/timings', headers: h, payload: { timings: 'kvm' } });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().badRequest.message, /must be one of: libvirt, fake, instant/);
    await nb.app.inject({ method: 'PUT', url: '/novabox/v1/hosts/compute-1', headers: h, payload: { disabled: true, disabled_reason: 'maint' } });
    const host = (await nb.app.inject({ method: 'GET', url: '/novabox/v1/hosts/compute-1', headers: h })).json().host;
    assert.equal(host.disabled, true);
    assert.equal(host.disabled_reason, 'maint');
    assert.equal((await nb.app.inject({ method: 'GET', url: '/novabox/v1/hosts/compute-9', headers: h })).statusCode, 404);
    await nb.app.inject({ method: 'PUT', url: '/novabox/v1/hosts/compute-1', headers: h, payload: { disabled: false, disabled_reason: null } });
    await nb.app.inject({ method: 'PUT', url: '/novabox/v1/time-scale', headers: h, payload: { time_scale: 0 } });
  });

  it('a mistyped fault names the valid actions and steps', async () => {
    const h = await admin();
    const op = await nb.app.inject({ method: 'POST', url: '/novabox/v1/faults', headers: h, payload: { action: 'resize', op: 'migrate_disks' } });
    assert.equal(op.statusCode, 400);
    const msg = op.json().badRequest.message as string;
    assert.match(msg, /^body\/op must be one of: /);
    for (const o of Object.keys(DRIVER_OPS)) assert.ok(msg.includes(o), o);
    const act = await nb.app.inject({ method: 'POST', url: '/novabox/v1/faults', headers: h, payload: { action: 'resise', op: '*' } });
    assert.match(act.json().badRequest.message, /body\/action must be one of: create, delete, .*resize.*\*/);
  });

  it('the README lists every route of the index and every fault action and op', async () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const ctl = readme.slice(readme.indexOf('## Control API'), readme.indexOf('\n## ', readme.indexOf('## Control API') + 3));
    const tableRoutes = ctl.replace(/\{[a-z_]+\}/g, ':param');
    for (const r of (await index()).filter((x) => !x.path.startsWith('/novabox/v1/test-'))) {
      const path = r.path.replace(/:[a-z_]+/g, ':param');
      assert.ok(tableRoutes.includes(path === '/novabox/v1' ? '/novabox/v1/' : path), `README's control API names ${r.method} ${r.path}`);
    }
    const listed = (label: string) => {
      const at = ctl.indexOf(label);
      const text = ctl.slice(at, ctl.indexOf(', or `*`', at));
      return [...text.matchAll(/`([A-Za-z_]+)`/g)].map((m) => m[1]).filter((w) => w !== 'action' && w !== 'op' && w !== 'ops');
    };
    const body = (await nb.app.inject({ method: 'GET', url: '/novabox/v1/' })).json().novabox;
    assert.deepEqual(listed('Fault `action`s').sort(), body.fault_actions.filter((a: string) => a !== '*').sort());
    assert.deepEqual(listed('Fault `op`s').sort(), body.fault_ops.filter((a: string) => a !== '*').sort());
  });

  it('GET /healthz answers 200 without a token; GET / says where each service is', async () => {
    const r = await nb.app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(r.statusCode, 200);
    assert.equal(r.json().status, 'ok');
    const root = await nb.app.inject({ method: 'GET', url: '/' });
    assert.equal(root.statusCode, 200);
    const { services, control, health } = root.json().novabox;
    assert.match(services.compute, /\/compute\/v2\.1$/);
    assert.match(services.identity, /\/identity$/);
    assert.match(services.image, /\/image$/);
    assert.match(control, /\/novabox\/v1\/$/);
    assert.match(health, /\/healthz$/);
  });

  it('POST /novabox/v1/reset (admin only) brings back the seed: servers, users, images and tokens made since are gone', async () => {
    const demo = await nb.headers('demo');
    assert.equal((await nb.app.inject({ method: 'POST', url: '/novabox/v1/reset', headers: demo })).statusCode, 403);
    const made = await nb.app.inject({
      method: 'POST', url: '/compute/v2.1/servers', headers: { ...demo, 'openstack-api-version': 'compute 2.37' },
      payload: { server: { name: 'before-reset', flavorRef: '1', imageRef: '4fa04c19-09fa-51ff-9872-fac075d1145b', networks: 'none' } },
    });
    assert.equal(made.statusCode, 202, made.body);
    await nb.services.engine.settle();
    const h = await admin();
    const user = await nb.app.inject({ method: 'POST', url: '/identity/v3/users', headers: h, payload: { user: { name: 'someone', password: 'pw', domain_id: 'default' } } });
    assert.equal(user.statusCode, 201, user.body);
    await nb.app.inject({ method: 'POST', url: '/novabox/v1/faults', headers: h, payload: { action: '*', op: '*', times: 5 } });
    const images = (await nb.app.inject({ method: 'GET', url: '/image/v2/images', headers: h })).json().images.length;

    const r = await nb.app.inject({ method: 'POST', url: '/novabox/v1/reset', headers: h });
    assert.equal(r.statusCode, 200, r.body);
    assert.ok(r.json().reset.rows > 0);
    // The old tokens are gone with everything else.
    assert.equal((await nb.app.inject({ method: 'GET', url: '/compute/v2.1/servers', headers: demo })).statusCode, 401);
    const login = async (name: string, password = 'secret') => nb.app.inject({ method: 'POST', url: '/identity/v3/auth/tokens', payload: passwordAuth(name, password, { project: { name, domain: { name: 'Default' } } }) });
    const fresh = await login('demo');
    assert.equal(fresh.statusCode, 201);
    const token = { 'x-auth-token': String(fresh.headers['x-subject-token']) };
    assert.deepEqual((await nb.app.inject({ method: 'GET', url: '/compute/v2.1/servers', headers: token })).json().servers, []);
    assert.equal((await nb.app.inject({ method: 'POST', url: '/identity/v3/auth/tokens', payload: passwordAuth('someone', 'pw') })).statusCode, 401);
    const adminToken = { 'x-auth-token': String((await login('admin')).headers['x-subject-token']) };
    assert.equal((await nb.app.inject({ method: 'GET', url: '/image/v2/images', headers: adminToken })).json().images.length, images);
    assert.deepEqual((await nb.app.inject({ method: 'GET', url: '/novabox/v1/faults', headers: adminToken })).json(), { faults: [] });
    // And the cloud works: a server boots.
    const again = await nb.app.inject({
      method: 'POST', url: '/compute/v2.1/servers', headers: { ...token, 'openstack-api-version': 'compute 2.37' },
      payload: { server: { name: 'after-reset', flavorRef: '1', imageRef: '4fa04c19-09fa-51ff-9872-fac075d1145b', networks: 'none' } },
    });
    assert.equal(again.statusCode, 202, again.body);
    await nb.services.engine.settle();
    const shown = await nb.app.inject({ method: 'GET', url: `/compute/v2.1/servers/${again.json().server.id}`, headers: token });
    assert.equal(shown.json().server.status, 'ACTIVE');
  });
});
