// Replays every exchange recorded from a real Nova (shared/reference/nova-live-examples, outside this
// repository: run by `npm run conformance`, fails saying where it looked when missing) against
// novabox, in order, with real tokens and paths under /compute: same status, same fault body,
// same microversion headers, request-id headers present. Ids, times and the advertised maximum
// version are mapped; success bodies are compared by their key sets.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatVersion, MAX_VERSION } from '../../src/api/microversion.ts';
import { setup, settle, type Env } from '../../test/http/servers-helpers.ts';
import { referencePath } from '../lib/reference.ts';

const DIR = referencePath('reference/nova-live-examples');
const RECORDED_IMAGE = 'b480e72e-ffcd-4042-91b4-90515ecfd965';

interface Exchange { file: string; method: string; path: string; headers: Record<string, string>; body: string; status: number; rheaders: Record<string, string>; rbody: string }

function parse(file: string): Exchange {
  const text = readFileSync(join(DIR, file), 'utf8');
  const [reqPart, resPart] = text.split('### response');
  const reqLines = reqPart.replace('### request', '').trim().split('\n');
  const [method, path] = reqLines[0].split(' ');
  const headers: Record<string, string> = {};
  let i = 1;
  for (; i < reqLines.length && reqLines[i].trim(); i++) {
    const [k, ...v] = reqLines[i].split(':');
    headers[k.trim().toLowerCase()] = v.join(':').trim();
  }
  const body = reqLines.slice(i).join('\n').trim();
  const resLines = resPart.trim().split('\n');
  const status = Number(resLines[0].split(' ')[1]);
  const rheaders: Record<string, string> = {};
  let j = 1;
  for (; j < resLines.length && resLines[j].trim(); j++) {
    const [k, ...v] = resLines[j].split(':');
    rheaders[k.trim().toLowerCase()] = v.join(':').trim();
  }
  return { file, method, path, headers, body, status, rheaders, rbody: resLines.slice(j).join('\n').trim() };
}

function keyShape(v: unknown): unknown {
  if (Array.isArray(v)) return v.length ? [keyShape(v[0])] : [];
  if (v && typeof v === 'object') return Object.keys(v).sort();
  return typeof v;
}

let env: Env;
before(async () => { env = await setup(); });
after(async () => { await env.close(); });

const files = readdirSync(DIR).filter((f) => /^\d+-.*\.txt$/.test(f)).sort();

it(`replays ${files.length} recorded exchanges`, async () => {
  let replayed = 0;
  const ids = new Map<string, string>([[RECORDED_IMAGE, env.imageId]]);
  const map = (s: string) => {
    let out = s;
    for (const [from, to] of ids) out = out.split(from).join(to);
    return out;
  };
  for (const file of files) {
    const x = parse(file);
    const url = x.path === '/' ? '/compute' : `/compute${map(x.path)}`;
    const headers: Record<string, string> = { 'x-auth-token': env.admin };
    if (x.headers['openstack-api-version']) headers['openstack-api-version'] = x.headers['openstack-api-version'];
    if (x.headers['content-type']) headers['content-type'] = x.headers['content-type'];
    const r = await env.nb.app.inject({ method: x.method as 'GET', url, headers, ...(x.body ? { payload: map(x.body) } : {}) });
    assert.equal(r.statusCode, x.status, `${file}: ${r.body}`);
    if (x.rheaders['openstack-api-version']) {
      assert.equal(r.headers['openstack-api-version'], x.rheaders['openstack-api-version'], file);
      assert.equal(r.headers['x-openstack-nova-api-version'], x.rheaders['x-openstack-nova-api-version'], file);
      assert.match(String(r.headers['x-openstack-request-id']), /^req-[0-9a-f-]{36}$/, file);
      assert.equal(r.headers['x-compute-request-id'], r.headers['x-openstack-request-id'], file);
    }
    if (x.status === 202 && x.method === 'POST' && x.path.endsWith('/servers')) {
      ids.set(JSON.parse(x.rbody).server.id, r.json().server.id);
    }
    if (x.status >= 400) {
      const expected = map(x.rbody).replace('maximum is 2.93.', `maximum is ${formatVersion(MAX_VERSION)}.`);
      assert.deepEqual(r.json(), JSON.parse(expected), file);
    } else if (x.rbody && x.rbody.startsWith('{')) {
      const want = JSON.parse(x.rbody);
      const got = r.json();
      assert.deepEqual(keyShape(got), keyShape(want), `${file}: top-level keys`);
      const inner = (o: any) => o.server ?? o.servers?.[0];
      if (inner(want) && inner(got)) {
        // The recording's servers had no network ports: no security_groups and empty addresses there.
        const w = Object.keys(inner(want)).sort();
        const g = Object.keys(inner(got)).filter((k) => w.includes(k) || k !== 'security_groups').sort();
        assert.deepEqual(g, w, `${file}: server keys`);
      }
      if (want.servers) assert.equal(got.servers.length, want.servers.length, `${file}: number of servers`);
    } else {
      assert.equal(r.body, '', file);
    }
    await settle(env);
    replayed++;
  }
  assert.equal(replayed, 29);
});
