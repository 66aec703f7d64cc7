// Fuzz test (issue 10): fast-check drives well over 10,000 requests through app.inject over every
// route in the route table (path parameters, query strings, headers and bodies, from near-valid to
// garbage, mostly with valid tokens so they get past authentication). Every answer must be below
// 500, come within 1 s, and carry the owning service's fault body when it is a 4xx. Afterwards no
// server may be lost or stuck and each project's quota usage must equal what it has.
//
// NOVABOX_FUZZ_RUNS scales it (default 700 runs of 16 requests); NOVABOX_FUZZ_SEED replays a run.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import type { Novabox } from '../../src/novabox.ts';
import { createTestNovabox } from '../helpers/novabox.ts';

const RUNS = Number(process.env.NOVABOX_FUZZ_RUNS ?? 700);
const PER_RUN = 16;
const SEED = process.env.NOVABOX_FUZZ_SEED ? Number(process.env.NOVABOX_FUZZ_SEED) : undefined;

let nb: Novabox;
const tokens: Record<string, string> = {};
const ids: Record<string, string[]> = { server: [], image: [], group: [], keypair: [], flavor: ['1', '42'], project: [] };
let imageRef = '';

async function token(user: string): Promise<string> {
  const r = await nb.app.inject({
    method: 'POST', url: '/identity/v3/auth/tokens',
    payload: { auth: { identity: { methods: ['password'], password: { user: { name: user, domain: { id: 'default' }, password: 'secret' } } }, scope: { project: { name: user, domain: { id: 'default' } } } } },
  });
  assert.equal(r.statusCode, 201, r.body);
  return String(r.headers['x-subject-token']);
}

before(async () => {
  nb = await createTestNovabox({ timings: 'libvirt' });
  for (const u of ['demo', 'alt_demo', 'admin']) tokens[u] = await token(u);
  const imgs = (await nb.app.inject({ url: '/image/v2/images', headers: { 'x-auth-token': tokens.demo } })).json();
  imageRef = imgs.images.find((i: { status: string }) => i.status === 'active').id;
  ids.image.push(imageRef);
  for (const u of ['demo', 'alt_demo']) {
    for (let i = 0; i < 2; i++) {
      const r = await nb.app.inject({ method: 'POST', url: '/compute/v2.1/servers', headers: { 'x-auth-token': tokens[u] }, payload: { server: { name: `fz-${u}-${i}`, imageRef, flavorRef: '1' } } });
      assert.equal(r.statusCode, 202, r.body);
      ids.server.push(r.json().server.id);
    }
    const g = await nb.app.inject({ method: 'POST', url: '/compute/v2.1/os-server-groups', headers: { 'x-auth-token': tokens[u] }, payload: { server_group: { name: 'g', policies: ['affinity'] } } });
    ids.group.push(g.json().server_group.id);
    const k = await nb.app.inject({ method: 'POST', url: '/compute/v2.1/os-keypairs', headers: { 'x-auth-token': tokens[u] }, payload: { keypair: { name: `kp-${u}` } } });
    ids.keypair.push(k.json().keypair.name);
    ids.project.push((await nb.services.identity.store.listProjects({ domain_id: 'default' })).find((p) => p.name === u)!.id);
  }
  await nb.services.engine.settle();
});
after(() => nb.close());

// ---- generators
const weird = fc.constantFrom('', ' ', '%ff', '%00', '..', '../..', "'; DROP TABLE servers; --", '\u202e\u0000', 'a'.repeat(600), '😀', '-1', '0', '99999999999999999999', 'null', '{}', '[]', 'true', '%2e%2e');
const text = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 20 }), weird);
const idLike = (kind: keyof typeof ids) => fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...(ids[kind].length ? ids[kind] : ['x'])) }, { weight: 2, arbitrary: fc.uuid() }, { weight: 2, arbitrary: text });

function paramArb(path: string, name: string): fc.Arbitrary<string> {
  if (name === 'project_id' || name === 'tenant_id' || name === 'target') return idLike('project');
  if (path.includes('/servers/') || name === 'server_id') return idLike('server');
  if (path.includes('/images/')) return idLike('image');
  if (path.includes('/os-server-groups/')) return idLike('group');
  if (path.includes('/os-keypairs/')) return idLike('keypair');
  if (path.includes('/flavors/')) return idLike('flavor');
  return fc.oneof(fc.uuid(), text, fc.constantFrom('compute-0', 'default', 'private', 'latest'));
}

