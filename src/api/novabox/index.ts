// novabox's own admin API at /novabox/v1: inject faults into the simulated driver, make guests shut
// down or crash, take hosts down, change the time scale. Admin tokens only.
import type { FastifyInstance } from 'fastify';
import type { Services } from '../../novabox.ts';
import { requireAuth } from '../auth.ts';
import { Forbidden } from '../../domain/errors.ts';
import { isAdmin } from '../../domain/policy.ts';
import { DRIVER_OPS, PUBLIC_ACTIONS } from '../../domain/actions.ts';
import { BLOCK_OPS, VOLUME_ACTION_NAMES } from '../../domain/volume/actions.ts';
import { registerClock } from './clock.ts';
import { registerEvents } from './events.ts';
import { registerMetrics } from './metrics.ts';
import { registerDashboard } from './dashboard.ts';

const faultSchema = {
  type: 'object',
  required: ['action', 'op'],
  additionalProperties: false,
  properties: {
    // Server actions and driver ops, and the volume engine's (its tasks are named after the volume action table's rows).
    action: { type: 'string', enum: [...new Set([...PUBLIC_ACTIONS, ...VOLUME_ACTION_NAMES, 'create_snapshot', 'delete_snapshot', '*'])] },
    op: { type: 'string', enum: [...Object.keys(DRIVER_OPS), ...Object.keys(BLOCK_OPS), '*'] },
    server_uuid: { type: 'string', format: 'uuid' },
    message: { type: 'string', minLength: 1, maxLength: 255 },
    code: { type: 'integer', minimum: 400, maximum: 599 },
    times: { type: 'integer', minimum: 1, maximum: 1000000 },
  },
} as const;

export async function registerNovaboxAdmin(app: FastifyInstance, svc: Services): Promise<void> {
  await registerMetrics(app, svc);
  await registerDashboard(app, svc);
  await app.register(async (scope) => {
    scope.addHook('onRequest', requireAuth(svc));
    // Admin check before the body is validated: a member learns nothing from a schema error.
    scope.addHook('onRequest', async (req) => {
      if (!isAdmin(req.auth!)) throw new Forbidden('Only administrators may use the novabox admin API.');
    });

    scope.get('/faults', async () => ({ faults: svc.driver.listFaults() }));
    scope.post('/faults', { schema: { body: faultSchema } }, async (req, reply) => {
      const id = svc.driver.inject(req.body as Parameters<typeof svc.driver.inject>[0]);
      return reply.code(201).send({ fault: svc.driver.listFaults().find((f) => f.id === id) });
    });
    scope.delete('/faults', async (_req, reply) => {
      svc.driver.clearFaults();
      return reply.code(204).send();
    });

    scope.post<{ Params: { id: string }; Body: { event: 'shutdown' | 'crash' } }>('/servers/:id/guest', {
      schema: { body: { type: 'object', required: ['event'], additionalProperties: false, properties: { event: { type: 'string', enum: ['shutdown', 'crash'] } } } },
    }, async (req, reply) => {
      await svc.engine.guestEvent(req.params.id, req.body.event);
      return reply.code(202).send();
    });

    scope.get('/hosts', async () => ({ hosts: await svc.engine.listHosts() }));
    scope.put<{ Params: { name: string }; Body: { up?: boolean; forced_down?: boolean; disabled?: boolean; disabled_reason?: string | null } }>('/hosts/:name', {
      schema: {
        body: {
          type: 'object', additionalProperties: false, minProperties: 1,
          properties: { up: { type: 'boolean' }, forced_down: { type: 'boolean' }, disabled: { type: 'boolean' }, disabled_reason: { type: ['string', 'null'], maxLength: 255 } },
        },
      },
    }, async (req) => ({ host: await svc.engine.setHost(req.params.name, req.body) }));

    scope.put<{ Body: { time_scale: number } }>('/time-scale', {
      schema: { body: { type: 'object', required: ['time_scale'], additionalProperties: false, properties: { time_scale: { type: 'number', minimum: 0, maximum: 1000 } } } },
    }, async (req) => {
      svc.driver.setTimeScale(req.body.time_scale);
      return { time_scale: req.body.time_scale };
    });

    await registerClock(scope, svc);
    await registerEvents(scope, svc, app);
  }, { prefix: '/novabox/v1' });
}
