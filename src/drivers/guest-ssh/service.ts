// The simulated guests' SSH service: one ssh2 server on one address (config `guest_ssh`, e.g.
// 0.0.0.0:22) that stands in for the sshd of every simulated guest. A connection goes to the guest
// whose server holds the address the client dialled (socket.localAddress) as a floating IP or a
// fixed IP of one of its ports; an unknown address, or a guest that is not running (or still
// booting), loses the connection as an unreachable guest would. Authentication is what cloud-init
// allows on a cirros image: the server's keypair, or the admin password it was given (at create,
// rebuild or changePassword). An `exec` runs in the guest's simulated shell (shell.ts) against a
// snapshot of the server's state (guest.ts). No packet reaches any guest: there is none.
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { generateKeyPairSync, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import ssh2 from 'ssh2';
import type { Connection, ParsedKey } from 'ssh2';
import type { Services } from '../../novabox.ts';
import type { ServerRecord } from '../../domain/server.ts';
import { POWER_STATE } from '../../domain/states.ts';
import { guestDisks, type GuestDisk, type GuestNic, type GuestView } from './guest.ts';
import { run } from './shell.ts';

const { Server: SshServer, utils: sshUtils } = ssh2;

export interface GuestSshOptions {
  /** host:port to listen on (port 0: any free port). */
  listen: string;
  /** Seconds a guest takes from power-on until its sshd answers. */
  bootSeconds: number;
  /** The image's login user (cirros). */
  user: string;
}

/** The actions after which the guest has just booted (its uptime starts again). */
const BOOTS = /^(create|reboot|rebuild|resize|migrate|revertResize|evacuate|rescue|unrescue|unshelve|start|restore|resume)/;
/** vm_states in which a running guest answers. */
const UP_STATES = new Set(['active', 'rescued', 'resized']);

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(listen.trim());
  if (!m) throw new Error(`guest_ssh must be host:port (e.g. 0.0.0.0:22), got '${listen}'`);
  return { host: m[1] || '0.0.0.0', port: Number(m[2]) };
}

type Svc = Pick<Services, 'engine' | 'network' | 'volumes' | 'repos' | 'clock' | 'log' | 'sql'>;

export class GuestSshService {
  private readonly net: NetServer;
  private readonly ssh: InstanceType<typeof SshServer>;
  /** When each guest last powered on (engine clock ms), from the server's transitions. */
  private readonly bootedAt = new Map<string, number>();
  /** What each guest's cloud-init / guest agent was given: the admin password and injected files. */
  private readonly passwords = new Map<string, string>();
  private readonly files = new Map<string, Record<string, string>>();
  /** The guest each accepted socket dialled, by the client's address and port. */
  private readonly pending = new Map<string, string>();
  private readonly sockets = new Set<Socket>();

  constructor(private readonly svc: Svc, private readonly opts: GuestSshOptions) {
    // One host key per process, as a guest's sshd generates its keys on first boot.
    // (ECDSA P-256 in SEC1 PEM: ssh2 reads it; it does not read node's PKCS#8 export of ed25519.)
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const hostKey = privateKey.export({ type: 'sec1', format: 'pem' }) as string;
    this.ssh = new SshServer({ hostKeys: [hostKey] }, (client, info) => this.onClient(client, `${info.ip}:${info.port}`));
    this.net = createServer((socket) => void this.onSocket(socket));
    svc.engine.events.on('transition', (t) => {
      const s = t.server;
      if (t.vm_state === 'deleted' || s.deleted) {
        this.bootedAt.delete(t.server_id);
        this.passwords.delete(t.server_id);
        this.files.delete(t.server_id);
        return;
      }
      const running = s.power_state === POWER_STATE.RUNNING && s.task_state === null;
      if (!running) return;
      const wasOff = t.from === null || t.from.power_state !== POWER_STATE.RUNNING;
      if (wasOff || (t.from?.task_state !== null && t.action !== null && BOOTS.test(t.action))) this.bootedAt.set(t.server_id, t.time);
    });
  }

  /** Binds the address; resolves to the port it got. */
  async listen(): Promise<{ host: string; port: number }> {
    const { host, port } = parseListen(this.opts.listen);
    await new Promise<void>((ok, fail) => {
      this.net.once('error', fail);
      this.net.listen(port, host, () => {
        this.net.off('error', fail);
        ok();
      });
    });
    const addr = this.net.address();
    return { host, port: typeof addr === 'object' && addr ? addr.port : port };
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((ok) => (this.net.listening ? this.net.close(() => ok()) : ok()));
  }

