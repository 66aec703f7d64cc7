// os-instance_usage_audit_log: the last completed monthly audit period before a time (default now).
// The simulated hosts run their usage audit at every period's end, so each compute host is DONE
// with the servers it holds and no errors.
import type { FastifyInstance } from 'fastify';
import type { Services } from '../../../novabox.ts';
import { BadRequest } from '../../../domain/errors.ts';
import { authorize } from '../context.ts';
import { params, route } from './common.ts';
import { perHost } from '../../../store/compute/host-usage.ts';

const pad = (n: number) => String(n).padStart(2, '0');
const stamp = (t: number) => {
  const d = new Date(t);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
};

/** Nova's last_completed_audit_period (unit month): the month before the one `before` falls in. */
export function lastCompletedMonth(before: number): { beginning: number; ending: number } {
  const d = new Date(before);
  const ending = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  const beginning = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - 1, 1);
  return { beginning, ending };
}

/** `%Y-%m-%d %H:%M:%S` with optional `.%f` (Nova's accepted formats), as UTC. */
export function parseAuditTime(s: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/.exec(s);
  if (!m) return null;
  const [y, mo, d, h, mi, sec] = m.slice(1, 7).map(Number);
  const t = Date.UTC(y, mo - 1, d, h, mi, sec);
  const back = new Date(t);
  if (back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || sec > 59) return null;
  return t;
}

export function registerAuditLog(scope: FastifyInstance, svc: Services): void {
  const report = async (before: number) => {
    const { beginning, ending } = lastCompletedMonth(before);
    const hosts = await svc.engine.listHosts();
    const used = perHost(await svc.infra.hostUsage.perHostAndProject());
    const log: Record<string, unknown> = {};
    let total = 0;
    for (const h of hosts) {
      const n = used.get(h.name)?.instances ?? 0;
      total += n;
      log[h.name] = { errors: 0, instances: n, message: `Instance usage audit ran for host ${h.name}, ${n} instances in 0.01 seconds.`, state: 'DONE' };
    }
    return {
      hosts_not_run: [], log, num_hosts: hosts.length, num_hosts_done: hosts.length, num_hosts_not_run: 0, num_hosts_running: 0,
      overall_status: `${hosts.length} of ${hosts.length} hosts done. 0 errors.`, period_beginning: stamp(beginning), period_ending: stamp(ending),
      total_errors: 0, total_instances: total,
    };
  };

  route(scope, 'GET', '/os-instance_usage_audit_log', async (req) => {
    authorize(req, 'admin', 'os_compute_api:os-instance-usage-audit-log:list');
    return { instance_usage_audit_logs: await report(svc.clock.now()) };
  });

  route(scope, 'GET', '/os-instance_usage_audit_log/:before', async (req) => {
    authorize(req, 'admin', 'os_compute_api:os-instance-usage-audit-log:show');
    const raw = params(req).before;
    const t = parseAuditTime(raw);
    if (t === null) throw new BadRequest(`Invalid timestamp for date ${raw}`);
    return { instance_usage_audit_log: await report(t) };
  });
}
