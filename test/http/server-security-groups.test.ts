// A server's security groups: the groups named at create (by name or id; unknown 400, ambiguous 409),
// show/detail `security_groups` (absent without groups), GET /servers/{id}/os-security-groups and
// add/removeSecurityGroup, with Nova's codes and messages over Neutron.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { act, boot, call, type Env, fault, setup, show, neutron } from './servers-helpers.ts';
import { checkResponse, tempestSchema } from './tempest-schemas.ts';

function schema(method: string, r: LightMyRequestResponse): void {
  assert.deepEqual(checkResponse(tempestSchema(method, 1), r.statusCode, r.body), [], method);
}

describe('server security groups', () => {
  let env: Env;
  const sg = (token: string, name: string) => call(env, { method: 'POST', url: '/os-security-groups', token, body: { security_group: { name, description: '' } } });
  const create = (token: string, groups: unknown[]) => call(env, { method: 'POST', url: '/servers', token, body: { server: { name: 'x', imageRef: env.imageId, flavorRef: '1', security_groups: groups } } });
  const net = (token: string, method: string, path: string, body?: unknown) => neutron(env, token, method, path, body);
  const portGroups = async (id: string) => (await net(env.admin, 'GET', `/ports?device_id=${id}`)).body.ports.map((p: { security_groups: string[] }) => p.security_groups);
  before(async () => { env = await setup(); });
  after(async () => { await env.close(); });

  it('create names groups by name or id; an unknown one is 400, an ambiguous one 409, and neither creates anything', async () => {
    const count = async () => (await call(env, { url: '/servers', token: env.demo })).json().servers.length;
    const before = await count();
    fault(await create(env.demo, [{ name: 'does_not_exist' }]), 400, "Unable to find security_group with name or id 'does_not_exist'");
    await sg(env.demo, 'twin');
    await sg(env.demo, 'twin');
    fault(await create(env.demo, [{ name: 'twin' }]), 409, "Multiple security_group matches found for name 'twin', use an ID to be more specific.");
    assert.equal(await count(), before);

    const g = (await sg(env.demo, 'by-id')).json().security_group;
    const r = await create(env.demo, [{ name: g.id }, { name: 'default' }, { name: 'default' }]);
    assert.equal(r.statusCode, 202, r.body);
    assert.deepEqual(r.json().server.security_groups, [{ name: g.id }, { name: 'default' }]);
    await env.nb.services.engine.settle();
    const id = r.json().server.id;
    assert.deepEqual((await show(env, env.demo, id)).security_groups, [{ name: 'by-id' }, { name: 'default' }]);
    // The groups are the port's, in Neutron.
    const defId = (await net(env.demo, 'GET', '/security-groups?name=default')).body.security_groups[0].id;
    assert.deepEqual(await portGroups(id), [[g.id, defId]]);
    const detail = (await call(env, { url: '/servers/detail', token: env.demo })).json().servers.find((x: { id: string }) => x.id === id);
    assert.deepEqual(detail.security_groups, [{ name: 'by-id' }, { name: 'default' }]);
    // A renamed group shows its new name; a group in use cannot be deleted.
    await call(env, { method: 'PUT', url: `/os-security-groups/${g.id}`, token: env.demo, body: { security_group: { name: 'renamed', description: '' } } });
    assert.deepEqual((await show(env, env.demo, id)).security_groups, [{ name: 'renamed' }, { name: 'default' }]);
    fault(await call(env, { method: 'DELETE', url: `/os-security-groups/${g.id}`, token: env.demo }), 400, `Security Group ${g.id} in use.`);
    // Another project's group is not found, by name or by id.
    fault(await create(env.alt, [{ name: 'renamed' }]), 400);
    fault(await create(env.alt, [{ name: g.id }]), 400, `Unable to find security_group with name or id '${g.id}'`);
    // Without a port the server has no groups to show.
    const none = await call(env, { method: 'POST', url: '/servers', token: env.demo, mv: '2.37', body: { server: { name: 'portless', imageRef: env.imageId, flavorRef: '1', networks: 'none' } } });
    await env.nb.services.engine.settle();
    assert.equal('security_groups' in (await show(env, env.demo, none.json().server.id)), false);
  });

  it('adds and removes groups on a server; the key is gone with the last group', async () => {
    const id = await boot(env, env.demo, { name: 'sg-vm' });
    let s = await show(env, env.demo, id);
    assert.deepEqual(s.security_groups, [{ name: 'default' }]);
    await sg(env.demo, 'extra');
    const add = await act(env, env.demo, id, { addSecurityGroup: { name: 'extra' } });
    assert.equal(add.statusCode, 202);
    assert.equal(add.body, '');
    s = await show(env, env.demo, id);
    assert.deepEqual(s.security_groups, [{ name: 'default' }, { name: 'extra' }]);
    const extraId = (await net(env.demo, 'GET', '/security-groups?name=extra')).body.security_groups[0].id;
    const [[defId, onPort]] = await portGroups(id);
    assert.equal(onPort, extraId);
    // Adding it again changes nothing; a change made through Neutron shows in Nova.
    assert.equal((await act(env, env.demo, id, { addSecurityGroup: { name: extraId } })).statusCode, 202);
    assert.deepEqual(await portGroups(id), [[defId, extraId]]);
    const [port] = (await net(env.demo, 'GET', `/ports?device_id=${id}`)).body.ports;
    assert.equal((await net(env.demo, 'PUT', `/ports/${port.id}`, { port: { security_groups: [extraId] } })).status, 200);
    assert.deepEqual((await show(env, env.demo, id)).security_groups, [{ name: 'extra' }]);
    assert.equal((await net(env.demo, 'PUT', `/ports/${port.id}`, { port: { security_groups: [defId, extraId] } })).status, 200);
    const listed = await call(env, { url: `/servers/${id}/os-security-groups`, token: env.demo });
    schema('ServersClient.list_security_groups_by_server', listed);
    assert.deepEqual(listed.json().security_groups.map((g: { name: string }) => g.name), ['default', 'extra']);
    // Works past 2.35 (not a proxy API).
    assert.equal((await call(env, { url: `/servers/${id}/os-security-groups`, token: env.demo, mv: '2.90' })).statusCode, 200);

    fault(await act(env, env.demo, id, { removeSecurityGroup: { name: 'nope' } }), 404, `Security group nope is not found for project ${env.projects.demo}`);
    fault(await act(env, env.demo, id, { addSecurityGroup: { name: 'nope' } }), 404, `Security group nope is not found for project ${env.projects.demo}`);
    fault(await act(env, env.demo, id, { addSecurityGroup: { name: '  ' } }), 400, 'Security group name cannot be empty');
    assert.equal((await act(env, env.demo, id, { removeSecurityGroup: { name: 'extra' } })).statusCode, 202);
    fault(await act(env, env.demo, id, { removeSecurityGroup: { name: 'extra' } }), 404, `Security group extra not associated with the instance ${id}`);
    assert.equal((await act(env, env.demo, id, { removeSecurityGroup: { name: 'default' } })).statusCode, 202);
    assert.deepEqual(await portGroups(id), [[]]);
    s = await show(env, env.demo, id);
    assert.equal('security_groups' in s, false);
    const detail = (await call(env, { url: '/servers/detail', token: env.demo })).json().servers.find((x: { id: string }) => x.id === id);
    assert.equal('security_groups' in detail, false);
    assert.deepEqual((await call(env, { url: `/servers/${id}/os-security-groups`, token: env.demo })).json().security_groups, []);
    fault(await act(env, env.alt, id, { addSecurityGroup: { name: 'default' } }), 404);
  });

  it('add answers 409 for an ambiguous name and 404 for a server without ports', async () => {
    const id = await boot(env, env.demo, { name: 'twin-vm' });
    fault(await act(env, env.demo, id, { addSecurityGroup: { name: 'twin' } }), 409, "Multiple security_group matches found for name 'twin', use an ID to be more specific.");
    const none = await boot(env, env.demo, { name: 'portless', networks: 'none' }, '2.37');
    fault(await act(env, env.demo, none, { addSecurityGroup: { name: 'default' } }), 404, `instance_id ${none} could not be found as device id on any ports`);
  });
});
