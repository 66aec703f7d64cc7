// Nova v2.1 at /compute. (Placeholder until the compute API lands.)
import type { FastifyInstance } from 'fastify';
import type { Services } from '../../novabox.ts';

export async function registerCompute(_app: FastifyInstance, _svc: Services): Promise<void> {}
