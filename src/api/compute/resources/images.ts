// The compute API's image proxy (deprecated; gone at 2.36): Nova's view of the image service's
// images, with Glance's visibility for the caller. Every read and write goes through svc.images,
// as Nova goes through glanceclient with the user's token; Glance's errors become Nova's faults.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../../../novabox.ts';
import { publicUrl } from '../../../config.ts';
import { BadRequest, DomainError, Forbidden, NotFound } from '../../../domain/errors.ts';
import { ServiceError } from '../../faults.ts';
import type { AuthContext } from '../../ports.ts';
import { glanceTime, parseListQuery } from '../../image/index.ts';
import type { Image, ImageOp } from '../../image/model.ts';
import * as P from '../schemas/params.ts';
import { mv } from '../context.ts';
import { nextLink, params, query, route, selfLinks, toBool, validate } from './common.ts';

/** Nova's image status from Glance's. */
export const IMAGE_STATUS: Record<string, string> = {
  active: 'ACTIVE', queued: 'SAVING', saving: 'SAVING', deleted: 'DELETED', pending_delete: 'DELETED', killed: 'ERROR',
};
const PROGRESS: Record<string, number> = { queued: 25, saving: 50, active: 100 };

/** Nova's query names → Glance's list query (`property-*` passes through as a property filter). */
const FILTERS: Record<string, string> = {
  name: 'name', status: 'status', 'changes-since': 'updated_at', server: 'instance_uuid', type: 'image_type', minRam: 'min_ram', minDisk: 'min_disk',
};
/** Glance's page size cap: a longer list is read page by page, as glanceclient does. */
const GLANCE_PAGE = 1000;

const METADATA = { type: 'object', required: ['metadata'], additionalProperties: false, properties: { metadata: P.metadata } };
const META_ITEM = { type: 'object', required: ['meta'], additionalProperties: false, properties: { meta: { ...P.metadata, minProperties: 1, maxProperties: 1 } } };

const imageNotFound = (): NotFound => new NotFound('Image not found.');

/** oslo's validate_integer(min_value=0) as Nova's pagination helpers report it. */
function pageInt(name: string, v: string): number {
  if (!/^\s*[-+]?\d+\s*$/.test(v)) throw new BadRequest(`Invalid input received: ${name} must be an integer`);
  const n = Number(v);
  if (n < 0) throw new BadRequest(`Invalid input received: ${name} must be >= 0`);
  return n;
}

