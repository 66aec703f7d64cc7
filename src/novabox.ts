// Composition root: opens the store, builds the engine, the services and the HTTP app.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { createLogger, describeTransition } from './logging.ts';
import type { RecoverySummary } from './engine/recovery.ts';
import type { Config } from './config.ts';
import { clockAdvancer, ManualClock, systemClock, type Clock } from './engine/clock.ts';
import { migrate, openDb, type Db } from './store/db.ts';
import { parseDbLocation } from './store/location.ts';
import { SqlComputeStore } from './store/sql-compute.ts';
import { VIEW_NOTIFY_MIGRATIONS } from './store/migrations/postgres-view-notify.ts';
import { COMPUTE_MIGRATIONS } from './store/migrations/postgres-compute.ts';
import type { ComputeStore } from './store/store.ts';
import { buildApp } from './api/app.ts';
import type { ImagePort, TokenValidator } from './api/ports.ts';
import { createIdentityModel, type IdentityModel } from './api/identity/model.ts';
import { createImageModel, type ImageModel } from './api/image/model.ts';
import { ComputeEngine } from './engine/compute.ts';
import { SqliteComputeStore } from './store/sqlite.ts';
import { SimulatedDriver } from './drivers/simulated.ts';
import { SqliteSql, migrateSql, openPostgres, type SqlDatabase } from './store/sql.ts';
import { identityMigrations } from './store/identity/schema.ts';
import { imageMigrations } from './store/image/schema.ts';
import { SqlImageStore } from './store/image/repository.ts';
import { SqlIdentityStore } from './store/identity/repository.ts';
import { catalogSeed } from './api/identity/index.ts';
import { NetworkService } from './api/network/service.ts';
import { connectNovaToNeutron } from './api/compute/server-network.ts';
import { computeRepositories, type ComputeRepositories } from './store/compute/index.ts';
import { openInfraRepositories, type InfraRepositories } from './store/compute/infra.ts';
import { Journal } from './engine/journal.ts';
import { Notifier } from './notifications/notifier.ts';
import { VolumeEngine } from './engine/volume.ts';
import { SimulatedBlockDriver } from './drivers/block.ts';
import { connectVolumesToCompute } from './engine/volume-nova.ts';
import { GuestSshService } from './drivers/guest-ssh/service.ts';

export interface Services {
  config: Config;
  db: Db;
  /** The portable executor that repositories are written against (src/store/sql.ts). */
  sql: SqlDatabase;
  /** Keypairs, server groups, quota limits, server passwords. */
  repos: ComputeRepositories;
  clock: Clock;
  identity: IdentityModel & TokenValidator;
  images: ImageModel & ImagePort;
  engine: ComputeEngine;
  driver: SimulatedDriver;
  /** SqliteComputeStore on a SQLite file, SqlComputeStore on PostgreSQL. */
  store: ComputeStore;
  /** Networking (Neutron v2.0): its repository, units of work and seeded topology. */
  network: NetworkService;
  /** Block storage: the volume engine (volumes, snapshots, attachments) over `sql`. */
  volumes: VolumeEngine;
  /** With the manual clock: move it forward by ms, running every step due on the way, in order. */
  advanceClock: ((ms: number) => Promise<void>) | null;
  /** The engine's events, numbered and kept in a ring (SSE, dashboard). */
  journal: Journal;
  /** Aggregates, quota classes and host usage (src/store/compute/infra.ts), on `sql`. */
  infra: InfraRepositories;
  /** Nova's versioned notifications on AMQP, when --notifications is set. */
  notifier: Notifier | null;
  /** The process's logger (Fastify's too): pretty lines by default, JSON with log_format json. */
  log: Logger;
}

export interface Novabox {
  app: FastifyInstance;
  services: Services;
  /** Starts the engine (recovery, timers, leases); createNovabox does unless told not to. Says what recovery found. */
  start(): Promise<RecoverySummary>;
  /** What start-up recovered of the tasks a previous run left in flight (null until started). */
  recovered: RecoverySummary | null;
  /** The simulated guests' SSH service when config.guest_ssh is set; `address` once start() has bound it. */
  guestSsh: { service: GuestSshService; address: { host: string; port: number } | null } | null;
  close(): Promise<void>;
}

/**
 * Builds everything; the engine (restart recovery, timers, leases) starts at once unless
 * `start: false`, in which case the caller starts it with `start()` (the CLI binds its port first,
 * so a second process that cannot bind never touches the first one's work).
 */
