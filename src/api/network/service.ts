// The networking service: units of work over the repository, the caller's context, quotas, the
// devstack topology seeded on first start, and the notice Nova gets when a server's ports change
// (Neutron's network-changed events refreshing Nova's network info cache).
import type { FastifyRequest } from 'fastify';
import { publicUrl, type Config } from '../../config.ts';
import type { Clock } from '../../engine/clock.ts';
import { DEFAULT_QUOTAS } from '../../domain/network/attributes.ts';
import { isAdmin } from '../../domain/policy.ts';
import type { SqlDatabase } from '../../store/sql.ts';
import { migrateSql } from '../../store/sql.ts';
import { NETWORK_MIGRATIONS } from '../../store/network/migrations.ts';
import { SqlNetworkRepository, type NetworkRepository } from '../../store/network/repository.ts';
import type { Credentials } from '../../domain/policy.ts';
import { uuidV5 } from '../compute/network.ts';
import { Unit, type NetContext } from './unit.ts';
import { prepareBody } from './controller.ts';
import { networks, subnets } from './plugin/networks.ts';
import { routerInterface, routers } from './plugin/l3.ts';

export type DevicesChanged = (server_uuids: string[]) => Promise<void>;

/** The seeded topology's fixed ids (name-based), so every novabox and every restart agree. */
export const SEED_IDS = {
  public: uuidV5('network:public'),
  publicSubnet: uuidV5('subnet:public-subnet'),
  publicSubnet6: uuidV5('subnet:ipv6-public-subnet'),
  private: uuidV5('network:private'),
  privateSubnet: uuidV5('subnet:private-subnet'),
  privateSubnet6: uuidV5('subnet:ipv6-private-subnet'),
  router1: uuidV5('router:router1'),
};

export class NetworkService {
  readonly repo: NetworkRepository = new SqlNetworkRepository();
  private listeners: DevicesChanged[] = [];

  constructor(readonly sql: SqlDatabase, readonly clock: Clock, readonly config: Config) {}

  baseUrl(): string {
    return `${publicUrl(this.config)}/networking`;
  }

  private inflight = new Set<Promise<unknown>>();

  /** Work started by an event (ports following a server): `idle()` waits for it. */
  track(p: Promise<unknown>): void {
    const done = p.catch(() => undefined).finally(() => this.inflight.delete(done));
    this.inflight.add(done);
  }

  /** Resolves once no event-driven work is left (tests and the clock advancer use it). */
  async idle(): Promise<void> {
    while (this.inflight.size) await Promise.all([...this.inflight]);
  }

  /** Nova's side subscribes to learn which servers' ports changed. */
  onDevicesChanged(fn: DevicesChanged): void {
    this.listeners.push(fn);
  }

  context(creds: Credentials): NetContext {
    return { user_id: creds.user_id, project_id: creds.project_id ?? '', admin: isAdmin(creds), now: this.clock.now() };
  }

  /** Runs `fn` in one unit of work for these credentials, then tells Nova which servers changed. */
  async run<T>(creds: Credentials, fn: (u: Unit) => Promise<T>): Promise<T> {
    let devices: string[] = [];
    const out = await this.sql.transaction(async (tx) => {
      const u = new Unit(tx, this.repo, this.context(creds));
      const r = await fn(u);
      devices = [...u.devices];
      return r;
    });
    if (devices.length) for (const l of this.listeners) await l(devices);
    return out;
  }

  read<T>(req: FastifyRequest, fn: (u: Unit) => Promise<T>): Promise<T> {
    return this.run(req.auth!, fn);
  }

  write<T>(req: FastifyRequest, fn: (u: Unit) => Promise<T>): Promise<T> {
    return this.run(req.auth!, fn);
  }

  async quotaLimit(u: Unit, project_id: string, resource: string): Promise<number> {
    const row = (await u.repo.quotas(u.tx, project_id)).find((q) => q.resource === resource);
    return row ? row.hard_limit : DEFAULT_QUOTAS[resource] ?? -1;
  }

