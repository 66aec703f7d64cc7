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
import { SqliteSql, migrateSql, type SqlDatabase } from './store/sql.ts';
import { identityMigrations } from './store/identity/schema.ts';
import { imageMigrations } from './store/image/schema.ts';
import { SqlImageStore } from './store/image/repository.ts';
import { SqlIdentityStore } from './store/identity/repository.ts';
import { catalogSeed } from './api/identity/index.ts';

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
  await migrateSql(sql, [...identityMigrations, ...imageMigrations]);
  const identity = createIdentityModel(new SqlIdentityStore(sql), config, clock);
  const images = createImageModel(new SqlImageStore(sql), config, clock);
  const store = new SqliteComputeStore(db);
  const driver = new SimulatedDriver({ timeScale: config.time_scale });
  const engine = new ComputeEngine({ store, driver, clock, config, images });
  await identity.seed(catalogSeed(config));
  await images.seed((await identity.store.projectByName('default', 'admin'))?.id ?? null);
  await engine.seed();
  const services: Services = { config, db, sql, clock, identity, images, engine, driver, store };
  const app = await buildApp(services);
  await engine.start();
  return {
    app,
    services,
    async close() {
      await app.close();
      await engine.stop();
      await images.settled();
      db.close();
    },
  };
}