  /**
   * The guest agent's channel: the admin password and personality files a server is created or
   * rebuilt with, and a changePassword's new password, as Nova hands them to the guest (config drive,
   * metadata service, qemu guest agent). Nova keeps no copy; neither does novabox, except here.
   */
  observe(app: FastifyInstance): void {
    app.addHook('onSend', async (req, reply, payload) => {
      if (req.method !== 'POST' || reply.statusCode >= 300) return payload;
      const path = req.url.split('?')[0];
      const body = (req.body ?? {}) as Record<string, any>;
      try {
        if (/\/servers$/.test(path) && body.server && typeof payload === 'string') {
          const out = JSON.parse(payload) as { server?: { id?: string; adminPass?: string } };
          const id = out.server?.id;
          if (id) this.given(id, out.server?.adminPass ?? body.server.adminPass, body.server.personality, false);
        }
        const action = /\/servers\/([^/]+)\/action$/.exec(path);
        if (action) {
          const id = action[1];
          if (body.changePassword?.adminPass) this.passwords.set(id, String(body.changePassword.adminPass));
          const rebuild = body.rebuild ?? body.evacuate;
          if (rebuild) {
            const out = typeof payload === 'string' && payload ? (JSON.parse(payload) as { server?: { adminPass?: string }; adminPass?: string }) : {};
            this.given(id, out.server?.adminPass ?? out.adminPass ?? rebuild.adminPass, body.rebuild ? rebuild.personality : undefined, !!body.rebuild);
          }
        }
      } catch {
        // a payload that is not JSON: nothing for the guest
      }
      return payload;
    });
  }

  private given(id: string, password: unknown, personality: unknown, fresh: boolean): void {
    if (typeof password === 'string' && password) this.passwords.set(id, password);
    if (Array.isArray(personality)) {
      const files = fresh ? {} : { ...(this.files.get(id) ?? {}) };
      for (const f of personality as { path?: string; contents?: string }[]) {
        if (typeof f?.path === 'string') files[f.path] = Buffer.from(String(f.contents ?? ''), 'base64').toString('utf8');
      }
      this.files.set(id, files);
    } else if (fresh) this.files.delete(id);
  }

  /** The server holding this address: a floating IP's port, else the one compute port with it as a fixed IP. */
  async serverAt(address: string): Promise<string | null> {
    const addr = address.replace(/^::ffff:/, '');
    const creds = { user_id: 'nova', project_id: '', roles: ['admin'] };
    return this.svc.network.run(creds, async (u) => {
      const fip = (await u.list('floatingip')).find((f) => f.doc.floating_ip_address === addr && f.doc.port_id);
      if (fip) {
        const port = await u.get('port', String(fip.doc.port_id));
        return port?.doc.device_id && String(port.doc.device_owner ?? '').startsWith('compute:') ? String(port.doc.device_id) : null;
      }
      const holders = (await u.list('port')).filter((p) => String(p.doc.device_owner ?? '').startsWith('compute:') && p.doc.device_id
        && (p.doc.fixed_ips as { ip_address: string }[]).some((f) => f.ip_address === addr));
      const devices = new Set(holders.map((p) => String(p.doc.device_id)));
      return devices.size === 1 ? [...devices][0] : null;
    });
  }

  /** When the guest booted: its last power-on seen, else when it was launched. */
  bootTime(s: ServerRecord): number {
    return this.bootedAt.get(s.uuid) ?? s.launched_at ?? s.created_at;
  }

  /** Whether the guest's sshd answers now: running, not in a task that stops it, booted long enough ago. */
  reachable(s: ServerRecord): boolean {
    if (s.deleted || !UP_STATES.has(s.vm_state) || s.power_state !== POWER_STATE.RUNNING) return false;
    if (s.task_state !== null && /^(reboot|rebuild|resize_(migrat|finish)|powering|spawning|block_device|unshelving|rescuing|unrescuing)/.test(s.task_state)) return false;
    return this.svc.clock.now() - this.bootTime(s) >= this.opts.bootSeconds * 1000;
  }

  /** The guest's view of its server, now. */
  async snapshot(s: ServerRecord): Promise<GuestView> {
    const creds = { user_id: 'nova', project_id: s.project_id, roles: ['admin'] };
    const nics: GuestNic[] = await this.svc.network.run(creds, async (u) => {
      const ports = (await u.list('port', { device_id: s.uuid })).filter((p) => String(p.doc.device_owner ?? '').startsWith('compute:'));
      ports.sort((a, b) => a.created_at - b.created_at);
      const out: GuestNic[] = [];
      for (const [i, p] of ports.entries()) {
        const net = await u.get('network', String(p.doc.network_id));
        const ips = [];
        for (const f of (p.doc.fixed_ips as { ip_address: string; subnet_id: string }[]) ?? []) {
          const sub = await u.get('subnet', f.subnet_id);
          const prefix = Number(String(sub?.doc.cidr ?? '').split('/')[1] ?? (f.ip_address.includes(':') ? 64 : 24));
          ips.push({ addr: f.ip_address, prefix, version: (f.ip_address.includes(':') ? 6 : 4) as 4 | 6 });
        }
        out.push({ name: `eth${i}`, mac: String(p.doc.mac_address), mtu: Number(net?.doc.mtu ?? 1500), ips, tag: (p.doc.nova_tag as string | null | undefined) ?? null });
      }
      return out;
    });
    const disks = await this.disks(s);
    const keys = s.key_name && s.key_data ? [{ name: s.key_name, type: s.key_data.startsWith('-----BEGIN') ? 'x509' : 'ssh', data: s.key_data }] : [];
    return {
      uuid: s.uuid, name: s.display_name, hostname: s.hostname, project_id: s.project_id, availability_zone: s.availability_zone ?? 'nova',
      launch_index: s.launch_index, vcpus: s.flavor.vcpus, memory_mb: s.flavor.memory_mb, nics, disks,
      uptime: Math.max(0, (this.svc.clock.now() - this.bootTime(s)) / 1000),
      meta: s.metadata, keys, user_data: s.user_data === null ? null : Buffer.from(s.user_data, 'base64').toString('utf8'),
      config_drive: s.config_drive === 'True', files: this.files.get(s.uuid) ?? {}, user: this.opts.user,
    };
  }

