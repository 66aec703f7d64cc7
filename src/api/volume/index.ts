// Block Storage v3 (Cinder) at /volume: version documents, microversion negotiation, authentication,
// then volumes (with actions and metadata), snapshots, volume types, attachments (3.27+), quotas,
// limits and availability zones, under /volume/v3/{project_id} (devstack's path) and, from 3.67,
// /volume/v3 without it. Faults have Cinder's shape ({"badRequest": {"code", "message"}}).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../../novabox.ts';
import { publicUrl } from '../../config.ts';
import { DomainError } from '../../domain/errors.ts';
import { isAdmin } from '../../domain/policy.ts';
import { errorHandler } from '../faults.ts';
import { requireAuth } from '../auth.ts';
import { PROJECT_SEGMENT } from '../compute/index.ts';
import { fmt, negotiateVolume, requestedVolumeVersion, VOLUME_MAX, VOLUME_MIN, VOLUME_UPDATED, type VolumeVersion } from './microversion.ts';
import { registerVolumeRoutes } from './routes.ts';
import { VolumeFault } from '../../engine/volume.ts';

declare module 'fastify' {
  interface FastifyRequest {
    volumeVersion: VolumeVersion;
  }
}

export async function registerVolume(app: FastifyInstance, svc: Services): Promise<void> {
  app.decorateRequest('volumeVersion', null as never);
  const base = () => `${publicUrl(svc.config)}/volume`;
  const versions = () => ({
    versions: [{
      id: 'v3.0', status: 'CURRENT', version: fmt(VOLUME_MAX), min_version: fmt(VOLUME_MIN), updated: VOLUME_UPDATED,
      links: [{ rel: 'describedby', type: 'text/html', href: 'https://docs.openstack.org/' }, { rel: 'self', href: `${base()}/v3/` }],
      'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.volume+json;version=3' }],
    }],
  });
  // Unversioned: every known version, as 300 Multiple Choices.
  app.get('/volume', async (_req, reply) => reply.code(300).send(versions()));

  await app.register(async (scope) => {
    scope.addHook('onRequest', (req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => {
      const raw = requestedVolumeVersion(req.headers);
      let failure: unknown;
      let version = fmt(VOLUME_MIN);
      try {
        req.volumeVersion = negotiateVolume(raw);
        version = fmt(req.volumeVersion);
      } catch (e) {
        failure = e;
        if (e instanceof DomainError && e.code === 406 && raw) version = raw;
      }
      reply.headers({ 'x-openstack-request-id': req.requestId, 'openstack-api-version': `volume ${version}`, vary: 'OpenStack-API-Version' });
      done(failure as Error | undefined);
    });
    scope.setErrorHandler(errorHandler);
    scope.get('/', async () => versions());

    await scope.register(async (authed) => {
      const authenticate = requireAuth(svc);
      authed.addHook('preHandler', async (req, reply) => {
        await authenticate(req, reply);
        const urlProject = (req.params as { project_id?: string } | undefined)?.project_id;
        if (urlProject !== undefined && urlProject !== req.auth!.project_id) {
          // Admins may name another project where a route takes it in the path (quotas); elsewhere Cinder refuses.
          if (!(isAdmin(req.auth!) && /\/os-quota-sets\//.test(req.url))) throw new VolumeFault(400, 'Malformed request url');
        }
        if (urlProject === undefined && req.volumeVersion[1] < 67) throw new VolumeFault(404, 'The resource could not be found.');
      });
      await authed.register((r) => registerVolumeRoutes(r, svc), { prefix: PROJECT_SEGMENT });
      await authed.register((r) => registerVolumeRoutes(r, svc));
    });
  }, { prefix: '/volume/v3' });
}
