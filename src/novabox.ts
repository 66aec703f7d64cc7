// Composition root: opens the store, builds the engine, the services and the HTTP app.
import type { FastifyInstance } from 'fastify';
import type { Config } from './config.ts';
import { systemClock, type Clock } from './engine/clock.ts';
import { openDb, type Db } from './store/db.ts';
import { buildApp } from './api/app.ts';
import type { ImagePort, TokenValidator } from './api/ports.ts';
import { createIdentityModel, type IdentityModel } from './api/identity/model.ts';
import { createImageModel, type ImageModel } from './api/image/model.ts';
import { ComputeEngine } from './engine/compute.ts';
import { SqliteComputeStore } from './store/sqlite.ts';
import { SimulatedDriver } from './drivers/simulated.ts';
import { SqliteSql, type SqlDatabase } from './store/sql.ts';
import { NetworkService } from './api/network/service.ts';

export interface Services {
  config: Config;
  db: Db;
  /** The portable executor that repositories are written against (src/store/sql.ts). */
  sql: SqlDatabase;
  clock: Clock;
  identity: IdentityModel & TokenValidator;
  images: ImageModel & ImagePort;
  engine: ComputeEngine;
  driver: SimulatedDriver;
  store: SqliteComputeStore;
  /** Networking (Neutron v2.0): its repository, units of work and seeded topology. */
  network: NetworkService;
}

export interface Novabox {
  app: FastifyInstance;
  services: Services;
  close(): Promise<void>;
}

export async function createNovabox(config: Config, opts: { clock?: Clock } = {}): Promise<Novabox> {
  const clock = opts.clock ?? systemClock;
  const db = openDb(config.db);
  const sql = new SqliteSql(db);
  const identity = createIdentityModel(db, config, clock);
  const images = createImageModel(db, config, clock);
  const store = new SqliteComputeStore(db);
  const driver = new SimulatedDriver({ timeScale: config.time_scale });
  const engine = new ComputeEngine({ store, driver, clock, config, images });
  await identity.seed();
  await images.seed();
  await engine.seed();
  const network = new NetworkService(sql, clock, config);
  await network.migrate();
  await seedNetwork(network, identity, config);
  const services: Services = { config, db, sql, clock, identity, images, engine, driver, store, network };
  const app = await buildApp(services);
  await engine.start();
  return {
    app,
    services,
    async close() {
      await app.close();
      await engine.stop();
      db.close();
    },
  };
}

/** devstack's topology: `public` owned by the admin project, `private` and `router1` by demo's. */
async function seedNetwork(network: NetworkService, identity: IdentityModel, config: Config): Promise<void> {
  const project = (name: string | undefined) => (name ? identity.listProjects({ name, domain_id: 'default' })[0]?.id : undefined);
  const adminUser = config.seed.users.find((u) => u.roles.includes('admin'));
  const admin = project(adminUser?.project) ?? project(config.seed.projects[0]);
  if (!admin) return;
  const demo = project(config.seed.projects.includes('demo') ? 'demo' : config.seed.projects.find((p) => p !== adminUser?.project)) ?? admin;
  await network.seed(admin, demo);
}