  /** The guest's disks (guestDisks), with the sizes of its volumes from Cinder. */
  private async disks(s: ServerRecord): Promise<GuestDisk[]> {
    const sizes = new Map<string, number>();
    for (const b of s.block_device_mapping) {
      const id = String(b.volume_id ?? b.uuid ?? '');
      if (b.destination_type !== 'volume' || !id) continue;
      const v = await this.svc.volumes.store.getVolume(this.svc.sql, id).catch(() => undefined);
      if (v) sizes.set(id, v.size);
    }
    return guestDisks(s, sizes);
  }

  private async onSocket(socket: Socket): Promise<void> {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    try {
      const uuid = await this.serverAt(socket.localAddress ?? '');
      const s = uuid ? await this.svc.engine.store.getServer(uuid) : undefined;
      if (!s || !this.reachable(s)) {
        socket.destroy();
        return;
      }
      const peer = `${socket.remoteAddress}:${socket.remotePort}`;
      this.pending.set(peer, s.uuid);
      socket.once('close', () => this.pending.delete(peer));
      this.ssh.injectSocket(socket);
    } catch (e) {
      this.svc.log.warn({ event: 'guest_ssh', err: e }, `guest ssh: ${(e as Error).message}`);
      socket.destroy();
    }
  }

  private onClient(client: Connection, peer: string): void {
    const uuid = this.pending.get(peer);
    this.pending.delete(peer);
    client.on('error', () => undefined);
    if (!uuid) {
      client.end();
      return;
    }
    client.on('authentication', (ctx) => {
      void (async () => {
        const s = await this.svc.engine.store.getServer(uuid);
        if (!s || ctx.username !== this.opts.user) return ctx.reject(['publickey', 'password']);
        if (ctx.method === 'publickey') {
          const key = s.key_data ? parsePublic(s.key_data) : null;
          if (!key || key.type !== ctx.key.algo || !key.getPublicSSH().equals(ctx.key.data)) return ctx.reject(['publickey', 'password']);
          // Without a signature the client only asks whether this key would do.
          if (!ctx.signature || !ctx.blob) return ctx.accept();
          return key.verify(ctx.blob, ctx.signature, ctx.hashAlgo) === true ? ctx.accept() : ctx.reject(['publickey', 'password']);
        }
        if (ctx.method === 'password') {
          const want = this.passwords.get(uuid);
          if (want !== undefined && sameText(want, ctx.password)) return ctx.accept();
          return ctx.reject(['publickey', 'password']);
        }
        return ctx.reject(['publickey', 'password']);
      })().catch(() => ctx.reject());
    });
    client.on('ready', () => {
      client.on('session', (accept) => {
        const session = accept();
        session.on('exec', (acceptExec, _reject, info) => {
          const stream = acceptExec();
          void (async () => {
            const s = await this.svc.engine.store.getServer(uuid);
            if (!s || !this.reachable(s)) {
              stream.exit(255);
              stream.end();
              client.end();
              return;
            }
            const r = run(info.command, await this.snapshot(s));
            if (r.stdout) stream.write(r.stdout);
            if (r.stderr) stream.stderr.write(r.stderr);
            stream.exit(r.code);
            stream.end();
          })().catch((e: unknown) => {
            stream.stderr.write(`sh: ${(e as Error).message}\n`);
            stream.exit(1);
            stream.end();
          });
        });
        // An interactive shell is not offered: cirros would give one, tempest never asks.
        session.on('shell', (_accept, reject) => reject());
        session.on('pty', (acceptPty) => acceptPty?.());
      });
    });
  }
}

function parsePublic(keyData: string): ParsedKey | null {
  const parsed = sshUtils.parseKey(keyData.trim());
  if (parsed instanceof Error) return null;
  return Array.isArray(parsed) ? parsed[0] ?? null : parsed;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
