// Who may read novabox's own views (dashboard, metrics): anyone when the server is bound to
// loopback, an admin token otherwise. The token may come as X-Auth-Token, `Authorization: Bearer`
// (Prometheus' scrape credentials) or the `novabox_token` cookie the dashboard sets after its
// login form (a browser's EventSource cannot send headers).
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../../novabox.ts';
import { isAdmin } from '../../domain/policy.ts';
import { authRequired, tokenOf } from '../auth.ts';
import { Forbidden } from '../../domain/errors.ts';

export const TOKEN_COOKIE = 'novabox_token';

export function isLoopback(host: string): boolean {
  return /^(127\.|::1$|localhost$|::ffff:127\.)/.test(host);
}

/** The token of a request, from the header, a bearer credential or the dashboard's cookie. */
export function viewerToken(req: FastifyRequest): string {
  const header = tokenOf(req);
  if (header) return header;
  const authz = String(req.headers.authorization ?? '');
  if (/^bearer\s+/i.test(authz)) return authz.replace(/^bearer\s+/i, '').trim();
  for (const part of String(req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === TOKEN_COOKIE) return decodeURIComponent(v.join('='));
  }
  return '';
}

/** onRequest hook: open on loopback, admin token elsewhere. */
export function readAccess(svc: Services): (req: FastifyRequest, reply: FastifyReply) => Promise<void> {
  return async (req) => {
    if (isLoopback(svc.config.host)) return;
    const token = viewerToken(req);
    const auth = token ? await svc.identity.validate(token) : null;
    if (!auth) throw authRequired(svc.config);
    if (!isAdmin(auth)) throw new Forbidden('Only administrators may see the novabox dashboard and metrics.');
    req.auth = auth;
  };
}
