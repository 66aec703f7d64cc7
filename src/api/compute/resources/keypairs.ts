// os-keypairs: generate (below 2.92), import, list (paged from 2.35), show, delete; per user.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { createHash, generateKeyPair, randomBytes, generateKeyPairSync, type KeyObject, sign as signWith, X509Certificate } from 'node:crypto';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import forge from 'node-forge';
import type { Services } from '../../../novabox.ts';
import { BadRequest, Conflict, Forbidden, NotFound, QuotaExceeded } from '../../../domain/errors.ts';
import { isAdmin, policyMessage } from '../../../domain/policy.ts';
import { mv } from '../context.ts';
import { isoMicro, limitMarker, nextLink, page, params, q1, route, strictQuery, validate } from './common.ts';
import { quotaLimit } from './quotas.ts';

import type { KeypairRow } from '../../../store/compute/index.ts';

// ---------------------------------------------------------------- key material

function sshString(buf: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(buf.length);
  return Buffer.concat([len, buf]);
}

function mpint(b64url: string): Buffer {
  let b = Buffer.from(b64url, 'base64url');
  if (b[0] & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
  return sshString(b);
}

function colonHex(digest: Buffer): string {
  return digest.toString('hex').match(/../g)!.join(':');
}

const generateRsa = promisify(generateKeyPair);

/** A fresh RSA key pair: OpenSSH public key and PKCS#1 PEM private key (synchronous: tests and tools). */
export function generateSshKey(comment = 'Generated-by-Nova'): { public_key: string; private_key: string } {
  return sshKey(generateKeyPairSync('rsa', { modulusLength: 2048 }), comment);
}

/** The same, generated on libuv's thread pool: an RSA prime search must not hold the event loop. */
export async function newSshKey(comment = 'Generated-by-Nova'): Promise<{ public_key: string; private_key: string }> {
  return sshKey(await generateRsa('rsa', { modulusLength: 2048 }), comment);
}

function sshKey({ publicKey, privateKey }: { publicKey: KeyObject; privateKey: KeyObject }, comment: string): { public_key: string; private_key: string } {
  const jwk = publicKey.export({ format: 'jwk' }) as { n: string; e: string };
  const blob = Buffer.concat([sshString(Buffer.from('ssh-rsa')), mpint(jwk.e), mpint(jwk.n)]);
  return {
    public_key: `ssh-rsa ${blob.toString('base64')} ${comment}`,
    private_key: privateKey.export({ type: 'pkcs1', format: 'pem' }) as string,
  };
}

/** Microsoft's User Principal Name, the otherName type Nova's certificates carry (for WinRM). */
const UPN_OID = '1.3.6.1.4.1.311.20.2.3';

/** subjectAltName with one otherName: the UPN as a UTF8String (node-forge has no encoder for otherName). */
function upnAltName(upn: string): forge.asn1.Asn1 {
  const { asn1 } = forge;
  const otherName = asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(UPN_OID).getBytes()),
    asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [asn1.create(asn1.Class.UNIVERSAL, asn1.Type.UTF8, false, forge.util.encodeUtf8(upn))]),
  ]);
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [otherName]);
}

/**
 * A fresh x509 key pair as Nova's generate_winrm_x509_cert makes it: an RSA 2048 key and a self-signed
 * certificate for CN=<user_id>, valid ten years, for client authentication, with the user's UPN
 * (<user_id>@localhost) as an otherName subjectAltName. public_key is the certificate PEM;
 * private_key is the key as a PKCS#12 bundle with an empty password, base64-encoded, as Nova
 * returns it (openssl pkcs12 -export -password pass:).
 */
export async function generateX509Key(user_id: string): Promise<{ public_key: string; private_key: string }> {
  // The key off the event loop and the RSA signature natively (node's crypto); forge lays out the certificate.
  const { publicKey, privateKey } = await generateRsa('rsa', { modulusLength: 2048 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }) as string);
  cert.serialNumber = randomBytes(8).toString('hex').replace(/^[89a-f]/, '1');
  cert.validity.notBefore = new Date();
  cert.validity.notAfter = new Date(Date.now() + 10 * 365 * 86400_000);
  const subject = [{ name: 'commonName', value: user_id }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([{ name: 'extKeyUsage', clientAuth: true }, { name: 'subjectAltName', value: upnAltName(`${user_id}@localhost`) }]);
  const oid = forge.pki.oids.sha256WithRSAEncryption;
  cert.siginfo.algorithmOid = oid;
  (cert as unknown as { signatureOid: string }).signatureOid = oid;
  const tbs = Buffer.from(forge.asn1.toDer((forge.pki as unknown as { getTBSCertificate(c: forge.pki.Certificate): forge.asn1.Asn1 }).getTBSCertificate(cert)).getBytes(), 'binary');
  cert.signature = signWith('sha256', tbs, privateKey).toString('binary');
  const public_key = forge.pki.certificateToPem(cert);
  const private_key = await pkcs12(privateKey.export({ type: 'pkcs1', format: 'pem' }) as string, public_key);
  return { public_key, private_key };
}

