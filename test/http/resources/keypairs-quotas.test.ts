// Keypairs, limits, quota sets and server groups over HTTP: codes, faults, microversions, isolation.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { call, setup, type Env } from '../servers-helpers.ts';
import { fingerprint, generateSshKey } from '../../../src/api/compute/resources/keypairs.ts';

let env: Env;
before(async () => {
  env = await setup();
});
after(() => env.close());

function fault(r: { statusCode: number; json(): unknown }, code: number, kind: string): string {
  assert.equal(r.statusCode, code, JSON.stringify(r.json()));
  return (r.json() as Record<string, { message: string }>)[kind].message;
}

describe('keypairs', () => {
  test('generate at 2.1 (200, private_key, no type); show has the full record', async () => {
    const r = await call(env, { method: 'POST', url: '/os-keypairs', token: env.demo, body: { keypair: { name: 'gen1' } } });
    assert.equal(r.statusCode, 200);
    const kp = r.json().keypair;
    assert.deepEqual(Object.keys(kp).sort(), ['fingerprint', 'name', 'private_key', 'public_key', 'user_id']);
    assert.match(kp.private_key, /BEGIN RSA PRIVATE KEY/);
    assert.equal(kp.fingerprint, fingerprint('ssh', kp.public_key));
    const show = (await call(env, { url: '/os-keypairs/gen1', token: env.demo })).json().keypair;
    assert.deepEqual(Object.keys(show).sort(), ['created_at', 'deleted', 'deleted_at', 'fingerprint', 'id', 'name', 'public_key', 'updated_at', 'user_id']);
    assert.ok(await env.nb.services.repos.keypairs.get(kp.user_id, 'gen1'));
  });

  test('import at 2.2 answers 201 with type; delete 204 at 2.2, 202 at 2.1', async () => {
    const pub = generateSshKey().public_key;
    const r = await call(env, { method: 'POST', url: '/os-keypairs', token: env.demo, mv: '2.2', body: { keypair: { name: 'imp1', public_key: pub, type: 'ssh' } } });
    assert.equal(r.statusCode, 201);
    assert.equal(r.json().keypair.type, 'ssh');
    assert.ok(!('private_key' in r.json().keypair));
    assert.equal((await call(env, { url: '/os-keypairs', token: env.demo, mv: '2.2' })).json().keypairs[0].keypair.type, 'ssh');
    assert.equal((await call(env, { method: 'DELETE', url: '/os-keypairs/imp1', token: env.demo, mv: '2.2' })).statusCode, 204);
    await call(env, { method: 'POST', url: '/os-keypairs', token: env.demo, body: { keypair: { name: 'imp2', public_key: pub } } });
    assert.equal((await call(env, { method: 'DELETE', url: '/os-keypairs/imp2', token: env.demo })).statusCode, 202);
  });

  test('bad input: invalid key, bad name, missing name, duplicate (409), unknown (404)', async () => {
    assert.equal(fault(await call(env, { method: 'POST', url: '/os-keypairs', token: env.demo, body: { keypair: { name: 'bad', public_key: 'ssh-rsa notbase64!' } } }), 400, 'badRequest'), 'Keypair data is invalid: failed to generate fingerprint');
    fault(await call(env, { method: 'POST', url: '/os-keypairs', token: env.demo, body: { keypair: { name: 'a/b' } } }), 400, 'badRequest');
    fault(await call(env, { method: 'POST', url: '/os-keypairs', token: env.demo, body: { keypair: { name: '' } } }), 400, 'badRequest');
    fault(await call(env, { method: 'POST', url: '/os-keypairs', token: env.demo, body: { keypair: {} } }), 400, 'badRequest');
    fault(await call(env, { method: 'POST', url: '/os-keypairs', token: env.demo, body: { keypair: { name: 'x', type: 'ssh' } } }), 400, 'badRequest'); // type only from 2.2
    await call(env, { method: 'POST', url: '/os-keypairs', token: env.demo, body: { keypair: { name: 'dup' } } });
    assert.equal(fault(await call(env, { method: 'POST', url: '/os-keypairs', token: env.demo, body: { keypair: { name: 'dup' } } }), 409, 'conflictingRequest'), "Key pair 'dup' already exists.");
    assert.match(fault(await call(env, { method: 'DELETE', url: '/os-keypairs/none', token: env.demo }), 404, 'itemNotFound'), /^Keypair none not found for user /);
    // 2.92: generation removed, public_key required; names may hold @ and .
    fault(await call(env, { method: 'POST', url: '/os-keypairs', token: env.demo, mv: '2.92', body: { keypair: { name: 'g92' } } }), 400, 'badRequest');
    const r = await call(env, { method: 'POST', url: '/os-keypairs', token: env.demo, mv: '2.92', body: { keypair: { name: 'me@x.y', public_key: generateSshKey().public_key } } });
    assert.equal(r.statusCode, 201);
  });

  test('users are isolated; admin may act for another user from 2.10 only', async () => {
    await call(env, { method: 'POST', url: '/os-keypairs', token: env.demo, body: { keypair: { name: 'mine' } } });
    fault(await call(env, { url: '/os-keypairs/mine', token: env.alt }), 404, 'itemNotFound');
    assert.ok(!(await call(env, { url: '/os-keypairs', token: env.alt })).json().keypairs.some((k: { keypair: { name: string } }) => k.keypair.name === 'mine'));
    const demoUser = (await call(env, { url: '/os-keypairs/mine', token: env.demo })).json().keypair.user_id;
    fault(await call(env, { url: `/os-keypairs/mine?user_id=${demoUser}`, token: env.alt, mv: '2.10' }), 403, 'forbidden');
    assert.equal((await call(env, { url: `/os-keypairs/mine?user_id=${demoUser}`, token: env.admin, mv: '2.10' })).statusCode, 200);
    fault(await call(env, { url: `/os-keypairs/mine?user_id=${demoUser}`, token: env.admin, mv: '2.9' }), 404, 'itemNotFound');
    const created = await call(env, { method: 'POST', url: '/os-keypairs', token: env.admin, mv: '2.10', body: { keypair: { name: 'foruser', user_id: demoUser } } });
    assert.equal(created.json().keypair.user_id, demoUser);
    assert.equal((await call(env, { url: '/os-keypairs/foruser', token: env.demo })).statusCode, 200);
  });

  test('paging from 2.35 with keypairs_links; bad marker 400', async () => {
    for (const n of ['p1', 'p2', 'p3']) await call(env, { method: 'POST', url: '/os-keypairs', token: env.alt, body: { keypair: { name: n, public_key: generateSshKey().public_key } } });
    const p = (await call(env, { url: '/os-keypairs?limit=2', token: env.alt, mv: '2.35' })).json();
    assert.equal(p.keypairs.length, 2);
    assert.match(p.keypairs_links[0].href, /os-keypairs\?limit=2&marker=p2$/);
    assert.equal((await call(env, { url: '/os-keypairs?limit=2&marker=p2', token: env.alt, mv: '2.35' })).json().keypairs[0].keypair.name, 'p3');
    assert.equal((await call(env, { url: '/os-keypairs?limit=2', token: env.alt, mv: '2.34' })).json().keypairs.length, 3);
    fault(await call(env, { url: '/os-keypairs?marker=zz', token: env.alt, mv: '2.35' }), 400, 'badRequest');
    fault(await call(env, { url: '/os-keypairs?foo=1', token: env.alt, mv: '2.75' }), 400, 'badRequest');
  });

  test('key_pairs quota gives 403', async () => {
    assert.equal((await call(env, { method: 'PUT', url: `/os-quota-sets/${env.projects.admin}`, token: env.admin, body: { quota_set: { key_pairs: 1 } } })).statusCode, 200);
    await call(env, { method: 'POST', url: '/os-keypairs', token: env.admin, body: { keypair: { name: 'q1', public_key: generateSshKey().public_key } } });
    assert.equal(fault(await call(env, { method: 'POST', url: '/os-keypairs', token: env.admin, body: { keypair: { name: 'q2', public_key: generateSshKey().public_key } } }), 403, 'forbidden'), 'Quota exceeded, too many key pairs.');
    await call(env, { method: 'DELETE', url: `/os-quota-sets/${env.projects.admin}`, token: env.admin });
  });
});

