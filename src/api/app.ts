// Builds the HTTP server: one Fastify instance serving identity, image and compute.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { Services } from '../novabox.ts';
import { errorHandler, sendFault } from './faults.ts';
import type { AuthContext } from './ports.ts';
import { registerIdentity } from './identity/index.ts';
import { registerImage } from './image/index.ts';
import { registerCompute } from './compute/index.ts';
import { registerNovaboxAdmin } from './novabox/index.ts';
import { ping } from '../store/maintenance.ts';
import { VERSION } from '../version.ts';

declare module 'fastify' {
  interface FastifyRequest {
    auth: AuthContext | null;
    requestId: string;
  }
}

/** Nova's max_request_body_size. */
export const MAX_BODY = 114688;

export async function buildApp(services: Services): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: services.log as FastifyBaseLogger,
    // One line per request is written by the onResponse hook below, not two by Fastify.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: MAX_BODY,
    genReqId: () => `req-${randomUUID()}`,
    routerOptions: { maxParamLength: 500, ignoreTrailingSlash: true, caseSensitive: true },
  });
  app.decorateRequest('auth', null);
  app.decorateRequest('requestId', '');
  app.addHook('onRequest', async (req) => {
    req.requestId = String(req.id);
  });
  if (services.log.isLevelEnabled('info')) {
    app.addHook('onResponse', async (req, reply) => {
      const ms = Math.round(reply.elapsedTime * 10) / 10;
      const path = req.url;
      req.log.info({ method: req.method, path, status: reply.statusCode, duration_ms: ms, req_id: req.id }, `${req.method} ${path} ${reply.statusCode} ${ms} ms ${req.id}`);
    });
  }

  // Readiness for scripts and CI jobs: 200 once serving with a working database, 503 while stopping.
  let stopping = false;
  app.addHook('preClose', async () => {
    stopping = true;
  });
  app.get('/healthz', async (_req, reply) => {
    try {
      if (stopping) throw new Error('stopping');
      ping(services.db);
    } catch (e) {
      return reply.code(503).send({ status: 'unavailable', reason: e instanceof Error ? e.message : String(e) });
    }
    return { status: 'ok', version: VERSION, uptime_s: Math.round(process.uptime()) };
  });

  // JSON for application/json, Nova's vendor type, no type and text/plain; anything else is 415.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (req: FastifyRequest, body: string, done) => {
    const ct = String(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    const jsonish = ct === '' || ct === 'application/json' || ct === 'text/plain' || ct.endsWith('+json');
    if (ct === 'application/octet-stream' && req.url.startsWith('/image/')) {
      done(null, Buffer.from(body, 'latin1'));
      return;
    }
    if (!jsonish) {
      done(Object.assign(new Error('Unsupported Content-Type'), { code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE', statusCode: 415 }), undefined);
      return;
    }
    if (body === '') return done(null, undefined);
    try {
      done(null, JSON.parse(body));
    } catch {
      done(Object.assign(new Error('Malformed request body'), { code: 'FST_ERR_CTP_INVALID_JSON_BODY', statusCode: 400 }), undefined);
    }
  });

  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((req, reply) => sendFault(reply, 404, 'The resource could not be found.'));

  await registerIdentity(app, services);
  await registerImage(app, services);
  await registerCompute(app, services);
  await registerNovaboxAdmin(app, services);
  return app;
}
