// Black-box tests of the compute image proxy (/images, deprecated, gone at 2.36): list, detail, show,
// delete and metadata over the image service, with Glance's visibility for the caller; and the
// routing rule that only a hex-and-dashes leading segment is a project id.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { act, boot, call, setup, settle, type Env } from './servers-helpers.ts';

let env: Env;
before(async () => { env = await setup(); });
after(async () => { await env.close(); });

/** Creates an image through Glance as `token`; uploaded images become active, the others stay queued. */
async function glanceImage(token: string, attrs: Record<string, unknown>, upload = true): Promise<string> {
  const r = await env.nb.app.inject({ method: 'POST', url: '/image/v2/images', headers: { 'x-auth-token': token }, payload: { container_format: 'bare', disk_format: 'raw', ...attrs } });
  assert.equal(r.statusCode, 201, r.body);
  const id = r.json().id as string;
  if (upload) {
    const up = await env.nb.app.inject({ method: 'PUT', url: `/image/v2/images/${id}/file`, headers: { 'x-auth-token': token, 'content-type': 'application/octet-stream' }, payload: Buffer.alloc(1234, 7) });
    assert.equal(up.statusCode, 204, up.body);
  }
  return id;
}

async function glanceShow(id: string, token = env.admin): Promise<Record<string, any> | null> {
  const r = await env.nb.app.inject({ method: 'GET', url: `/image/v2/images/${id}`, headers: { 'x-auth-token': token } });
  return r.statusCode === 200 ? r.json() : null;
}

const ids = (body: { images: { id: string }[] }): string[] => body.images.map((i) => i.id);

