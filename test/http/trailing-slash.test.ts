// A trailing slash, as each upstream router treats it: Nova, Glance and Cinder route exact paths
// (Routes), so a resource path with a trailing slash is a 404 in the service's fault shape, after
// authentication; Keystone strips the slash and Neutron's pecan takes it as the collection, so both
// answer as without it. Version documents answer with or without the slash everywhere.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { refusesTrailingSlash } from '../../src/api/app.ts';
import { startNovabox, type TestNovabox } from '../helpers/novabox.ts';

describe('trailing slashes', () => {
  let nb: TestNovabox;
  let project: string;
  before(async () => {
    nb = await startNovabox();
    project = nb.projectId('admin');
  });
  after(() => nb.close());
  const get = async (url: string, token = true) => nb.app.inject({ method: 'GET', url, headers: token ? await nb.headers('admin') : {} });

  test('Glance, Nova and Cinder: 404 in their own fault shape, and 401 first without a token', async () => {
    const cases: [string, (body: any) => void][] = [
      ['/image/v2/images/', (b) => assert.equal(b.error.code, 404)],
      ['/image/v2/images/?limit=1', (b) => assert.equal(b.error.code, 404)],
      ['/image/v2/schemas/image/', (b) => assert.equal(b.error.code, 404)],
      ['/image/v2/metadefs/namespaces/', (b) => assert.equal(b.error.code, 404)],
      ['/compute/v2.1/servers/', (b) => assert.equal(b.itemNotFound.code, 404)],
      ['/compute/v2.1/flavors/detail/', (b) => assert.equal(b.itemNotFound.code, 404)],
      [`/volume/v3/${project}/volumes/`, (b) => assert.equal(b.itemNotFound.code, 404)],
    ];
    for (const [url, shape] of cases) {
      const r = await get(url);
      assert.equal(r.statusCode, 404, url);
      shape(r.json());
      assert.equal((await get(url, false)).statusCode, 401, `${url} without a token`);
      // Without the slash the same path is served.
      const plain = url.replace(/\/(\?|$)/, '$1');
      assert.equal((await get(plain)).statusCode, 200, plain);
    }
    // A slash inside the query string is no trailing slash.
    assert.equal((await get('/image/v2/images?name=a/')).statusCode, 200);
  });

  test('Keystone and Neutron answer as without the slash', async () => {
    for (const url of ['/identity/v3/users/', '/identity/v3/projects/', '/networking/v2.0/networks/', '/networking/v2.0/ports/']) {
      const r = await get(url);
      assert.equal(r.statusCode, 200, url);
      assert.deepEqual(r.json(), (await get(url.slice(0, -1))).json(), url);
    }
  });

  test('version documents answer with or without the slash', async () => {
    for (const url of ['/compute/', '/compute/v2.1/', `/compute/v2.1/${project}/`, '/image/', '/identity/', '/identity/v3/', '/networking/', '/networking/v2.0/', '/volume/', '/volume/v3/']) {
      const r = await get(url);
      assert.ok(r.statusCode === 200 || r.statusCode === 300, `${url}: ${r.statusCode}`);
    }
    assert.equal(refusesTrailingSlash('/compute/v2.1/'), false);
    assert.equal(refusesTrailingSlash('/compute/v2.1/servers/'), true);
    assert.equal(refusesTrailingSlash('/identity/v3/users/'), false);
    assert.equal(refusesTrailingSlash('/networking/v2.0/networks/'), false);
  });
});