/**
 * The key and its certificate as a base64 PKCS#12 bundle with an empty password (3DES, 2048
 * iterations, as openssl pkcs12 -export). forge derives the keys in JavaScript (~70 ms idle), so
 * it runs on a worker thread: a request must not hold the event loop.
 */
function pkcs12(keyPem: string, certPem: string): Promise<string> {
  const code = `
    const { parentPort, workerData: d } = require('node:worker_threads');
    const forge = require(d.forge);
    const p12 = forge.pkcs12.toPkcs12Asn1(forge.pki.privateKeyFromPem(d.keyPem), [forge.pki.certificateFromPem(d.certPem)], '', { algorithm: '3des' });
    parentPort.postMessage(Buffer.from(forge.asn1.toDer(p12).getBytes(), 'binary').toString('base64'));`;
  return new Promise((ok, fail) => {
    const w = new Worker(code, { eval: true, workerData: { forge: FORGE, keyPem, certPem } });
    w.once('message', (m: string) => ok(m));
    w.once('error', fail);
    w.once('exit', (c) => (c === 0 ? undefined : fail(new Error(`PKCS#12 worker exited with ${c}`))));
  });
}

const FORGE = createRequire(import.meta.url).resolve('node-forge');

/** Fingerprint as Nova computes it: MD5 of the SSH key blob, SHA-1 of an x509 certificate. */
export function fingerprint(type: 'ssh' | 'x509', public_key: string): string {
  if (type === 'x509') {
    try {
      return colonHex(createHash('sha1').update(new X509Certificate(public_key).raw).digest());
    } catch {
      throw new BadRequest('Keypair data is invalid: failed to generate fingerprint');
    }
  }
  const parts = public_key.trim().split(/\s+/);
  const blob = parts.length >= 2 && /^[A-Za-z0-9+/]+={0,2}$/.test(parts[1]) ? Buffer.from(parts[1], 'base64') : null;
  if (!blob || blob.length < 4) throw new BadRequest('Keypair data is invalid: failed to generate fingerprint');
  const n = blob.readUInt32BE(0);
  if (n + 4 > blob.length || blob.subarray(4, 4 + n).toString('latin1') !== parts[0]) {
    throw new BadRequest('Keypair data is invalid: failed to generate fingerprint');
  }
  return colonHex(createHash('md5').update(blob).digest());
}

// ---------------------------------------------------------------- schemas

const NAME = { type: 'string', minLength: 1, maxLength: 255, pattern: '^[_\\- a-zA-Z0-9]+$' };
const NAME_292 = { type: 'string', minLength: 1, maxLength: 255, pattern: '^[_\\-@. a-zA-Z0-9]+$' };

function createSchema(req: FastifyRequest): object {
  const props: Record<string, object> = { name: mv(req, 92) ? NAME_292 : NAME, public_key: { type: 'string' } };
  if (mv(req, 2)) props.type = { type: 'string', enum: ['ssh', 'x509'] };
  if (mv(req, 10)) props.user_id = { type: 'string' };
  return {
    type: 'object', required: ['keypair'], additionalProperties: false,
    properties: { keypair: { type: 'object', required: mv(req, 92) ? ['name', 'public_key'] : ['name'], additionalProperties: false, properties: props } },
  };
}
const schemaCache = new Map<string, object>();
function createSchemaFor(req: FastifyRequest): object {
  const key = `${mv(req, 2)}${mv(req, 10)}${mv(req, 92)}`;
  let s = schemaCache.get(key);
  if (!s) schemaCache.set(key, (s = createSchema(req)));
  return s;
}

// ---------------------------------------------------------------- routes