const jsonLeaf = fc.oneof(fc.string({ maxLength: 30 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), weird, fc.constant(imageRef));
const json = fc.jsonValue({ maxDepth: 4 });

/** Near-valid bodies for the routes that do most, to be mutated. */
function templates(): unknown[] {
  const server = { server: { name: 'f', imageRef, flavorRef: '1' } };
  return [
    server, { ...server, 'os:scheduler_hints': { group: ids.group[0] } }, { server: { name: 'f', imageRef, flavorRef: '1', min_count: 2, max_count: 3 } },
    { reboot: { type: 'SOFT' } }, { reboot: { type: 'HARD' } }, { 'os-stop': null }, { 'os-start': null }, { pause: null }, { unpause: null },
    { suspend: null }, { resume: null }, { resize: { flavorRef: '2' } }, { confirmResize: null }, { revertResize: null }, { shelve: null },
    { unshelve: null }, { shelveOffload: null }, { lock: null }, { unlock: null }, { rescue: {} }, { unrescue: null }, { rebuild: { imageRef } },
    { createImage: { name: 'snap' } }, { createBackup: { name: 'b', backup_type: 'daily', rotation: 1 } }, { migrate: null }, { trigger_crash_dump: null },
    { metadata: { a: 'b' } }, { meta: { a: 'b' } }, { tags: ['a', 'b'] }, { keypair: { name: 'k' } }, { server_group: { name: 'g', policies: ['anti-affinity'] } },
    { flavor: { name: 'f', ram: 64, vcpus: 1, disk: 1 } }, { quota_set: { instances: 5 } }, { security_group: { name: 's', description: 'd' } },
    { name: 'img', disk_format: 'raw', container_format: 'bare' }, [{ op: 'replace', path: '/name', value: 'x' }],
    { user: { name: 'u', password: 'p' } }, { project: { name: 'p' } }, { network: { name: 'n' } }, { volume: { size: 1 } },
  ];
}

/** Replace leaves or drop keys of a template, a few times. */
function mutate(v: unknown, rnd: () => number, leaf: () => unknown): unknown {
  if (Array.isArray(v)) return v.map((x) => (rnd() < 0.2 ? leaf() : mutate(x, rnd, leaf)));
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const r = rnd();
      if (r < 0.08) continue;
      out[k] = r < 0.25 ? leaf() : mutate(x, rnd, leaf);
    }
    if (rnd() < 0.1) out[String(leaf())] = leaf();
    return out;
  }
  return rnd() < 0.3 ? leaf() : v;
}

interface Req {
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string | Buffer;
}

