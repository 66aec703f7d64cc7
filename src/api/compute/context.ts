// Per-request compute context: microversion, credentials and request id.
import type { FastifyRequest } from 'fastify';
import { Forbidden } from '../../domain/errors.ts';
import { allows, isAdmin, policyMessage } from '../../domain/policy.ts';
import type { Policy } from '../../domain/actions.ts';
import type { RequestContext } from '../../engine/types.ts';
import { atLeast, type Version } from '../microversion.ts';

declare module 'fastify' {
  interface FastifyRequest {
    microversion: Version;
  }
}

export function ctxOf(req: FastifyRequest): RequestContext {
  const a = req.auth!;
  return { user_id: a.user_id, project_id: a.project_id, roles: a.roles, request_id: req.requestId, microversion: req.microversion };
}

export function adminOf(req: FastifyRequest): boolean {
  return req.auth ? isAdmin(req.auth) : false;
}

export function mv(req: FastifyRequest, minor: number): boolean {
  return atLeast(req.microversion, minor);
}

/** Enforce a default policy rule against a target project; 403 with Nova's message otherwise. */
export function authorize(req: FastifyRequest, policy: Policy, rule: string, targetProject?: string): void {
  const project = targetProject ?? req.auth?.project_id ?? '';
  if (!req.auth || !allows(policy, req.auth, { project_id: project })) throw new Forbidden(policyMessage(rule));
}
