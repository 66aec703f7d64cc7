// Request bodies as JSON, bounded: nesting deeper than any OpenStack body is refused at parse time,
// so validation and error messages (which recurse) never meet a 10,000-level document.

/** Deepest JSON nesting accepted in a body; deeper is a malformed body. */
export const MAX_JSON_DEPTH = 64;

/** Nesting depth of a parsed JSON value (walked without recursion), stopping once over `limit`. */
export function jsonDepth(value: unknown, limit = Infinity): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (d > max) max = d;
    if (max > limit) return max;
    for (const child of Array.isArray(v) ? v : Object.values(v)) if (typeof child === 'object' && child !== null) stack.push([child, d + 1]);
  }
  return max;
}

/** The parsed body, or `undefined` with `ok: false` when it is not JSON or nests too deep. */
export function parseJsonBody(text: string): { ok: true; value: unknown } | { ok: false } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false };
  }
  return jsonDepth(value, MAX_JSON_DEPTH) > MAX_JSON_DEPTH ? { ok: false } : { ok: true, value };
}
