// JSON-schema validation of compute bodies and queries with Nova's error messages
// (nova/api/validation/validators.py renders jsonschema errors; we render ajv's the same way).
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsImport from 'ajv-formats';
import { BadRequest } from '../../../domain/errors.ts';

export type Schema = Record<string, unknown>;

const NAME_MESSAGE = "An invalid 'name' value was provided. The name must be: printable characters. Can not start or end with whitespace.";
const NAME_WS_MESSAGE = "An invalid 'name' value was provided. The name must be: printable characters with at least one non space character";

/** Python's repr of a JSON value, as jsonschema prints instances. */
export function pyRepr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(v).includes('.') || String(v).includes('e') ? String(v) : `${v}.0`;
  if (typeof v === 'string') {
    const useDouble = v.includes("'") && !v.includes('"');
    const q = useDouble ? '"' : "'";
    let out = '';
    for (const ch of v) {
      if (ch === '\\') out += '\\\\';
      else if (ch === q) out += `\\${q}`;
      else if (ch === '\n') out += '\\n';
      else if (ch === '\r') out += '\\r';
      else if (ch === '\t') out += '\\t';
      else if (ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f) out += `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`;
      else out += ch;
    }
    return q + out + q;
  }
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  if (typeof v === 'object') return `{${Object.entries(v as object).map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`).join(', ')}}`;
  return String(v);
}

/** Python's str(): strings bare, everything else as repr. */
export function pyStr(v: unknown): string {
  return typeof v === 'string' ? v : pyRepr(v);
}

function isPrintable(ch: string): boolean {
  // Unicode categories C* (control, format, unassigned, private) and Z* other than Zs are not printable.
  return !/[\p{C}\p{Zl}\p{Zp}]/u.test(ch);
}

export function validName(s: string): boolean {
  for (const ch of s) if (!isPrintable(ch)) return false;
  return !/^\p{Zs}/u.test(s) && !/\p{Zs}$/u.test(s);
}

function validNameWithSpaces(s: string): boolean {
  for (const ch of s) if (!isPrintable(ch)) return false;
  return /[^\p{Zs}]/u.test(s);
}

const UUID_RE = /^(\{)?[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}(\})?$/;
export function isUuidLike(s: string): boolean {
  const m = UUID_RE.exec(s);
  return m !== null && Boolean(m[1]) === Boolean(m[2]) && s.replace(/[{}-]/g, '').length === 32;
}

/** Python's base64.b64decode without validate: non-alphabet characters are dropped, padding must fit. */
export function decodeBase64(s: string): Buffer | null {
  const clean = s.replace(/[^A-Za-z0-9+/=]/g, '');
  const body = clean.replace(/=+$/, '');
  if (body.includes('=')) return null;
  if (body.length % 4 === 1) return null;
  const padded = clean.length % 4 === 0 ? clean : null;
  if (padded === null) return null;
  return Buffer.from(body, 'base64');
}

/** ISO 8601 as oslo's parse_isotime accepts it (dates, times with optional fraction and zone). */
const ISO_RE = /^(\d{4})-?(\d{2})-?(\d{2})(?:[T ](\d{2}):?(\d{2})(?::?(\d{2})(?:[.,](\d+))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;
export function parseIsoTime(s: string): number | null {
  const m = ISO_RE.exec(s.trim());
  if (!m) return null;
  const [, y, mo, d, h = '00', mi = '00', sec = '00', frac = '', zone] = m;
  const ms = frac ? Number(`0.${frac}`) * 1000 : 0;
  let t = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec), Math.floor(ms));
  const probe = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
  if (probe.getUTCMonth() !== Number(mo) - 1 || Number(h) > 23 || Number(mi) > 59 || Number(sec) > 60) return null;
  if (zone && zone.toUpperCase() !== 'Z') {
    const zm = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone)!;
    const off = (Number(zm[2]) * 60 + Number(zm[3] ?? 0)) * 60000;
    t += zm[1] === '+' ? -off : off;
  }
  return Number.isNaN(t) ? null : t;
}

function validRegex(s: string): boolean {
  if (s === '') return false;
  try {
    new RegExp(s, 'u');
    return true;
  } catch {
    try {
      new RegExp(s);
      return true;
    } catch {
      return false;
    }
  }
}

const ajv = new Ajv({ allErrors: false, strict: false, verbose: true, validateFormats: true });
const addFormats = (addFormatsImport as unknown as { default?: typeof addFormatsImport }).default ?? addFormatsImport;
(addFormats as unknown as (a: Ajv, f: string[]) => void)(ajv, ['ipv4', 'ipv6']);
ajv.addFormat('uuid', { type: 'string', validate: isUuidLike });
ajv.addFormat('name', { type: 'string', validate: validName });
ajv.addFormat('name_with_leading_trailing_spaces', { type: 'string', validate: validNameWithSpaces });
ajv.addFormat('base64', { type: 'string', validate: (s: string) => decodeBase64(s) !== null });
ajv.addFormat('date-time', { type: 'string', validate: (s: string) => parseIsoTime(s) !== null });
ajv.addFormat('regex', { type: 'string', validate: validRegex });

const compiled = new WeakMap<Schema, ValidateFunction>();
function compile(schema: Schema): ValidateFunction {
  let v = compiled.get(schema);
  if (!v) {
    v = ajv.compile(schema);
    compiled.set(schema, v);
  }
  return v;
}

function lastSegment(pointer: string): string {
  const parts = pointer.split('/');
  return (parts[parts.length - 1] ?? '').replace(/~1/g, '/').replace(/~0/g, '~');
}

function typeNames(t: unknown): string {
  const list = Array.isArray(t) ? t : String(t).split(',');
  return list.map((x) => pyRepr(x)).join(', ');
}

/** jsonschema's message for one ajv error (the instance is error.data). */
function message(e: ErrorObject): string {
  const d = e.data;
  const p = e.params as Record<string, unknown>;
  const ps = (e.parentSchema ?? {}) as Schema;
  switch (e.keyword) {
    case 'required': return `${pyRepr(p.missingProperty)} is a required property`;
    case 'additionalProperties': {
      const props = Object.keys((ps.properties as object) ?? {});
      const patterns = Object.keys((ps.patternProperties as object) ?? {});
      const extras = Object.keys(d as object).filter((k) => !props.includes(k) && !patterns.some((re) => new RegExp(re, 'u').test(k)));
      if (patterns.length) {
        return `${extras.sort().map(pyRepr).join(', ')} ${extras.length === 1 ? 'does' : 'do'} not match any of the regexes: ${patterns.sort().map(pyRepr).join(', ')}`;
      }
      return `Additional properties are not allowed (${extras.map(pyRepr).join(', ')} ${extras.length === 1 ? 'was' : 'were'} unexpected)`;
    }
    case 'type': return `${pyRepr(d)} is not of type ${typeNames(p.type)}`;
    case 'minLength': case 'minItems': return `${pyRepr(d)} is too short`;
    case 'maxLength': case 'maxItems': return `${pyRepr(d)} is too long`;
    case 'pattern': return `${pyRepr(d)} does not match ${pyRepr(p.pattern)}`;
    case 'enum': return `${pyRepr(d)} is not one of ${pyRepr(p.allowedValues)}`;
    case 'const': return `${pyRepr(p.allowedValue)} was expected`;
    case 'minimum': return `${pyRepr(d)} is less than the minimum of ${pyRepr(p.limit)}`;
    case 'maximum': return `${pyRepr(d)} is greater than the maximum of ${pyRepr(p.limit)}`;
    case 'format': return `${pyRepr(d)} is not a ${pyRepr(p.format)}`;
    case 'uniqueItems': return `${pyRepr(d)} has non-unique elements`;
    case 'minProperties': return `${pyRepr(d)} does not have enough properties`;
    case 'maxProperties': return `${pyRepr(d)} has too many properties`;
    case 'oneOf': case 'anyOf':
      return p.passingSchemas ? `${pyRepr(d)} is valid under each of ${pyRepr(p.passingSchemas)}` : `${pyRepr(d)} is not valid under any of the given schemas`;
    case 'not': return `${pyRepr(d)} should not be valid under ${pyRepr(ps.not)}`;
    default: return e.message ?? 'is invalid';
  }
}

/** jsonschema's additionalProperties message (what Nova answers for an unknown query parameter). */
export function unexpectedMessage(keys: string[]): string {
  const sorted = [...keys].sort();
  return `Additional properties are not allowed (${sorted.map((k) => pyRepr(k)).join(', ')} ${sorted.length === 1 ? 'was' : 'were'} unexpected)`;
}

/** Nova's detail text for the error that stopped validation (the outermost failing keyword). */
export function novaMessage(errors: ErrorObject[], kind: 'body' | 'query', queryParam?: string): string {
  const e = errors[errors.length - 1];
  if (e.keyword === 'format' && (e.params as { format?: string }).format === 'name') return NAME_MESSAGE;
  if (e.keyword === 'format' && (e.params as { format?: string }).format === 'name_with_leading_trailing_spaces') return NAME_WS_MESSAGE;
  const msg = message(e);
  const path = e.instancePath;
  if (kind === 'query') {
    const param = queryParam ?? lastSegment(path);
    if (!param) return msg;
    return `Invalid input for query parameters ${param}. Value: ${pyStr(e.data)}. ${msg}`;
  }
  if (!path) return msg;
  return `Invalid input for field/attribute ${lastSegment(path)}. Value: ${pyStr(e.data)}. ${msg}`;
}

/** Validate a request body; throws 400 with Nova's message. */
export function validateBody(schema: Schema, body: unknown): void {
  const v = compile(schema);
  if (!v(body)) throw new BadRequest(novaMessage(v.errors ?? [], 'body'));
}

/** Validate one query value against a parameter schema; returns the error message or null. */
export function checkQueryValue(schema: Schema, param: string, value: string): string | null {
  const v = compile(schema);
  if (v(value)) return null;
  return novaMessage(v.errors ?? [], 'query', param);
}
