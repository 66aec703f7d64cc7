// novabox's own control API at /novabox/v1: inject faults into the simulated driver, make guests shut
// down or crash, take hosts down, change step timings, go back to the seed, move the manual clock,
// follow the engine's events. Admin tokens only, except
// the index at GET /novabox/v1/, which lists every route registered under the prefix (so routes added
// by other modules appear in it by themselves).
//
// To add routes: write `export async function myRoutes(scope: FastifyInstance, svc: Services)` in a
// file of its own and add it to ADMIN_ROUTES (admin token required) or PUBLIC_ROUTES below. Give each
// route `schema: { description: '…' }`: the index shows it.
import type { FastifyInstance, FastifySchemaValidationError } from 'fastify';
import type { Services } from '../../novabox.ts';
import { requireAuth } from '../auth.ts';
import { Forbidden, NotFound } from '../../domain/errors.ts';
import { isAdmin } from '../../domain/policy.ts';
import { DRIVER_OPS, PUBLIC_ACTIONS } from '../../domain/actions.ts';
import { TIMING_PROFILES, type TimingProfile } from '../../config.ts';
import { resetCloud } from '../../reset.ts';
import { VERSION } from '../../version.ts';
import { BLOCK_OPS, VOLUME_ACTION_NAMES } from '../../domain/volume/actions.ts';
import { registerClock } from './clock.ts';
import { registerEvents } from './events.ts';
import { registerMetrics } from './metrics.ts';
import { registerDashboard } from './dashboard.ts';

declare module 'fastify' {
  interface FastifySchema {
    /** One line for the control API index (the @fastify/swagger convention). */
    description?: string;
  }
}

/** Adds routes to `scope` (under /novabox/v1); `app` is the root instance, for hooks that must see every request. */
export type ControlRoutes = (scope: FastifyInstance, svc: Services, app: FastifyInstance) => Promise<void>;

export const PREFIX = '/novabox/v1';

// Server actions and driver ops, and the volume engine's (its tasks are named after the volume action table's rows).
const FAULT_ACTIONS = [...new Set([...PUBLIC_ACTIONS, ...VOLUME_ACTION_NAMES, 'create_snapshot', 'delete_snapshot', '*'])];
const FAULT_OPS = [...new Set([...Object.keys(DRIVER_OPS), ...Object.keys(BLOCK_OPS), '*'])];

const faultSchema = {
  description: `Make the next matching driver step fail. action: one of ${FAULT_ACTIONS.join(', ')}; op: one of ${FAULT_OPS.join(', ')}`,
  body: {
    type: 'object',
    required: ['action', 'op'],
    additionalProperties: false,
    properties: {
      action: { type: 'string', enum: FAULT_ACTIONS },
      op: { type: 'string', enum: FAULT_OPS },
      server_uuid: { type: 'string', format: 'uuid' },
      message: { type: 'string', minLength: 1, maxLength: 255 },
      code: { type: 'integer', minimum: 400, maximum: 599 },
      times: { type: 'integer', minimum: 1, maximum: 1000000 },
    },
  },
} as const;

async function faultRoutes(scope: FastifyInstance, svc: Services): Promise<void> {
  scope.get('/faults', { schema: { description: 'Pending injected faults' } }, async () => ({ faults: svc.driver.listFaults() }));
  scope.post('/faults', { schema: faultSchema }, async (req, reply) => {
    const id = svc.driver.inject(req.body as Parameters<typeof svc.driver.inject>[0]);
    return reply.code(201).send({ fault: svc.driver.listFaults().find((f) => f.id === id) });
  });
  scope.delete('/faults', { schema: { description: 'Clear every pending fault' } }, async (_req, reply) => {
    svc.driver.clearFaults();
    return reply.code(204).send();
  });
}

async function guestRoutes(scope: FastifyInstance, svc: Services): Promise<void> {
  scope.post<{ Params: { id: string }; Body: { event: 'shutdown' | 'crash' } }>('/servers/:id/guest', {
    schema: {
      description: 'The guest shuts down or crashes on its own ({"event": "shutdown" | "crash"}); power sync makes the server SHUTOFF',
      body: { type: 'object', required: ['event'], additionalProperties: false, properties: { event: { type: 'string', enum: ['shutdown', 'crash'] } } },
    },
  }, async (req, reply) => {
    await svc.engine.guestEvent(req.params.id, req.body.event);
    return reply.code(202).send();
  });
}

async function hostRoutes(scope: FastifyInstance, svc: Services): Promise<void> {
  scope.get('/hosts', { schema: { description: 'The simulated compute hosts' } }, async () => ({ hosts: await svc.engine.listHosts() }));
  scope.get<{ Params: { name: string } }>('/hosts/:name', { schema: { description: 'One compute host' } }, async (req) => {
    const host = (await svc.engine.listHosts()).find((h) => h.name === req.params.name);
    if (!host) throw new NotFound(`Compute host ${req.params.name} could not be found.`);
    return { host };
  });
  scope.put<{ Params: { name: string }; Body: { up?: boolean; forced_down?: boolean; disabled?: boolean; disabled_reason?: string | null } }>('/hosts/:name', {
    schema: {
      description: 'Take a host down ({"up": false}: it stops reporting, its steps wait) or force it down, disable it',
      body: {
        type: 'object', additionalProperties: false, minProperties: 1,
        properties: { up: { type: 'boolean' }, forced_down: { type: 'boolean' }, disabled: { type: 'boolean' }, disabled_reason: { type: ['string', 'null'], maxLength: 255 } },
      },
    },
  }, async (req) => ({ host: await svc.engine.setHost(req.params.name, req.body) }));
}

