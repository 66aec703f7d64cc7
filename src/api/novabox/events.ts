// GET /novabox/v1/events: the engine's transition stream as Server-Sent Events. One JSON event per
// server state change and per instance action / action event, in commit order; `id` is the event's
// sequence number, so a client reconnecting with Last-Event-ID (or ?last_event_id=) gets what it
// missed from the in-memory ring; filters: ?project_id=…&server_id=… (each repeatable).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../../novabox.ts';
import { entryJson, type Journal, type JournalEntry } from '../../engine/journal.ts';

export interface EventFilter {
  project_id?: string[];
  server_id?: string[];
}

const HEARTBEAT_MS = 15000;

function list(v: unknown): string[] | undefined {
  if (v === undefined) return undefined;
  const a = (Array.isArray(v) ? v : [v]).flatMap((x) => String(x).split(',')).map((x) => x.trim()).filter(Boolean);
  return a.length ? a : undefined;
}

export function filterOf(query: Record<string, unknown>): EventFilter {
  return { project_id: list(query.project_id ?? query.project), server_id: list(query.server_id ?? query.server) };
}

function matches(f: EventFilter, e: JournalEntry): boolean {
  return (!f.project_id || f.project_id.includes(e.project_id)) && (!f.server_id || f.server_id.includes(e.server_id));
}

/** Open streams per app, ended when the app closes (an open stream would hold the server). */
const open = new WeakMap<FastifyInstance, Set<FastifyReply>>();

/** Answer `req` with the event stream (shared by the control API and the dashboard). */
export function streamEvents(app: FastifyInstance, journal: Journal, req: FastifyRequest, reply: FastifyReply, filter: EventFilter): void {
  const q = req.query as Record<string, unknown>;
  const header = req.headers['last-event-id'];
  const lastRaw = (Array.isArray(header) ? header[0] : header) ?? (q.last_event_id as string | undefined);
  const last = lastRaw !== undefined && /^\d+$/.test(String(lastRaw).trim()) ? Number(lastRaw) : null;
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'x-openstack-request-id': req.requestId,
  });
  res.write(`retry: 2000\n: novabox events, last id ${journal.lastId}\n\n`);
  const send = (e: JournalEntry) => {
    if (matches(filter, e)) res.write(`id: ${e.id}\ndata: ${JSON.stringify(entryJson(e))}\n\n`);
  };
  if (last !== null) {
    const { entries: missed, complete } = journal.since(last);
    // Some events were dropped from the ring: say so, so the client reloads its state.
    if (!complete) res.write(`event: gap\ndata: ${JSON.stringify({ after: last, oldest: missed[0]?.id ?? journal.lastId + 1 })}\n\n`);
    for (const e of missed) send(e);
  }
  const off = journal.on(send);
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
  heartbeat.unref();
  let streams = open.get(app);
  if (!streams) open.set(app, (streams = new Set()));
  streams.add(reply);
  const done = () => {
    off();
    clearInterval(heartbeat);
    streams.delete(reply);
  };
  res.on('close', done);
  res.on('error', done);
}

/** End every open stream of `app` (its preClose hook). */
export function endStreams(app: FastifyInstance): void {
  for (const r of open.get(app) ?? []) r.raw.end();
}

/** Routes of the admin scope (admin token already checked). */
export async function registerEvents(scope: FastifyInstance, svc: Services, root: FastifyInstance): Promise<void> {
  scope.addHook('preClose', async () => endStreams(root));
  scope.get('/events', { schema: { description: 'Server transitions and instance actions as Server-Sent Events (Last-Event-ID resumes; ?project_id=, ?server_id=)' } }, async (req, reply) => {
    streamEvents(root, svc.journal, req, reply, filterOf(req.query as Record<string, unknown>));
  });
}
