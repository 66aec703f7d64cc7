// Nova's common parameter types (nova/api/validation/parameter_types.py), rewritten as JSON schemas.
import type { Schema } from './validate.ts';

export const boolean: Schema = {
  type: ['boolean', 'string'],
  enum: [true, 'True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES', 'Yes', 'yes',
    false, 'False', 'FALSE', 'false', '0', 'OFF', 'Off', 'off', 'NO', 'No', 'no'],
};
export const positiveInteger: Schema = { type: ['integer', 'string'], pattern: '^[0-9]*$', minimum: 1 };
export const nonNegativeInteger: Schema = { type: ['integer', 'string'], pattern: '^[0-9]*$', minimum: 0 };
export const name: Schema = { type: 'string', minLength: 1, maxLength: 255, format: 'name' };
export const nameOrNone: Schema = { oneOf: [name, { type: 'null' }] };
export const description: Schema = { type: ['string', 'null'], minLength: 0, maxLength: 255, pattern: '^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f]*$' };
export const uuid: Schema = { type: 'string', format: 'uuid' };
export const adminPassword: Schema = { type: 'string' };
export const imageIdOrEmpty: Schema = { oneOf: [{ type: 'string', format: 'uuid' }, { type: 'string', maxLength: 0 }] };
export const flavorRef: Schema = { type: ['string', 'integer'], minLength: 1 };
export const metadata: Schema = {
  type: 'object',
  patternProperties: { '^[a-zA-Z0-9-_:. ]{1,255}$': { type: 'string', maxLength: 255 } },
  additionalProperties: false,
};
export const ipAddress: Schema = { type: 'string', oneOf: [{ format: 'ipv4' }, { format: 'ipv6' }] };
export const accessIPv4: Schema = { type: 'string', format: 'ipv4' };
export const accessIPv6: Schema = { type: 'string', format: 'ipv6' };
export const diskConfig: Schema = { type: 'string', enum: ['AUTO', 'MANUAL'] };
export const personality: Schema = {
  type: 'array',
  items: {
    type: 'object',
    properties: { path: { type: 'string' }, contents: { type: 'string', format: 'base64' } },
    additionalProperties: false,
  },
};
export const tag: Schema = { type: 'string', minLength: 1, maxLength: 60, pattern: '^[^,/]*$' };
export const trustedCerts: Schema = {
  type: ['array', 'null'], minItems: 1, maxItems: 50, uniqueItems: true,
  items: { type: 'string', minLength: 1 },
};
export const fqdn: Schema = { type: 'string', minLength: 1, maxLength: 255, pattern: '^[a-zA-Z0-9-._]*$' };
/** 2.90: a single DNS label. */
export const hostnameLabel: Schema = { type: 'string', minLength: 2, maxLength: 63, pattern: '^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$' };
/** 2.94: an FQDN. */
export const hostnameFqdn: Schema = { type: 'string', minLength: 1, maxLength: 255, pattern: '^[a-zA-Z0-9]([a-zA-Z0-9-._]*[a-zA-Z0-9])?$' };
export const userData: Schema = { type: 'string', format: 'base64', maxLength: 65535 };
export const userDataOrNull: Schema = { oneOf: [userData, { type: 'null' }] };
export const volumeSize: Schema = { type: ['integer', 'string'], pattern: '^[0-9]+$', minimum: 1, maximum: 2147483647 };
export const volumeType: Schema = { type: ['string', 'null'], minLength: 0, maxLength: 255 };

/** Deep copy with a mutation: the house way to derive one microversion's schema from the previous. */
export function derive(base: Schema, change: (s: any) => void): Schema {
  const copy = structuredClone(base);
  change(copy);
  return copy;
}
