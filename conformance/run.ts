// npm run conformance [-- --tier 1,2,3 | --list FILE | --regex RE] [--concurrency N | --serial] [--keep] [--no-replays | --replays-only]
//
// First replays the reference material that lives outside this repository (conformance/replays:
// Nova's recorded exchanges and API samples from ../shared, or $NOVABOX_SHARED; a clear error when
// it is missing). Then runs OpenStack's own test suite (tempest, from Debian) against a fresh novabox: installs the
// Debian packages if missing, starts novabox on a free loopback port with instant transitions and
// a throw-away database, writes a tempest workspace with pre-provisioned accounts, runs the list,
// and prints `N passed, N failed, N skipped` plus the failing ids. Exit status 1 on any failure.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { debianEnv, ensurePackages, PACKAGES, PYTHON } from './lib/debian.ts';
import { authenticate, discover, type Account } from './lib/discover.ts';
import { REPO_ROOT, startNovabox, type RunningNovabox } from './lib/novabox.ts';
import { GUEST_SSH_LISTEN, routeFloatingRange, type GuestRoute } from './lib/guest-ssh.ts';
import { MissingReference, referencePath } from './lib/reference.ts';
import { bareId, errorRequests, judge, logKey, parseResults, summarize, summaryLine } from './lib/results.ts';
import { accountsFor, readList, seedFor, servicesInCatalog, TEMPEST, writeWorkspace } from './lib/tempest.ts';
import type { Summary } from './lib/results.ts';

const USAGE = `usage: npm run conformance -- [--tier T[,T…]] [--list FILE] [--regex RE] [--concurrency N | --serial] [--keep] [--timeout SECONDS] [--fixed-network NAME] [--set SECTION.OPTION=VALUE]… [--no-install] [--no-replays | --replays-only] [--no-validation]
  --no-replays       skip the replays of the reference material (conformance/replays)
  --replays-only     run only the replays, not tempest
  --tier T[,T…]      run conformance/lists/tierT.txt for each T (1, 2, 3 or all), each against a fresh
                     novabox, and print each tier's tally (tier3 turns on the compute features it needs);
                     T may also be identity-image (lists/identity-image.txt: Keystone's and Glance's API
                     tests with devstack's identity and image features)
  --list FILE        tempest test ids, one per line, '#' comments (default: --tier 1,identity-image)
  --tier3-features   with --list/--regex: turn on tier3's compute features in tempest.conf
  --identity-image-features
                     with --list/--regex: turn on the identity and image features devstack turns on
                     (application credentials, access rules, project tags, trusts, image import…)
  --set S.O=V        override one tempest.conf option (repeatable), e.g. --set compute.build_timeout=120
  --expected-failures FILE
                     test ids (with '#' reasons) whose failure does not fail the run (default for
                     --tier N: conformance/lists/tierN-xfail.txt when it exists)
  --regex RE         run the tests matching RE instead of a list
  --concurrency N    tempest workers (default 1: on two cores tier1 runs no faster in parallel; 4
                     with tier3's features (--tier 3, its list, --tier3-features), whose classes each
                     make isolated networks, and tempest sleeps 10 s before deleting every subnet it
                     made: serially tier3 spends most of an hour asleep); novabox is seeded with
                     enough accounts for N
  --serial           one worker (same as --concurrency 1)
  --keep             keep the workspace, tempest.log and novabox.log; print where they are
  --timeout SECONDS  stop tempest after this long (default 1200)
  --fixed-network N  [compute] fixed_network_name, the network tempest boots on when a test project has
                     none of its own (default private for tier1, --regex, tier3 with neutron in the
                     catalog, and whenever SSH validation is on; empty for tier2 as in TEMPEST-CONFIG.md,
                     because Nova serves os-networks only up to 2.35 and its 2.36+ classes would look it
                     up there). private is devstack's: the demo project's, not shared. With neutron in
                     the catalog tempest uses dynamic credentials with isolated networks (a test class
                     asking for a network gets its own, with a subnet and a router) and looks the name up
                     in neutron as the test project, which does not see demo's private (a class without
                     a network of its own then names none); without neutron, with an admin GET /os-networks
  --time-scale N     novabox's --time-scale (its --timings is fake: Nova's fake virt driver as measured).
                     Default 0 (instant) for tier1, tier2, --list and --regex; 1 for tier3, whose
                     snapshot negatives must see a snapshot in progress as they do against Nova
  --no-install       do not apt-get install missing Debian packages
  --no-validation    leave tempest's [validation] run_validation off. By default, when this runs as root on
                     Linux and port 22 is free, it routes devstack's floating range (172.24.4.0/24) to this
                     machine (ip route add local … dev lo, removed at the end), starts novabox with
                     --guest-ssh 0.0.0.0:22 and turns SSH validation on: tempest logs into the simulated
                     guests over their floating IPs (fixed_network_name is then private for every tier)`;