describe('GET /images and /images/detail', () => {
  let mine: string;
  let queued: string;
  let altPrivate: string;
  before(async () => {
    mine = await glanceImage(env.demo, { name: 'demo-private', visibility: 'private', min_disk: 3, min_ram: 256, arch: 'x86_64', auto_disk_config: 'True' });
    queued = await glanceImage(env.demo, { name: 'demo-queued', visibility: 'private' }, false);
    altPrivate = await glanceImage(env.alt, { name: 'alt-private', visibility: 'private' });
  });

  it('lists the images the caller may see as id, name and links (self, bookmark, Glance alternate)', async () => {
    const r = await call(env, { url: '/images', token: env.demo });
    assert.equal(r.statusCode, 200);
    const body = r.json();
    assert.deepEqual(Object.keys(body), ['images']);
    const listed = ids(body);
    assert.ok(listed.includes(env.imageId) && listed.includes(mine) && listed.includes(queued));
    assert.ok(!listed.includes(altPrivate), "another project's private image is not listed");
    const img = body.images.find((i: { id: string }) => i.id === mine);
    assert.deepEqual(Object.keys(img).sort(), ['id', 'links', 'name']);
    assert.equal(img.name, 'demo-private');
    assert.deepEqual(img.links.map((l: { rel: string }) => l.rel), ['self', 'bookmark', 'alternate']);
    assert.match(img.links[0].href, new RegExp(`/compute/v2\\.1/images/${mine}$`));
    assert.match(img.links[1].href, new RegExp(`/compute/images/${mine}$`));
    assert.match(img.links[2].href, new RegExp(`/image/images/${mine}$`));
    assert.equal(img.links[2].type, 'application/vnd.openstack.image');
    // The admin sees every project's images, as in Glance.
    assert.ok(ids((await call(env, { url: '/images', token: env.admin })).json()).includes(altPrivate));
  });

  it("shows Nova's detail view: statuses and progress mapped from Glance, sizes, metadata and diskConfig", async () => {
    const r = await call(env, { url: '/images/detail', token: env.demo });
    assert.equal(r.statusCode, 200);
    const byId = new Map<string, Record<string, any>>(r.json().images.map((i: { id: string }) => [i.id, i]));
    const m = byId.get(mine)!;
    assert.deepEqual(Object.keys(m).sort(), ['OS-DCF:diskConfig', 'OS-EXT-IMG-SIZE:size', 'created', 'id', 'links', 'metadata', 'minDisk', 'minRam', 'name', 'progress', 'status', 'updated']);
    assert.equal(m.status, 'ACTIVE');
    assert.equal(m.progress, 100);
    assert.equal(m['OS-EXT-IMG-SIZE:size'], 1234);
    assert.equal(m.minDisk, 3);
    assert.equal(m.minRam, 256);
    assert.deepEqual(m.metadata, { arch: 'x86_64', auto_disk_config: 'True' });
    assert.equal(m['OS-DCF:diskConfig'], 'AUTO');
    assert.match(m.created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const q = byId.get(queued)!;
    assert.equal(q.status, 'SAVING');
    assert.equal(q.progress, 25);
    assert.equal(q['OS-EXT-IMG-SIZE:size'], 0);
    assert.ok(!('OS-DCF:diskConfig' in q));
    assert.ok(!byId.has(altPrivate));
  });

  it('filters by name, status, minDisk, minRam and changes-since', async () => {
    const list = async (qs: string) => {
      const r = await call(env, { url: `/images/detail?${qs}`, token: env.demo });
      assert.equal(r.statusCode, 200, `${qs}: ${r.body}`);
      return ids(r.json());
    };
    assert.deepEqual(await list('name=demo-private'), [mine]);
    assert.deepEqual(await list('name=nothing-like-this'), []);
    assert.ok((await list('status=SAVING')).length === 0, 'Glance has no status "saving" image here');
    assert.deepEqual(await list('status=QUEUED'), [queued]);
    assert.ok((await list('status=ACTIVE')).includes(mine));
    assert.ok(!(await list('status=active')).includes(queued));
    assert.deepEqual(await list('minDisk=3'), [mine]);
    assert.deepEqual(await list('minRam=256'), [mine]);
    assert.deepEqual(await list('changes-since=2999-01-01T00:00:00Z'), []);
    assert.ok((await list('changes-since=2000-01-01T00:00:00Z')).includes(mine));
    assert.deepEqual(await list('property-arch=x86_64'), [mine]);
    // Unknown parameters are ignored.
    assert.ok((await list('foo=bar')).includes(mine));
  });

  it('refuses bad filters and paging parameters with 400 and a Nova fault', async () => {
    for (const [qs, message] of [
      ['limit=abc', 'Invalid input received: limit must be an integer'],
      ['limit=-1', 'Invalid input received: limit must be >= 0'],
      ['page_size=x', 'Invalid input received: page_size must be an integer'],
      ['status=bogus', undefined],
      ['changes-since=yesterday', undefined],
      ['minRam=lots', undefined],
      ['marker=00000000-0000-0000-0000-000000000000', undefined],
    ] as const) {
      for (const path of ['/images', '/images/detail']) {
        const r = await call(env, { url: `${path}?${qs}`, token: env.demo });
        assert.equal(r.statusCode, 400, `${path}?${qs}: ${r.body}`);
        assert.equal(r.json().badRequest.code, 400);
        if (message) assert.equal(r.json().badRequest.message, message);
      }
    }
  });

  it('pages with limit and marker, with images_links while a page is full', async () => {
    const all = ids((await call(env, { url: '/images', token: env.demo })).json());
    assert.ok(all.length >= 4);
    const seen: string[] = [];
    let url: string | undefined = '/images?limit=2';
    while (url) {
      const r = await call(env, { url, token: env.demo });
      assert.equal(r.statusCode, 200, r.body);
      const body = r.json();
      assert.ok(body.images.length <= 2);
      seen.push(...ids(body));
      const next = body.images_links?.find((l: { rel: string }) => l.rel === 'next')?.href as string | undefined;
      if (next) {
        assert.match(next, /\/compute\/v2\.1\/images\?limit=2&marker=[0-9a-f-]{36}$/);
        url = next.slice(next.indexOf('/compute'));
      } else url = undefined;
    }
    assert.deepEqual(seen, all, 'the pages join up to the whole list, in order, without repeats');
    const detailPage = (await call(env, { url: `/images/detail?limit=1&marker=${all[0]}`, token: env.demo })).json();
    assert.deepEqual(ids(detailPage), [all[1]]);
    assert.match(detailPage.images_links[0].href, /\/images\/detail\?limit=1&marker=/);
    // limit=0 is no limit for Nova's proxy: the whole list, no next link.
    const zero = (await call(env, { url: '/images?limit=0', token: env.demo })).json();
    assert.deepEqual(ids(zero), all);
    assert.equal(zero.images_links, undefined);
  });

  it('lists a server snapshot with its server, and filters by server and type', async () => {
    const server = await boot(env, env.demo, { name: 'snap-src' });
    const r = await act(env, env.demo, server, { createImage: { name: 'snap-of-src', metadata: { purpose: 'proxy-test' } } }, '2.45');
    assert.equal(r.statusCode, 202, r.body);
    const snap = r.json().image_id as string;
    await settle(env);
    const shown = await call(env, { url: `/images/${snap}`, token: env.demo });
    assert.equal(shown.statusCode, 200);
    const img = shown.json().image;
    assert.equal(img.status, 'ACTIVE');
    assert.equal(img.metadata.instance_uuid, server);
    assert.equal(img.metadata.purpose, 'proxy-test');
    assert.equal(img.server.id, server);
    assert.deepEqual(img.server.links.map((l: { rel: string }) => l.rel), ['self', 'bookmark']);
    assert.match(img.server.links[0].href, new RegExp(`/compute/v2\\.1/servers/${server}$`));
    assert.deepEqual(ids((await call(env, { url: `/images/detail?server=${server}`, token: env.demo })).json()), [snap]);
    assert.deepEqual(ids((await call(env, { url: `/images?server=http://x/compute/v2.1/servers/${server}`, token: env.demo })).json()), [snap]);
    assert.ok(ids((await call(env, { url: '/images?type=snapshot', token: env.demo })).json()).includes(snap));
    assert.ok(!ids((await call(env, { url: '/images?type=backup', token: env.demo })).json()).includes(snap));
    assert.ok(!ids((await call(env, { url: '/images', token: env.alt })).json()).includes(snap), 'a private snapshot stays in its project');
  });
});

describe('GET and DELETE /images/{id}', () => {
  it('shows a visible image; an unknown or another project\'s private image is 404 "Image not found."', async () => {
    const altPrivate = await glanceImage(env.alt, { name: 'alt-only', visibility: 'private' });
    const ok = await call(env, { url: `/images/${env.imageId}`, token: env.demo });
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.json().image.id, env.imageId);
    assert.equal(ok.json().image.status, 'ACTIVE');
    for (const id of [altPrivate, '11111111-2222-3333-4444-555555555555', 'not-a-uuid']) {
      const r = await call(env, { url: `/images/${id}`, token: env.demo });
      assert.equal(r.statusCode, 404, id);
      assert.deepEqual(r.json(), { itemNotFound: { code: 404, message: 'Image not found.' } });
    }
    assert.equal((await call(env, { url: `/images/${altPrivate}`, token: env.alt })).statusCode, 200);
    assert.equal((await call(env, { url: `/images/${altPrivate}`, token: env.admin })).statusCode, 200);
  });

  it('deletes an own image with 204; it is gone from Glance and the proxy', async () => {
    const id = await glanceImage(env.demo, { name: 'to-delete' });
    const r = await call(env, { method: 'DELETE', url: `/images/${id}`, token: env.demo });
    assert.equal(r.statusCode, 204);
    assert.equal(r.body, '');
    assert.equal(await glanceShow(id), null);
    assert.equal((await call(env, { url: `/images/${id}`, token: env.demo })).statusCode, 404);
    assert.equal((await call(env, { method: 'DELETE', url: `/images/${id}`, token: env.demo })).statusCode, 404);
  });

  it("refuses to delete another project's image (403 when visible, 404 when private) and a protected one", async () => {
    const pub = await call(env, { method: 'DELETE', url: `/images/${env.imageId}`, token: env.demo });
    assert.equal(pub.statusCode, 403);
    assert.deepEqual(pub.json(), { forbidden: { code: 403, message: 'You are not allowed to delete the image.' } });
    assert.ok(await glanceShow(env.imageId));
    const altPrivate = await glanceImage(env.alt, { name: 'alt-keep', visibility: 'private' });
    assert.equal((await call(env, { method: 'DELETE', url: `/images/${altPrivate}`, token: env.demo })).statusCode, 404);
    assert.equal((await glanceShow(altPrivate))?.status, 'active');
    const prot = await glanceImage(env.demo, { name: 'protected', protected: true });
    const r = await call(env, { method: 'DELETE', url: `/images/${prot}`, token: env.demo });
    assert.equal(r.statusCode, 403);
    assert.ok(await glanceShow(prot));
  });
});

