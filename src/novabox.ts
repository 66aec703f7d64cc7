// Composition root: opens the store, builds the engine, the services and the HTTP app.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { createLogger, describeTransition } from './logging.ts';
import type { RecoverySummary } from './engine/recovery.ts';
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
  /** The process's logger (Fastify's too): pretty lines by default, JSON with log_format json. */
  log: Logger;
}

export interface Novabox {
  app: FastifyInstance;
  services: Services;
  /** What start-up recovered of the tasks a previous run left in flight. */
  recovered: RecoverySummary;
  close(): Promise<void>;
}

export async function createNovabox(config: Config, opts: { clock?: Clock; log?: Logger } = {}): Promise<Novabox> {
  const clock = opts.clock ?? systemClock;
  const log = opts.log ?? createLogger(config);
  const db = openDb(config.db);
  const sql = new SqliteSql(db);
  const identity = createIdentityModel(db, config, clock);
  const images = createImageModel(db, config, clock);
  const store = new SqliteComputeStore(db);
  const driver = new SimulatedDriver({ timeScale: config.time_scale, timings: config.timings });
  const engine = new ComputeEngine({ store, driver, clock, config, images });
  await identity.seed();
  await images.seed();
  await engine.seed();
  const services: Services = { config, db, sql, clock, identity, images, engine, driver, store, log };
  const app = await buildApp(services);
  if (log.isLevelEnabled('info')) {
    engine.events.on('transition', (t) => {
      log.info({ event: 'transition', server_id: t.server_id, project_id: t.project_id, action: t.action, vm_state: t.vm_state, task_state: t.task_state, power_state: t.power_state, status: t.status }, describeTransition(t));
    });
  }
  const recovered = await engine.start();
  if (recovered.tasks > 0) {
    log.info({ event: 'recovery', recovered }, `start-up recovery: ${recovered.tasks} task(s) were in flight: ${recovered.resumed} resumed, ${recovered.rebooted} rebooted again, ${recovered.error} ended in error, ${recovered.success} completed`);
  } else {
    log.info({ event: 'recovery', recovered }, 'start-up recovery: nothing was in flight');
  }
  return {
    app,
    services,
    recovered,
    async close() {
      await app.close();
      await engine.stop();
      db.close();
    },
  };
}