async function timingRoutes(scope: FastifyInstance, svc: Services): Promise<void> {
  scope.get('/time-scale', { schema: { description: 'The multiplier of every simulated step duration' } }, async () => ({ time_scale: svc.driver.timeScale }));
  scope.put<{ Body: { time_scale: number } }>('/time-scale', {
    schema: {
      description: 'Change the multiplier of step durations at run time (0 = instant)',
      body: { type: 'object', required: ['time_scale'], additionalProperties: false, properties: { time_scale: { type: 'number', minimum: 0, maximum: 1000 } } },
    },
  }, async (req) => {
    svc.driver.setTimeScale(req.body.time_scale);
    return { time_scale: req.body.time_scale };
  });
  scope.get('/timings', { schema: { description: `The timing profile (${TIMING_PROFILES.join(', ')}) and the time scale` } }, async () => ({ timings: svc.driver.timings, time_scale: svc.driver.timeScale }));
  scope.put<{ Body: { timings: TimingProfile } }>('/timings', {
    schema: {
      description: `Change the timing profile at run time: ${TIMING_PROFILES.join(', ')}`,
      body: { type: 'object', required: ['timings'], additionalProperties: false, properties: { timings: { type: 'string', enum: [...TIMING_PROFILES] } } },
    },
  }, async (req) => {
    svc.driver.setTimings(req.body.timings);
    return { timings: svc.driver.timings, time_scale: svc.driver.timeScale };
  });
}

async function resetRoutes(scope: FastifyInstance, svc: Services): Promise<void> {
  scope.post('/reset', { schema: { description: 'Back to the seed: every server, image, user, project and token made since is gone' } }, async () => {
    const summary = await resetCloud(svc);
    return { reset: { ...summary, message: 'Back to the seed. Every token was revoked: authenticate again.' } };
  });
}

/** Route modules that need an admin token: one line each. */
export const ADMIN_ROUTES: ControlRoutes[] = [faultRoutes, guestRoutes, hostRoutes, timingRoutes, resetRoutes, registerClock, registerEvents];
/** Route modules anyone may call. */
export const PUBLIC_ROUTES: ControlRoutes[] = [];

/** Paths under /novabox/v1 that need no token (the index and PUBLIC_ROUTES' static paths): the root auth hook lets them through. */
const publicPaths = new Set<string>();

export function isPublicControlPath(path: string): boolean {
  return publicPaths.has(path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path);
}

interface IndexEntry { method: string; path: string; description: string | null; admin: boolean }

/** `body/op must be one of: a, b` rather than ajv's "must be equal to one of the allowed values". */
function schemaErrorMessage(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const parts = errors.map((e) => {
    const where = `${dataVar}${e.instancePath}`;
    const p = e.params as Record<string, unknown>;
    if (e.keyword === 'enum') return `${where} must be one of: ${(p.allowedValues as unknown[]).join(', ')}`;
    return `${where} ${e.message ?? 'is invalid'}`;
  });
  return new Error(parts.join('; '));
}

export async function registerNovaboxAdmin(app: FastifyInstance, svc: Services): Promise<void> {
  await registerMetrics(app, svc);
  await registerDashboard(app, svc);
  const routes: IndexEntry[] = [];
  await app.register(async (root) => {
    root.setSchemaErrorFormatter(schemaErrorMessage);
    let admin = false;
    root.addHook('onRoute', (r) => {
      const methods = (Array.isArray(r.method) ? r.method : [r.method]).filter((m) => m !== 'HEAD');
      const schema = r.schema;
      for (const method of methods) routes.push({ method, path: r.url, description: schema?.description ?? null, admin });
      if (!admin && !r.url.includes(':') && !r.url.includes('*')) publicPaths.add(r.url.length > 1 && r.url.endsWith('/') ? r.url.slice(0, -1) : r.url);
    });
    root.get('/', { schema: { description: 'This index' } }, async () => ({
      novabox: {
        version: VERSION,
        description: 'novabox control API: admin token (X-Auth-Token) required where admin is true',
        routes: [...routes].sort((a, b) => a.path.localeCompare(b.path) || a.method.localeCompare(b.method)),
        fault_actions: FAULT_ACTIONS,
        fault_ops: FAULT_OPS,
        timings: TIMING_PROFILES,
      },
    }));
    for (const m of PUBLIC_ROUTES) await m(root, svc, app);
    admin = true;
    await root.register(async (scope) => {
      scope.addHook('onRequest', requireAuth(svc));
      // Admin check before the body is validated: a member learns nothing from a schema error.
      scope.addHook('onRequest', async (req) => {
        if (!isAdmin(req.auth!)) throw new Forbidden('Only administrators may use the novabox admin API.');
      });
      for (const m of ADMIN_ROUTES) await m(scope, svc, app);
    });
  }, { prefix: PREFIX });
}
