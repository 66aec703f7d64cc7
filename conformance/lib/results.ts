// Turns tempest's per-test results (JSON lines from py/subunit2json.py) into the summary the
// runner prints: passed / failed / skipped, with a one-line reason per failing id.
export interface TestResult { id: string; status: string; reason: string }

export interface Summary {
  passed: number;
  failed: number;
  skipped: number;
  failures: TestResult[];
  skips: TestResult[];
}

/** "tempest.a.b.C.test_x[id-…,smoke]" → "tempest.a.b.C.test_x" */
export function bareId(id: string): string {
  return id.replace(/\[.*\]$/, '');
}

/** Class fixtures report under ids like "setUpClass (tempest.a.b.C)". */
function fixtureClass(id: string): string | null {
  const m = /^(?:setUpClass|tearDownClass) \((.+)\)$/.exec(id);
  return m ? m[1] : null;
}

export function parseResults(jsonLines: string): TestResult[] {
  const out: TestResult[] = [];
  for (const line of jsonLines.split('\n')) {
    const t = line.trim();
    if (!t.startsWith('{')) continue;
    const r = JSON.parse(t) as Partial<TestResult>;
    if (typeof r.id === 'string' && typeof r.status === 'string') out.push({ id: r.id, status: r.status, reason: r.reason ?? '' });
  }
  return out;
}

/**
 * `expected` (the ids of the list that was run) makes a listed test that never reported count as
 * failed – e.g. when its class's setUpClass failed – so the three numbers add up to the list.
 */
export function summarize(results: TestResult[], expected: string[] | null = null): Summary {
  const failures: TestResult[] = [];
  const skips: TestResult[] = [];
  let passed = 0;
  const seen = new Set<string>();
  const brokenFixtures = new Map<string, TestResult>();
  const skippedFixtures = new Map<string, TestResult>();
  for (const r of results) {
    const cls = fixtureClass(r.id);
    if (cls) {
      if (r.status === 'fail') {
        brokenFixtures.set(cls, r);
        failures.push(r);
      } else if (r.status === 'skip') {
        // A class skipped as a whole (skip_checks) reports only its fixture: its tests are skipped.
        skippedFixtures.set(cls, r);
      }
      continue;
    }
    seen.add(bareId(r.id));
    if (r.status === 'success' || r.status === 'xfail') passed++;
    else if (r.status === 'skip') skips.push(r);
    else failures.push(r);
  }
  let failed = failures.filter((f) => !fixtureClass(f.id)).length;
  if (expected) {
    for (const id of expected) {
      if (seen.has(bareId(id))) continue;
      const cls = bareId(id).replace(/\.[^.]+$/, '');
      const skippedBy = skippedFixtures.get(cls);
      if (skippedBy && !brokenFixtures.has(cls)) {
        skips.push({ id, status: 'skip', reason: skippedBy.reason });
        continue;
      }
      const fixture = brokenFixtures.get(cls);
      failures.push({ id, status: 'fail', reason: fixture ? `did not run: setUpClass failed: ${fixture.reason}` : 'did not run (no result reported)' });
      failed++;
    }
  } else {
    failed += brokenFixtures.size;
  }
  return { passed, failed, skipped: skips.length, failures, skips };
}

export function summaryLine(s: Summary): string {
  return `${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped`;
}

/**
 * The last 4xx/5xx request each test made, from tempest.log's INFO lines
 * `Request (Class:test_name): 404 POST http://…/compute/v2.1/os-security-groups 0.002s`,
 * keyed by "Class.test_name". Shown beside a failure: usually the call novabox answered wrongly.
 */
export function errorRequests(tempestLog: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /Request \((\w+):(\w+)\): ([45]\d\d) ([A-Z]+) (\S+)/g;
  for (const m of tempestLog.matchAll(re)) {
    let path = m[5];
    try {
      path = new URL(m[5]).pathname + new URL(m[5]).search;
    } catch {
      // keep as logged
    }
    out.set(`${m[1]}.${m[2]}`, `${m[3]} ${m[4]} ${path}`);
  }
  return out;
}

/** "tempest.a.b.Class.test_x[id-…]" → "Class.test_x", the key tempest.log uses. */
export function logKey(id: string): string {
  return bareId(id).split('.').slice(-2).join('.');
}

/**
 * Which failures are expected (listed in an xfail file, e.g. the tests of APIs Nova itself removed)
 * and which are not. With a test list, a class fixture's failure is judged through its tests (each
 * is reported as not run), so the fixture entry itself is left out.
 */
export function judge(s: Summary, xfail: Set<string>, listed: boolean): { unexpected: TestResult[]; expectedFailures: number; unexpectedPasses: string[] } {
  const failures = listed ? s.failures.filter((f) => !fixtureClass(f.id)) : s.failures;
  const unexpected = failures.filter((f) => !xfail.has(bareId(f.id)));
  const failedIds = new Set(failures.map((f) => bareId(f.id)));
  const skippedIds = new Set(s.skips.map((f) => bareId(f.id)));
  return {
    unexpected,
    expectedFailures: failures.length - unexpected.length,
    unexpectedPasses: [...xfail].filter((id) => !failedIds.has(id) && !skippedIds.has(id)),
  };
}