describe('/images/{id}/metadata', () => {
  let id: string;
  before(async () => {
    id = await glanceImage(env.demo, { name: 'meta', visibility: 'private', kernel_id: 'nokernel', ramdisk_id: 'nokernel' });
  });
  const meta = async (token = env.demo) => (await call(env, { url: `/images/${id}/metadata`, token })).json().metadata;

  it('lists and shows items; a missing key is 404', async () => {
    assert.deepEqual(await meta(), { kernel_id: 'nokernel', ramdisk_id: 'nokernel' });
    const one = await call(env, { url: `/images/${id}/metadata/kernel_id`, token: env.demo });
    assert.equal(one.statusCode, 200);
    assert.deepEqual(one.json(), { meta: { kernel_id: 'nokernel' } });
    const missing = await call(env, { url: `/images/${id}/metadata/nope`, token: env.demo });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().itemNotFound.code, 404);
  });

  it('POST merges, PUT replaces, PUT of a key sets one item, DELETE removes one; Glance sees every change', async () => {
    const post = await call(env, { method: 'POST', url: `/images/${id}/metadata`, token: env.demo, body: { metadata: { kernel_id: 'False', Label: 'UpdatedImage' } } });
    assert.equal(post.statusCode, 200, post.body);
    assert.deepEqual(post.json().metadata, { kernel_id: 'False', ramdisk_id: 'nokernel', Label: 'UpdatedImage' });
    assert.equal((await glanceShow(id))!.Label, 'UpdatedImage');

    const put = await call(env, { method: 'PUT', url: `/images/${id}/metadata`, token: env.demo, body: { metadata: { auto_disk_config: 'True', Label: 'Changed' } } });
    assert.equal(put.statusCode, 200, put.body);
    assert.deepEqual(put.json(), { metadata: { auto_disk_config: 'True', Label: 'Changed' } });
    assert.deepEqual(await meta(), { auto_disk_config: 'True', Label: 'Changed' });
    const g = (await glanceShow(id))!;
    assert.equal(g.kernel_id, undefined, 'PUT drops the properties it does not name');

    const item = await call(env, { method: 'PUT', url: `/images/${id}/metadata/auto_disk_config`, token: env.demo, body: { meta: { auto_disk_config: 'False' } } });
    assert.equal(item.statusCode, 200, item.body);
    assert.deepEqual(item.json(), { meta: { auto_disk_config: 'False' } });
    assert.equal((await call(env, { url: `/images/${id}`, token: env.demo })).json().image['OS-DCF:diskConfig'], 'MANUAL');

    const del = await call(env, { method: 'DELETE', url: `/images/${id}/metadata/Label`, token: env.demo });
    assert.equal(del.statusCode, 204);
    assert.deepEqual(await meta(), { auto_disk_config: 'False' });
    const again = await call(env, { method: 'DELETE', url: `/images/${id}/metadata/Label`, token: env.demo });
    assert.equal(again.statusCode, 404);
    assert.equal(again.json().itemNotFound.message, 'Invalid metadata key');
  });

  it('refuses bad bodies with 400 and changes nothing', async () => {
    const before = await meta();
    const cases: [string, string, unknown, string?][] = [
      ['PUT', `/images/${id}/metadata/a`, { meta: { b: '1' } }, 'Request body and URI mismatch'],
      ['PUT', `/images/${id}/metadata/a`, { meta: { a: '1', b: '2' } }],
      ['PUT', `/images/${id}/metadata/a`, { meta: {} }],
      ['POST', `/images/${id}/metadata`, { metadata: { 'bad/key': 'v' } }],
      ['POST', `/images/${id}/metadata`, { metadata: { k: 5 } }],
      ['PUT', `/images/${id}/metadata`, { meta: { k: 'v' } }],
      ['PUT', `/images/${id}/metadata`, { metadata: { k: 'x'.repeat(256) } }],
    ];
    for (const [method, url, body, message] of cases) {
      const r = await call(env, { method: method as 'PUT', url, token: env.demo, body });
      assert.equal(r.statusCode, 400, `${method} ${url} ${JSON.stringify(body)}: ${r.body}`);
      if (message) assert.equal(r.json().badRequest.message, message);
    }
    assert.deepEqual(await meta(), before);
  });

  it("refuses writes to another project's public image with 403 and hides its private image (404)", async () => {
    const r = await call(env, { method: 'POST', url: `/images/${env.imageId}/metadata`, token: env.demo, body: { metadata: { hacked: 'yes' } } });
    assert.equal(r.statusCode, 403);
    assert.equal(r.json().forbidden.message, `Not authorized for image ${env.imageId}.`);
    assert.equal((await glanceShow(env.imageId))!.hacked, undefined);
    // Reading a visible image's metadata is allowed.
    assert.equal((await call(env, { url: `/images/${env.imageId}/metadata`, token: env.demo })).statusCode, 200);
    for (const [method, url, body] of [
      ['GET', `/images/${id}/metadata`, undefined], ['GET', `/images/${id}/metadata/auto_disk_config`, undefined],
      ['POST', `/images/${id}/metadata`, { metadata: { x: 'y' } }], ['PUT', `/images/${id}/metadata`, { metadata: {} }],
      ['PUT', `/images/${id}/metadata/x`, { meta: { x: 'y' } }], ['DELETE', `/images/${id}/metadata/auto_disk_config`, undefined],
    ] as const) {
      const a = await call(env, { method, url, token: env.alt, body });
      assert.equal(a.statusCode, 404, `${method} ${url}: ${a.body}`);
      assert.equal(a.json().itemNotFound.message, 'Image not found.');
    }
    assert.deepEqual(await meta(), { auto_disk_config: 'False' });
  });

  it('is bounded by the metadata_items quota: 403 "Image metadata limit exceeded"', async () => {
    const q = await call(env, { method: 'PUT', url: `/os-quota-sets/${env.projects.demo}`, token: env.admin, body: { quota_set: { metadata_items: 2 } } });
    assert.equal(q.statusCode, 200, q.body);
    try {
      const r = await call(env, { method: 'POST', url: `/images/${id}/metadata`, token: env.demo, body: { metadata: { a: '1', b: '2' } } });
      assert.equal(r.statusCode, 403);
      assert.equal(r.json().forbidden.message, 'Image metadata limit exceeded');
      assert.deepEqual(await meta(), { auto_disk_config: 'False' });
      assert.equal((await call(env, { method: 'POST', url: `/images/${id}/metadata`, token: env.demo, body: { metadata: { a: '1' } } })).statusCode, 200);
    } finally {
      await call(env, { method: 'DELETE', url: `/os-quota-sets/${env.projects.demo}`, token: env.admin });
    }
  });
});

