// The simulated guest's password post: like cloudbase-init on a Windows image, a guest booted with an
// RSA key pair sets a random password and posts it, encrypted with the key (RSA PKCS#1 v1.5) and
// base64-encoded, to the metadata service, where os-server-password reads it.
import { constants, createPublicKey, publicEncrypt, randomInt } from 'node:crypto';

const PASSWORD_GROUPS = ['23456789', 'ABCDEFGHJKLMNPQRSTUVWXYZ', 'abcdefghijkmnopqrstuvwxyz'];

/** Nova's generate_password: at least one symbol of each group, then any. */
export function generatePassword(length = 12): string {
  const chars = PASSWORD_GROUPS.map((g) => g[randomInt(g.length)]);
  const all = PASSWORD_GROUPS.join('');
  while (chars.length < length) chars.push(all[randomInt(all.length)]);
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j], chars[i]];
  }
  return chars.join('');
}

/** The OpenSSH `ssh-rsa AAAA…` key as a public key object, or null for other key types. */
function rsaKey(openssh: string): ReturnType<typeof createPublicKey> | null {
  const parts = openssh.trim().split(/\s+/);
  if (parts[0] !== 'ssh-rsa' || !parts[1]) return null;
  const blob = Buffer.from(parts[1], 'base64');
  const fields: Buffer[] = [];
  for (let off = 0; off + 4 <= blob.length && fields.length < 3;) {
    const n = blob.readUInt32BE(off);
    fields.push(blob.subarray(off + 4, off + 4 + n));
    off += 4 + n;
  }
  if (fields.length < 3 || fields[0].toString() !== 'ssh-rsa') return null;
  const b64url = (b: Buffer) => (b[0] === 0 ? b.subarray(1) : b).toString('base64url');
  try {
    return createPublicKey({ key: { kty: 'RSA', e: b64url(fields[1]), n: b64url(fields[2]) }, format: 'jwk' });
  } catch {
    return null;
  }
}

/** The encrypted password a guest with this key would post, or null when it has no RSA key. */
export function encryptedGuestPassword(key_data: string | null, password = generatePassword(16)): string | null {
  const key = key_data ? rsaKey(key_data) : null;
  if (!key) return null;
  return publicEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, Buffer.from(password)).toString('base64');
}
