// Keystone v3 subset at /identity. (Placeholder until the identity service lands.)
import type { FastifyInstance } from 'fastify';
import type { Services } from '../../novabox.ts';

export async function registerIdentity(_app: FastifyInstance, _svc: Services): Promise<void> {}
