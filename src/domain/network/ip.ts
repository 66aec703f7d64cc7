// Address arithmetic for subnets, pools and allocations (netaddr's role in Neutron): addresses as
// BigInt so IPv4 and IPv6 share one code path; parsing and text through ipaddr.js.
import ipaddr from 'ipaddr.js';

export type IpVersion = 4 | 6;

export interface Cidr {
  version: IpVersion;
  network: bigint;
  prefix: number;
  /** Last address of the block. */
  last: bigint;
}

const bits = (v: IpVersion) => (v === 4 ? 32 : 128);

export function ipVersion(text: string): IpVersion | null {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return 4;
  if (ipaddr.IPv6.isValid(text) && text.includes(':')) return 6;
  return null;
}

export function toBig(text: string): bigint {
  const bytes = ipaddr.parse(text).toByteArray();
  return bytes.reduce((n, b) => (n << 8n) | BigInt(b), 0n);
}

export function fromBig(version: IpVersion, n: bigint): string {
  const len = version === 4 ? 4 : 16;
  const bytes: number[] = [];
  for (let i = len - 1; i >= 0; i--) bytes.push(Number((n >> BigInt(i * 8)) & 255n));
  const ip = ipaddr.fromByteArray(bytes);
  return ip.kind() === 'ipv6' ? (ip as ipaddr.IPv6).toRFC5952String() : ip.toString();
}

/** Canonical text of an address (netaddr's), or null when it is not one. */
export function normalizeIp(text: string): string | null {
  const v = ipVersion(text);
  return v ? fromBig(v, toBig(text)) : null;
}

/** A CIDR; `strict` refuses host bits (Neutron's validate_subnet does, with its own message). */
export function parseCidr(text: string): Cidr | null {
  if (typeof text !== 'string' || !text.includes('/')) return null;
  const [addr, len] = text.split('/');
  const version = ipVersion(addr);
  if (!version || !/^\d{1,3}$/.test(len)) return null;
  const prefix = Number(len);
  if (prefix > bits(version)) return null;
  const host = (1n << BigInt(bits(version) - prefix)) - 1n;
  const n = toBig(addr);
  return { version, network: n & ~host, prefix, last: (n & ~host) | host };
}

export function cidrText(c: Cidr): string {
  return `${fromBig(c.version, c.network)}/${c.prefix}`;
}

/** True when the text had host bits set (10.0.0.1/24). */
export function hasHostBits(text: string): boolean {
  const c = parseCidr(text);
  return !!c && toBig(text.split('/')[0]) !== c.network;
}

export function contains(c: Cidr, version: IpVersion, n: bigint): boolean {
  return c.version === version && n >= c.network && n <= c.last;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.version === b.version && a.network <= b.last && b.network <= a.last;
}

export interface Pool {
  start: string;
  end: string;
}

/** Neutron's default pools: the block minus network, broadcast (IPv4) and gateway addresses. */
export function defaultPools(c: Cidr, gateway: string | null): Pool[] {
  let first = c.network + 1n;
  let last = c.version === 4 ? c.last - 1n : c.last;
  if (c.version === 4 && c.prefix >= 31) {
    first = c.network;
    last = c.last;
  }
  if (last < first) return [];
  const ranges: [bigint, bigint][] = [[first, last]];
  if (gateway) {
    const g = toBig(gateway);
    const out: [bigint, bigint][] = [];
    for (const [a, b] of ranges) {
      if (g < a || g > b) out.push([a, b]);
      else {
        if (g > a) out.push([a, g - 1n]);
        if (g < b) out.push([g + 1n, b]);
      }
    }
    return out.map(([a, b]) => ({ start: fromBig(c.version, a), end: fromBig(c.version, b) }));
  }
  return ranges.map(([a, b]) => ({ start: fromBig(c.version, a), end: fromBig(c.version, b) }));
}

/** The number of addresses in a set of pools. */
export function poolSize(pools: Pool[]): bigint {
  return pools.reduce((n, p) => n + toBig(p.end) - toBig(p.start) + 1n, 0n);
}

/** The first address of `pools` that `taken` does not hold, or null when they are exhausted. */
export function firstFree(version: IpVersion, pools: Pool[], taken: Set<string>): string | null {
  for (const p of pools) {
    const end = toBig(p.end);
    // Bounded walk: a pool is scanned from its start until a free address turns up.
    for (let n = toBig(p.start), i = 0; n <= end && i <= taken.size; n++, i++) {
      const text = fromBig(version, n);
      if (!taken.has(text)) return text;
    }
  }
  return null;
}

export function inPools(pools: Pool[], n: bigint): boolean {
  return pools.some((p) => n >= toBig(p.start) && n <= toBig(p.end));
}

/** A SLAAC (EUI-64) address of a MAC in a /64 (what Neutron computes for slaac subnets). */
export function eui64(c: Cidr, mac: string): string {
  const b = mac.split(':').map((x) => parseInt(x, 16));
  const iid = [b[0] ^ 2, b[1], b[2], 0xff, 0xfe, b[3], b[4], b[5]].reduce((n, x) => (n << 8n) | BigInt(x), 0n);
  return fromBig(6, c.network | iid);
}
