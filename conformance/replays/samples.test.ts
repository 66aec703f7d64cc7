// Sample conformance: every Nova API sample of a resource novabox serves is replayed (its request or
// the equivalent, at the sample's microversion) and novabox's response must have the same keys,
// nesting and types. Prints how many samples matched; scripts/samples-coverage.ts writes the table.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { act, boot, call, setup, type Env } from '../../test/http/servers-helpers.ts';
import { classify, HOOKS, listSamples, readSample, SAMPLES_DIR, shapeDiff, type Ctx, type Recipe, type Sample } from './samples-recipes.ts';

let env: Env;
let ctx: Omit<Ctx, 'mv' | 'reqBody'>;
let n = 0;
/** Servers a recipe created for one sample; deleted after it. */
const disposable: string[] = [];

before(async () => {
  env = await setup();
  // Nova's samples show the server on devstack's `private`, which belongs to the demo project: the
  // admin boots on it by id (as an admin may), since nothing else would put it there.
  const nets = await env.nb.app.inject({ url: '/networking/v2.0/networks?name=private', headers: { 'x-auth-token': env.admin } });
  const privateNet = (nets.json().networks as { id: string }[])[0].id;
  const server = await boot(env, env.admin, { name: 'sample-server', metadata: { 'My Server Name': 'Apache1' }, networks: [{ uuid: privateNet }] });
  const demoServer = await boot(env, env.demo, { name: 'sample-demo' });
  for (const [tok, id] of [[env.admin, server], [env.demo, demoServer]] as const) {
    await act(env, tok, id, { 'os-stop': null });
    await env.nb.services.engine.settle();
    await act(env, tok, id, { 'os-start': null });
    await env.nb.services.engine.settle();
  }
  const userId = (await env.nb.services.identity.validate(env.admin))!.user_id;
  HOOKS.get = async (url, token, mv) => (await call(env, { url, token, mv })).json();
  let migrated: string | undefined;
  let privateFlavor: string | undefined;
  const unique = (p: string) => `${p}${++n}`;
  ctx = {
    admin: env.admin, demo: env.demo, server, demoServer, imageId: env.imageId, projectId: env.projects.admin, userId, unique,
    async keypair() {
      const name = unique('kp');
      const r = await call(env, { method: 'POST', url: '/os-keypairs', token: env.admin, body: { keypair: { name } } });
      assert.equal(r.statusCode, 200, r.body);
      return name;
    },
    async serverGroup() {
      const r = await call(env, { method: 'POST', url: '/os-server-groups', token: env.admin, body: { server_group: { name: unique('sg'), policies: ['anti-affinity'] } } });
      return r.json().server_group.id;
    },
    async privateFlavor() {
      if (!privateFlavor) {
        privateFlavor = 'sample-private';
        await call(env, { method: 'POST', url: '/flavors', token: env.admin, body: { flavor: { name: privateFlavor, id: privateFlavor, ram: 64, vcpus: 1, disk: 0, 'os-flavor-access:is_public': false } } });
      }
      await call(env, { method: 'POST', url: `/flavors/${privateFlavor}/action`, token: env.admin, body: { addTenantAccess: { tenant: env.projects.admin } } });
      return privateFlavor;
    },
    async fresh(owner = 'admin') {
      const id = await boot(env, owner === 'admin' ? env.admin : env.demo, { name: unique('sample-fresh') });
      disposable.push(id);
      return id;
    },
    async action(id, body, owner = 'admin') {
      const r = await act(env, owner === 'admin' ? env.admin : env.demo, id, body);
      assert.ok(r.statusCode < 300, r.body);
      await env.nb.services.engine.settle();
    },
    async hostDown() {
      const server = await this.fresh();
      const host = (await call(env, { url: `/servers/${server}`, token: env.admin })).json().server['OS-EXT-SRV-ATTR:host'] as string;
      await env.nb.services.engine.setHost(host, { forced_down: true });
      const spareHost = (await env.nb.services.engine.listHosts()).find((h) => h.name !== host)!.name;
      return { server, spareHost };
    },
    async liveMigration() {
      const server = await this.fresh();
      await timeScale(1);
      const r = await act(env, env.admin, server, { 'os-migrateLive': { host: null, block_migration: 'auto' } }, '2.25');
      assert.equal(r.statusCode, 202, r.body);
      const end = Date.now() + 5000;
      for (;;) {
        const m = (await env.nb.services.engine.listMigrations({ server_uuid: server })).find((x) => x.status === 'running');
        if (m) {
          await timeScale(0);
          return { server, migration: m.id };
        }
        assert.ok(Date.now() < end, 'the live migration never ran');
        await new Promise((res) => setTimeout(res, 20));
      }
    },
    async image(properties) {
      const headers = { 'x-auth-token': env.admin };
      const made = await env.nb.app.inject({ method: 'POST', url: '/image/v2/images', headers, payload: { name: unique('sample-image'), container_format: 'bare', disk_format: 'raw', ...properties } });
      assert.equal(made.statusCode, 201, made.body);
      const id = made.json().id as string;
      const up = await env.nb.app.inject({ method: 'PUT', url: `/image/v2/images/${id}/file`, headers: { ...headers, 'content-type': 'application/octet-stream' }, payload: Buffer.alloc(512) });
      assert.equal(up.statusCode, 204, up.body);
      return id;
    },
    async migrated() {
      if (!migrated) {
        migrated = await boot(env, env.admin, { name: 'sample-migrated' });
        await act(env, env.admin, migrated, { migrate: null });
        await env.nb.services.engine.settle();
      }
      return migrated;
    },
  };
});
after(() => env?.close());

