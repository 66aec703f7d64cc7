// Glance v2 subset at /image. (Placeholder until the image service lands.)
import type { FastifyInstance } from 'fastify';
import type { Services } from '../../novabox.ts';

export async function registerImage(_app: FastifyInstance, _svc: Services): Promise<void> {}