describe('microversions and routing', () => {
  it('answers 2.35 and is gone (404) from 2.36 on, changing nothing', async () => {
    const id = await glanceImage(env.demo, { name: 'mv-gone', kernel_id: 'k' });
    assert.equal((await call(env, { url: '/images', token: env.demo, mv: '2.35' })).statusCode, 200);
    for (const mv of ['2.36', '2.79', 'latest']) {
      for (const [method, url, body] of [
        ['GET', '/images', undefined], ['GET', '/images/detail', undefined], ['GET', `/images/${id}`, undefined], ['DELETE', `/images/${id}`, undefined],
        ['GET', `/images/${id}/metadata`, undefined], ['POST', `/images/${id}/metadata`, { metadata: { a: 'b' } }], ['PUT', `/images/${id}/metadata`, { metadata: {} }],
        ['GET', `/images/${id}/metadata/kernel_id`, undefined], ['PUT', `/images/${id}/metadata/kernel_id`, { meta: { kernel_id: 'x' } }], ['DELETE', `/images/${id}/metadata/kernel_id`, undefined],
      ] as const) {
        const r = await call(env, { method, url, token: env.demo, mv, body });
        assert.equal(r.statusCode, 404, `${method} ${url} at ${mv}: ${r.body}`);
        assert.deepEqual(r.json(), { itemNotFound: { code: 404, message: 'The resource could not be found.' } });
      }
    }
    const g = (await glanceShow(id))!;
    assert.equal(g.status, 'active');
    assert.equal(g.kernel_id, 'k');
  });

  it('needs a token', async () => {
    assert.equal((await call(env, { url: '/images' })).statusCode, 401);
  });

  it('serves the proxy under /{project_id} too, with the project id in its links', async () => {
    const r = await call(env, { url: `/${env.projects.demo}/images/detail?limit=1`, token: env.demo });
    assert.equal(r.statusCode, 200);
    const body = r.json();
    assert.match(body.images[0].links[0].href, new RegExp(`/compute/v2\\.1/${env.projects.demo}/images/`));
    assert.match(body.images[0].links[1].href, new RegExp(`/compute/${env.projects.demo}/images/`));
    assert.match(body.images_links[0].href, new RegExp(`/compute/v2\\.1/${env.projects.demo}/images/detail\\?limit=1&marker=`));
    const other = await call(env, { url: `/${env.projects.alt_demo}/images`, token: env.demo });
    assert.equal(other.statusCode, 400);
    assert.match(other.json().badRequest.message, /^Malformed request URL: URL's project_id/);
  });

  it('takes only a hex-and-dashes leading segment as a project id; other words are routes or 404', async () => {
    // Before the fix `images` was read as a project id and answered 400.
    assert.equal((await call(env, { url: '/images', token: env.demo })).statusCode, 200);
    for (const url of ['/nonsense', '/nonsense/servers', '/Images', `/${env.projects.demo.toUpperCase()}/servers`, '/servers-x']) {
      const r = await call(env, { url, token: env.demo });
      assert.equal(r.statusCode, 404, `${url}: ${r.body}`);
      assert.equal(r.json().itemNotFound.code, 404);
    }
    // Hex words are project ids: the version document for the caller's own, 400 for another.
    assert.equal((await call(env, { url: `/${env.projects.demo}`, token: env.demo })).json().version.id, 'v2.1');
    const hex = await call(env, { url: '/abc-123/servers', token: env.demo });
    assert.equal(hex.statusCode, 400);
    assert.equal(hex.json().badRequest.message, `Malformed request URL: URL's project_id 'abc-123' doesn't match Context's project_id '${env.projects.demo}'`);
    // Routes registered both ways answer both ways.
    for (const path of ['/servers', '/servers/detail', '/flavors', '/os-keypairs', '/limits', '/os-availability-zone', '/os-tenant-networks']) {
      assert.equal((await call(env, { url: path, token: env.demo })).statusCode, 200, path);
      assert.equal((await call(env, { url: `/${env.projects.demo}${path}`, token: env.demo })).statusCode, 200, `/{project}${path}`);
    }
  });
});
