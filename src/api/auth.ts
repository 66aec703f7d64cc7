// Authentication in front of the compute and image APIs, as keystonemiddleware does it:
// X-Auth-Token is validated through the identity service and becomes `request.auth`;
// a missing, unknown, expired or revoked token gets Keystone's 401 body.
//
// Use it as a hook of a route plugin. `onRequest` is preferred (a bad token is refused before
// the body is parsed, like keystonemiddleware in front of Nova), `preHandler` also works:
//   app.addHook('onRequest', requireAuth(services));
import type { FastifyReply, FastifyRequest } from 'fastify';
import { publicUrl, type Config } from '../config.ts';
import { DomainError } from '../domain/errors.ts';
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
    if (request.auth) return; // already authenticated (the root hook of protected paths)
    const token = tokenOf(request);
    const auth: AuthContext | null = token ? await services.identity.validate(token) : null;
    if (!auth) throw authRequired(services.config);
    request.auth = auth;
  };
}

/**
 * Error handler for the Keystone- and Glance-style services: errors raised by shared code (the
 * compute domain's, Fastify's own) get their `{"error": …}` body too (errorHandler picks the shape
 * by URL for everything else).
 */
export function serviceErrorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error instanceof DomainError) return errorHandler(serviceError(error.code, error.message), request, reply);
  return errorHandler(error, request, reply);
}
