// npm run conformance [-- --list FILE | --regex RE] [--concurrency N | --serial] [--keep] [--no-replays | --replays-only]
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
import { MissingReference, referencePath } from './lib/reference.ts';
import { errorRequests, logKey, parseResults, summarize, summaryLine } from './lib/results.ts';
import { accountsFor, readList, seedFor, TEMPEST, writeWorkspace } from './lib/tempest.ts';

const USAGE = `usage: npm run conformance -- [--list FILE] [--regex RE] [--concurrency N | --serial] [--keep] [--timeout SECONDS] [--fixed-network NAME] [--no-install] [--no-replays | --replays-only]
  --no-replays       skip the replays of the reference material (conformance/replays)
  --replays-only     run only the replays, not tempest
  --list FILE        tempest test ids, one per line, '#' comments (default conformance/lists/tier1.txt)
  --regex RE         run the tests matching RE instead of a list
  --concurrency N    tempest workers (default 1: on two cores tier1 runs no faster in parallel);
                     novabox is seeded with enough accounts for N
  --serial           one worker (the default; same as --concurrency 1)
  --keep             keep the workspace, tempest.log and novabox.log; print where they are
  --timeout SECONDS  stop tempest after this long (default 1200)
  --fixed-network N  [compute] fixed_network_name (default private, novabox's shared network, which
                     tempest resolves with an admin GET /os-networks; the two filter-by-IP tests skip
                     without it; --fixed-network '' leaves it empty as in TEMPEST-CONFIG.md)
  --no-install       do not apt-get install missing Debian packages`;

interface Options { list: string; regex?: string; concurrency: number; keep: boolean; timeout: number; install: boolean; fixedNetwork?: string; replays: boolean; tempest: boolean }

function options(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      list: { type: 'string' }, regex: { type: 'string' }, concurrency: { type: 'string' }, serial: { type: 'boolean' },
      keep: { type: 'boolean' }, timeout: { type: 'string' }, 'no-install': { type: 'boolean' }, 'no-replays': { type: 'boolean' }, 'replays-only': { type: 'boolean' }, 'fixed-network': { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const concurrency = values.serial ? 1 : Number(values.concurrency ?? 1);
  const timeout = Number(values.timeout ?? 1200);
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`--concurrency must be a positive integer\n${USAGE}`);
  if (!(timeout > 0)) throw new Error(`--timeout must be a positive number of seconds\n${USAGE}`);
  if (values.list && values.regex) throw new Error(`--list and --regex are exclusive\n${USAGE}`);
  if (values['no-replays'] && values['replays-only']) throw new Error(`--no-replays and --replays-only are exclusive\n${USAGE}`);
  return {
    list: resolve(values.list ?? join(REPO_ROOT, 'conformance', 'lists', 'tier1.txt')),
    regex: values.regex,
    concurrency,
    keep: values.keep ?? false,
    timeout,
    install: !values['no-install'],
    fixedNetwork: values['fixed-network'] ?? 'private',
    replays: !values['no-replays'],
    tempest: !values['replays-only'],
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

  const expected = opt.regex ? null : readList(readFileSync(opt.list, 'utf8'));
  if (expected && expected.length === 0) throw new Error(`${opt.list} lists no tests`);

  const root = mkdtempSync(join(tmpdir(), 'novabox-conformance-'));
  const ws = join(root, 'tempest');
  const nbDir = join(root, 'novabox');
  mkdirSync(nbDir);
  let concurrency = opt.concurrency;
  let accounts = accountsFor(concurrency);
  let nb: RunningNovabox | null = null;
  const cleanup = async () => {
    await nb?.stop({ removeDir: false });
    nb = null;
  };
  process.once('SIGINT', () => {
    stopTempest();
    void cleanup().then(() => process.exit(130));
  });
  try {
    nb = await startNovabox({ dir: nbDir, config: { seed: seedFor(accounts) } });
    console.log(`novabox on ${nb.url} (log ${nb.logFile})`);
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
    const facts = await discover(await authenticate(identityV3, admin));
    console.log(`image_ref ${facts.imageRef} (${facts.imageName}), flavors ${facts.flavorRef}/${facts.flavorRefAlt}, max microversion ${facts.maxMicroversion}`);
    writeWorkspace(ws, { workspace: ws, identityV3, ...facts, fixedNetworkName: opt.fixedNetwork }, accounts);

    const args = concurrency === 1 ? ['--serial'] : ['--concurrency', String(concurrency)];
    if (expected) {
      const loadList = join(ws, 'load-list.txt');
      writeFileSync(loadList, expected.join('\n') + '\n');
      args.push('--load-list', loadList);
      console.log(`running ${expected.length} tests from ${opt.list} with ${concurrency} worker(s)`);
    } else {
      args.push('--regex', opt.regex!);
      console.log(`running tests matching ${opt.regex} with ${concurrency} worker(s)`);
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
    console.log(summaryLine(summary));
    // tempest exits non-zero only on a failure, a timeout or a crash: each of them fails the run.
    const failed = summary.failed > 0 || summary.failures.length > 0 || code !== 0;
    if (failed && !opt.keep) console.log('(rerun with --keep to keep tempest.log, which has every request and response)');
    return failed ? 1 : 0;
  } finally {
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
