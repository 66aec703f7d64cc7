// Security groups: the os-security-groups / os-security-group-rules proxy (2.1–2.35) with Nova's
// codes and messages over Neutron's groups (per project, a default group that cannot be deleted),
// each change checked through both the compute and the networking API.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { call, type Env, fault, setup, neutron } from './servers-helpers.ts';
import { checkResponse, tempestSchema } from './tempest-schemas.ts';

function schema(method: string, r: LightMyRequestResponse): void {
  assert.deepEqual(checkResponse(tempestSchema(method, 1), r.statusCode, r.body), [], method);
}

describe('security groups', () => {
  let env: Env;
  const sg = (token: string, name: string, description = 'd') => call(env, { method: 'POST', url: '/os-security-groups', token, body: { security_group: { name, description } } });
  const rule = (token: string, body: Record<string, unknown>) => call(env, { method: 'POST', url: '/os-security-group-rules', token, body: { security_group_rule: body } });
  const net = (token: string, method: string, path: string, body?: unknown) => neutron(env, token, method, path, body);
  before(async () => { env = await setup(); });
  after(async () => { await env.close(); });

  it('lists the project default group, created on first use, as tempest expects', async () => {
    const r = await call(env, { url: '/os-security-groups', token: env.demo });
    schema('SecurityGroupsClient.list_security_groups', r);
    const groups = r.json().security_groups;
    assert.equal(groups.length, 1);
    assert.equal(groups[0].name, 'default');
    assert.equal(groups[0].tenant_id, env.projects.demo);
    // Neutron's default group: its two ingress rules (from the group itself, IPv4 and IPv6) in Nova's
    // format; the egress rules Nova does not show.
    const source = { name: 'default', tenant_id: env.projects.demo };
    assert.deepEqual(groups[0].rules.map((r: any) => [r.parent_group_id, r.ip_protocol, r.from_port, r.to_port, r.group, r.ip_range]),
      [[groups[0].id, null, null, null, source, {}], [groups[0].id, null, null, null, source, {}]]);
    // It is Neutron's default group.
    const neutron = (await net(env.demo, 'GET', '/security-groups?name=default')).body.security_groups;
    assert.deepEqual(neutron.map((g: any) => g.id), [groups[0].id]);
    assert.deepEqual(groups[0].rules.map((r: any) => r.id).sort(),
      neutron[0].security_group_rules.filter((r: any) => r.direction === 'ingress').map((r: any) => r.id).sort());
    // Listing again does not create a second one.
    assert.equal((await call(env, { url: '/os-security-groups', token: env.demo })).json().security_groups.length, 1);
  });

  it('creates, shows, updates and deletes a group; default cannot be deleted; gone at 2.36', async () => {
    const c = await sg(env.demo, 'web', 'web servers');
    schema('SecurityGroupsClient.create_security_group', c);
    const g = c.json().security_group;
    assert.deepEqual({ name: g.name, description: g.description, tenant_id: g.tenant_id, rules: g.rules }, { name: 'web', description: 'web servers', tenant_id: env.projects.demo, rules: [] });
    const s = await call(env, { url: `/os-security-groups/${g.id}`, token: env.demo });
    schema('SecurityGroupsClient.show_security_group', s);
    assert.deepEqual(s.json().security_group, g);
    const u = await call(env, { method: 'PUT', url: `/os-security-groups/${g.id}`, token: env.demo, body: { security_group: { name: 'www', description: 'renamed' } } });
    schema('SecurityGroupsClient.update_security_group', u);
    assert.equal(u.json().security_group.name, 'www');
    const names = (await call(env, { url: '/os-security-groups', token: env.demo })).json().security_groups.map((x: { name: string }) => x.name);
    assert.deepEqual(names, ['default', 'www']);
    // The same group through Neutron, and a group made there is Nova's too.
    const n = (await net(env.demo, 'GET', `/security-groups/${g.id}`)).body.security_group;
    assert.deepEqual([n.name, n.description, n.project_id], ['www', 'renamed', env.projects.demo]);
    const viaNeutron = (await net(env.demo, 'POST', '/security-groups', { security_group: { name: 'from-neutron', description: 'n' } })).body.security_group;
    assert.equal((await call(env, { url: `/os-security-groups/${viaNeutron.id}`, token: env.demo })).json().security_group.name, 'from-neutron');
    assert.equal((await call(env, { method: 'DELETE', url: `/os-security-groups/${viaNeutron.id}`, token: env.demo })).statusCode, 202);
    assert.equal((await net(env.demo, 'GET', `/security-groups/${viaNeutron.id}`)).status, 404);

    fault(await call(env, { url: `/os-security-groups/${g.id}`, token: env.alt }), 404, `Security group ${g.id} does not exist`);
    assert.equal((await call(env, { url: `/os-security-groups/${g.id}`, token: env.admin })).statusCode, 200);
    fault(await call(env, { url: '/os-security-groups/42', token: env.demo }), 400, 'Security group id should be uuid');
    fault(await sg(env.demo, 'default'), 403, 'Default security group already exists.');
    fault(await call(env, { method: 'POST', url: '/os-security-groups', token: env.demo, body: { security_group: { name: 'x' } } }), 400, "Invalid input for field/attribute security_group. Value: {'name': 'x'}. 'description' is a required property");
    fault(await call(env, { url: '/os-security-groups', token: env.demo, mv: '2.36' }), 404, 'The resource could not be found.');
    assert.equal((await call(env, { url: '/os-security-groups', token: env.demo, mv: '2.35' })).statusCode, 200);

    const def = (await call(env, { url: '/os-security-groups', token: env.demo })).json().security_groups.find((x: { name: string }) => x.name === 'default');
    fault(await call(env, { method: 'DELETE', url: `/os-security-groups/${def.id}`, token: env.demo }), 400, 'Insufficient rights for removing default security group.');
    fault(await call(env, { method: 'PUT', url: `/os-security-groups/${def.id}`, token: env.demo, body: { security_group: { name: 'other', description: '' } } }), 400);
    const d = await call(env, { method: 'DELETE', url: `/os-security-groups/${g.id}`, token: env.demo });
    schema('SecurityGroupsClient.delete_security_group', d);
    fault(await call(env, { method: 'DELETE', url: `/os-security-groups/${g.id}`, token: env.demo }), 404);
    assert.equal((await net(env.demo, 'GET', `/security-groups/${g.id}`)).status, 404);
  });

  it('keeps each project to its own groups; an admin lists all with all_tenants', async () => {
    await sg(env.alt, 'alt-only');
    const mine = (await call(env, { url: '/os-security-groups', token: env.demo })).json().security_groups;
    assert.ok(mine.every((x: { tenant_id: string }) => x.tenant_id === env.projects.demo));
    const all = (await call(env, { url: '/os-security-groups?all_tenants=1', token: env.admin })).json().security_groups;
    assert.ok(all.some((x: { name: string }) => x.name === 'alt-only'));
    const paged = (await call(env, { url: '/os-security-groups?all_tenants=1&limit=1&offset=1', token: env.admin })).json().security_groups;
    assert.equal(paged.length, 1);
    fault(await call(env, { url: '/os-security-groups?limit=x', token: env.demo }), 400);
  });

  it('adds and deletes ingress rules with Nova\'s checks', async () => {
    const g = (await sg(env.demo, 'rules')).json().security_group;
    const r = await rule(env.demo, { parent_group_id: g.id, ip_protocol: 'tcp', from_port: 22, to_port: 22, cidr: '10.0.0.0/24' });
    schema('SecurityGroupRulesClient.create_security_group_rule', r);
    const created = r.json().security_group_rule;
    assert.deepEqual({ ...created, id: 'x' }, { id: 'x', parent_group_id: g.id, ip_protocol: 'tcp', from_port: 22, to_port: 22, group: {}, ip_range: { cidr: '10.0.0.0/24' } });
    // Neutron holds it as an ingress rule of the CIDR's ethertype.
    const held = (await net(env.demo, 'GET', `/security-group-rules/${created.id}`)).body.security_group_rule;
    assert.deepEqual([held.security_group_id, held.direction, held.ethertype, held.protocol, held.port_range_min, held.port_range_max, held.remote_ip_prefix],
      [g.id, 'ingress', 'IPv4', 'tcp', 22, 22, '10.0.0.0/24']);
    const v6 = (await rule(env.demo, { parent_group_id: g.id, ip_protocol: 'udp', from_port: 53, to_port: 53, cidr: '2001:db8::/64' })).json().security_group_rule;
    assert.equal((await net(env.demo, 'GET', `/security-group-rules/${v6.id}`)).body.security_group_rule.ethertype, 'IPv6');
    await call(env, { method: 'DELETE', url: `/os-security-group-rules/${v6.id}`, token: env.demo });
    // A CIDR with host bits is kept as given (tempest's optional-cidr test).
    const hostBits = (await rule(env.demo, { parent_group_id: g.id, ip_protocol: 'tcp', from_port: 80, to_port: 80, cidr: '10.2.3.124/24' })).json().security_group_rule;
    assert.deepEqual(hostBits.ip_range, { cidr: '10.2.3.124/24' });
    await call(env, { method: 'DELETE', url: `/os-security-group-rules/${hostBits.id}`, token: env.demo });
    fault(await rule(env.demo, { parent_group_id: g.id, ip_protocol: 'tcp', from_port: 22, to_port: 22, cidr: '10.0.0.0/24' }), 400, `This rule already exists in group ${g.id}`);

    // A rule from another group: the group is named, the whole TCP range when no ports are given.
    const def = (await call(env, { url: '/os-security-groups', token: env.demo })).json().security_groups.find((x: { name: string }) => x.name === 'default');
    const fromGroup = (await rule(env.demo, { parent_group_id: g.id, ip_protocol: 'TCP', group_id: def.id })).json().security_group_rule;
    assert.deepEqual([fromGroup.from_port, fromGroup.to_port, fromGroup.group, fromGroup.ip_range], [1, 65535, { name: 'default', tenant_id: env.projects.demo }, {}]);
    const icmp = (await rule(env.demo, { parent_group_id: g.id, ip_protocol: 'icmp', from_port: -1, to_port: -1 })).json().security_group_rule;
    assert.deepEqual([icmp.from_port, icmp.to_port, icmp.ip_range], [-1, -1, { cidr: '0.0.0.0/0' }]);
    // ICMP's any type and code are no range in Neutron.
    const icmpHeld = (await net(env.demo, 'GET', `/security-group-rules/${icmp.id}`)).body.security_group_rule;
    assert.deepEqual([icmpHeld.protocol, icmpHeld.port_range_min, icmpHeld.port_range_max], ['icmp', null, null]);
    fault(await rule(env.demo, { parent_group_id: g.id, ip_protocol: 'icmp', from_port: -1, to_port: -1 }), 400, `This rule already exists in group ${g.id}`);
    // Nova's rule_exists compares group rules too.
    fault(await rule(env.demo, { parent_group_id: g.id, ip_protocol: 'tcp', group_id: def.id }), 400, `This rule already exists in group ${g.id}`);

    const shown = (await call(env, { url: `/os-security-groups/${g.id}`, token: env.demo }));
    schema('SecurityGroupsClient.show_security_group', shown);
    assert.equal(shown.json().security_group.rules.length, 3);

    // A rule made through Neutron with neither a prefix nor a remote group is from anywhere: Nova's
    // parse_cidr gives '0.0.0.0/0', never a null cidr (tempest's schema wants a string).
    const anyRule = await net(env.demo, 'POST', '/security-group-rules', { security_group_rule: { security_group_id: g.id, direction: 'ingress', ethertype: 'IPv4', protocol: 'udp', port_range_min: 53, port_range_max: 53 } });
    assert.equal(anyRule.status, 201);
    const withAny = await call(env, { url: '/os-security-groups', token: env.demo });
    schema('SecurityGroupsClient.list_security_groups', withAny);
    const anyView = withAny.json().security_groups.find((x: { id: string }) => x.id === g.id).rules.find((r: { id: string }) => r.id === anyRule.body.security_group_rule.id);
    assert.deepEqual([anyView.ip_protocol, anyView.from_port, anyView.to_port, anyView.group, anyView.ip_range], ['udp', 53, 53, {}, { cidr: '0.0.0.0/0' }]);
    await net(env.demo, 'DELETE', `/security-group-rules/${anyRule.body.security_group_rule.id}`);

    fault(await rule(env.demo, { parent_group_id: g.id, ip_protocol: 'gre', from_port: 1, to_port: 2 }), 400, 'Invalid IP protocol gre.');
    fault(await rule(env.demo, { parent_group_id: g.id, ip_protocol: 'tcp', from_port: 80, to_port: 22 }), 400, 'Invalid port range 80:22. Former value cannot be greater than the later');
    fault(await rule(env.demo, { parent_group_id: g.id, ip_protocol: 'udp', from_port: 0, to_port: 22 }), 400, 'Invalid port range 0:22. Valid UDP ports should be between 1-65535');
    fault(await rule(env.demo, { parent_group_id: g.id, ip_protocol: 'icmp', from_port: 256, to_port: 0 }), 400, 'Invalid port range 256:0. For ICMP, the type:code must be valid');
    fault(await rule(env.demo, { parent_group_id: g.id, ip_protocol: 'tcp', from_port: 'a', to_port: 22 }), 400, 'Invalid input received: To and From ports must be integers');
    fault(await rule(env.demo, { parent_group_id: g.id, ip_protocol: 'tcp' }), 400, 'Not enough parameters to build a valid rule.');
    fault(await rule(env.demo, { parent_group_id: g.id, ip_protocol: 'tcp', from_port: 1, to_port: 2, cidr: '10.0.0.0/33' }), 400, '10.0.0.0/33 is not a valid IP network.');
    fault(await rule(env.demo, { parent_group_id: g.id, ip_protocol: 'tcp', from_port: 1, to_port: 2, cidr: '10.0.0.0/0' }), 400, 'Bad prefix for network in cidr 10.0.0.0/0');
    fault(await rule(env.demo, { parent_group_id: '11111111-2222-3333-4444-555555555555', ip_protocol: 'tcp', from_port: 1, to_port: 2 }), 404);
    fault(await rule(env.alt, { parent_group_id: g.id, ip_protocol: 'tcp', from_port: 1, to_port: 2 }), 404);
    fault(await rule(env.demo, { parent_group_id: 'nope' }), 400);

    schema('SecurityGroupRulesClient.delete_security_group_rule', await call(env, { method: 'DELETE', url: `/os-security-group-rules/${created.id}`, token: env.demo }));
    assert.equal((await net(env.demo, 'GET', `/security-group-rules/${created.id}`)).status, 404);
    fault(await call(env, { method: 'DELETE', url: `/os-security-group-rules/${created.id}`, token: env.demo }), 404, `Security group rule ${created.id} does not exist`);
    fault(await call(env, { method: 'DELETE', url: '/os-security-group-rules/7', token: env.demo }), 400, 'Security group id should be uuid');
  });

  it('answers Neutron\'s quotas with 403 (SecurityGroupLimitExceeded) and changes nothing', async () => {
    const set = await net(env.admin, 'PUT', `/quotas/${env.projects.alt_demo}`, { quota: { security_group: 2, security_group_rule: 0 } });
    assert.equal(set.status, 200);
    // default + alt-only (created above) fill it.
    fault(await sg(env.alt, 'third'), 403, "Quota exceeded for resources: ['security_group'].");
    const names = (await call(env, { url: '/os-security-groups', token: env.alt })).json().security_groups.map((g: { name: string }) => g.name);
    assert.deepEqual(names, ['alt-only', 'default']);
    const altOnly = (await call(env, { url: '/os-security-groups', token: env.alt })).json().security_groups.find((g: { name: string }) => g.name === 'alt-only');
    fault(await rule(env.alt, { parent_group_id: altOnly.id, ip_protocol: 'tcp', from_port: 1, to_port: 2 }), 403, "Quota exceeded for resources: ['security_group_rule'].");
  });

});
