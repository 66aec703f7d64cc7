// Small helpers shared by the compute side resources: dual routes, validation, times, links, paging.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BadRequest } from '../../../domain/errors.ts';
import type { Services } from '../../../novabox.ts';
import { atLeast } from '../../microversion.ts';
import { parseIsoTime, unexpectedMessage, validateBody, type Schema } from '../schemas/validate.ts';
import { linkBase, nextLink as pageLink, resourceLinks } from '../views/links.ts';
import { isoMicro as serverIsoMicro } from '../views/servers.ts';

type Handler = (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** Registers one route. The compute index registers this whole plugin twice, at /v2.1 and at
 *  /v2.1/{project_id}, and refuses a URL project id that is not the token's. */
export function route(scope: FastifyInstance, method: Method, path: string, handler: Handler): void {
  scope.route({ method, url: path, handler });
}

export function params(req: FastifyRequest): Record<string, string> {
  return req.params as Record<string, string>;
}

/** Query values as lists (Nova keeps every value of a repeated key). */
export function query(req: FastifyRequest): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries((req.query ?? {}) as Record<string, string | string[]>)) {
    out[k] = Array.isArray(v) ? v.map(String) : [String(v)];
  }
  return out;
}

/** The last value of a query key, as Nova's `req.GET.get` returns it. */
export function q1(req: FastifyRequest, key: string): string | undefined {
  const v = query(req)[key];
  return v ? v[v.length - 1] : undefined;
}

// ---------------------------------------------------------------- validation

/** Validates a body against a JSON schema (400 with Nova's message otherwise) and returns it typed. */
export function validate<T>(schema: object, body: unknown): T {
  if (body === undefined) throw new BadRequest('The request body is invalid or missing');
  validateBody(schema as Schema, body);
  return body as T;
}

/** Nova's integer query/body values: ints or strings of ints. */
export function toInt(v: unknown): number | null {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && /^\s*[-+]?\d+\s*$/.test(v)) return Number(v);
  return null;
}

/**
 * A database row id from the URL: the number when `raw` is all digits (a leading minus allowed when
 * `signed`) and fits a stored id, else null. A longer number names no row (Nova's lookup simply finds
 * nothing); passed on, PostgreSQL would refuse it as out of range for its BIGINT ids.
 */
export function rowIdFrom(raw: string, signed = false): number | null {
  if (!(signed ? /^-?\d+$/ : /^\d+$/).test(raw)) return null;
  const n = Number(raw);
  return Number.isSafeInteger(n) ? n : null;
}

/** Nova's boolean strings (oslo strutils.bool_from_string strict). */
export function toBool(v: unknown): boolean | null {
  if (typeof v === 'boolean') return v;
  const s = String(v).trim().toLowerCase();
  if (['1', 't', 'true', 'on', 'y', 'yes'].includes(s)) return true;
  if (['0', 'f', 'false', 'off', 'n', 'no'].includes(s)) return false;
  return null;
}

// ---------------------------------------------------------------- times

/** `YYYY-MM-DDTHH:MM:SS.ffffff` (Nova's naive datetimes from the database). */
export function isoMicro(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : serverIsoMicro(ms);
}

/**
 * Nova's database keeps whole seconds, so a row changed at 12:00:00.7 is 12:00:00 to its filters:
 * changes-since T matches from the first whole second at or after T, changes-before T up to the
 * end of T's second (the boundary second is in both, as in Nova). Bounds in ms for `>=` and `<=`.
 */
export function sinceBound(t: number): number {
  return Math.ceil(t / 1000) * 1000;
}
export function beforeBound(t: number): number {
  return Math.floor(t / 1000) * 1000 + 999;
}

/** Parses changes-since / changes-before (ISO 8601); 400 with Nova's message otherwise. */
export function parseTime(name: string, v: string): number {
  const t = parseIsoTime(v);
  if (t === null) throw new BadRequest(`Invalid input for query parameters ${name}. Value: ${v}. '${v}' is not a 'date-time'`);
  return t;
}

// ---------------------------------------------------------------- links and paging

/** Self and bookmark links of a resource, with the project id segment when the request URL had one. */
export function selfLinks(svc: Services, req: FastifyRequest, collection: string, id: string): { href: string; rel: string }[] {
  return resourceLinks(linkBase(svc.config, req), collection, id).map((l) => ({ href: l.href, rel: l.rel }));
}

/** `<public>/compute/v2.1[/<project>]` and the bookmark root, for links the helpers above do not build. */
export function linkRoots(svc: Services, req: FastifyRequest): { self: string; bookmark: string } {
  const b = linkBase(svc.config, req);
  return { self: `${b.root}/v2.1${b.project}`, bookmark: `${b.root}${b.project}` };
}

/** Nova's `get_limit_and_marker`: limit a non-negative int capped at max_limit. */
export function limitMarker(req: FastifyRequest, maxLimit: number): { limit: number; marker?: string } {
  const rawLimit = q1(req, 'limit');
  let limit = maxLimit;
  if (rawLimit !== undefined) {
    const n = toInt(rawLimit);
    if (n === null) throw new BadRequest('limit param must be an integer');
    if (n < 0) throw new BadRequest('limit param must be positive');
    limit = Math.min(n, maxLimit);
  }
  const marker = q1(req, 'marker');
  return { limit, marker };
}

/** A `rel: next` link for the page when it is full, keeping the other query parameters. */
export function nextLink(svc: Services, req: FastifyRequest, path: string, items: unknown[], limit: number, lastMarker: string | undefined): { href: string; rel: string }[] | undefined {
  if (items.length === 0 || items.length < limit || lastMarker === undefined) return undefined;
  const l = pageLink(linkBase(svc.config, req), path, new Map(Object.entries(query(req))), lastMarker);
  return [{ href: l.href, rel: l.rel }];
}

/** Nova's `common.limited`: `offset` and `limit` (non-negative integers, limit capped at max_limit). */
export function limited<T>(req: FastifyRequest, maxLimit: number, items: T[]): T[] {
  const off = q1(req, 'offset');
  const lim = q1(req, 'limit');
  const offset = off === undefined ? 0 : toInt(off);
  if (offset === null || offset < 0) throw new BadRequest('offset param must be an integer');
  const limit = lim === undefined ? maxLimit : toInt(lim);
  if (limit === null || limit < 0) throw new BadRequest('limit param must be an integer');
  return items.slice(offset, offset + Math.min(limit, maxLimit));
}

/** Pages a sorted list by a key: everything after the marker, then the first `limit`. */
export function page<T>(items: T[], key: (t: T) => string, limit: number, marker: string | undefined, notFound: (m: string) => Error): T[] {
  let start = 0;
  if (marker !== undefined) {
    const i = items.findIndex((t) => key(t) === marker);
    if (i < 0) throw notFound(marker);
    start = i + 1;
  }
  return items.slice(start, start + limit);
}

/** Rejects query parameters not in `allowed` (Nova's additionalProperties: false query schemas). */
export function strictQuery(req: FastifyRequest, allowed: string[]): void {
  const extra = Object.keys(query(req)).filter((k) => !allowed.includes(k));
  if (extra.length) throw new BadRequest(unexpectedMessage(extra));
}

/** From 2.102 every GET refuses unknown query parameters; these routes take none. */
export function noQueryFrom2102(req: FastifyRequest): void {
  if (atLeast(req.microversion, 102)) strictQuery(req, []);
}
