// Renders the volume action table and the create/snapshot steps as Markdown for the README
// (kept in sync by a test; `npm run docs:volumes` prints them).
import { SNAPSHOT_STEPS, VOLUME_ACTIONS, VOLUME_ACTION_NAMES, VOLUME_CREATE, type VolumeActionRule, type VolumeStep } from './actions.ts';
import { VOLUME_STATUSES, type VolumeRecord } from './states.ts';

const steps = (s: readonly VolumeStep[]) =>
  s.map((x) => `${x.op} → ${x.set === 'attached_or_available' ? 'in-use/available' : x.set === 'destroy' ? 'gone' : x.set}`).join(', ') || '—';

/** The status an action sets at once, shown for a sample volume in `available` (reset_status: the requested one). */
function sets(name: string, r: VolumeActionRule): string {
  if (name === 'reset_status') return 'the requested status';
  if (name === 'unreserve') return 'available/in-use when attaching, else nothing';
  if (name === 'roll_detaching') return 'in-use when detaching, else nothing';
  const sample = { status: 'available', attach_status: 'detached', multiattach: false } as VolumeRecord;
  const a = r.accept(sample, { microversion: [3, 0], snapshot_statuses: [], attachments: 0 });
  return a.status ?? '—';
}

export function volumeActionTableMarkdown(): string {
  const rows = [
    '| action | Cinder call | policy | accepted in status | API sets | steps (driver op → status) | failed step leaves | code |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const name of VOLUME_ACTION_NAMES) {
    const r: VolumeActionRule = VOLUME_ACTIONS[name];
    const statuses = r.statuses === 'any' ? 'any' : r.statuses.join(', ');
    const notes: Record<string, string> = {
      delete: ' (not attached, no snapshots unless cascade)',
      force_delete: ' (not attached)',
      extend: ' (in-use from 3.42)',
      reserve: ' (in-use if multiattach)',
      attachment_create: ' (in-use if multiattach; never an error status)',
      attach: ' (in-use if multiattach; never an error status)',
      begin_detaching: ' (attached)',
      detach: ' (attached)',
      update: ' but maintenance',
      update_metadata: ' but maintenance, uploading',
      create_snapshot: ' (in-use with force or from 3.66; not maintenance, error, migrating)',
      retype: ' (not migrating, another type)',
    };
    rows.push(`| ${name} | ${r.cinder} | ${r.policy} | ${statuses}${notes[name] ?? ''} | ${sets(name, r)} | ${steps(r.steps)} | ${r.steps.length ? r.onFault : '—'} | ${r.http} |`);
  }
  return rows.join('\n');
}

export function volumeCreateTableMarkdown(): string {
  const rows = ['| created from | status at once | steps (driver op → status) | failed step leaves |', '|---|---|---|---|'];
  for (const [src, s] of Object.entries(VOLUME_CREATE)) rows.push(`| ${src} | creating | ${steps(s)} | error |`);
  for (const [what, s] of Object.entries(SNAPSHOT_STEPS)) rows.push(`| snapshot ${what} | ${s.accept} | ${s.op} → ${s.done === 'destroy' ? 'gone' : s.done} | ${s.fault} |`);
  return rows.join('\n');
}

export const VOLUME_STATUS_LIST = VOLUME_STATUSES.join(', ');
