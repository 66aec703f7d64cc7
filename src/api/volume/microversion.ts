// Block storage microversions (cinder/api/openstack/api_version_request.py): 3.0 to 3.71,
// requested with `OpenStack-API-Version: volume 3.x`.
import { BadRequest, DomainError } from '../../domain/errors.ts';

export type VolumeVersion = [number, number];
export const VOLUME_MIN: VolumeVersion = [3, 0];
export const VOLUME_MAX: VolumeVersion = [3, 71];
/** Cinder's UPDATED date of the v3.0 version document. */
export const VOLUME_UPDATED = '2023-08-31T00:00:00Z';

export const fmt = (v: VolumeVersion) => `${v[0]}.${v[1]}`;
const cmp = (a: VolumeVersion, b: VolumeVersion) => a[0] - b[0] || a[1] - b[1];

/** The version named for `volume` in OpenStack-API-Version, or null. */
export function requestedVolumeVersion(headers: Record<string, string | string[] | undefined>): string | null {
  const h = headers['openstack-api-version'];
  const raw = Array.isArray(h) ? h.join(',') : h;
  if (!raw) return null;
  let found: string | null = null;
  for (const part of raw.split(',')) {
    const [svc, ver] = part.trim().split(/\s+/, 2);
    if (svc?.toLowerCase() === 'volume' && ver !== undefined) found = ver;
  }
  return found;
}

export function negotiateVolume(raw: string | null): VolumeVersion {
  if (raw === null) return VOLUME_MIN;
  if (raw.toLowerCase() === 'latest') return VOLUME_MAX;
  const m = /^([1-9]\d*)\.([1-9]\d*|0)$/.exec(raw);
  if (!m) throw new BadRequest(`API Version String ${raw} is of invalid format. Must be of format MajorNum.MinorNum.`);
  const v: VolumeVersion = [Number(m[1]), Number(m[2])];
  if (cmp(v, VOLUME_MIN) < 0 || cmp(v, VOLUME_MAX) > 0) {
    throw new DomainError('computeFault', 406, `Version ${raw} is not supported by the API. Minimum is ${fmt(VOLUME_MIN)} and maximum is ${fmt(VOLUME_MAX)}.`);
  }
  return v;
}
