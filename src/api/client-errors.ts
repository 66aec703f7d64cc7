// Requests Node's HTTP parser refuses before Fastify sees them (a request line or headers over the
// 16 KB limit, a NUL or other invalid byte in a header, a malformed request line, a timeout) are
// answered with a well-formed response in the fault shape of the service the URL names, as far as
// the bytes received tell it, then the connection is closed.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { faultText } from './faults.ts';

const MESSAGES: Record<number, string> = {
  400: 'Malformed request',
  408: 'Request timed out',
  414: 'Request URL is too long',
  431: 'Request header fields are too large',
};

/** eventlet's limit on the request line in front of Nova: longer is 414, as there. */
const MAX_REQUEST_LINE = 8192;

/** The status for a parser error: 414 when even the request line did not fit, 431 for headers. */
type ParserError = Error & { code?: string; rawPacket?: unknown };

const rawOf = (err: ParserError): Buffer | undefined => (Buffer.isBuffer(err.rawPacket) ? err.rawPacket : undefined);

export function clientErrorStatus(err: ParserError): number {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return 408;
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    const raw = rawOf(err)?.toString('latin1') ?? '';
    const eol = raw.indexOf('\n');
    return eol === -1 || eol > MAX_REQUEST_LINE ? 414 : 431;
  }
  return 400;
}

/** The request path as far as the received bytes show it ('' when unknown). */
function pathOf(rawPacket: Buffer | undefined): string {
  const line = (rawPacket?.toString('latin1', 0, 512) ?? '').split(/\r?\n/)[0];
  return line.split(' ')[1] ?? '';
}

/** Fastify's `clientErrorHandler` (the server's 'clientError' event). */
export function clientErrorResponder(err: ParserError, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const status = clientErrorStatus(err);
  const body = faultText(pathOf(rawOf(err)), status, MESSAGES[status]);
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=UTF-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy();
}
