// The one place where errors become Nova fault bodies.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, type FaultKind } from '../domain/errors.ts';

const KIND_BY_CODE: Record<number, FaultKind> = {
  400: 'badRequest', 401: 'unauthorized', 403: 'forbidden', 404: 'itemNotFound', 405: 'badMethod',
  409: 'conflictingRequest', 413: 'overLimit', 415: 'badMediaType', 429: 'overLimit', 501: 'notImplemented',
};

export function faultBody(code: number, message: string, kind?: FaultKind): Record<string, { code: number; message: string }> {
  const key = kind ?? KIND_BY_CODE[code] ?? (code === 503 ? 'serviceUnavailable' : 'computeFault');
  return { [key]: { code, message } };
}

export function sendFault(reply: FastifyReply, code: number, message: string, kind?: FaultKind): FastifyReply {
  return reply.code(code).header('content-type', 'application/json; charset=UTF-8').send(faultBody(code, message, kind));
}

/** Keystone/Glance style error body: {"error": {"code", "title", "message"}}. */
export class ServiceError extends Error {
  constructor(readonly code: number, readonly title: string, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

const TITLES: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 406: 'Not Acceptable',
  408: 'Request Timeout', 409: 'Conflict', 413: 'Request Entity Too Large', 414: 'Request-URI Too Long', 415: 'Unsupported Media Type',
  431: 'Request Header Fields Too Large', 500: 'Internal Server Error',
};

export function serviceError(code: number, message: string): ServiceError {
  return new ServiceError(code, TITLES[code] ?? 'Error', message);
}

/** Which service's fault shape a URL gets: Keystone's and Glance's `{"error": …}`, Neutron's or Nova's. */
export type FaultStyle = 'nova' | 'keystone' | 'neutron';

export function faultStyleOf(url: string): FaultStyle {
  if (url.startsWith('/networking')) return 'neutron';
  return url.startsWith('/identity') || url.startsWith('/image') ? 'keystone' : 'nova';
}

/** The webob exception class Neutron names in `type` for a status it raises without its own class. */
const NEUTRON_TYPES: Record<number, string> = {
  400: 'HTTPBadRequest', 401: 'HTTPUnauthorized', 403: 'HTTPForbidden', 404: 'HTTPNotFound', 405: 'HTTPMethodNotAllowed',
  409: 'HTTPConflict', 413: 'HTTPRequestEntityTooLarge', 415: 'HTTPUnsupportedMediaType', 500: 'HTTPInternalServerError',
};

/** Neutron's fault body: {"NeutronError": {"type", "message", "detail"}}. */
export function neutronErrorBody(code: number, message: string, type?: string): { NeutronError: { type: string; message: string; detail: string } } {
  return { NeutronError: { type: type ?? NEUTRON_TYPES[code] ?? 'HTTPError', message, detail: '' } };
}

/** The error body of the service that owns `url`, as JSON text (never throws, whatever the message). */
export function faultText(url: string, code: number, message: string): string {
  const msg = String(message).slice(0, 1024);
  const style = faultStyleOf(url);
  if (style === 'neutron') return JSON.stringify(neutronErrorBody(code, code === 500 ? UNEXPECTED_NEUTRON : msg));
  return JSON.stringify(style === 'keystone' ? { error: { code, title: TITLES[code] ?? 'Error', message: msg } } : faultBody(code, msg));
}

/** Sends the error body of the service that owns the request's URL. */
export function sendServiceFault(request: FastifyRequest, reply: FastifyReply, code: number, message: string): FastifyReply {
  return reply.code(code).header('content-type', 'application/json; charset=UTF-8').send(faultText(request.url, code, message));
}

export const UNEXPECTED_NOVA = 'Unexpected API Error. Please report this at http://bugs.launchpad.net/nova/ and attach the Nova API log if possible.';
export const UNEXPECTED_KEYSTONE = 'An unexpected error prevented the server from fulfilling your request.';
export const UNEXPECTED_NEUTRON = 'Request Failed: internal server error while processing your request.';

/** Maps any thrown error to a response in the style of the service the route belongs to. */
export function errorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  try {
    return mapError(error, request, reply);
  } catch {
    // Formatting itself failed (a pathological message or body): a fixed body still goes out.
    return reply.code(500).header('content-type', 'application/json; charset=UTF-8').send(faultText(request.url, 500, faultStyleOf(request.url) === 'keystone' ? UNEXPECTED_KEYSTONE : UNEXPECTED_NOVA));
  }
}

function mapError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error instanceof ServiceError) {
    for (const [k, v] of Object.entries(error.headers)) reply.header(k, v);
    return reply.code(error.code).header('content-type', 'application/json').send({ error: { code: error.code, title: error.title, message: error.message } });
  }
  if (error instanceof DomainError) return sendFault(reply, error.code, error.message, error.kind);
  const e = error as { statusCode?: number; code?: string; message?: string; validation?: unknown };
  const keystone = faultStyleOf(request.url) === 'keystone';
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return sendServiceFault(request, reply, 413, keystone || faultStyleOf(request.url) === 'neutron' ? 'Request Entity Too Large' : 'Request is too large. Larger than max_request_body_size (114688).');
  if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return sendServiceFault(request, reply, 415, 'Unsupported Content-Type');
  if (e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || e.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || (e.statusCode === 400 && e instanceof SyntaxError)) {
    return sendServiceFault(request, reply, 400, 'Malformed request body');
  }
  if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) return sendServiceFault(request, reply, e.statusCode, typeof e.message === 'string' ? e.message : 'Bad Request');
  request.log.error({ err: error }, 'unexpected error');
  return sendServiceFault(request, reply, 500, faultStyleOf(request.url) === 'keystone' ? UNEXPECTED_KEYSTONE : UNEXPECTED_NOVA);
}
