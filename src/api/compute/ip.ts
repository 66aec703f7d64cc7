// Canonical text of an IP address, as Nova stores accessIPv4/accessIPv6 (its object fields go through
// netaddr, whose IPv6 text is the C library's inet_ntop: lower-case hex, the longest run of two or
// more zero groups as `::`, and a dotted IPv4 tail only for IPv4-compatible and IPv4-mapped addresses).

/** The eight 16-bit groups of an IPv6 address, or null when it does not parse. */
export function ipv6Groups(text: string): number[] | null {
  let s = text.trim();
  const tail: number[] = [];
  const dotted = /^(.*:)(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (dotted) {
    const b = dotted.slice(2).map(Number);
    if (b.some((x) => x > 255)) return null;
    tail.push((b[0] << 8) | b[1], (b[2] << 8) | b[3]);
    s = dotted[1].endsWith('::') ? dotted[1] : dotted[1].slice(0, -1);
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const parse = (part: string): number[] | null => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = parse(halves[0]);
  const rest = halves.length === 2 ? parse(halves[1]) : [];
  if (!head || !rest) return null;
  const given = head.length + rest.length + tail.length;
  if (halves.length === 2 ? given > 7 : given !== 8) return null;
  return [...head, ...new Array(8 - given).fill(0), ...rest, ...tail];
}

/** inet_ntop's IPv6 text of eight groups. */
export function formatIpv6(w: number[]): string {
  // Longest run of zero groups (first on a tie); a single zero group is not compressed.
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  if (bestLen < 2) best = -1;
  const v4 = best === 0 && (bestLen === 6 || (bestLen === 5 && w[5] === 0xffff));
  const hex = (a: number, b: number) => w.slice(a, b).map((x) => x.toString(16)).join(':');
  if (v4) {
    const quad = `${w[6] >> 8}.${w[6] & 255}.${w[7] >> 8}.${w[7] & 255}`;
    return bestLen === 6 ? `::${quad}` : `::ffff:${quad}`;
  }
  if (best < 0) return hex(0, 8);
  return `${hex(0, best)}::${hex(best + bestLen, 8)}`;
}

/** An access IP as Nova returns it: IPv6 in canonical compressed form; IPv4 (already
 *  dotted-decimal without leading zeros by the request schema) and '' unchanged. */
export function canonicalIp(addr: string): string {
  if (!addr.includes(':')) return addr;
  const w = ipv6Groups(addr);
  return w ? formatIpv6(w) : addr;
}
