// Authentication in front of the compute and image APIs, as keystonemiddleware does it:
// X-Auth-Token is validated through the identity service and becomes `request.auth`;
// a missing, unknown, expired or revoked token gets Keystone's 401 body.
//
// Use it as a hook of a route plugin. `onRequest` is preferred (a bad token is refused before
// the body is parsed, like keystonemiddleware in front of Nova), `preHandler` also works:
//   app.addHook('onRequest', requireAuth(services));
import type { FastifyReply, FastifyRequest } from 'fastify';
import { publicUrl, type Config } from '../config.ts';
import { errorHandler, ServiceError, serviceError } from './faults.ts';
import type { AuthContext, TokenValidator } from './ports.ts';

export const AUTH_REQUIRED = 'The request you have made requires authentication.';

/** The 401 keystonemiddleware answers with, including where to get a token. */
export function authRequired(config: Config): ServiceError {
  return new ServiceError(401, 'Unauthorized', AUTH_REQUIRED, { 'WWW-Authenticate': `Keystone uri="${publicUrl(config)}/identity"` });
}

export function tokenOf(request: FastifyRequest): string {
  const h = request.headers['x-auth-token'];
  return (Array.isArray(h) ? h[0] : h ?? '').trim();
}

/** Hook factory: sets `request.auth` from X-Auth-Token or answers 401. */
export function requireAuth(services: { config: Config; identity: TokenValidator }): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  return async (request) => {
    const token = tokenOf(request);
    const auth: AuthContext | null = token ? await services.identity.validate(token) : null;
    if (!auth) throw authRequired(services.config);
    request.auth = auth;
  };
}

/**
 * Error handler for the Keystone- and Glance-style services: request errors Fastify raises itself
 * (malformed JSON, unsupported media type, body too large) get their `{"error": …}` body too.
 */
export function serviceErrorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (!(error instanceof ServiceError)) {
    const e = error as { statusCode?: number; code?: string; message?: string };
    if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return errorHandler(serviceError(413, 'Request Entity Too Large'), request, reply);
    if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return errorHandler(serviceError(415, 'Unsupported Content-Type'), request, reply);
    if (e.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return errorHandler(serviceError(400, 'Malformed request body'), request, reply);
    if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) return errorHandler(serviceError(e.statusCode, e.message ?? 'Bad Request'), request, reply);
  }
  return errorHandler(error, request, reply);
}