function requestArb(routes: { method: string; url: string }[]): fc.Arbitrary<Req> {
  const tpl = templates();
  return fc.record({
    route: fc.constantFrom(...routes),
    seed: fc.integer(),
    params: fc.array(fc.tuple(fc.nat(5), fc.string({ maxLength: 20 })), { maxLength: 3 }),
    query: fc.array(fc.tuple(fc.constantFrom('name', 'status', 'limit', 'marker', 'sort_key', 'sort_dir', 'all_tenants', 'changes-since', 'flavor', 'image', 'ip', 'tags', 'created_at', 'visibility', 'is_public', 'minRam', 'host', 'deleted', 'project_id', 'fields', 'user_id', 'offset'), text), { maxLength: 4 }),
    who: fc.constantFrom('demo', 'demo', 'demo', 'alt_demo', 'admin', 'admin', 'none', 'garbage'),
    mv: fc.option(fc.oneof(fc.constantFrom('2.1', '2.26', '2.47', '2.64', '2.75', '2.90', '2.100', 'latest', '2.999', '3.0', '3.27', '3.67'), text), { freq: 3 }),
    contentType: fc.constantFrom('application/json', 'application/json', 'application/json', 'text/plain', '', 'application/xml', 'application/openstack-images-v2.1-json-patch', 'application/octet-stream', 'application/json; charset=utf-8'),
    body: fc.oneof(
      { weight: 5, arbitrary: fc.tuple(fc.constantFrom(...tpl), fc.integer()).map(([t, s]) => ({ json: t, seed: s })) },
      { weight: 2, arbitrary: json.map((j) => ({ json: j, seed: 0 })) },
      { weight: 1, arbitrary: text.map((raw) => ({ raw })) },
      { weight: 1, arbitrary: fc.constant({ none: true }) },
    ),
    extraHeader: fc.option(fc.tuple(fc.constantFrom('x-openstack-request-id', 'accept', 'x-auth-project-id', 'last-event-id', 'x-subject-token', 'x-image-meta-name', 'range'), fc.string({ maxLength: 30 }).map((s) => s.replace(/[^\x20-\x7e]/g, ''))), { freq: 3 }),
  }).map((r) => {
    let state = r.seed;
    const rnd = () => {
      state = (state * 1103515245 + 12345) & 0x7fffffff;
      return state / 0x7fffffff;
    };
    const leafs = [() => rnd().toString(36).slice(2), () => Math.floor(rnd() * 1e6) - 1000, () => null, () => rnd() < 0.5, () => ({}), () => [], () => 'a'.repeat(300), () => ids.server[0], () => imageRef];
    const leaf = () => leafs[Math.floor(rnd() * leafs.length)]();
    // The URL: the route's pattern with its parameters filled (sometimes the compute project segment).
    let path = r.route.url.replace(/\/:project_id\(\^\[0-9a-f-\]\+\$\)/, () => (rnd() < 0.3 ? `/${ids.project[0]}` : ''));
    let i = 0;
    path = path.replace(/:(\w+)(\([^)]*\))?|\*/g, (_m, name: string | undefined) => {
      const own = r.params.find(([n]) => n === i++);
      const v = own ? own[1] : fc.sample(paramArb(path, name ?? 'wild'), { numRuns: 1, seed: r.seed + i })[0];
      return rnd() < 0.9 ? encodeURIComponent(v) : v.replace(/[\s#?]/g, '');
    });
    const qs = r.query.map(([k, v]) => `${k}=${rnd() < 0.9 ? encodeURIComponent(v) : v.replace(/[\s#]/g, '')}`).join('&');
    const headers: Record<string, string> = {};
    if (r.who === 'garbage') headers['x-auth-token'] = 'gAAAA-garbage';
    else if (r.who !== 'none') headers['x-auth-token'] = tokens[r.who];
    if (r.mv !== null) headers['openstack-api-version'] = `${path.startsWith('/volume') ? 'volume' : 'compute'} ${r.mv}`.replace(/[^\x20-\x7e]/g, '');
    if (r.extraHeader) headers[r.extraHeader[0]] = r.extraHeader[1];
    let payload: string | undefined;
    if (r.route.method !== 'GET' && r.route.method !== 'HEAD' && !('none' in r.body)) {
      payload = 'raw' in r.body ? r.body.raw : JSON.stringify('json' in r.body && r.body.seed ? mutate(r.body.json, rnd, leaf) : r.body.json);
      if (r.contentType) headers['content-type'] = r.contentType;
    }
    return { method: r.route.method, url: qs ? `${path}?${qs}` : path, headers, payload };
  });
}

/** The fault body a 4xx must carry, by the service the URL names. */
function faultProblem(url: string, status: number, res: LightMyRequestResponse): string | null {
  let body: any;
  try {
    body = res.json();
  } catch {
    return 'not JSON';
  }
  const keystone = body?.error && body.error.code === status && typeof body.error.message === 'string' && typeof body.error.title === 'string';
  const keys = body && typeof body === 'object' ? Object.keys(body) : [];
  const nova = keys.length === 1 && body[keys[0]]?.code === status && typeof body[keys[0]]?.message === 'string' && keys[0] !== 'error';
  const neutron = typeof body?.NeutronError?.message === 'string' && typeof body.NeutronError.type === 'string';
  if (url.startsWith('/identity') || url.startsWith('/image')) return keystone ? null : 'not {"error": …}';
  if (url.startsWith('/networking')) return neutron || (status === 401 && keystone) ? null : 'not NeutronError';
  return nova || (status === 401 && keystone) ? null : 'not a Nova-style fault';
}

test('fuzz: no 5xx, no slow answer, a service-shaped fault on every 4xx, nothing lost or stuck', async () => {
  // Streams never end; a reset wipes the cloud by design.
  const streams = /\/events$|\/dashboard\/\*$|^\/novabox\/v1\/reset$/;
  const routes = nb.app.routeTable.filter((r) => r.method !== 'HEAD' && !streams.test(r.url));
  // Warm-up: the first call of a route compiles its schemas and loads what it needs lazily; the 1 s
  // bound is about what a request's content costs, so every route is called once first.
  for (const r of routes) {
    const url = r.url.replace(/\/:project_id\(\^\[0-9a-f-\]\+\$\)/, '').replace(/:(\w+)(\([^)]*\))?|\*/g, 'x');
    await nb.app.inject({ method: r.method as 'GET', url, headers: { 'x-auth-token': tokens.admin }, ...(r.method === 'GET' || r.method === 'DELETE' ? {} : { payload: {} }) });
  }
  await nb.services.engine.settle();
  const seen = new Set<string>();
  const mayBeGone = new Set<string>();
  let count = 0;
  let worst = 0;
  let slowest = '';
  const started = performance.now();
  let failure: string | undefined;
  await fc.assert(
    fc.asyncProperty(fc.array(requestArb(routes), { minLength: PER_RUN, maxLength: PER_RUN }), async (reqs) => {
      try {
        await runAll(reqs);
      } catch (e) {
        failure ??= (e as Error).message;
        throw e;
      }
    }),
    { numRuns: RUNS, seed: SEED, endOnFailure: true },
  ).catch((e: Error) => {
    throw new Error(`${failure ?? ''}\n${e.message.split('\n').filter((l) => !l.startsWith('Counterexample')).join('\n')}`);
  });
  async function runAll(reqs: Req[]): Promise<void> {
    {
      for (const q of reqs) {
        const t0 = performance.now();
        const res = await nb.app.inject({ method: q.method as 'GET', url: q.url, headers: q.headers, payload: q.payload });
        const ms = performance.now() - t0;
        count++;
        if (res.statusCode < 300 && (q.method === 'DELETE' || q.url.includes('/action'))) for (const id of ids.server) if (q.url.includes(id)) mayBeGone.add(id);
        if (ms > worst) {
          worst = ms;
          slowest = `${q.method} ${q.url.slice(0, 120)}`;
        }
        seen.add(q.method + ' ' + q.url.split('?')[0].split('/').slice(0, 4).join('/'));
        const what = `${q.method} ${q.url.slice(0, 200)} ${JSON.stringify(q.headers).slice(0, 200)} ${String(q.payload ?? '').slice(0, 300)}`;
        assert.ok(res.statusCode < 500, `${what} → ${res.statusCode} ${res.body.slice(0, 300)}`);
        assert.ok(ms < 1000, `${what} took ${ms.toFixed(0)} ms`);
        if (res.statusCode >= 400 && q.method !== 'HEAD' && !q.url.startsWith('/dashboard')) {
          // The request goes out as a URL: dot segments (`/networking/v2.0/x/../..`) are resolved before
          // any server sees the path, so the service that answers is the one the resolved path names.
          const problem = faultProblem(new URL(q.url, 'http://novabox').pathname, res.statusCode, res);
          assert.equal(problem, null, `${what} → ${res.statusCode} ${res.body.slice(0, 300)}: ${problem}`);
        }
      }
    }
  }
  assert.ok(count >= Math.min(10000, RUNS * PER_RUN), `${count} requests`);

  // Afterwards: every step has run, no server is stuck in a transitional state, usage matches.
  await nb.services.engine.settle();
  for (const u of ['demo', 'alt_demo']) {
    const headers = { 'x-auth-token': tokens[u] };
    const list = await nb.app.inject({ url: '/compute/v2.1/servers/detail?limit=1000', headers });
    assert.equal(list.statusCode, 200, list.body);
    const servers = list.json().servers as { id: string; status: string; 'OS-EXT-STS:task_state'?: string | null; flavor: { vcpus?: number; ram?: number; id?: string } }[];
    for (const s of servers) {
      const full = (await nb.app.inject({ url: `/compute/v2.1/servers/${s.id}`, headers: { ...headers, 'openstack-api-version': 'compute 2.47' } })).json().server;
      assert.equal(full['OS-EXT-STS:task_state'] ?? null, null, `${s.id} stuck in ${full['OS-EXT-STS:task_state']}`);
      assert.ok(!['BUILD', 'REBOOT', 'HARD_REBOOT', 'REBUILD', 'RESIZE', 'MIGRATING', 'REVERT_RESIZE', 'PASSWORD'].includes(full.status), `${s.id} stuck in ${full.status}`);
    }
    const detailed = await Promise.all(servers.map(async (s) => (await nb.app.inject({ url: `/compute/v2.1/servers/${s.id}`, headers: { ...headers, 'openstack-api-version': 'compute 2.47' } })).json().server));
    const limits = (await nb.app.inject({ url: '/compute/v2.1/limits', headers })).json().limits.absolute;
    const counted = detailed.filter((s) => s.status !== 'SHELVED_OFFLOADED' && s.status !== 'SOFT_DELETED');
    const inUse = detailed.filter((s) => s.status !== 'SOFT_DELETED');
    assert.equal(limits.totalInstancesUsed, inUse.length, `${u}: instances in use`);
    assert.equal(limits.totalCoresUsed, counted.reduce((n, s) => n + s.flavor.vcpus, 0), `${u}: cores in use`);
    assert.equal(limits.totalRAMUsed, counted.reduce((n, s) => n + s.flavor.ram, 0), `${u}: RAM in use`);
  }
  // The set-up's servers are lost only if the fuzz deleted them (a 2xx delete or action on them).
  for (const id of ids.server) {
    if (mayBeGone.has(id)) continue;
    const r = await nb.app.inject({ url: `/compute/v2.1/servers/${id}`, headers: { 'x-auth-token': tokens.admin } });
    assert.equal(r.statusCode, 200, `server ${id} lost: ${r.body}`);
  }
  const elapsed = (performance.now() - started) / 1000;
  console.log(`# fuzz: ${count} requests over ${routes.length} routes in ${elapsed.toFixed(1)} s, slowest ${worst.toFixed(0)} ms (${slowest})`);
});