  async migrate(): Promise<void> {
    await migrateSql(this.sql, NETWORK_MIGRATIONS);
  }

  /**
   * devstack's topology (lib/neutron_plugins/services/l3, create_neutron_initial_network):
   * `public` (admin's, external, not shared, flat, and `is_default` as devstack marks it when the
   * auto-allocated-topology extension is on) with an IPv4 and an IPv6 subnet; `private` (the demo
   * project's, NOT shared: only demo and admins see it, as in devstack) with an IPv4 and a SLAAC
   * IPv6 subnet; `router1` (demo's) with its gateway on `public` and an interface on each private
   * subnet. Other projects boot on networks of their own (tempest makes one per test project), on
   * their auto-allocated topology (2.37 `networks: auto`), or without NICs. Seeded once; later
   * changes by users are kept. devstack also makes default subnet pools; novabox has none.
   */
  async seed(admin_project: string, demo_project: string): Promise<void> {
    const admin: Credentials = { user_id: 'neutron', project_id: admin_project, roles: ['admin'] };
    await this.run(admin, async (u) => {
      if (await u.repo.get(u.tx, 'network', SEED_IDS.public)) return;
      await this.insertFixed(u, 'network', SEED_IDS.public, admin_project, {
        name: 'public', 'router:external': true, shared: false, is_default: true, mtu: 1500,
        'provider:network_type': 'flat', 'provider:physical_network': 'public', 'provider:segmentation_id': null,
      });
      await this.insertFixed(u, 'network', SEED_IDS.private, demo_project, {
        name: 'private', shared: false, mtu: 1442, 'provider:network_type': 'geneve', 'provider:physical_network': null, 'provider:segmentation_id': 1,
      });
      const sub = (id: string, project: string, network_id: string, name: string, ip_version: 4 | 6, cidr: string, extra: Record<string, unknown> = {}) =>
        this.insertFixed(u, 'subnet', id, project, { name, network_id, ip_version, cidr, ...extra });
      await sub(SEED_IDS.publicSubnet, admin_project, SEED_IDS.public, 'public-subnet', 4, '172.24.4.0/24', { enable_dhcp: false });
      await sub(SEED_IDS.publicSubnet6, admin_project, SEED_IDS.public, 'ipv6-public-subnet', 6, '2001:db8::/64', { enable_dhcp: false, gateway_ip: '2001:db8::2' });
      await sub(SEED_IDS.privateSubnet, demo_project, SEED_IDS.private, 'private-subnet', 4, '10.0.0.0/16');
      await sub(SEED_IDS.privateSubnet6, demo_project, SEED_IDS.private, 'ipv6-private-subnet', 6, 'fd00:10::/64', { ipv6_ra_mode: 'slaac', ipv6_address_mode: 'slaac' });
      await this.insertFixed(u, 'router', SEED_IDS.router1, demo_project, { name: 'router1', external_gateway_info: { network_id: SEED_IDS.public } });
      const router = (await u.get('router', SEED_IDS.router1))!;
      await routerInterface(u, router, { subnet_id: SEED_IDS.privateSubnet }, true);
      await routerInterface(u, router, { subnet_id: SEED_IDS.privateSubnet6 }, true);
    });
  }

  /** Creates a seed resource through its plugin (every rule applies) under a fixed id. */
  private async insertFixed(u: Unit, kind: 'network' | 'subnet' | 'router', id: string, project_id: string, doc: Record<string, unknown>): Promise<void> {
    const h = kind === 'network' ? networks : kind === 'subnet' ? subnets : routers;
    const attrs = prepareBody(u, h.def, { [h.def.member]: { ...doc, project_id } }, true);
    delete attrs.tags;
    attrs.id = id;
    await h.create(u, attrs, []);
  }
}
