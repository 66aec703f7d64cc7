// Renders the action table and the status map as Markdown, for the README (kept in sync by a test).
import { ACTIONS, PUBLIC_ACTIONS } from './actions.ts';
import { STATE_MAP } from './states.ts';

function list(v: readonly (string | null)[] | 'any'): string {
  return v === 'any' ? 'any' : v.map((x) => (x === null ? 'null' : x)).join(', ');
}

export function actionTableMarkdown(): string {
  const rows = [
    '| action | Nova name | policy | lock | vm_state | task_state | launched | API sets | steps (task_state → …) | code |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const name of PUBLIC_ACTIONS) {
    const r = ACTIONS[name];
    const sample = {
      vm_state: 'active', task_state: null, power_state: 1, system_metadata: {}, launched_at: 1, new_flavor: null, old_flavor: null,
    } as never;
    const plan = r.plan(sample, { params: { state: 'active' }, microversion: [2, 1], reclaim_instance_interval: 0, shelved_offload_time: 0 });
    const accept = plan.accept.task_state !== undefined ? `task ${plan.accept.task_state ?? 'null'}` : '—';
    const steps = plan.steps.map((s) => s.set.vm_state ? `${s.set.task_state ?? 'null'}/${s.set.vm_state}` : String(s.set.task_state === undefined ? '·' : s.set.task_state ?? 'null')).join(' → ') || '—';
    rows.push(`| ${name} | ${r.message_name} | ${r.policy} | ${r.lock ? 'yes' : 'no'} | ${list(r.vm_states)} | ${list(r.task_states)} | ${r.launched ? 'yes' : 'no'} | ${accept} | ${steps} | ${r.http} |`);
  }
  return rows.join('\n');
}

export function statusTableMarkdown(): string {
  const rows = ['| vm_state | status | task_state overrides |', '|---|---|---|'];
  for (const [vm, e] of Object.entries(STATE_MAP)) {
    const byStatus = new Map<string, string[]>();
    for (const [t, st] of Object.entries(e.tasks)) byStatus.set(st!, [...(byStatus.get(st!) ?? []), t]);
    const ov = [...byStatus].map(([st, ts]) => `${ts.join(', ')} → ${st}`).join('; ') || '—';
    rows.push(`| ${vm} | ${e.default} | ${ov} |`);
  }
  return rows.join('\n');
}
