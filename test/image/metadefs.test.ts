// Glance's metadata definitions catalog: every schema under /v2/schemas/metadefs/, resource types,
// namespaces (nested create, list with filters and paging, show, replace, rename, protected
// delete), and the objects, properties, tags and resource type associations in them; with Glance's
// default policy (everyone reads what is visible to them, only an admin writes) for admin, member,
// reader and another project's member, and its faults.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startNovabox, type TestNovabox } from '../helpers/novabox.ts';

describe('image metadefs', () => {
  let nb: TestNovabox;
  let readerToken: string;
  before(async () => {
    nb = await startNovabox();
    const ids = nb.services.identity;
    const user = await ids.createUser({ name: 'md-reader', domain_id: 'default', password: 'pw' });
    const reader = (await ids.store.roleByName('reader'))!;
    await ids.write((s) => s.grant({ actor_type: 'user', actor_id: user.id, role_id: reader.id, target_type: 'project', target_id: nb.projectId('demo') }));
    const r = await nb.app.inject({ method: 'POST', url: '/identity/v3/auth/tokens', payload: { auth: { identity: { methods: ['password'], password: { user: { id: user.id, password: 'pw' } } }, scope: { project: { id: nb.projectId('demo') } } } } });
    readerToken = String(r.headers['x-subject-token']);
  });
  after(() => nb.close());

  async function call(who: string, method: string, url: string, json?: unknown, headers: Record<string, string> = {}) {
    const auth = who === 'reader' ? { 'x-auth-token': readerToken } : await nb.headers(who);
    return nb.app.inject({ method: method as 'GET', url: `/image/v2${url}`, headers: { ...auth, ...headers }, payload: json as Record<string, unknown> | undefined });
  }
  const ok = async (who: string, method: string, url: string, json?: unknown, status = 200) => {
    const r = await call(who, method, url, json);
    assert.equal(r.statusCode, status, `${method} ${url}: ${r.body}`);
    return r.body ? r.json() : undefined;
  };
  const MEMBERS = ['demo', 'reader', 'alt_demo'];

  test('every metadefs schema is served with its name', async () => {
    const names: Record<string, string> = {
      namespace: 'namespace', namespaces: 'namespaces', resource_type: 'resource_type_association', resource_types: 'resource_type_associations',
      object: 'object', objects: 'objects', property: 'property', properties: 'properties', tag: 'tag', tags: 'tags',
    };
    for (const [path, name] of Object.entries(names)) assert.equal((await ok('demo', 'GET', `/schemas/metadefs/${path}`)).name, name, path);
    assert.equal((await call('demo', 'GET', '/schemas/metadefs/nothing')).statusCode, 404);
    assert.deepEqual((await ok('demo', 'GET', '/schemas/metadefs/namespace')).required, ['namespace']);
  });

  test('resource types are listed for everyone', async () => {
    for (const who of [...MEMBERS, 'admin']) {
      const names = (await ok(who, 'GET', '/metadefs/resource_types')).resource_types.map((r: { name: string }) => r.name);
      assert.ok(names.includes('OS::Glance::Image') && names.includes('OS::Nova::Flavor'), who);
    }
  });

  test('namespaces: nested create, show, list filters and paging, replace and rename, protected delete; only an admin writes', async () => {
    const body = {
      namespace: 'OS::Compute::Demo', display_name: 'Demo', description: 'for tests', visibility: 'public', protected: true,
      resource_type_associations: [{ name: 'OS::Nova::Flavor', prefix: 'hw:' }], properties: { cpu_policy: { title: 'CPU policy', type: 'string', enum: ['shared', 'dedicated'] } },
      objects: [{ name: 'CPU', required: ['cpu_policy'], properties: { sockets: { title: 'Sockets', type: 'integer' } } }], tags: [{ name: 'fast' }],
    };
    for (const who of MEMBERS) {
      const r = await call(who, 'POST', '/metadefs/namespaces', body);
      assert.equal(r.statusCode, 403, who);
      assert.equal(r.json().error?.code ?? r.statusCode, 403);
    }
    const made = await ok('admin', 'POST', '/metadefs/namespaces', body, 201);
    assert.equal(made.namespace, 'OS::Compute::Demo');
    assert.equal(made.owner, nb.projectId('admin'));
    assert.equal(made.self, '/v2/metadefs/namespaces/OS::Compute::Demo');
    assert.equal(made.schema, '/v2/schemas/metadefs/namespace');
    assert.deepEqual(made.resource_type_associations.map((a: { name: string; prefix: string }) => [a.name, a.prefix]), [['OS::Nova::Flavor', 'hw:']]);
    assert.deepEqual(made.properties.cpu_policy, { title: 'CPU policy', type: 'string', enum: ['shared', 'dedicated'] });
    assert.deepEqual(made.objects[0].required, ['cpu_policy']);
    assert.deepEqual(made.tags, [{ name: 'fast' }]);
    assert.equal((await call('admin', 'POST', '/metadefs/namespaces', { namespace: 'OS::Compute::Demo' })).statusCode, 409);
    // Everyone reads a public namespace.
    for (const who of MEMBERS) assert.equal((await ok(who, 'GET', '/metadefs/namespaces/OS::Compute::Demo')).display_name, 'Demo', who);

    // A private namespace is seen by its owner's project and admins only.
    await ok('admin', 'POST', '/metadefs/namespaces', { namespace: 'demo-private', owner: nb.projectId('demo') }, 201);
    await ok('admin', 'POST', '/metadefs/namespaces', { namespace: 'admin-private' }, 201);
    const listed = async (who: string, qs = '') => (await ok(who, 'GET', `/metadefs/namespaces${qs}`)).namespaces.map((n: { namespace: string }) => n.namespace);
    assert.deepEqual((await listed('demo')).sort(), ['OS::Compute::Demo', 'demo-private']);
    assert.deepEqual((await listed('reader')).sort(), ['OS::Compute::Demo', 'demo-private']);
    assert.deepEqual(await listed('alt_demo'), ['OS::Compute::Demo']);
    assert.deepEqual((await listed('admin')).sort(), ['OS::Compute::Demo', 'admin-private', 'demo-private']);
    assert.equal((await call('alt_demo', 'GET', '/metadefs/namespaces/demo-private')).statusCode, 404);
    assert.equal((await call('alt_demo', 'GET', '/metadefs/namespaces/demo-private/objects')).statusCode, 404);
    assert.equal((await call('demo', 'DELETE', '/metadefs/namespaces/demo-private')).statusCode, 403, 'seen, but only an admin writes');
    assert.equal((await call('alt_demo', 'DELETE', '/metadefs/namespaces/demo-private')).statusCode, 404, 'not seen at all');
    // Filters, sorting and paging: a full page links the next one.
    assert.deepEqual(await listed('admin', '?visibility=public'), ['OS::Compute::Demo']);
    assert.deepEqual(await listed('admin', '?resource_types=OS::Nova::Flavor,OS::Glance::Image'), ['OS::Compute::Demo']);
    assert.deepEqual(await listed('admin', '?sort_key=namespace&sort_dir=asc'), ['OS::Compute::Demo', 'admin-private', 'demo-private']);
    const page1 = await ok('admin', 'GET', '/metadefs/namespaces?sort_key=namespace&sort_dir=asc&limit=2');
    assert.equal(page1.namespaces.length, 2);
    assert.equal(page1.first, '/v2/metadefs/namespaces');
    assert.match(page1.next, /marker=admin-private/);
    const page2 = (await call('admin', 'GET', page1.next.replace(/^\/v2/, ''))).json();
    assert.deepEqual(page2.namespaces.map((n: { namespace: string }) => n.namespace), ['demo-private']);
    assert.equal(page2.next, undefined);
    for (const qs of ['limit=x', 'limit=-1', 'sort_key=bogus', 'sort_dir=up', 'visibility=shared', 'marker=nope']) {
      const r = await call('admin', 'GET', `/metadefs/namespaces?${qs}`);
      assert.ok(r.statusCode === 400 || (qs.startsWith('marker') && r.statusCode === 404), `${qs}: ${r.statusCode}`);
    }

    // Protected: no delete (of it or anything in it) until it is replaced with protected off.
    const prot = await call('admin', 'DELETE', '/metadefs/namespaces/OS::Compute::Demo');
    assert.equal(prot.statusCode, 403);
    assert.match(prot.json().error?.message ?? prot.body, /is protected and cannot be deleted/);
    assert.equal((await call('admin', 'DELETE', '/metadefs/namespaces/OS::Compute::Demo/objects/CPU')).statusCode, 403);
    assert.equal((await call('admin', 'DELETE', '/metadefs/namespaces/OS::Compute::Demo/tags')).statusCode, 403);
    // Read-only attributes and unknown ones are refused and change nothing.
    assert.equal((await call('admin', 'PUT', '/metadefs/namespaces/OS::Compute::Demo', { namespace: 'OS::Compute::Demo', created_at: 'x' })).statusCode, 403);
    for (const bad of [{}, { namespace: 5 }, { namespace: 'OS::Compute::Demo', visibility: 'shared' }, { namespace: 'OS::Compute::Demo', color: 'red' }, { namespace: 'x'.repeat(81) }]) {
      assert.equal((await call('admin', 'PUT', '/metadefs/namespaces/OS::Compute::Demo', bad)).statusCode, 400, JSON.stringify(bad));
    }
    assert.equal((await ok('admin', 'GET', '/metadefs/namespaces/OS::Compute::Demo')).protected, true);
    for (const who of MEMBERS) assert.equal((await call(who, 'PUT', '/metadefs/namespaces/OS::Compute::Demo', { namespace: 'x' })).statusCode, 403, who);
    // Replace (what the body leaves out returns to its default) and rename: the contents follow.
    const renamed = await ok('admin', 'PUT', '/metadefs/namespaces/OS::Compute::Demo', { namespace: 'OS::Compute::Renamed', visibility: 'public', protected: false });
    assert.equal(renamed.protected, false);
    assert.equal(renamed.display_name, undefined);
    assert.equal(renamed.objects[0].name, 'CPU');
    assert.equal((await call('admin', 'GET', '/metadefs/namespaces/OS::Compute::Demo')).statusCode, 404);
    assert.equal((await call('admin', 'PUT', '/metadefs/namespaces/OS::Compute::Renamed', { namespace: 'demo-private' })).statusCode, 409);
    await ok('admin', 'DELETE', '/metadefs/namespaces/OS::Compute::Renamed', undefined, 204);
    assert.equal((await call('admin', 'GET', '/metadefs/namespaces/OS::Compute::Renamed/objects/CPU')).statusCode, 404);
    // Its contents went with it: the same names can be made again.
    const again = await ok('admin', 'POST', '/metadefs/namespaces', { ...body, namespace: 'OS::Compute::Renamed', protected: false }, 201);
    assert.equal(again.objects.length, 1);
  });

  test('objects, properties, tags and resource type associations: create, list, show, update, delete; duplicates and bad input', async () => {
    const ns = (await ok('admin', 'POST', '/metadefs/namespaces', { namespace: 'parts', visibility: 'public' }, 201)).namespace;
    const base = `/metadefs/namespaces/${ns}`;
    // Objects.
    const obj = await ok('admin', 'POST', `${base}/objects`, { name: 'Watchdog', description: 'w', properties: { action: { title: 'Action', type: 'string' } } }, 201);
    assert.equal(obj.self, `/v2${base}/objects/Watchdog`);
    assert.equal(obj.schema, '/v2/schemas/metadefs/object');
    assert.equal((await call('admin', 'POST', `${base}/objects`, { name: 'Watchdog' })).statusCode, 409);
    for (const bad of [{}, { name: 5 }, { name: 'x', colour: 1 }, { name: 'x', properties: { p: { title: 't', type: 'weird' } } }]) {
      assert.equal((await call('admin', 'POST', `${base}/objects`, bad)).statusCode, 400, JSON.stringify(bad));
    }
    assert.equal((await ok('demo', 'GET', `${base}/objects/Watchdog`)).description, 'w');
    assert.deepEqual((await ok('alt_demo', 'GET', `${base}/objects`)).objects.map((o: { name: string }) => o.name), ['Watchdog']);
    assert.equal((await ok('admin', 'PUT', `${base}/objects/Watchdog`, { name: 'Watchdog2' })).name, 'Watchdog2');
    assert.equal((await call('admin', 'GET', `${base}/objects/Watchdog`)).statusCode, 404);
    for (const who of MEMBERS) {
      assert.equal((await call(who, 'POST', `${base}/objects`, { name: 'z' })).statusCode, 403, who);
      assert.equal((await call(who, 'PUT', `${base}/objects/Watchdog2`, { name: 'z' })).statusCode, 403, who);
      assert.equal((await call(who, 'DELETE', `${base}/objects/Watchdog2`)).statusCode, 403, who);
    }
    await ok('admin', 'DELETE', `${base}/objects/Watchdog2`, undefined, 204);
    assert.deepEqual((await ok('admin', 'GET', `${base}/objects`)).objects, []);
    assert.equal((await call('admin', 'DELETE', `${base}/objects/Watchdog2`)).statusCode, 404);

    // Properties: listed as a map by name.
    const prop = await ok('admin', 'POST', `${base}/properties`, { name: 'hypervisor', title: 'Hypervisor', type: 'string', enum: ['kvm', 'qemu'] }, 201);
    assert.deepEqual(prop, { name: 'hypervisor', title: 'Hypervisor', type: 'string', enum: ['kvm', 'qemu'] });
    assert.equal((await call('admin', 'POST', `${base}/properties`, { name: 'hypervisor', title: 'H', type: 'string' })).statusCode, 409);
    for (const bad of [{ name: 'p', type: 'string' }, { name: 'p', title: 't' }, { name: 'p', title: 't', type: 'text' }, { name: 'p', title: 't', type: 'string', enum: 'kvm' }, { name: 'p', title: 't', type: 'string', foo: 1 }]) {
      assert.equal((await call('admin', 'POST', `${base}/properties`, bad)).statusCode, 400, JSON.stringify(bad));
    }
    assert.deepEqual(Object.keys((await ok('reader', 'GET', `${base}/properties`)).properties), ['hypervisor']);
    assert.equal((await ok('alt_demo', 'GET', `${base}/properties/hypervisor`)).title, 'Hypervisor');
    assert.equal((await ok('admin', 'PUT', `${base}/properties/hypervisor`, { name: 'hypervisor', title: 'HV', type: 'string' })).title, 'HV');
    for (const who of MEMBERS) assert.equal((await call(who, 'DELETE', `${base}/properties/hypervisor`)).statusCode, 403, who);
    await ok('admin', 'DELETE', `${base}/properties/hypervisor`, undefined, 204);
    assert.deepEqual((await ok('admin', 'GET', `${base}/properties`)).properties, {});

    // Tags: by name, in bulk (replace, or append), case-insensitive names.
    const bulk = await ok('admin', 'POST', `${base}/tags`, { tags: [{ name: 'a' }, { name: 'b' }] }, 201);
    assert.deepEqual(bulk.tags, [{ name: 'a' }, { name: 'b' }]);
    assert.equal((await call('admin', 'POST', `${base}/tags`, { tags: [{ name: 'x' }, { name: 'X' }] })).statusCode, 409);
    assert.equal((await ok('admin', 'GET', `${base}/tags`)).tags.length, 2, 'a refused bulk create changed nothing');
    const one = await ok('admin', 'POST', `${base}/tags/c`, undefined, 201);
    assert.equal(one.name, 'c');
    assert.equal((await call('admin', 'POST', `${base}/tags/C`)).statusCode, 409);
    assert.equal((await ok('demo', 'GET', `${base}/tags/C`)).name, 'c');
    assert.equal((await ok('admin', 'PUT', `${base}/tags/c`, { name: 'd' })).name, 'd');
    assert.equal((await call('admin', 'PUT', `${base}/tags/d`, { name: 'A' })).statusCode, 409);
    const appended = await call('admin', 'POST', `${base}/tags`, { tags: [{ name: 'e' }] }, { 'x-openstack-append': 'true' });
    assert.equal(appended.statusCode, 201);
    assert.deepEqual((await ok('alt_demo', 'GET', `${base}/tags`)).tags.map((t: { name: string }) => t.name).sort(), ['a', 'b', 'd', 'e']);
    await ok('admin', 'POST', `${base}/tags`, { tags: [{ name: 'only' }] }, 201);
    assert.deepEqual((await ok('admin', 'GET', `${base}/tags`)).tags.map((t: { name: string }) => t.name), ['only']);
    for (const who of MEMBERS) {
      assert.equal((await call(who, 'POST', `${base}/tags/z`)).statusCode, 403, who);
      assert.equal((await call(who, 'DELETE', `${base}/tags`)).statusCode, 403, who);
    }
    await ok('admin', 'DELETE', `${base}/tags/only`, undefined, 204);
    await ok('admin', 'POST', `${base}/tags/again`, undefined, 201);
    await ok('admin', 'DELETE', `${base}/tags`, undefined, 204);
    assert.deepEqual((await ok('admin', 'GET', `${base}/tags`)).tags, []);

    // Resource type associations.
    const assoc = await ok('admin', 'POST', `${base}/resource_types`, { name: 'OS::Glance::Image', prefix: 'hw_' }, 201);
    assert.equal(assoc.name, 'OS::Glance::Image');
    assert.equal(assoc.prefix, 'hw_');
    assert.equal((await call('admin', 'POST', `${base}/resource_types`, { name: 'OS::Glance::Image' })).statusCode, 409);
    assert.equal((await call('admin', 'POST', `${base}/resource_types`, { name: 'OS::Nope' })).statusCode, 404);
    assert.equal((await call('admin', 'POST', `${base}/resource_types`, { prefix: 'x' })).statusCode, 400);
    for (const who of MEMBERS) assert.equal((await call(who, 'POST', `${base}/resource_types`, { name: 'OS::Nova::Server' })).statusCode, 403, who);
    assert.deepEqual((await ok('reader', 'GET', `${base}/resource_types`)).resource_type_associations.map((a: { name: string }) => a.name), ['OS::Glance::Image']);
    await ok('admin', 'DELETE', `${base}/resource_types/OS::Glance::Image`, undefined, 204);
    assert.equal((await call('admin', 'DELETE', `${base}/resource_types/OS::Glance::Image`)).statusCode, 404);
    assert.deepEqual((await ok('admin', 'GET', `${base}/resource_types`)).resource_type_associations, []);

    // Anything under an unknown namespace is 404.
    for (const path of ['/objects', '/properties/p', '/tags/t', '/resource_types']) assert.equal((await call('admin', 'GET', `/metadefs/namespaces/none${path}`)).statusCode, 404, path);
  });
});
