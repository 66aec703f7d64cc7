// Builds the HTTP server: one Fastify instance serving identity, image and compute.
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { Services } from '../novabox.ts';
import { errorHandler, sendFault } from './faults.ts';
import type { AuthContext } from './ports.ts';
import { registerIdentity } from './identity/index.ts';
import { registerImage } from './image/index.ts';
import { registerCompute } from './compute/index.ts';
import { registerNovaboxAdmin } from './novabox/index.ts';
import { registerNetwork } from './network/index.ts';

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
    logger: services.config.log_level === 'silent' ? false : { level: services.config.log_level },
    bodyLimit: MAX_BODY,
    genReqId: () => `req-${randomUUID()}`,
    routerOptions: { maxParamLength: 500, ignoreTrailingSlash: true, caseSensitive: true },
  });
  app.decorateRequest('auth', null);
  app.decorateRequest('requestId', '');
  app.addHook('onRequest', async (req) => {
    req.requestId = String(req.id);
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
  await registerNetwork(app, services);
  await registerNovaboxAdmin(app, services);
  return app;
}