async function timeScale(time_scale: number): Promise<void> {
  const r = await env.nb.app.inject({ method: 'PUT', url: '/novabox/v1/time-scale', headers: { 'x-auth-token': env.admin }, payload: { time_scale } });
  assert.equal(r.statusCode, 200, r.body);
}

async function replay(s: Sample, recipe: Recipe): Promise<string[]> {
  const mv = `2.${s.minor}`;
  const reqBody = (file: string) => {
    const reqFile = file.includes('-resp') || file.includes('-res.') ? file.replace(/-resp(?=[.-])/, '-req').replace(/-res\.json$/, '-req.json') : file;
    return existsSync(`${SAMPLES_DIR}/${reqFile}`) ? readSample(reqFile) : undefined;
  };
  const req = await recipe.request({ ...ctx, mv, reqBody }, s);
  const token = req.token === 'demo' ? env.demo : env.admin;
  const r = await call(env, { method: req.method ?? 'GET', url: req.url, token, mv, body: req.body });
  // Leave the cloud as the next sample expects it: steps finished, new servers and quota changes undone.
  await env.nb.services.engine.settle();
  if (r.statusCode === 202 && req.method === 'POST' && req.url === '/servers') {
    // Every server the request made (several for a multiple create), found by its name.
    const name = (req.body as { server: { name: string } }).server.name;
    const made = (await call(env, { url: `/servers?name=^${encodeURIComponent(name)}`, token })).json().servers as { id: string }[];
    disposable.push(...made.map((x) => x.id));
  }
  if (req.url.startsWith('/servers/') && req.url.includes('/migrations')) {
    // Let the in-progress live migration finish now, as it would have a moment later.
    const [, server, , migration] = req.url.split('/').slice(1);
    await call(env, { method: 'POST', url: `/servers/${server}/migrations/${migration ?? (r.json().migrations?.[0]?.id)}/action`, token: env.admin, mv: '2.22', body: { force_complete: null } });
    await env.nb.services.engine.settle();
  }
  if (disposable.length) {
    for (const id of disposable.splice(0)) await call(env, { method: 'DELETE', url: `/servers/${id}`, token: env.admin });
    await env.nb.services.engine.settle();
  }
  if (req.method === 'PUT' && req.url.startsWith('/os-quota-sets/')) await call(env, { method: 'DELETE', url: req.url.split('?')[0], token: env.admin });
  if ((req.method === 'PUT' && req.url.startsWith('/os-services/')) || (req.body && typeof req.body === 'object' && 'evacuate' in req.body)) {
    for (const h of await env.nb.services.engine.listHosts()) await env.nb.services.engine.setHost(h.name, { disabled: false, disabled_reason: null, forced_down: false });
  }
  if (r.statusCode >= 300) return [`${req.method ?? 'GET'} ${req.url} answered ${r.statusCode}: ${r.body.slice(0, 200)}`];
  const sample = readSample(s.file);
  const actual = r.body ? r.json() : null;
  if (recipe.bareMap) {
    const sv = Object.values(sample as object);
    const av = Object.values((actual ?? {}) as object);
    return av.length && sv.length ? shapeDiff(sv[0], av[0], recipe.free, '', recipe.optional) : [];
  }
  return shapeDiff(sample, actual, recipe.free, '', recipe.optional);
}

test('Nova API samples: novabox answers with the same keys, nesting and types', async () => {
  const failures: string[] = [];
  let matched = 0;
  let covered = 0;
  const samples = listSamples();
  for (const s of samples) {
    const v = classify(s);
    if (!('recipe' in v)) continue;
    covered++;
    const diff = await replay(s, v.recipe);
    if (diff.length) failures.push(`${s.file}:\n    ${diff.slice(0, 8).join('\n    ')}`);
    else matched++;
  }
  console.log(`# samples: ${matched} of ${covered} replayed samples matched (${samples.length} sample files in total)`);
  assert.deepEqual(failures, [], `${failures.length} samples differ:\n${failures.join('\n')}`);
});
