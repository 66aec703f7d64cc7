// Body schemas of POST /servers/{id}/action per action and microversion (nova/api/openstack/compute/schemas/*).
import type { Version } from '../../microversion.ts';
import { atLeast } from '../../microversion.ts';
import * as P from './params.ts';
import type { Schema } from './validate.ts';

const wrap = (key: string, inner: Schema): Schema => ({
  type: 'object', properties: { [key]: inner }, required: [key], additionalProperties: false,
});
const obj = (properties: Record<string, Schema>, required: string[] = [], nullable = false): Schema => ({
  type: nullable ? ['object', 'null'] : 'object', properties, ...(required.length ? { required } : {}), additionalProperties: false,
});
const hostOrNull: Schema = { oneOf: [P.fqdn, { type: 'null' }] };

export const rebootSchema = wrap('reboot', obj({ type: { type: 'string', enum: ['HARD', 'Hard', 'hard', 'SOFT', 'Soft', 'soft'] } }, ['type']));
export const resizeSchema = wrap('resize', obj({ flavorRef: P.flavorRef, 'OS-DCF:diskConfig': P.diskConfig }, ['flavorRef']));
export const createImageSchema = wrap('createImage', obj({ name: P.name, metadata: P.metadata }, ['name']));
export const createBackupSchema = wrap('createBackup', obj({ name: P.name, backup_type: { type: 'string' }, rotation: P.nonNegativeInteger, metadata: P.metadata }, ['name', 'backup_type', 'rotation']));
export const crashDumpSchema = wrap('trigger_crash_dump', { type: 'null' });
export const changePasswordSchema = wrap('changePassword', obj({ adminPass: P.adminPassword }, ['adminPass']));
export const rescueSchema = wrap('rescue', obj({ adminPass: P.adminPassword, rescue_image_ref: P.uuid }, [], true));
export const resetStateSchema = wrap('os-resetState', obj({ state: { type: 'string', enum: ['active', 'error'] } }, ['state']));
export const securityGroupSchema = (key: string) => wrap(key, obj({ name: { type: 'string', minLength: 1, maxLength: 255 } }, ['name']));
export const consoleOutputSchema = wrap('os-getConsoleOutput', obj({ length: { type: ['integer', 'string', 'null'], pattern: '^-?[0-9]+$', minimum: -1 } }));
export const addFixedIpSchema = wrap('addFixedIp', obj({ networkId: { type: ['string', 'number'], minLength: 1, maxLength: 36 } }, ['networkId']));
export const removeFixedIpSchema = wrap('removeFixedIp', obj({ address: P.ipAddress }, ['address']));
export const addFloatingIpSchema = wrap('addFloatingIp', obj({ address: P.ipAddress, fixed_address: P.ipAddress }, ['address']));
export const removeFloatingIpSchema = wrap('removeFloatingIp', obj({ address: P.ipAddress }, ['address']));

const lock273 = wrap('lock', obj({ locked_reason: { type: 'string', minLength: 1, maxLength: 255 } }, [], true));
export function lockSchema(v: Version): Schema | null {
  return atLeast(v, 73) ? lock273 : null;
}

const unshelve277 = wrap('unshelve', obj({ availability_zone: P.name }, ['availability_zone'], true));
const unshelve291 = wrap('unshelve', { oneOf: [{ type: 'null' }, { type: 'object', properties: { availability_zone: { oneOf: [{ type: 'null' }, P.name] }, host: P.fqdn }, additionalProperties: false }] });
export function unshelveSchema(v: Version): Schema | null {
  if (atLeast(v, 91)) return unshelve291;
  if (atLeast(v, 77)) return unshelve277;
  return null;
}

const migrate256 = wrap('migrate', obj({ host: hostOrNull }, [], true));
export function migrateSchema(v: Version): Schema | null {
  return atLeast(v, 56) ? migrate256 : null;
}

const live21 = wrap('os-migrateLive', obj({ block_migration: P.boolean, disk_over_commit: P.boolean, host: hostOrNull }, ['block_migration', 'disk_over_commit', 'host']));
const blockAuto: Schema = { oneOf: [P.boolean, { type: 'string', enum: ['auto'] }] };
const live225 = wrap('os-migrateLive', obj({ block_migration: blockAuto, host: hostOrNull }, ['block_migration', 'host']));
const live230 = wrap('os-migrateLive', obj({ block_migration: blockAuto, host: hostOrNull, force: P.boolean }, ['block_migration', 'host']));
export function liveMigrateSchema(v: Version): Schema {
  if (atLeast(v, 68)) return live225;
  if (atLeast(v, 30)) return live230;
  if (atLeast(v, 25)) return live225;
  return live21;
}

const evac21 = wrap('evacuate', obj({ host: P.fqdn, onSharedStorage: P.boolean, adminPass: P.adminPassword }, ['onSharedStorage']));
const evac214 = wrap('evacuate', obj({ host: P.fqdn, adminPass: P.adminPassword }));
const evac229 = wrap('evacuate', obj({ host: P.fqdn, adminPass: P.adminPassword, force: P.boolean }));
export function evacuateSchema(v: Version): Schema {
  if (atLeast(v, 68)) return evac214;
  if (atLeast(v, 29)) return evac229;
  if (atLeast(v, 14)) return evac214;
  return evac21;
}
