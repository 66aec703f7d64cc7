// Neutron's faults as values: the exception class name is the body's `type`, mapped to
// {"NeutronError": {"type", "message", "detail"}} in one place (src/api/network/faults.ts).

export class NeutronFault extends Error {
  constructor(readonly status: number, readonly type: string, message: string) {
    super(message);
  }
}

export const badRequest = (message: string): NeutronFault => new NeutronFault(400, 'HTTPBadRequest', message);
export const invalidInput = (why: string): NeutronFault => new NeutronFault(400, 'InvalidInput', `Invalid input for operation: ${why}.`);
/** The attribute validator's failure, as the API layer words it. */
export const invalidAttribute = (attr: string, reason: string): NeutronFault => badRequest(`Invalid input for ${attr}. Reason: ${reason}.`);
export const notFound = (type: string, message: string): NeutronFault => new NeutronFault(404, type, message);
export const conflict = (type: string, message: string): NeutronFault => new NeutronFault(409, type, message);
export const policyNotAuthorized = (action: string): NeutronFault => new NeutronFault(403, 'PolicyNotAuthorized', `(rule:${action}) is disallowed by policy`);

/** `<Kind>NotFound` with Neutron's text, e.g. "Network X could not be found.". */
export function resourceNotFound(label: string, id: string): NeutronFault {
  const type = `${label.replace(/(^|\s)(\w)/g, (_m, _s, c: string) => c.toUpperCase()).replace(/\s/g, '')}NotFound`;
  return notFound(type, `${label[0].toUpperCase()}${label.slice(1)} ${id} could not be found.`);
}
