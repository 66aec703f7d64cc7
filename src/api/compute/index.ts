// Nova v2.1 at /compute: version documents, microversion negotiation, authentication, then routes.
//
// For the compute resources (src/api/compute/resources/**):
// - Every route plugin below is registered twice: at /compute/v2.1 and at /compute/v2.1/{project_id}
//   (Nova routes both; a project id segment is `[0-9a-f-]+`, see PROJECT_SEGMENT). The preHandler refuses a URL project id that differs from the token's, so
//   plugins must be safe to register twice (no global decorators) and never need to look at it.
// - Networks are Neutron's (src/api/network): a server's NICs come from ./server-network.ts; devstack's
//   seeded `private` is the demo project's and not shared (its id is SEED_IDS.private, a name-based
//   UUID v5 like PRIVATE_NETWORK_ID in ./network.ts).
// - Server views per microversion live in ./views/servers.ts (detailView, minimalView, viewContext
//   in ./servers.ts builds what they need); links (self/bookmark, next) in ./views/links.ts.
// - Extra /action keys (e.g. os-getVNCConsole) go into `extraActions` of ./server-actions.ts.
// - Body schemas and Nova's 400 messages: validateBody(schema, body) from ./schemas/validate.ts.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../../novabox.ts';
import { publicUrl } from '../../config.ts';
import { BadRequest, DomainError } from '../../domain/errors.ts';
import { errorHandler } from '../faults.ts';
import { requireAuth } from '../auth.ts';
import { formatVersion, MAX_VERSION, MIN_VERSION, negotiate, requestedVersion } from '../microversion.ts';
import { registerComputeResources } from './resources/index.ts';
import { registerServers } from './servers.ts';
import { registerServerActions } from './server-actions.ts';

/** Nova's ProjectMapper: a leading segment is a project id only when it is hex digits and dashes,
 *  so `/images`, `/flavors`… stay routes of their own and unknown words fall through to a 404. */
export const PROJECT_SEGMENT = '/:project_id(^[0-9a-f-]+$)';

export async function registerCompute(app: FastifyInstance, svc: Services): Promise<void> {
  app.decorateRequest('microversion', null as never);
  const base = () => `${publicUrl(svc.config)}/compute`;

  const v21 = () => ({
    id: 'v2.1', status: 'CURRENT', version: formatVersion(MAX_VERSION), min_version: formatVersion(MIN_VERSION),
    updated: '2013-07-23T11:33:21Z',
    links: [{ rel: 'self', href: `${base()}/v2.1/` }],
  });
  const v20 = () => ({ id: 'v2.0', status: 'DEPRECATED', version: '', min_version: '', updated: '2025-07-04T12:00:00Z', links: [{ rel: 'self', href: `${base()}/v2/` }] });
  app.get('/compute', async () => ({ versions: [v20(), v21()] }));
  // The legacy v2.0 endpoint's version document (the versions list links to it).
  app.get('/compute/v2', async () => ({
    version: {
      ...v20(),
      links: [...v20().links, { rel: 'describedby', type: 'text/html', href: 'http://docs.openstack.org/' }],
      'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.compute+json;version=2' }],
    },
  }));

  await app.register(async (scope) => {
    // Every /v2.1 response carries the version headers, errors included.
    scope.addHook('onRequest', (req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => {
      const raw = requestedVersion(req.headers);
      let version: string;
      let failure: unknown;
      try {
        req.microversion = negotiate(raw);
        version = formatVersion(req.microversion);
      } catch (e) {
        failure = e;
        // The 406 still echoes the requested version, as Nova's does.
        version = e instanceof DomainError && e.code === 406 && raw ? raw : formatVersion(MIN_VERSION);
      }
      reply.headers({
        'x-openstack-request-id': req.requestId,
        'x-compute-request-id': req.requestId,
        vary: 'OpenStack-API-Version, X-OpenStack-Nova-API-Version',
        'openstack-api-version': `compute ${version}`,
        'x-openstack-nova-api-version': version,
      });
      done(failure as Error | undefined);
    });
    scope.setErrorHandler(errorHandler);

    const versionDoc = () => ({
      version: {
        ...v21(),
        links: [{ rel: 'self', href: `${base()}/v2.1/` }, { rel: 'describedby', type: 'text/html', href: 'http://docs.openstack.org/' }],
        'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.compute+json;version=2.1' }],
      },
    });
    scope.get('/', async () => versionDoc());

    await scope.register(async (authed) => {
      const authenticate = requireAuth(svc);
      authed.addHook('preHandler', async (req, reply) => {
        await authenticate(req, reply);
        const auth = req.auth!;
        const urlProject = (req.params as { project_id?: string } | undefined)?.project_id;
        if (urlProject !== undefined && urlProject !== auth.project_id) {
          throw new BadRequest(`Malformed request URL: URL's project_id '${urlProject}' doesn't match Context's project_id '${auth.project_id}'`);
        }
      });
      const routes = async (r: FastifyInstance) => {
        await registerServers(r, svc);
        await registerServerActions(r, svc);
        await registerComputeResources(r, svc);
      };
      await authed.register(routes);
      await authed.register(routes, { prefix: PROJECT_SEGMENT });
      // GET /v2.1/{project_id}/ answers the version document, authenticated.
      authed.get(PROJECT_SEGMENT, async () => versionDoc());
    });
  }, { prefix: '/compute/v2.1' });
}
