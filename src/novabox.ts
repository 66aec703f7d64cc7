// Composition root: opens the store, builds the engine, the services and the HTTP app.
import type { FastifyInstance } from 'fastify';
import type { Config } from './config.ts';
import { clockAdvancer, ManualClock, systemClock, type Clock } from './engine/clock.ts';
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
import { computeRepositories, type ComputeRepositories } from './store/compute/index.ts';
import { Journal } from './engine/journal.ts';

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
  store: SqliteComputeStore;
  /** With the manual clock: move it forward by ms, running every step due on the way, in order. */
  advanceClock: ((ms: number) => Promise<void>) | null;
  /** The engine's events, numbered and kept in a ring (SSE, dashboard). */
  journal: Journal;
}

export interface Novabox {
  app: FastifyInstance;
  services: Services;
  close(): Promise<void>;
}

export async function createNovabox(config: Config, opts: { clock?: Clock } = {}): Promise<Novabox> {
  // The manual clock starts at the wall time, so timestamps and token expiry stay plausible.
  const clock = opts.clock ?? (config.clock === 'manual' ? new ManualClock(Date.now()) : systemClock);
  const db = openDb(config.db);
  const sql = new SqliteSql(db);
  await migrateSql(sql, [...identityMigrations, ...imageMigrations]);
  const identity = createIdentityModel(new SqlIdentityStore(sql), config, clock);
  const images = createImageModel(new SqlImageStore(sql), config, clock);
  const store = new SqliteComputeStore(db, sql);
  const repos = computeRepositories(sql);
  const driver = new SimulatedDriver({ timeScale: config.time_scale });
  const engine = new ComputeEngine({ store, driver, clock, config, images });
  await identity.seed(catalogSeed(config));
  await images.seed((await identity.store.projectByName('default', 'admin'))?.id ?? null);
  await engine.seed();
  const advanceClock = clock instanceof ManualClock ? clockAdvancer(clock, { settle: () => engine.settle(), nextDueAt: () => engine.store.nextDueAt() }) : null;
  const journal = new Journal(engine.events, engine.store);
  const services: Services = { config, db, sql, repos, clock, identity, images, engine, driver, store, advanceClock, journal };
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
