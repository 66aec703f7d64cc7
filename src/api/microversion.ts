// Compute microversion negotiation (nova/api/openstack/api_version_request.py and wsgi.py).
import { DomainError, BadRequest } from '../domain/errors.ts';

export type Version = [number, number];
export const MIN_VERSION: Version = [2, 1];
export const MAX_VERSION: Version = [2, 104];

export function formatVersion(v: Version): string {
  return `${v[0]}.${v[1]}`;
}

export function cmp(a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1];
}

/** True when `v` is at least `major.minor`. */
export function atLeast(v: Version, minor: number, major = 2): boolean {
  return cmp(v, [major, minor]) >= 0;
}

const FORMAT = /^([1-9]\d*)\.([1-9]\d*|0)$/;

export class VersionNotAcceptable extends DomainError {
  constructor(readonly requested: string) {
    super('computeFault', 406, `Version ${requested} is not supported by the API. Minimum is ${formatVersion(MIN_VERSION)} and maximum is ${formatVersion(MAX_VERSION)}.`);
  }
}

/** The requested version string from the headers, or null when none names compute. */
export function requestedVersion(headers: Record<string, string | string[] | undefined>): string | null {
  const join = (v: string | string[] | undefined) => (Array.isArray(v) ? v.join(',') : v);
  const std = join(headers['openstack-api-version']);
  if (std) {
    let found: string | null = null;
    for (const part of std.split(',')) {
      const [svc, ver] = part.trim().split(/\s+/, 2);
      if (svc && svc.toLowerCase() === 'compute' && ver !== undefined) found = ver;
    }
    if (found !== null) return found;
  }
  const legacy = join(headers['x-openstack-nova-api-version']);
  if (legacy) {
    const parts = legacy.split(',').map((s) => s.trim()).filter(Boolean);
    if (parts.length) return parts[parts.length - 1];
  }
  return null;
}

/** Parse and check a requested version; throws 400 for a bad format, 406 out of range. */
export function negotiate(raw: string | null): Version {
  if (raw === null) return MIN_VERSION;
  if (raw === 'latest') return MAX_VERSION;
  const m = FORMAT.exec(raw);
  if (!m) throw new BadRequest(`API Version String ${raw} is of invalid format. Must be of format MajorNum.MinorNum.`);
  const v: Version = [Number(m[1]), Number(m[2])];
  if (cmp(v, MIN_VERSION) < 0 || cmp(v, MAX_VERSION) > 0) throw new VersionNotAcceptable(raw);
  return v;
}