export function registerImages(scope: FastifyInstance, svc: Services): void {
  const creds = (req: FastifyRequest): AuthContext => req.auth as AuthContext;

  /** Runs an image-service call; its Glance-style errors become what Nova answers for them. */
  const glance = async <T>(fn: () => T | Promise<T>, forbidden: (e: ServiceError) => string = (e) => e.message): Promise<T> => {
    try {
      return await fn();
    } catch (e) {
      if (!(e instanceof ServiceError)) throw e;
      if (e.code === 404) throw imageNotFound();
      if (e.code === 403) throw new Forbidden(forbidden(e));
      if (e.code === 400) throw new BadRequest(e.message);
      throw new DomainError(e.code === 409 ? 'conflictingRequest' : 'computeFault', e.code, e.message);
    }
  };
  const notAuthorized = (id: string) => () => `Not authorized for image ${id}.`;
  const show = (req: FastifyRequest, id: string): Promise<Image> => glance(() => svc.images.show(id, creds(req)), notAuthorized(id));

  /** Routes of the proxy: 404 from 2.36 on, as Nova's removed APIs. */
  const proxied = (method: 'GET' | 'PUT' | 'POST' | 'DELETE', path: string, handler: (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>) =>
    route(scope, method, path, async (req, reply) => {
      if (mv(req, 36)) throw new NotFound('The resource could not be found.');
      return handler(req, reply);
    });

  const links = (req: FastifyRequest, id: string): Record<string, string>[] => [
    ...selfLinks(svc, req, 'images', id),
    { rel: 'alternate', type: 'application/vnd.openstack.image', href: `${publicUrl(svc.config)}/image/images/${id}` },
  ];
  const basic = (req: FastifyRequest, img: Image): Record<string, unknown> => ({ id: img.id, name: img.name, links: links(req, img.id) });
  const detail = (req: FastifyRequest, img: Image): Record<string, unknown> => {
    const out: Record<string, unknown> = {
      id: img.id, name: img.name, minRam: img.min_ram, minDisk: img.min_disk, metadata: img.properties,
      created: glanceTime(img.created_at), updated: glanceTime(img.updated_at),
      status: IMAGE_STATUS[img.status] ?? 'UNKNOWN', progress: PROGRESS[img.status] ?? 0,
      // Nova reads an image without a size (a snapshot in progress) as 0.
      'OS-EXT-IMG-SIZE:size': img.size ?? 0,
      links: links(req, img.id),
    };
    const server = img.properties.instance_uuid;
    if (server !== undefined) out.server = { id: server, links: selfLinks(svc, req, 'servers', server) };
    const auto = img.properties.auto_disk_config;
    if (auto !== undefined) out['OS-DCF:diskConfig'] = toBool(auto) ? 'AUTO' : 'MANUAL';
    return out;
  };

  /** Nova's filters and pagination handed to the image service's list, every page up to `limit`. */
  const list = async (req: FastifyRequest): Promise<{ images: Image[]; limit?: number }> => {
    const qs = query(req);
    const last = (k: string): string | undefined => qs[k]?.[qs[k].length - 1];
    const glanceQs: Record<string, string> = {};
    for (const [k, vals] of Object.entries(qs)) {
      const v = vals[vals.length - 1];
      if (k.startsWith('property-')) glanceQs[k.slice('property-'.length)] = v;
      else if (k in FILTERS) glanceQs[FILTERS[k]] = v;
    }
    // `server` may be a server URL: its last segment is the uuid.
    if (glanceQs.instance_uuid?.includes('/')) glanceQs.instance_uuid = glanceQs.instance_uuid.slice(glanceQs.instance_uuid.lastIndexOf('/') + 1);
    if (glanceQs.status !== undefined) glanceQs.status = glanceQs.status.toLowerCase();
    if (glanceQs.updated_at !== undefined) glanceQs.updated_at = `gte:${glanceQs.updated_at}`;
    for (const k of ['limit', 'page_size', 'offset']) if (last(k) !== undefined) pageInt(k, last(k)!);
    // Nova hands Glance a limit only when it is not 0; without one Glance's whole list comes back.
    const limit = last('limit') !== undefined ? pageInt('limit', last('limit')!) || undefined : undefined;
    const lq = await glance(() => parseListQuery(glanceQs));
    lq.marker = last('marker');
    const images: Image[] = [];
    for (;;) {
      lq.limit = Math.min(GLANCE_PAGE, limit === undefined ? GLANCE_PAGE : limit - images.length);
      const pageOf = await glance(() => svc.images.list(creds(req), lq));
      images.push(...pageOf.images);
      if (!pageOf.more || pageOf.images.length === 0 || (limit !== undefined && images.length >= limit)) break;
      lq.marker = pageOf.images[pageOf.images.length - 1].id;
    }
    return { images, limit };
  };

  /** images_links: a next link when the page holds exactly min(limit, max_limit) images. */
  const withLinks = (req: FastifyRequest, path: string, images: Image[], items: Record<string, unknown>[]): Record<string, unknown> => {
    const raw = query(req).limit;
    const maxItems = Math.min(raw ? Number(raw[raw.length - 1]) : svc.config.max_limit, svc.config.max_limit);
    const out: Record<string, unknown> = { images: items };
    if (maxItems > 0 && images.length === maxItems) out.images_links = nextLink(svc, req, path, images, maxItems, images[images.length - 1].id);
    return out;
  };

  proxied('GET', '/images', async (req) => {
    const { images } = await list(req);
    return withLinks(req, 'images', images, images.map((i) => basic(req, i)));
  });
  proxied('GET', '/images/detail', async (req) => {
    const { images } = await list(req);
    return withLinks(req, 'images/detail', images, images.map((i) => detail(req, i)));
  });
  proxied('GET', '/images/:image_id', async (req) => ({ image: detail(req, await show(req, params(req).image_id)) }));
  proxied('DELETE', '/images/:image_id', async (req, reply) => {
    const id = params(req).image_id;
    await glance(() => svc.images.remove(id, creds(req)), () => 'You are not allowed to delete the image.');
    return reply.code(204).send();
  });

  // ---- metadata: the image's properties; writes replace the whole property set, as Nova's purge_props
  const maxItems = async (req: FastifyRequest): Promise<number> => (await svc.engine.quotaLimits(req.auth!.project_id ?? '')).metadata_items ?? 128;
  const writeProperties = async (req: FastifyRequest, img: Image, next: Record<string, string>, quota = true): Promise<Record<string, string>> => {
    const max = quota ? await maxItems(req) : -1;
    if (max >= 0 && Object.keys(next).length > max) throw new Forbidden('Image metadata limit exceeded');
    const ops: ImageOp[] = [
      ...Object.keys(img.properties).filter((k) => !(k in next)).map((attr): ImageOp => ({ op: 'remove', attr })),
      ...Object.entries(next).filter(([k, v]) => img.properties[k] !== v).map(([attr, value]): ImageOp => ({ op: 'add', attr, value })),
    ];
    if (ops.length === 0) return img.properties;
    return (await glance(() => svc.images.update(img.id, creds(req), ops), notAuthorized(img.id))).properties;
  };

  proxied('GET', '/images/:image_id/metadata', async (req) => ({ metadata: (await show(req, params(req).image_id)).properties }));
  proxied('GET', '/images/:image_id/metadata/:key', async (req) => {
    const { image_id, key } = params(req);
    const props = (await show(req, image_id)).properties;
    if (!(key in props)) throw new NotFound('The resource could not be found.');
    return { meta: { [key]: props[key] } };
  });
  proxied('POST', '/images/:image_id/metadata', async (req) => {
    const body = validate<{ metadata: Record<string, string> }>(METADATA, req.body);
    const img = await show(req, params(req).image_id);
    return { metadata: await writeProperties(req, img, { ...img.properties, ...body.metadata }) };
  });
  proxied('PUT', '/images/:image_id/metadata', async (req) => {
    const body = validate<{ metadata: Record<string, string> }>(METADATA, req.body);
    const img = await show(req, params(req).image_id);
    await writeProperties(req, img, body.metadata);
    return { metadata: body.metadata };
  });
  proxied('PUT', '/images/:image_id/metadata/:key', async (req) => {
    const meta = validate<{ meta: Record<string, string> }>(META_ITEM, req.body).meta;
    const { image_id, key } = params(req);
    if (!(key in meta)) throw new BadRequest('Request body and URI mismatch');
    const img = await show(req, image_id);
    await writeProperties(req, img, { ...img.properties, [key]: meta[key] });
    return { meta };
  });
  proxied('DELETE', '/images/:image_id/metadata/:key', async (req, reply) => {
    const { image_id, key } = params(req);
    const img = await show(req, image_id);
    if (!(key in img.properties)) throw new NotFound('Invalid metadata key');
    const { [key]: _gone, ...rest } = img.properties;
    await writeProperties(req, img, rest, false);
    return reply.code(204).send();
  });
}
