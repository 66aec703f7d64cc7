// GET /metrics: Prometheus text through prom-client. Counts are collected when scraped (one
// GROUP BY through the store), never per request; request durations, step durations and fired
// faults are observed as they happen.
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Services } from '../../novabox.ts';
import { STATUSES, statusOf } from '../../domain/states.ts';
import { DriverFault } from '../../drivers/driver.ts';
import { readAccess } from './access.ts';

export function createMetrics(svc: Services): Registry {
  const registry = new Registry();
  const store = svc.engine.store;

  new Gauge({
    name: 'novabox_servers',
    help: 'Servers by API status and project (every one of the 20 statuses for each project that has servers; deleted servers count as DELETED).',
    labelNames: ['status', 'project'] as const,
    registers: [registry],
    async collect() {
      const rows = await store.countServersByState();
      const counts = new Map<string, Map<string, number>>();
      for (const r of rows) {
        let p = counts.get(r.project_id);
        if (!p) counts.set(r.project_id, (p = new Map(STATUSES.map((s) => [s, 0]))));
        const status = statusOf(r.vm_state, r.task_state, r.deleted);
        p.set(status, (p.get(status) ?? 0) + r.count);
      }
      this.reset();
      for (const [project, byStatus] of counts) for (const [status, n] of byStatus) this.set({ status, project }, n);
    },
  });

  new Gauge({
    name: 'novabox_task_queue_depth',
    help: 'Durable tasks waiting for their next step.',
    registers: [registry],
    async collect() {
      this.set(await store.countTasks());
    },
  });

  new Gauge({
    name: 'novabox_store_alone',
    help: 'Whether this process is the only novabox on its database (1), so its caches skip the per-request look at other processes\' commits, or shares it with other processes (0).',
    registers: [registry],
    collect() {
      this.set(svc.sql.alone ? 1 : 0);
    },
  });

  new Gauge({
    name: 'novabox_faults_pending',
    help: 'Injected faults not yet used up (POST /novabox/v1/faults).',
    registers: [registry],
    collect() {
      this.set(svc.driver.listFaults().reduce((n, f) => n + f.left, 0));
    },
  });

  const faults = new Counter({ name: 'novabox_faults_fired_total', help: 'Injected faults that made a driver step fail.', labelNames: ['action', 'op'] as const, registers: [registry] });
  // Every DriverFault of the simulated driver is an injected one: count it where the engine calls it.
  const driver = svc.driver;
  const perform = driver.perform.bind(driver);
  driver.perform = async (op, action, server) => {
    try {
      await perform(op, action, server);
    } catch (e) {
      if (e instanceof DriverFault) faults.inc({ action, op });
      throw e;
    }
  };

  const requests = new Histogram({
    name: 'novabox_http_request_duration_seconds',
    help: 'HTTP request durations by route template.',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });

  // Simulated time each step of an action took (between two transitions of one server).
  const steps = new Histogram({
    name: 'novabox_step_duration_seconds',
    help: 'Simulated duration of each lifecycle step, by action and the task state it ended.',
    labelNames: ['action', 'task_state'] as const,
    buckets: [0, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
    registers: [registry],
  });
  const transitions = new Counter({ name: 'novabox_transitions_total', help: 'Committed server state changes, by action and resulting status.', labelNames: ['action', 'status'] as const, registers: [registry] });
  svc.engine.events.on('transition', (t) => {
    const action = t.action ?? 'none';
    transitions.inc({ action, status: t.status });
    if (t.from && t.from.task_state !== null) steps.observe({ action, task_state: t.from.task_state }, Math.max(0, t.time - lastChange(t.server_id, t.time)) / 1000);
    if (t.task_state === null && t.vm_state !== 'building') last.delete(t.server_id);
    else last.set(t.server_id, t.time);
  });
  const last = new Map<string, number>();
  const lastChange = (id: string, now: number) => last.get(id) ?? now;

  return Object.assign(registry, { requests });
}

export async function registerMetrics(app: FastifyInstance, svc: Services): Promise<void> {
  const registry = createMetrics(svc);
  const requests = (registry as Registry & { requests: Histogram<'method' | 'route' | 'status_code'> }).requests;
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions?.url ?? 'unmatched';
    requests.observe({ method: req.method, route, status_code: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });
  await app.register(async (scope) => {
    scope.addHook('onRequest', readAccess(svc));
    scope.get('/metrics', async (_req, reply) => {
      const text = await registry.metrics();
      return reply.header('content-type', registry.contentType).send(text);
    });
  });
}