describe('limits and quota sets', () => {
  test('limits keys per microversion and rate []', async () => {
    const base = (await call(env, { url: '/limits', token: env.demo })).json().limits;
    assert.deepEqual(base.rate, []);
    assert.equal(Object.keys(base.absolute).length, 19);
    assert.ok('maxSecurityGroups' in base.absolute);
    const v36 = (await call(env, { url: '/limits', token: env.demo, mv: '2.36' })).json().limits.absolute;
    assert.ok(!('maxSecurityGroups' in v36) && 'maxImageMeta' in v36);
    const v39 = (await call(env, { url: '/limits', token: env.demo, mv: '2.39' })).json().limits.absolute;
    assert.ok(!('maxImageMeta' in v39) && 'maxPersonality' in v39);
    const v57 = (await call(env, { url: '/limits', token: env.demo, mv: '2.57' })).json().limits.absolute;
    assert.deepEqual(Object.keys(v57).sort(), ['maxServerGroupMembers', 'maxServerGroups', 'maxServerMeta', 'maxTotalCores', 'maxTotalInstances', 'maxTotalKeypairs', 'maxTotalRAMSize', 'totalCoresUsed', 'totalInstancesUsed', 'totalRAMUsed', 'totalServerGroupsUsed']);
    fault(await call(env, { url: `/limits?tenant_id=${env.projects.alt_demo}`, token: env.demo }), 403, 'forbidden');
  });

  test('show / defaults / detail; other project 403 for members', async () => {
    const q = (await call(env, { url: `/os-quota-sets/${env.projects.demo}`, token: env.demo })).json().quota_set;
    assert.equal(q.id, env.projects.demo);
    assert.equal(q.instances, 10);
    assert.equal(q.fixed_ips, -1);
    assert.ok(!('fixed_ips' in (await call(env, { url: `/os-quota-sets/${env.projects.demo}`, token: env.demo, mv: '2.36' })).json().quota_set));
    assert.ok(!('injected_files' in (await call(env, { url: `/os-quota-sets/${env.projects.demo}`, token: env.demo, mv: '2.57' })).json().quota_set));
    assert.equal((await call(env, { url: `/os-quota-sets/${env.projects.demo}/defaults`, token: env.demo })).json().quota_set.cores, 20);
    const d = (await call(env, { url: `/os-quota-sets/${env.projects.demo}/detail`, token: env.demo })).json().quota_set;
    assert.deepEqual(d.instances, { in_use: 0, limit: 10, reserved: 0 });
    fault(await call(env, { url: `/os-quota-sets/${env.projects.alt_demo}`, token: env.demo }), 403, 'forbidden');
    assert.equal((await call(env, { url: `/os-quota-sets/${env.projects.alt_demo}`, token: env.admin })).statusCode, 200);
  });

  test('admin update and delete; member 403; bad values 400; limits follow', async () => {
    const p = env.projects.alt_demo;
    fault(await call(env, { method: 'PUT', url: `/os-quota-sets/${p}`, token: env.alt, body: { quota_set: { instances: 5 } } }), 403, 'forbidden');
    const r = await call(env, { method: 'PUT', url: `/os-quota-sets/${p}`, token: env.admin, body: { quota_set: { instances: 5, cores: '7' } } });
    assert.equal(r.statusCode, 200);
    assert.equal(r.json().quota_set.instances, 5);
    assert.equal(r.json().quota_set.cores, 7);
    assert.ok(!('id' in r.json().quota_set));
    assert.equal((await call(env, { url: '/limits', token: env.alt })).json().limits.absolute.maxTotalInstances, 5);
    assert.equal((await call(env, { url: `/os-quota-sets/${env.projects.demo}`, token: env.demo })).json().quota_set.instances, 10);
    fault(await call(env, { method: 'PUT', url: `/os-quota-sets/${p}`, token: env.admin, body: { quota_set: { instances: -2 } } }), 400, 'badRequest');
    fault(await call(env, { method: 'PUT', url: `/os-quota-sets/${p}`, token: env.admin, body: { quota_set: { bogus: 1 } } }), 400, 'badRequest');
    fault(await call(env, { method: 'PUT', url: `/os-quota-sets/${p}`, token: env.admin, mv: '2.36', body: { quota_set: { floating_ips: 1 } } }), 400, 'badRequest');
    fault(await call(env, { method: 'DELETE', url: `/os-quota-sets/${p}`, token: env.alt }), 403, 'forbidden');
    assert.equal((await call(env, { method: 'DELETE', url: `/os-quota-sets/${p}`, token: env.admin })).statusCode, 202);
    assert.equal((await call(env, { url: `/os-quota-sets/${p}`, token: env.alt })).json().quota_set.instances, 10);
  });
});

