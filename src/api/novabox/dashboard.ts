// GET /dashboard/: a small live view of the cloud (src/dashboard/: plain HTML and JS, no build). Its
// data comes from /dashboard/api/*: the status counts, the newest servers (optionally by status, as
// the list API filters), one server's timeline, and the event stream. Read-only views are open when
// novabox is bound to loopback and need an admin token elsewhere (access.ts); actions and fault
// injection go through the real compute and control APIs with the token the page's login obtains.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import type { Services } from '../../novabox.ts';
import { STATUSES, statusFilter, statusOf } from '../../domain/states.ts';
import { BadRequest } from '../../domain/errors.ts';
import { entryJson } from '../../engine/journal.ts';
import type { ServerRecord } from '../../domain/server.ts';
import { isLoopback, readAccess } from './access.ts';
import { endStreams, filterOf, streamEvents } from './events.ts';

const ROOT = fileURLToPath(new URL('../../dashboard/', import.meta.url));
const MAX_ROWS = 500;

function row(s: ServerRecord, projects: Map<string, string>) {
  return {
    id: s.uuid, name: s.display_name, project_id: s.project_id, project: projects.get(s.project_id) ?? s.project_id,
    status: statusOf(s.vm_state, s.task_state, s.deleted), vm_state: s.vm_state, task_state: s.task_state, power_state: s.power_state,
    host: s.host, updated: new Date(s.updated_at ?? s.created_at).toISOString(),
  };
}

export async function registerDashboard(app: FastifyInstance, svc: Services): Promise<void> {
  const projectNames = async (): Promise<Map<string, string>> => new Map((await svc.identity.store.listProjects()).map((p) => [p.id, p.name]));
  const index = readFileSync(`${ROOT}index.html`, 'utf8');
  app.get('/dashboard/', async (_req, reply) => reply.type('text/html; charset=utf-8').send(index));
  await app.register(fastifyStatic, { root: ROOT, prefix: '/dashboard/', decorateReply: false, index: false, cacheControl: false });

  await app.register(async (scope) => {
    scope.addHook('onRequest', readAccess(svc));
    scope.addHook('preClose', async () => endStreams(app));

    scope.get('/summary', async () => {
      const counts: Record<string, number> = Object.fromEntries(STATUSES.map((s) => [s, 0]));
      for (const r of await svc.engine.store.countServersByState()) counts[statusOf(r.vm_state, r.task_state, r.deleted)] += r.count;
      return {
        statuses: counts,
        projects: Object.fromEntries(await projectNames()),
        login_required: !isLoopback(svc.config.host),
        clock: { kind: svc.advanceClock ? 'manual' : 'system', now: new Date(svc.clock.now()).toISOString() },
        last_event_id: svc.journal.lastId,
      };
    });

    scope.get<{ Querystring: { status?: string | string[]; limit?: string | string[] } }>('/servers', async (req) => {
      const last_event_id = svc.journal.lastId;
      // A repeated parameter arrives as an array: the last one counts, as in the compute API.
      const last = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[v.length - 1] : v);
      const limit = Math.min(MAX_ROWS, Math.max(1, Number(last(req.query.limit) ?? 200) || 200));
      const status = last(req.query.status)?.trim();
      let filter: ReturnType<typeof statusFilter> | undefined;
      if (status) {
        filter = statusFilter([status]);
        if (!filter) throw new BadRequest(`Invalid status value ${status}`);
      }
      const servers = await svc.engine.store.listServers({
        deleted: status?.toUpperCase() === 'DELETED' ? 'only' : 'exclude',
        ...(filter ? { vm_states: filter.vm_states, ...(filter.task_states ? { task_states: filter.task_states } : {}) } : {}),
        sort: [{ key: 'created_at', dir: 'desc' }],
        limit,
      });
      const names = await projectNames();
      // A vm_state default status matches that vm_state with any task state: keep the exact status only.
      const rows = servers.map((s) => row(s, names)).filter((r) => !status || r.status === status.toUpperCase());
      return { servers: rows, last_event_id };
    });

    scope.get<{ Params: { id: string } }>('/servers/:id/timeline', async (req) => {
      const id = req.params.id;
      const actions = await svc.engine.store.listActions(id);
      const withEvents = await Promise.all(actions.map(async (a) => ({
        action: a.action, request_id: a.request_id, start_time: new Date(a.start_time).toISOString(),
        finish_time: a.finish_time === null ? null : new Date(a.finish_time).toISOString(), message: a.message,
        events: (await svc.engine.store.listEvents(a.id)).map((e) => ({
          event: e.event, start_time: new Date(e.start_time).toISOString(), finish_time: e.finish_time === null ? null : new Date(e.finish_time).toISOString(), result: e.result,
        })),
      })));
      return { transitions: svc.journal.forServer(id).filter((e) => e.kind === 'transition').map(entryJson), actions: withEvents };
    });

    scope.get('/events', async (req, reply) => {
      streamEvents(app, svc.journal, req, reply, filterOf(req.query as Record<string, unknown>));
    });
  }, { prefix: '/dashboard/api' });
}
