// Block storage defaults as devstack leaves them: the zone, the backend host, the default volume
// type, and Cinder's default quotas (with a per-type quota of -1 for every type).

export const VOLUME_AZ = 'nova';
/** `host@backend#pool` (tempest checks the shape). */
export const VOLUME_HOST = 'novabox@lvmdriver-1#lvmdriver-1';
/** devstack sets `default_volume_type = lvmdriver-1`; `__DEFAULT__` exists beside it as Cinder creates it. */
export const DEFAULT_VOLUME_TYPE = 'lvmdriver-1';

export const VOLUME_QUOTA_RESOURCES = ['volumes', 'snapshots', 'gigabytes', 'backups', 'backup_gigabytes', 'groups', 'per_volume_gigabytes'] as const;
export type VolumeQuotaResource = (typeof VOLUME_QUOTA_RESOURCES)[number];

const DEFAULTS: Record<VolumeQuotaResource, number> = {
  volumes: 10, snapshots: 10, gigabytes: 1000, backups: 10, backup_gigabytes: 1000, groups: 10, per_volume_gigabytes: -1,
};

export function quotaDefaults(typeNames: readonly string[]): Record<string, number> {
  const out: Record<string, number> = { ...DEFAULTS };
  for (const t of typeNames) {
    out[`volumes_${t}`] = -1;
    out[`gigabytes_${t}`] = -1;
    out[`snapshots_${t}`] = -1;
  }
  return out;
}
