// Name-based ids and the `private` label. Without networking (no Neutron) the engine's simulated
// network is labelled `private`; with it, `private` is devstack's seeded network (the demo project's,
// not shared; src/api/network/service.ts), whose id is this same name-based UUID.
import { createHash } from 'node:crypto';

export const PRIVATE_NETWORK = 'private';

/** Fixed namespace so every novabox computes the same id. */
const NAMESPACE = 'b7d4a4c6-0b0e-4a53-9c1e-6e6f76610000';

/** A name-based (RFC 4122 version 5) UUID: stable across restarts and processes. */
export function uuidV5(name: string, namespace = NAMESPACE): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  const h = createHash('sha1').update(ns).update(name, 'utf8').digest();
  h[6] = (h[6] & 0x0f) | 0x50;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

/** The id of the `private` network (os-networks and os-tenant-networks list it; create accepts it in `networks`). */
export const PRIVATE_NETWORK_ID = uuidV5(`network:${PRIVATE_NETWORK}`);
