// The conformance harness itself: test lists, tempest.conf and accounts.yaml rendering, and the
// result summary. The tempest run is `npm run conformance`; these keep its parts honest.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { debianEnv, PYTHON } from '../../conformance/lib/debian.ts';
import { computeRoot } from '../../conformance/lib/discover.ts';
import { REPO_ROOT } from '../../conformance/lib/novabox.ts';
import { errorRequests, judge, logKey, parseResults, summarize, summaryLine } from '../../conformance/lib/results.ts';
import { accountsFor, readList, renderAccountsYaml, renderIni, seedFor, servicesInCatalog, tempestConf } from '../../conformance/lib/tempest.ts';

const lists = join(REPO_ROOT, 'conformance', 'lists');
const tier1 = readList(readFileSync(join(lists, 'tier1.txt'), 'utf8'));
const skips = readFileSync(join(lists, 'skips.txt'), 'utf8');

test('tier1 lists 134 distinct tempest compute server tests', () => {
  assert.equal(tier1.length, 134);
  assert.equal(new Set(tier1).size, tier1.length);
  for (const id of tier1) assert.match(id, /^tempest\.api\.compute\.servers\.\w+\.\w+\.test_\w+\[id-[0-9a-f-]{36}(,\w+)*\]$/);
});

test('every documented skip has a reason and is not in tier1', () => {
  const lines = skips.split('\n').filter((l) => l.startsWith('tempest.'));
  assert.ok(lines.length > 0);
  for (const line of lines) {
    const [id, reason] = line.split(/\s+#\s+/);
    assert.ok(reason && reason.trim().length > 5, `no reason for ${id}`);
    assert.ok(!tier1.includes(id.trim()), `${id} is both in tier1 and skipped`);
  }
  assert.equal(readList(skips).length, lines.length, 'readList keeps exactly the ids');
});

test('readList ignores comments and blank lines', () => {
  assert.deepEqual(readList('# head\n\n a.b.c[id-1]  # why\nd.e\n'), ['a.b.c[id-1]', 'd.e']);
});

test('accounts for N workers: 2N members in distinct projects and N admins, seeded identically', () => {
  const accounts = accountsFor(2);
  const parsed = parseYaml(renderAccountsYaml(accounts)) as { username: string; project_name: string; password: string; types?: string[] }[];
  const members = parsed.filter((a) => !a.types);
  const admins = parsed.filter((a) => a.types?.includes('admin'));
  assert.equal(members.length, 4);
  assert.equal(admins.length, 2);
  assert.equal(new Set(members.map((m) => m.project_name)).size, 4);
  assert.deepEqual(parsed.slice(0, 2).map((a) => a.username), ['demo', 'alt_demo']);
  const seed = seedFor(accounts);
  for (const a of parsed) {
    const u = seed.users.find((x) => x.name === a.username);
    assert.ok(u && u.project === a.project_name && u.password === a.password, `seeded ${a.username}`);
    assert.ok(seed.projects.includes(a.project_name));
    assert.deepEqual(u.roles, a.types ? ['admin'] : ['member']);
  }
  assert.equal(accountsFor(1).length, 3);
});

test('tempest.conf: compute-only cloud with pre-provisioned accounts and whole-second build_interval', () => {
  const ini = tempestConf({ workspace: '/ws', identityV3: 'http://h/identity/v3', imageRef: 'i1', imageRefAlt: 'i2', flavorRef: '42', flavorRefAlt: '84', maxMicroversion: '2.95' });
  assert.equal(ini.auth.use_dynamic_credentials, false);
  assert.equal(ini.auth.test_accounts_file, '/ws/etc/accounts.yaml');
  assert.equal(ini.identity.uri_v3, 'http://h/identity/v3');
  assert.deepEqual(ini.service_available, { nova: true, glance: true, neutron: false, cinder: false, swift: false, horizon: false });
  assert.equal(ini.compute.build_interval, 1);
  assert.equal(ini.compute.max_microversion, '2.95');
  assert.equal(ini.compute.flavor_ref_alt, '84');
  assert.equal(ini.validation.run_validation, false);
  assert.equal(ini['compute-feature-enabled'].xenapi_apis, true);
  const text = renderIni(ini);
  assert.match(text, /^\[compute\]\n(.+\n)*build_interval = 1\n/m);
  assert.match(text, /^neutron = false$/m);
});

test('identity-image list: 221 distinct identity v3 and image v2 tests; every expected failure is listed once, with a reason', () => {
  const ii = readList(readFileSync(join(lists, 'identity-image.txt'), 'utf8'));
  assert.equal(ii.length, 221);
  assert.equal(new Set(ii).size, ii.length);
  for (const id of ii) assert.match(id, /^tempest\.api\.(identity\.(admin\.)?v3|image\.v2)\./);
  const text = readFileSync(join(lists, 'identity-image-xfail.txt'), 'utf8');
  const xfail = readList(text);
  assert.equal(new Set(xfail).size, xfail.length);
  for (const id of xfail) assert.ok(ii.includes(id), `${id} is in identity-image.txt`);
  for (const line of text.split('\n').filter((l) => l.startsWith('tempest.'))) assert.match(line, /\S\s+#\s+\S/, `a reason for ${line}`);
});

test('tier2 and tier3 lists: 241 and 214 distinct compute tests, none in an earlier tier', () => {
  const tier2 = readList(readFileSync(join(lists, 'tier2.txt'), 'utf8'));
  const tier3 = readList(readFileSync(join(lists, 'tier3.txt'), 'utf8'));
  assert.equal(tier2.length, 241);
  assert.equal(tier3.length, 214);
  const all = [...tier1, ...tier2, ...tier3];
  assert.equal(new Set(all).size, all.length);
  for (const id of all) assert.match(id, /^tempest\.api\.compute\./);
});

test('tempest.conf: tier3 features, catalog-driven neutron/cinder, admin credentials and overrides', () => {
  const base = { workspace: '/ws', identityV3: 'http://h/identity/v3', imageRef: 'i1', imageRefAlt: 'i2', flavorRef: '42', flavorRefAlt: '84', maxMicroversion: '2.95' };
  const plain = tempestConf(base);
  assert.equal(plain['compute-feature-enabled'].cold_migration, false);
  assert.equal(plain.compute.min_compute_nodes, 1);
  assert.equal(plain.auth.admin_username, undefined);
  const t3 = tempestConf({
    ...base, tier3Features: true, services: servicesInCatalog(['identity', 'compute', 'image', 'network']),
    admin: { username: 'admin', password: 'pw', project_name: 'admin', admin: true }, overrides: ['compute.build_timeout=120', 'new-section.x=y'],
  });
  for (const f of ['snapshot', 'cold_migration', 'live_migration', 'personality', 'stable_rescue', 'interface_attach']) assert.equal(t3['compute-feature-enabled'][f], true, f);
  assert.equal(t3['compute-feature-enabled'].vnc_console, false);
  assert.equal(t3['compute-feature-enabled'].swap_volume, false);
  assert.equal(t3.compute.min_compute_nodes, 2);
  assert.equal(t3.service_available.neutron, true);
  // With networking, as devstack runs tempest: a project per class with its own network, subnet and router.
  assert.equal(t3.auth.use_dynamic_credentials, true);
  assert.equal(t3.auth.create_isolated_networks, true);
  assert.equal(plain.auth.create_isolated_networks, false);
  assert.equal(t3.service_available.cinder, false);
  assert.deepEqual([t3.auth.admin_username, t3.auth.admin_password, t3.auth.admin_project_name], ['admin', 'pw', 'admin']);
  assert.equal(t3.compute.build_timeout, '120');
  assert.equal(t3['new-section'].x, 'y');
  assert.deepEqual(servicesInCatalog(['volumev3']), { neutron: false, cinder: true });
  // With block storage: swap, multiattach, and live migration with volumes (block and volume-backed).
  const t3c = tempestConf({ ...base, tier3Features: true, services: servicesInCatalog(['compute', 'network', 'volumev3']) });
  for (const f of ['swap_volume', 'volume_multiattach', 'volume_backed_live_migration', 'block_migrate_cinder_iscsi']) assert.equal(t3c['compute-feature-enabled'][f], true, f);
  assert.equal(plain.compute.certified_image_ref, undefined);
  assert.equal(t3c.compute.certified_image_ref, 'i1');
  assert.equal(String(t3c.compute.certified_image_trusted_certs).split(',').length, 2);
  // devstack's external network is both tempest's public_network_id and its floating pool, only with neutron.
  const pub = { id: 'e1', name: 'public' };
  assert.deepEqual([t3.network.public_network_id, t3.network.floating_network_name], ['', '']);
  const withPool = tempestConf({ ...base, services: servicesInCatalog(['network']), publicNetwork: pub });
  assert.deepEqual([withPool.network.public_network_id, withPool.network.floating_network_name], ['e1', 'public']);
  assert.equal(tempestConf({ ...base, publicNetwork: pub }).network.public_network_id, '');
  assert.throws(() => tempestConf({ ...base, overrides: ['nonsense'] }), /section\.option=value/);
  // The identity-image list: devstack's Keystone and Glance features, the rest untouched.
  assert.equal(plain['identity-feature-enabled'].application_credentials, false);
  assert.equal(plain['image-feature-enabled'].import_image, false);
  const ii = tempestConf({ ...base, identityImageFeatures: true });
  for (const f of ['application_credentials', 'access_rules', 'project_tags', 'trust']) assert.equal(ii['identity-feature-enabled'][f], true, f);
  assert.equal(ii['identity-feature-enabled'].security_compliance, false);
  for (const f of ['import_image', 'os_glance_reserved']) assert.equal(ii['image-feature-enabled'][f], true, f);
  assert.equal(ii['compute-feature-enabled'].cold_migration, false);
});

test('computeRoot strips a project id from a catalog URL', () => {
  assert.equal(computeRoot('http://h:1/compute/v2.1'), 'http://h:1/compute/v2.1');
  assert.equal(computeRoot('http://h:1/compute/v2.1/abc123'), 'http://h:1/compute/v2.1');
});

test('summary: passes, skips, failures, and listed tests that never ran count as failed', () => {
  const lines = [
    { id: 'tempest.x.A.test_ok[id-1]', status: 'success', reason: '' },
    { id: 'tempest.x.A.test_skip[id-2]', status: 'skip', reason: 'no network' },
    { id: 'tempest.x.A.test_bad[id-3]', status: 'fail', reason: 'AssertionError: 1 != 2' },
    { id: 'setUpClass (tempest.x.B)', status: 'fail', reason: 'tempest.lib.exceptions.Unauthorized' },
  ].map((r) => JSON.stringify(r)).join('\n');
  const expected = ['tempest.x.A.test_ok[id-1]', 'tempest.x.A.test_skip[id-2]', 'tempest.x.A.test_bad[id-3]', 'tempest.x.B.test_one[id-4]', 'tempest.x.C.test_two[id-5]'];
  const s = summarize(parseResults(`noise\n${lines}\n`), expected);
  assert.equal(summaryLine(s), '1 passed, 3 failed, 1 skipped');
  const reasons = Object.fromEntries(s.failures.map((f) => [f.id, f.reason]));
  assert.match(reasons['tempest.x.B.test_one[id-4]'], /setUpClass failed: .*Unauthorized/);
  assert.match(reasons['tempest.x.C.test_two[id-5]'], /did not run/);
  assert.equal(reasons['tempest.x.A.test_bad[id-3]'], 'AssertionError: 1 != 2');
  const noList = summarize(parseResults(lines));
  assert.equal(summaryLine(noList), '1 passed, 2 failed, 1 skipped');
});

test('summary: a class skipped as a whole skips its listed tests', () => {
  const results = [{ id: 'setUpClass (tempest.x.D)', status: 'skip', reason: 'neutron is available' }, { id: 'tempest.x.A.test_ok[id-1]', status: 'success', reason: '' }];
  const s = summarize(results, ['tempest.x.A.test_ok[id-1]', 'tempest.x.D.test_one[id-6]', 'tempest.x.D.test_two[id-7]']);
  assert.deepEqual([s.passed, s.failed, s.skipped], [1, 0, 2]);
  assert.equal(s.skips[0].reason, 'neutron is available');
});

test('judge: listed expected failures are forgiven, others are not; an expected failure that passed is named', () => {
  const results = [
    { id: 'tempest.x.A.test_gone[id-1]', status: 'fail', reason: 'Gone' },
    { id: 'tempest.x.A.test_bad[id-2]', status: 'fail', reason: 'boom' },
    { id: 'tempest.x.A.test_ok[id-3]', status: 'success', reason: '' },
  ];
  const s = summarize(results, ['tempest.x.A.test_gone[id-1]', 'tempest.x.A.test_bad[id-2]', 'tempest.x.A.test_ok[id-3]']);
  const j = judge(s, new Set(['tempest.x.A.test_gone', 'tempest.x.A.test_ok']), true);
  assert.deepEqual(j.unexpected.map((f) => f.id), ['tempest.x.A.test_bad[id-2]']);
  assert.equal(j.expectedFailures, 1);
  assert.deepEqual(j.unexpectedPasses, ['tempest.x.A.test_ok']);
  const xf = readList(readFileSync(join(lists, 'tier2-xfail.txt'), 'utf8'));
  const tier2 = new Set(readList(readFileSync(join(lists, 'tier2.txt'), 'utf8')));
  assert.equal(xf.length, 6);
  for (const id of xf) assert.ok(tier2.has(id), id);
});

test('tier3 lists: every expected failure and every measured skip is a tier3 test with its reason', () => {
  const tier3 = new Set(readList(readFileSync(join(lists, 'tier3.txt'), 'utf8')));
  for (const file of ['tier3-xfail.txt', 'tier3-skipped.txt']) {
    const lines = readFileSync(join(lists, file), 'utf8').split('\n').filter((l) => l.trim() && !l.startsWith('#'));
    assert.ok(lines.length > 0, file);
    for (const l of lines) {
      const [id, reason] = l.split(/\s+#\s+/);
      assert.ok(tier3.has(id.trim()), `${file}: ${id}`);
      assert.ok(reason && reason.length > 10, `${file}: ${id} has no reason`);
    }
  }
});

test('errorRequests finds the last failing request of each test in tempest.log', () => {
  const log = [
    '2026-11-28 07:19:44.700 1 INFO tempest.lib.common.rest_client [-] Request (ServerRescueTestJSONUnderV235:test_rescued_vm_add_remove_security_group): 201 POST http://127.0.0.1:1/identity/v3/auth/tokens 0.2s',
    '2026-11-28 07:19:44.745 1 INFO tempest.lib.common.rest_client [-] Request (ServerRescueTestJSONUnderV235:test_rescued_vm_add_remove_security_group): 404 POST http://127.0.0.1:1/compute/v2.1/os-security-groups 0.002s',
    '2026-11-28 07:19:45.000 1 INFO tempest.lib.common.rest_client [-] Request (ServersTestJSON:test_ok): 200 GET http://127.0.0.1:1/compute/v2.1/servers 0.002s',
  ].join('\n');
  const errors = errorRequests(log);
  const id = 'tempest.api.compute.servers.test_server_rescue.ServerRescueTestJSONUnderV235.test_rescued_vm_add_remove_security_group[id-affca41f-7195-492d-8065-e09eee245404]';
  assert.equal(errors.get(logKey(id)), '404 POST /compute/v2.1/os-security-groups');
  assert.equal(errors.get('ServersTestJSON.test_ok'), undefined);
});

const haveSubunit = spawnSync(PYTHON, ['-c', 'import subunit, testtools'], { env: debianEnv() }).status === 0;

test('subunit2json reads a subunit v2 stream', { skip: haveSubunit ? false : 'python3-subunit is not installed' }, () => {
  // A stream written by python3-subunit itself: one pass, one skip, one failure.
  const writer = [
    'import sys, subunit',
    'out = subunit.StreamResultToBytes(sys.stdout.buffer)',
    'out.status(test_id="t.A.ok", test_status="success")',
    'out.status(test_id="t.A.sk", file_name="reason", file_bytes=b"needs neutron", mime_type="text/plain; charset=utf8", eof=True)',
    'out.status(test_id="t.A.sk", test_status="skip")',
    'out.status(test_id="t.A.bad", file_name="traceback", file_bytes=b"Traceback (most recent call last):\\n  File \\"x.py\\", line 1\\n    raise exceptions.NotFound(body)\\ntempest.lib.exceptions.NotFound: Object not found\\nDetails: {\'code\': 404}\\n", mime_type="text/x-traceback; charset=utf8", eof=True)',
    'out.status(test_id="t.A.bad", test_status="fail")',
  ].join('\n');
  const stream = spawnSync(PYTHON, ['-c', writer], { env: debianEnv() });
  assert.equal(stream.status, 0, String(stream.stderr));
  const json = spawnSync(PYTHON, [join(REPO_ROOT, 'conformance', 'py', 'subunit2json.py')], { input: stream.stdout, env: debianEnv(), encoding: 'utf8' });
  assert.equal(json.status, 0, json.stderr);
  const byId = Object.fromEntries(parseResults(json.stdout).map((r) => [r.id, r]));
  assert.equal(byId['t.A.ok'].status, 'success');
  assert.deepEqual([byId['t.A.sk'].status, byId['t.A.sk'].reason], ['skip', 'needs neutron']);
  assert.deepEqual([byId['t.A.bad'].status, byId['t.A.bad'].reason], ['fail', "tempest.lib.exceptions.NotFound: Object not found Details: {'code': 404}"]);
});
