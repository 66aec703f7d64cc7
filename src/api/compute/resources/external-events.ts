// os-server-external-events: events other services send about servers (network-vif-plugged,
// volume-extended …). Each event answers its own code: 200 delivered, 404 unknown server, 422 a
// server not on a host; the response is 200 when all were delivered, 207 when some, 404 when none.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Services } from '../../../novabox.ts';
import { NotFound } from '../../../domain/errors.ts';
import { authorize, ctxOf, mv } from '../context.ts';
import { route, validate } from './common.ts';

function names(req: FastifyRequest): string[] {
  const out = ['network-changed', 'network-vif-plugged', 'network-vif-unplugged', 'network-vif-deleted'];
  if (mv(req, 51)) out.push('volume-extended');
  if (mv(req, 76)) out.push('power-update');
  if (mv(req, 82)) out.push('accelerator-request-bound');
  if (mv(req, 93)) out.push('volume-reimaged');
  return out;
}

function schema(req: FastifyRequest): object {
  return {
    type: 'object', required: ['events'], additionalProperties: false,
    properties: {
      events: {
        type: 'array', minItems: 1,
        items: {
          type: 'object', required: ['name', 'server_uuid'], additionalProperties: false,
          properties: {
            server_uuid: { type: 'string', format: 'uuid' }, name: { type: 'string', enum: names(req) },
            status: { type: 'string', enum: ['failed', 'completed', 'in-progress'] }, tag: { type: 'string', maxLength: 255 },
          },
        },
      },
    },
  };
}

export function registerExternalEvents(scope: FastifyInstance, svc: Services): void {
  route(scope, 'POST', '/os-server-external-events', async (req, reply) => {
    authorize(req, 'admin', 'os_compute_api:os-server-external-events:create');
    const body = validate<{ events: { name: string; server_uuid: string; status?: string; tag?: string }[] }>(schema(req), req.body);
    const ctx = ctxOf(req);
    const out: Record<string, unknown>[] = [];
    for (const e of body.events) {
      const ev: Record<string, unknown> = { name: e.name, server_uuid: e.server_uuid, status: e.status ?? 'completed' };
      if (e.tag !== undefined) ev.tag = e.tag;
      const s = await svc.engine.getServer(ctx, e.server_uuid).catch((err: unknown) => {
        if (err instanceof NotFound) return undefined;
        throw err;
      });
      if (!s) {
        ev.code = 404;
        ev.status = 'failed';
      } else if (!s.host) {
        ev.code = 422;
        ev.status = 'failed';
      } else {
        ev.code = 200;
      }
      out.push(ev);
    }
    const ok = out.filter((e) => e.code === 200).length;
    if (ok === 0) throw new NotFound('No instances found for any event');
    return reply.code(ok === out.length ? 200 : 207).send({ events: out });
  });
}