describe('server groups', () => {
  test('create below 2.64 with policies; 2.13 adds project and user; 2.64 policy + rules', async () => {
    const r = await call(env, { method: 'POST', url: '/os-server-groups', token: env.demo, body: { server_group: { name: 'g1', policies: ['anti-affinity'] } } });
    assert.equal(r.statusCode, 200);
    assert.deepEqual(Object.keys(r.json().server_group).sort(), ['id', 'members', 'metadata', 'name', 'policies']);
    const g13 = (await call(env, { url: `/os-server-groups/${r.json().server_group.id}`, token: env.demo, mv: '2.13' })).json().server_group;
    assert.equal(g13.project_id, env.projects.demo);
    const r64 = await call(env, { method: 'POST', url: '/os-server-groups', token: env.demo, mv: '2.64', body: { server_group: { name: 'g2', policy: 'anti-affinity', rules: { max_server_per_host: 3 } } } });
    assert.deepEqual(Object.keys(r64.json().server_group).sort(), ['id', 'members', 'name', 'policy', 'project_id', 'rules', 'user_id']);
    assert.deepEqual(r64.json().server_group.rules, { max_server_per_host: 3 });
    assert.equal(fault(await call(env, { method: 'POST', url: '/os-server-groups', token: env.demo, mv: '2.64', body: { server_group: { name: 'g3', policy: 'affinity', rules: { max_server_per_host: 3 } } } }), 400, 'badRequest'), 'Only anti-affinity policy supports rules.');
    fault(await call(env, { method: 'POST', url: '/os-server-groups', token: env.demo, body: { server_group: { name: 'g4', policies: ['soft-affinity'] } } }), 400, 'badRequest');
    assert.equal((await call(env, { method: 'POST', url: '/os-server-groups', token: env.demo, mv: '2.15', body: { server_group: { name: 'g5', policies: ['soft-affinity'] } } })).statusCode, 200);
    fault(await call(env, { method: 'POST', url: '/os-server-groups', token: env.demo, body: { server_group: { name: 'g6', policies: ['affinity', 'anti-affinity'] } } }), 400, 'badRequest');
  });

  test('isolation: other projects cannot see or delete; admin all_projects; 404 unknown; delete 204', async () => {
    const id = (await call(env, { method: 'POST', url: '/os-server-groups', token: env.alt, body: { server_group: { name: 'alt-g', policies: ['affinity'] } } })).json().server_group.id;
    assert.ok(!(await call(env, { url: '/os-server-groups', token: env.demo })).json().server_groups.some((g: { id: string }) => g.id === id));
    fault(await call(env, { url: `/os-server-groups/${id}`, token: env.demo }), 404, 'itemNotFound');
    fault(await call(env, { method: 'DELETE', url: `/os-server-groups/${id}`, token: env.demo }), 404, 'itemNotFound');
    assert.ok((await call(env, { url: '/os-server-groups?all_projects=1', token: env.admin })).json().server_groups.some((g: { id: string }) => g.id === id));
    assert.equal((await call(env, { method: 'DELETE', url: `/os-server-groups/${id}`, token: env.alt })).statusCode, 204);
    assert.match(fault(await call(env, { url: `/os-server-groups/${id}`, token: env.alt }), 404, 'itemNotFound'), /^Instance group .* could not be found\.$/);
  });

  test('server_groups quota gives 403', async () => {
    await call(env, { method: 'PUT', url: `/os-quota-sets/${env.projects.admin}`, token: env.admin, body: { quota_set: { server_groups: 0 } } });
    assert.equal(fault(await call(env, { method: 'POST', url: '/os-server-groups', token: env.admin, body: { server_group: { name: 'q', policies: ['affinity'] } } }), 403, 'forbidden'), 'Quota exceeded, too many server groups.');
    await call(env, { method: 'DELETE', url: `/os-quota-sets/${env.projects.admin}`, token: env.admin });
  });
});
