// Regular-expression name filters with Nova's meaning (Python's re.search: an unanchored search)
// run by a linear-time engine (RE2's, ported to JavaScript by re2js), so no pattern can hold the
// one event loop: matching costs O(pattern × text), never exponential backtracking.
//
// RE2 has no backreferences (\1, (?P=name)) and no lookaround ((?=…), (?!…), (?<=…), (?<!…)):
// a pattern using them is refused as not a regex (400 at the API) rather than answered wrongly.
// Python's end-of-text \Z is RE2's \z and is translated. A pattern whose compiled program is
// larger than MAX_PROGRAM instructions (a{1000}{1000}-like repetition) is refused the same way,
// so the per-row cost of a filter stays bounded.
import { RE2JS } from 're2js';

/** Largest compiled program accepted (instructions); real name filters use a few dozen. */
export const MAX_PROGRAM = 1000;

export interface NameFilter {
  test(value: string): boolean;
}

const cache = new Map<string, NameFilter | null>();

/** Python's `\Z` (end of text) is RE2's `\z`; an escaped backslash before it is kept. */
function fromPython(pattern: string): string {
  return pattern.replace(/((?:^|[^\\])(?:\\\\)*)\\Z/g, '$1\\z');
}

function programSize(re: RE2JS): number {
  const prog = (re.re2() as unknown as { prog?: { inst?: unknown[] } }).prog;
  return prog?.inst?.length ?? 0;
}

/** The compiled filter, or null when the pattern is not a regex this service can run. */
export function compileNameFilter(pattern: string): NameFilter | null {
  let f = cache.get(pattern);
  if (f !== undefined) return f;
  try {
    const re = RE2JS.compile(fromPython(pattern));
    f = programSize(re) > MAX_PROGRAM ? null : { test: (v: string) => re.test(v) };
  } catch {
    f = null;
  }
  if (cache.size >= 1000) cache.clear();
  cache.set(pattern, f);
  return f;
}

/** Python re.search(pattern, value) is not None; false for a pattern that cannot be run. */
export function searchMatches(pattern: string, value: string): boolean {
  const f = compileNameFilter(pattern);
  return f !== null && f.test(value);
}