/** `user_id` query (≥2.10): another user's keypairs need the admin role. */
function targetUser(req: FastifyRequest, action: string, requested?: string): string {
  const own = req.auth!.user_id;
  const user = mv(req, 10) ? (requested ?? q1(req, 'user_id') ?? own) : own;
  if (user !== own && !isAdmin(req.auth!)) throw new Forbidden(policyMessage(`os_compute_api:os-keypairs:${action}`));
  return user;
}

function view(req: FastifyRequest, k: KeypairRow, full: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (full) {
    Object.assign(out, { created_at: isoMicro(k.created_at), deleted: false, deleted_at: null, id: k.id });
  }
  out.fingerprint = k.fingerprint;
  out.name = k.name;
  if (mv(req, 2)) out.type = k.type;
  out.public_key = k.public_key;
  if (full) Object.assign(out, { updated_at: null, user_id: k.user_id });
  return out;
}

export function registerKeypairs(scope: FastifyInstance, svc: Services): void {
  route(scope, 'POST', '/os-keypairs', async (req, reply) => {
    const body = validate<{ keypair: { name: string; public_key?: string; type?: 'ssh' | 'x509'; user_id?: string } }>(createSchemaFor(req), req.body);
    const kp = body.keypair;
    const user_id = targetUser(req, 'create', kp.user_id);
    const type = kp.type ?? 'ssh';
    if (!mv(req, 92) && kp.name.trim() !== kp.name) {
      throw new BadRequest(`Invalid input for field/attribute name. Value: ${kp.name}. '${kp.name}' has leading or trailing whitespace`);
    }
    const limit = await quotaLimit(svc, req.auth!.project_id ?? '', 'key_pairs');
    if (limit >= 0 && (await svc.repos.keypairs.count(user_id)) + 1 > limit) throw new QuotaExceeded('Quota exceeded, too many key pairs.');
    if (await svc.repos.keypairs.get(user_id, kp.name)) throw new Conflict(`Key pair '${kp.name}' already exists.`);
    let public_key = kp.public_key;
    let private_key: string | undefined;
    if (public_key === undefined) {
      ({ public_key, private_key } = type === 'x509' ? await generateX509Key(user_id) : await newSshKey());
    }
    const fp = fingerprint(type, public_key);
    const now = svc.clock.now();
    const row = await svc.repos.keypairs.insert({ user_id, name: kp.name, type, fingerprint: fp, public_key, created_at: now });
    if (!row) throw new Conflict(`Key pair '${kp.name}' already exists.`);
    const out = view(req, row, false);
    if (private_key !== undefined) out.private_key = private_key;
    out.user_id = user_id;
    // Nova answers 201 from 2.2 on, 200 before.
    reply.code(mv(req, 2) ? 201 : 200);
    return { keypair: out };
  });

  route(scope, 'GET', '/os-keypairs', async (req) => {
    if (mv(req, 75)) strictQuery(req, mv(req, 35) ? ['user_id', 'limit', 'marker'] : ['user_id']);
    const user_id = targetUser(req, 'index');
    let rows = await svc.repos.keypairs.list(user_id);
    let links;
    if (mv(req, 35)) {
      const { limit, marker } = limitMarker(req, svc.config.max_limit);
      rows = page(rows, (k) => k.name, limit, marker, (m) => new BadRequest(`Marker ${m} could not be found.`));
      links = nextLink(svc, req, 'os-keypairs', rows, limit, rows.at(-1)?.name);
    }
    const out: Record<string, unknown> = { keypairs: rows.map((k) => ({ keypair: view(req, k, false) })) };
    if (links) out.keypairs_links = links;
    return out;
  });

  route(scope, 'GET', '/os-keypairs/:name', async (req) => {
    if (mv(req, 75)) strictQuery(req, ['user_id']);
    const user_id = targetUser(req, 'show');
    const k = await svc.repos.keypairs.get(user_id, params(req).name);
    if (!k) throw new NotFound(`Keypair ${params(req).name} not found for user ${user_id}`);
    return { keypair: view(req, k, true) };
  });

  route(scope, 'DELETE', '/os-keypairs/:name', async (req, reply) => {
    if (mv(req, 75)) strictQuery(req, ['user_id']);
    const user_id = targetUser(req, 'delete');
    if (!(await svc.repos.keypairs.delete(user_id, params(req).name))) throw new NotFound(`Keypair ${params(req).name} not found for user ${user_id}`);
    // 202 below 2.2, 204 from 2.2.
    return reply.code(mv(req, 2) ? 204 : 202).send();
  });
}