export async function createNovabox(config: Config, opts: { clock?: Clock; start?: boolean; log?: Logger } = {}): Promise<Novabox> {
  // The manual clock starts at the wall time, so timestamps and token expiry stay plausible.
  const clock = opts.clock ?? (config.clock === 'manual' ? new ManualClock(Date.now()) : systemClock);
  const log = opts.log ?? createLogger(config);
  const location = parseDbLocation(config.db);
  // On PostgreSQL every replica shares the database and nothing is cached per process (SqlComputeStore);
  // `db` is then a private in-memory SQLite handle that nothing in the API reads (only SQLite-only tools do).
  let db: Db;
  let sql: SqlDatabase;
  let store: ComputeStore;
  if (location.kind === 'postgres') {
    sql = await openPostgres(location.url);
    await migrateSql(sql, COMPUTE_MIGRATIONS);
    db = openDb(':memory:');
    store = new SqlComputeStore(sql);
  } else {
    // Registered among the processes on the file before anything is written, migrations included.
    db = openDb(location.path, { migrate: false });
    const sqlite = new SqliteSql(db);
    await sqlite.join();
    migrate(db);
    sql = sqlite;
    store = new SqliteComputeStore(db, sqlite);
  }
  await migrateSql(sql, [...identityMigrations, ...imageMigrations]);
  const identity = createIdentityModel(new SqlIdentityStore(sql), config, clock);
  const images = createImageModel(new SqlImageStore(sql), config, clock);
  const repos = computeRepositories(sql);
  const driver = new SimulatedDriver({ timeScale: config.time_scale, timings: config.timings });
  const infra = await openInfraRepositories(sql);
  const engine = new ComputeEngine({ store, driver, clock, config, images, infra });
  const network = new NetworkService(sql, clock, config);
  await network.migrate();
  // After every set that creates a table a server view reads: their change notifications (PostgreSQL).
  if (location.kind === 'postgres') await migrateSql(sql, VIEW_NOTIFY_MIGRATIONS);
  const volumes = new VolumeEngine({ sql, clock, driver: new SimulatedBlockDriver(driver), images });
  await seedCloud({ config, identity, images, engine, network, volumes });
  connectVolumesToCompute(engine, volumes);
  // The manual clock steps through server and volume steps alike, in due order.
  const nextDueAt = async () => {
    const [a, b] = [await engine.store.nextDueAt(), await volumes.store.nextDueAt(sql)];
    return a === null ? b : b === null ? a : Math.min(a, b);
  };
  const advanceClock = clock instanceof ManualClock ? clockAdvancer(clock, { settle: async () => { await engine.settle(); await volumes.settle(); }, nextDueAt }) : null;
  const journal = new Journal(engine.events, engine.store);
  const services: Services = { config, db, sql, repos, clock, identity, images, engine, driver, store, advanceClock, journal, volumes, network, infra, notifier: null, log };
  connectNovaToNeutron(services);
  const app = await buildApp(services);
  const guestSsh: Novabox['guestSsh'] = config.guest_ssh
    ? { service: new GuestSshService(services, { listen: config.guest_ssh, bootSeconds: config.guest_boot_seconds, user: config.guest_user }), address: null }
    : null;
  guestSsh?.service.observe(app);
  if (config.notifications) services.notifier = new Notifier(config.notifications, journal, engine.store, (msg) => app.log.warn(msg));
  if (log.isLevelEnabled('info')) {
    engine.events.on('transition', (t) => {
      log.info({ event: 'transition', server_id: t.server_id, project_id: t.project_id, action: t.action, vm_state: t.vm_state, task_state: t.task_state, power_state: t.power_state, status: t.status }, describeTransition(t));
    });
  }
  let started = false;
  const start = async (): Promise<RecoverySummary> => {
    if (started && nb.recovered) return nb.recovered;
    started = true;
    const recovered = await engine.start();
    await volumes.start();
    if (guestSsh) {
      const address = await guestSsh.service.listen();
      guestSsh.address = address;
      log.info({ event: 'guest_ssh', ...address }, `simulated guests' SSH on ${address.host}:${address.port} (user ${config.guest_user})`);
    }
    nb.recovered = recovered;
    if (recovered.tasks > 0) {
      log.info({ event: 'recovery', recovered }, `start-up recovery: ${recovered.tasks} task(s) were in flight: ${recovered.resumed} resumed, ${recovered.rebooted} rebooted again, ${recovered.error} ended in error, ${recovered.success} completed`);
    } else {
      log.info({ event: 'recovery', recovered }, 'start-up recovery: nothing was in flight');
    }
    return recovered;
  };
  const nb: Novabox = {
    app,
    services,
    start,
    recovered: null,
    guestSsh,
    async close() {
      await guestSsh?.service.close();
      await app.close();
      if (started) {
        await engine.stop();
        await volumes.stop();
      }
      await images.settled();
      await services.notifier?.close();
      await sql.close();
      db.close();
    },
  };
  if (opts.start !== false) await start();
  return nb;
}

/** Every service's first-start data, in dependency order (idempotent); a reset runs it again on an empty database. */
export async function seedCloud(s: Pick<Services, 'config' | 'identity' | 'images' | 'engine' | 'network' | 'volumes'>): Promise<void> {
  await s.identity.seed(catalogSeed(s.config));
  await s.images.seed((await s.identity.store.projectByName('default', 'admin'))?.id ?? null);
  await s.engine.seed();
  await seedNetwork(s.network, s.identity, s.config);
  await s.volumes.seed();
}

/** devstack's topology: `public` owned by the admin project, `private` and `router1` by demo's. */
async function seedNetwork(network: NetworkService, identity: IdentityModel, config: Config): Promise<void> {
  const project = async (name: string | undefined) => (name ? (await identity.store.projectByName('default', name))?.id : undefined);
  const adminUser = config.seed.users.find((u) => u.roles.includes('admin'));
  const admin = (await project(adminUser?.project)) ?? (await project(config.seed.projects[0]));
  if (!admin) return;
  const demo = (await project(config.seed.projects.includes('demo') ? 'demo' : config.seed.projects.find((p) => p !== adminUser?.project))) ?? admin;
  await network.seed(admin, demo);
}