/** tier3's default workers: its time is tempest's 10 s sleep before each isolated subnet's delete, not CPU. */
const TIER3_WORKERS = 4;

interface Run { name: string; list?: string; regex?: string; tier3Features: boolean; identityImageFeatures?: boolean; xfail?: string; timeScale: number; concurrency: number }
interface Options { runs: Run[]; keep: boolean; timeout: number; install: boolean; fixedNetwork?: string; overrides: string[]; replays: boolean; tempest: boolean; validation: boolean }

const TIERS = ['1', '2', '3'];
/** Named lists beside the numbered tiers: `--tier identity-image` runs Keystone's and Glance's API tests with devstack's identity and image features. */
const NAMED = ['identity-image'];
const DEFAULT_TIERS = '1,identity-image';

function options(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      list: { type: 'string' }, regex: { type: 'string' }, concurrency: { type: 'string' }, serial: { type: 'boolean' },
      keep: { type: 'boolean' }, timeout: { type: 'string' }, 'no-install': { type: 'boolean' }, 'no-replays': { type: 'boolean' }, 'replays-only': { type: 'boolean' }, 'fixed-network': { type: 'string' }, help: { type: 'boolean', short: 'h' },
      tier: { type: 'string' }, 'tier3-features': { type: 'boolean' }, 'identity-image-features': { type: 'boolean' }, 'time-scale': { type: 'string' }, set: { type: 'string', multiple: true }, 'expected-failures': { type: 'string' },
      'no-validation': { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const concurrency = values.serial ? 1 : values.concurrency === undefined ? undefined : Number(values.concurrency);
  const timeout = Number(values.timeout ?? 1200);
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1)) throw new Error(`--concurrency must be a positive integer\n${USAGE}`);
  if (!(timeout > 0)) throw new Error(`--timeout must be a positive number of seconds\n${USAGE}`);
  if ([values.list, values.regex, values.tier].filter((v) => v !== undefined).length > 1) throw new Error(`--tier, --list and --regex are exclusive\n${USAGE}`);
  let runs: Run[];
  // Without a choice: tier1 and the identity-image list, each against its own novabox.
  if (values.tier === undefined && values.list === undefined && values.regex === undefined) values.tier = DEFAULT_TIERS;
  if (values.tier !== undefined) {
    const tiers = values.tier === 'all' ? [...TIERS, ...NAMED] : values.tier.split(',').map((t) => t.trim().replace(/^tier(\d)/, '$1'));
    for (const t of tiers) if (!TIERS.includes(t) && !NAMED.includes(t)) throw new Error(`--tier: unknown tier '${t}' (1, 2, 3, ${NAMED.join(', ')} or all)\n${USAGE}`);
    runs = tiers.map((t) => {
      const name = NAMED.includes(t) ? t : `tier${t}`;
      const xfail = join(REPO_ROOT, 'conformance', 'lists', `${name}-xfail.txt`);
      return { name, list: join(REPO_ROOT, 'conformance', 'lists', `${name}.txt`), tier3Features: t === '3', identityImageFeatures: t === 'identity-image', xfail: existsSync(xfail) ? xfail : undefined, timeScale: t === '3' ? 1 : 0, concurrency: 1 };
    });
  } else if (values.regex !== undefined) {
    runs = [{ name: 'regex', regex: values.regex, tier3Features: values['tier3-features'] ?? false, identityImageFeatures: values['identity-image-features'] ?? false, timeScale: 0, concurrency: 1 }];
  } else {
    const list = resolve(values.list!);
    runs = [{ name: list.replace(/^.*\//, '').replace(/\.txt$/, ''), list, tier3Features: (values['tier3-features'] ?? false) || /tier3\.txt$/.test(list), identityImageFeatures: (values['identity-image-features'] ?? false) || /identity-image\.txt$/.test(list), timeScale: 0, concurrency: 1 }];
  }
  if (values['time-scale'] !== undefined) {
    const scale = Number(values['time-scale']);
    if (!(scale >= 0)) throw new Error(`--time-scale must be a number ≥ 0\n${USAGE}`);
    for (const r of runs) r.timeScale = scale;
  }
  for (const r of runs) r.concurrency = concurrency ?? (r.tier3Features ? TIER3_WORKERS : 1);
  if (values['expected-failures'] !== undefined) for (const r of runs) r.xfail = resolve(values['expected-failures']);
  if (values['no-replays'] && values['replays-only']) throw new Error(`--no-replays and --replays-only are exclusive\n${USAGE}`);
  return {
    runs,
    overrides: values.set ?? [],
    keep: values.keep ?? false,
    timeout,
    install: !values['no-install'],
    fixedNetwork: values['fixed-network'],
    replays: !values['no-replays'],
    tempest: !values['replays-only'],
    validation: !values['no-validation'],
  };
}

async function canLogIn(identityV3: string, accounts: Account[]): Promise<string[]> {
  const problems: string[] = [];
  for (const a of accounts) {
    try {
      await authenticate(identityV3, a);
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  return problems;
}

let tempestGroup: number | undefined;

function stopTempest(): void {
  if (tempestGroup === undefined) return;
  try {
    process.kill(-tempestGroup, 'SIGTERM');
  } catch {
    // already gone
  }
}

function runTempest(ws: string, args: string[], timeoutSec: number): Promise<number | null> {
  return new Promise((ok) => {
    const env = debianEnv({ TEMPEST_CONFIG_DIR: join(ws, 'etc'), TEMPEST_CONFIG: 'tempest.conf' });
    // Its own process group, so a timeout stops stestr's workers too.
    const child = spawn(TEMPEST, ['run', '--config-file', join(ws, 'etc', 'tempest.conf'), ...args], { cwd: ws, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    // The full output (every failing test's captured request log) goes to a file; the console
    // gets one progress line per test.
    const out = createWriteStream(join(ws, 'logs', 'tempest-run.txt'));
    let pending = '';
    child.stdout!.on('data', (b: Buffer) => {
      out.write(b);
      pending += b.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (/^\{\d+\} \S/.test(line)) console.log(line.length > 240 ? `${line.slice(0, 240)}…` : line);
    });
    child.stderr!.on('data', (b: Buffer) => out.write(b));
    tempestGroup = child.pid;
    const timer = setTimeout(() => {
      console.error(`tempest still running after ${timeoutSec} s: stopping it`);
      stopTempest();
    }, timeoutSec * 1000);
    child.on('close', (code) => {
      out.end();
      tempestGroup = undefined;
      clearTimeout(timer);
      ok(code);
    });
  });
}

/**
 * The listed ids as this configuration's discovery names them: a test's attributes can depend on
 * tempest.conf (test_attach_detach_volume is `slow` only with SSH validation on), and --load-list
 * matches whole ids, so a listed id whose bare name is discovered under other attributes takes those.
 */
function resolveIds(ws: string, listed: string[]): string[] {
  const r = spawnSync('/usr/bin/stestr', ['list'], { cwd: ws, env: debianEnv({ TEMPEST_CONFIG_DIR: join(ws, 'etc'), TEMPEST_CONFIG: 'tempest.conf' }), encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0 || !r.stdout) return listed;
  const byBare = new Map<string, string>();
  for (const id of r.stdout.split('\n').map((l) => l.trim()).filter(Boolean)) byBare.set(bareId(id), id);
  return listed.map((id) => {
    const found = byBare.get(bareId(id));
    if (found && found !== id) console.log(`  ${bareId(id)}: discovered as ${found.slice(bareId(id).length)} with this tempest.conf`);
    return found ?? id;
  });
}

/** The last stestr run of the workspace as JSON lines, through py/subunit2json.py. */
function lastResults(ws: string): string {
  const env = debianEnv();
  const stream = spawnSync('/usr/bin/stestr', ['last', '--subunit'], { cwd: ws, env, maxBuffer: 512 * 1024 * 1024 });
  if (!stream.stdout || stream.stdout.length === 0) return '';
  const json = spawnSync(PYTHON, [join(REPO_ROOT, 'conformance', 'py', 'subunit2json.py')], { input: stream.stdout, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (json.status !== 0) throw new Error(`subunit2json failed: ${json.stderr}`);
  return json.stdout;
}

/** The replays of reference material (node's test runner over conformance/replays); exit status 0 when all pass. */
function runReplays(): number {
  const dir = referencePath('reference');
  console.log(`replaying reference material from ${dir} (conformance/replays)`);
  const files = readdirSync(join(REPO_ROOT, 'conformance', 'replays')).filter((f) => f.endsWith('.test.ts')).sort().map((f) => join('conformance', 'replays', f));
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter', 'spec', ...files], { cwd: REPO_ROOT, stdio: 'inherit' });
  console.log(r.status === 0 ? 'replays: all passed' : `replays: FAILED (exit ${String(r.status)})`);
  return r.status ?? 1;
}

async function main(): Promise<number> {
  const opt = options(process.argv.slice(2));
  let replayStatus = 0;
  if (opt.replays) {
    try {
      replayStatus = runReplays();
    } catch (e) {
      if (!(e instanceof MissingReference)) throw e;
      console.error(`conformance: ${e.message}\n  (--no-replays runs tempest alone)`);
      return 2;
    }
  }
  if (!opt.tempest) return replayStatus;
  return Math.max(replayStatus, await runTempestSuite(opt));
}

async function runTempestSuite(opt: Options): Promise<number> {
  if (opt.install) ensurePackages(PACKAGES);
  else if (!existsSync(TEMPEST)) throw new Error(`${TEMPEST} is missing: apt-get install -y ${PACKAGES.join(' ')}`);
  const tallies: { name: string; summary: Summary | null; failed: boolean }[] = [];
  for (const run of opt.runs) {
    if (opt.runs.length > 1) console.log(`\n=== ${run.name} ===`);
    const r = await runOne(run, opt);
    tallies.push({ name: run.name, ...r });
  }
  if (tallies.length > 1) {
    console.log('\ntallies:');
    for (const t of tallies) console.log(`  ${t.name}: ${t.summary ? summaryLine(t.summary) : 'no result'}`);
  }
  return tallies.some((t) => t.failed) ? 1 : 0;
}

async function runOne(run: Run, opt: Options): Promise<{ summary: Summary | null; failed: boolean }> {
  const expected = run.list ? readList(readFileSync(run.list, 'utf8')) : null;
  if (expected && expected.length === 0) throw new Error(`${run.list} lists no tests`);

  const root = mkdtempSync(join(tmpdir(), 'novabox-conformance-'));
  const ws = join(root, 'tempest');
  const nbDir = join(root, 'novabox');
  mkdirSync(nbDir);
  let concurrency = run.concurrency;
  let accounts = accountsFor(concurrency);
  let nb: RunningNovabox | null = null;
  let route: GuestRoute | null = null;
  const cleanup = async () => {
    await nb?.stop({ removeDir: false });
    nb = null;
    route?.remove();
  };
  const onSigint = () => {
    stopTempest();
    void cleanup().then(() => process.exit(130));
  };
  process.once('SIGINT', onSigint);
  try {
    // SSH validation: the floating range routed here and the simulated guests' sshd on port 22.
    route = opt.validation ? await routeFloatingRange() : null;
    const validating = route?.ok ?? false;
    console.log(validating ? `SSH validation on (${route!.reason}; guests' SSH on ${GUEST_SSH_LISTEN})` : `SSH validation off: ${route ? route.reason : '--no-validation'}`);
    nb = await startNovabox({ dir: nbDir, config: { seed: seedFor(accounts) }, timeScale: run.timeScale, timings: 'fake', args: validating ? ['--guest-ssh', GUEST_SSH_LISTEN] : [] });
    console.log(`novabox on ${nb.url} (log ${nb.logFile}, timings fake × ${run.timeScale})`);
    const identityV3 = `${nb.url}/identity/v3`;
    const problems = await canLogIn(identityV3, accounts);
    if (problems.length > 0) {
      const base = accountsFor(1);
      const baseProblems = await canLogIn(identityV3, base);
      if (baseProblems.length > 0 || concurrency === 1) throw new Error(`pre-provisioned accounts cannot log in:\n  ${(baseProblems.length ? baseProblems : problems).join('\n  ')}`);
      console.warn(`WARNING: the extra accounts for ${concurrency} workers cannot log in (${problems[0]}); running serially with demo, alt_demo and admin`);
      concurrency = 1;
      accounts = base;
    }
    const admin = accounts.find((a) => a.admin)!;
    const session = await authenticate(identityV3, admin);
    const facts = await discover(session);
    // neutron and cinder are on exactly when the catalog offers them.
    const services = servicesInCatalog(session.catalog.map((e) => e.type));
    console.log(`image_ref ${facts.imageRef} (${facts.imageName}), flavors ${facts.flavorRef}/${facts.flavorRefAlt}, max microversion ${facts.maxMicroversion}, neutron ${services.neutron ? 'on' : 'off'}, cinder ${services.cinder ? 'on' : 'off'}${run.tier3Features ? ', tier3 compute features on' : ''}`);
    // tier1's filter-by-IP tests need fixed_network_name; tempest resolves it through os-networks,
    // which Nova serves only up to 2.35, so the later tiers' 2.36+ classes leave it empty (as
    // TEMPEST-CONFIG.md does) unless --fixed-network says otherwise.
    // With neutron in the catalog tempest resolves the name through neutron instead, at any microversion.
    // Validation associates the floating IP with the server's port on the tenant network: fixed_network_name.
    const validation = validating && services.neutron ? { networkForSsh: opt.fixedNetwork || 'private', user: 'cirros' } : undefined;
    const fixedNetworkName = opt.fixedNetwork ?? (run.name === 'tier1' || run.name === 'regex' || (run.tier3Features && services.neutron) || validation ? 'private' : '');
    writeWorkspace(ws, { workspace: ws, identityV3, ...facts, admin, fixedNetworkName, services, tier3Features: run.tier3Features, identityImageFeatures: run.identityImageFeatures, validation, overrides: opt.overrides }, accounts);

    const args = concurrency === 1 ? ['--serial'] : ['--concurrency', String(concurrency)];
    if (expected) {
      const loadList = join(ws, 'load-list.txt');
      writeFileSync(loadList, resolveIds(ws, expected).join('\n') + '\n');
      args.push('--load-list', loadList);
      console.log(`running ${expected.length} tests from ${run.list} with ${concurrency} worker(s)`);
    } else {
      args.push('--regex', run.regex!);
      console.log(`running tests matching ${run.regex} with ${concurrency} worker(s)`);
    }
    const started = Date.now();
    const code = await runTempest(ws, args, opt.timeout);
    await cleanup();
    const summary = summarize(parseResults(lastResults(ws)), expected);
    console.log(`\ntempest exited with ${String(code)} after ${Math.round((Date.now() - started) / 1000)} s`);
    for (const s of summary.skips) console.log(`SKIPPED ${s.id}: ${s.reason}`);
    const logFile = join(ws, 'logs', 'tempest.log');
    const lastErrors = existsSync(logFile) ? errorRequests(readFileSync(logFile, 'utf8')) : new Map<string, string>();
    for (const f of summary.failures) {
      console.log(`FAILED ${f.id}: ${f.reason}`);
      const req = lastErrors.get(logKey(f.id));
      if (req) console.log(`    last error response: ${req}`);
    }
    const listed = expected ? new Set(expected.map(bareId)) : null;
    const xfail = new Set((run.xfail ? readList(readFileSync(run.xfail, 'utf8')) : []).map(bareId).filter((id) => !listed || listed.has(id)));
    const judged = judge(summary, xfail, expected !== null);
    for (const id of judged.unexpectedPasses) console.log(`PASSED (listed as an expected failure in ${run.xfail}): ${id}`);
    console.log(`${run.name}: ${summaryLine(summary)}${xfail.size ? ` (${judged.expectedFailures} of the failures expected: ${run.xfail!.replace(/^.*\//, '')})` : ''}`);
    // tempest exits non-zero on a failure, a timeout or a crash: only expected failures are forgiven.
    const failed = judged.unexpected.length > 0 || (code !== 0 && judged.expectedFailures === 0);
    if (failed && !opt.keep) console.log('(rerun with --keep to keep tempest.log, which has every request and response)');
    return { summary, failed };
  } finally {
    process.removeListener('SIGINT', onSigint);
    await cleanup();
    if (!opt.keep) rmSync(root, { recursive: true, force: true });
    else console.log(`kept ${root}\n  tempest output ${join(ws, 'logs', 'tempest-run.txt')}\n  tempest.log ${join(ws, 'logs', 'tempest.log')}\n  novabox.log ${join(nbDir, 'novabox.log')}`);
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`conformance: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  },
);
