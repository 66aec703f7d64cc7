// Builds the HTTP server: one Fastify instance serving identity, image and compute.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { Services } from '../novabox.ts';
import { errorHandler, sendServiceFault } from './faults.ts';
import { clientErrorResponder } from './client-errors.ts';
import { requireAuth } from './auth.ts';
import { parseJsonBody } from './json.ts';
import type { AuthContext } from './ports.ts';
import { catalogServices, registerIdentity } from './identity/index.ts';
import { publicUrl } from '../config.ts';
import { registerImage } from './image/index.ts';
import { registerCompute } from './compute/index.ts';
import { isPublicControlPath, registerNovaboxAdmin } from './novabox/index.ts';
import { VERSION } from '../version.ts';
import { registerNetwork } from './network/index.ts';
import { registerVolume } from './volume/index.ts';

declare module 'fastify' {
  interface FastifyRequest {
    auth: AuthContext | null;
    requestId: string;
  }
  interface FastifyInstance {
    /** Every route registered (method and URL pattern), for the authorization matrix and the fuzz test. */
    routeTable: RouteRecord[];
  }
}

export interface RouteRecord {
  method: string;
  url: string;
}

/** Nova's max_request_body_size. */
export const MAX_BODY = 114688;
/**
 * URLs behind keystonemiddleware (compute, image, networking, volume) and the novabox admin API: a request without a
 * valid token is refused with 401 before it is routed, parsed or version-negotiated. Version
 * documents stay open (Nova's `/` and `/v2.1/`, Glance's `/` and `/versions`, Neutron's and Cinder's roots). Identity protects its
 * routes one by one (`{ onRequest: auth }`), since Keystone itself authenticates per route.
 */
const PROTECTED = [/^\/compute\/v2\.1\/./, /^\/image\/v2(\/|$)/, /^\/novabox(\/|$)/, /^\/networking\/v2\.0(\/|$)/, /^\/volume\/v3\/./];

export function isProtectedPath(url: string): boolean {
  const path = url.split('?')[0];
  if (isPublicControlPath(path)) return false;
  return PROTECTED.some((re) => re.test(path));
}

/**
 * Trailing slashes as each upstream router has them: Nova, Glance and Cinder route with Routes on
 * exact paths, so `/v2/images/` is a 404 there (after authentication); Keystone strips a trailing
 * slash and Neutron's pecan takes it as the collection, so both answer as without it (the router's
 * ignoreTrailingSlash). Version documents (`/compute/v2.1/`, `/volume/v3/`) answer either way.
 */
const EXACT_PATHS = /^\/(compute|image|volume)\/[^/]+\/./;
/** Nova's version document also answers under a project id (`/v2.1/{project_id}/`). */
const COMPUTE_PROJECT_ROOT = /^\/compute\/v2(\.1)?\/[0-9a-f]{32}\/$/;

export function refusesTrailingSlash(url: string): boolean {
  const path = url.split('?')[0];
  return path.endsWith('/') && EXACT_PATHS.test(path) && !COMPUTE_PROJECT_ROOT.test(path);
}

export async function buildApp(services: Services): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: services.log as FastifyBaseLogger,
    // One line per request is written by the onResponse hook below, not two by Fastify.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: MAX_BODY,
    genReqId: () => `req-${randomUUID()}`,
    routerOptions: { maxParamLength: 500, ignoreTrailingSlash: true, caseSensitive: true },
    // Errors the router raises before any route runs get the owning service's fault body; on a
    // protected path an unauthenticated request still gets its 401 first.
    frameworkErrors: (error, req, reply) => {
      const status = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 404 : error.code === 'FST_ERR_BAD_URL' ? 400 : 500;
      const message = status === 404 ? 'The resource could not be found.' : status === 400 ? 'Malformed request URL' : 'Unexpected error';
      const answer = async (): Promise<void> => {
        if (isProtectedPath(req.url)) await requireAuth(services)(req, reply);
        sendServiceFault(req, reply, status, message);
      };
      answer().catch((e: unknown) => errorHandler(e, req, reply));
    },
    clientErrorHandler: clientErrorResponder,
  });
  app.decorate('routeTable', [] as RouteRecord[]);
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) app.routeTable.push({ method, url: r.url });
  });
  app.decorateRequest('auth', null);
  app.decorateRequest('requestId', '');
  const authenticate = requireAuth(services);
  app.addHook('onRequest', async (req, reply) => {
    req.requestId = String(req.id);
    // Root hook: runs for unknown routes too, before any scope's hooks and before the body is read.
    if (isProtectedPath(req.url)) {
      // As behind keystonemiddleware: the request-id middleware runs first (its headers are on the
      // 401), the API's own (microversion headers) only after authentication.
      reply.header('x-openstack-request-id', req.requestId);
      if (req.url.startsWith('/compute/')) reply.header('x-compute-request-id', req.requestId);
      await authenticate(req, reply);
    }
    if (!reply.sent && refusesTrailingSlash(req.url)) sendServiceFault(req, reply, 404, 'The resource could not be found.');
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
      await services.sql.get('SELECT 1 AS ok');
    } catch (e) {
      return reply.code(503).send({ status: 'unavailable', reason: e instanceof Error ? e.message : String(e) });
    }
    return { status: 'ok', version: VERSION, uptime_s: Math.round(process.uptime()) };
  });
  // The root says where everything is, for a person or a script that starts there.
  app.get('/', async () => {
    const base = publicUrl(services.config);
    const catalog = Object.fromEntries(catalogServices(services.config).map((c) => [c.type, c.url]));
    return { novabox: { version: VERSION, services: catalog, control: `${base}/novabox/v1/`, health: `${base}/healthz` } };
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
    const parsed = parseJsonBody(body);
    if (!parsed.ok) {
      done(Object.assign(new Error('Malformed request body'), { code: 'FST_ERR_CTP_INVALID_JSON_BODY', statusCode: 400 }), undefined);
      return;
    }
    done(null, parsed.value);
  });

  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((req, reply) => sendServiceFault(req, reply, 404, 'The resource could not be found.'));

  await registerIdentity(app, services);
  await registerImage(app, services);
  await registerCompute(app, services);
  await registerNetwork(app, services);
  await registerVolume(app, services);
  await registerNovaboxAdmin(app, services);
  return app;
}
