// An engine on a real SQLite store, a manual clock and an in-memory image port: the library
// under test without HTTP.
import { randomUUID } from 'node:crypto';
import { loadConfig, type Config } from '../../src/config.ts';
import { ManualClock } from '../../src/engine/clock.ts';
import { ComputeEngine } from '../../src/engine/compute.ts';
import type { CreateRequest, RequestContext } from '../../src/engine/types.ts';
import { SimulatedDriver } from '../../src/drivers/simulated.ts';
import { openDb, type Db } from '../../src/store/db.ts';
import { SqliteComputeStore } from '../../src/store/sqlite.ts';
import type { ImagePort, ImageRecord } from '../../src/api/ports.ts';
import { statusOf } from '../../src/domain/states.ts';

/** The in-memory image port beside the real image service. */
export class MemoryImages implements ImagePort {
  images = new Map<string, ImageRecord>();
  async getImage(id: string) {
    const i = this.images.get(id);
    return i && i.status !== 'deleted' ? i : undefined;
  }
  async createSnapshot(input: { name: string; owner: string; properties: Record<string, string> }) {
    const img: ImageRecord = {
      id: randomUUID(), name: input.name, status: 'queued', visibility: 'private', owner: input.owner, min_disk: 0, min_ram: 0,
      disk_format: 'qcow2', container_format: 'bare', size: null, protected: false, properties: input.properties, created_at: Date.now(), updated_at: Date.now(),
    };
    this.images.set(img.id, img);
    return img;
  }
  async setStatus(id: string, status: ImageRecord['status']) {
    const i = this.images.get(id);
    if (i) i.status = status;
  }
  async deleteImage(id: string) {
    const i = this.images.get(id);
    if (i) i.status = 'deleted';
  }
  async findByProperties(owner: string, props: Record<string, string>) {
    return [...this.images.values()].filter((i) => i.owner === owner && Object.entries(props).every(([k, v]) => i.properties[k] === v));
  }
}

export interface Harness {
  engine: ComputeEngine;
  clock: ManualClock;
  driver: SimulatedDriver;
  images: MemoryImages;
  db: Db;
  config: Config;
  close(): Promise<void>;
}

export async function makeEngine(opts: { db?: string; config?: Partial<Config>; clock?: ManualClock; images?: MemoryImages } = {}): Promise<Harness> {
  const config = loadConfig({ db: opts.db ?? ':memory:', time_scale: 0, timings: 'fake', log_level: 'silent', ...opts.config }, {});
  const clock = opts.clock ?? new ManualClock();
  const db = openDb(config.db);
  const driver = new SimulatedDriver({ timeScale: config.time_scale });
  const images = opts.images ?? new MemoryImages();
  const engine = new ComputeEngine({ store: new SqliteComputeStore(db), driver, clock, config, images });
  await engine.seed();
  await engine.start();
  return {
    engine, clock, driver, images, db, config,
    async close() {
      await engine.stop();
      db.close();
    },
  };
}

export const DEMO: RequestContext = { user_id: 'u-demo', project_id: 'p-demo', roles: ['member'], request_id: 'req-demo', microversion: [2, 100] };
export const ALT: RequestContext = { user_id: 'u-alt', project_id: 'p-alt', roles: ['member'], request_id: 'req-alt', microversion: [2, 100] };
export const ADMIN: RequestContext = { user_id: 'u-admin', project_id: 'p-admin', roles: ['admin'], request_id: 'req-admin', microversion: [2, 100] };

export function ctx(base: RequestContext): RequestContext {
  return { ...base, request_id: `req-${randomUUID()}` };
}

export async function createRequest(h: Harness, over: Partial<CreateRequest> = {}): Promise<CreateRequest> {
  const flavor = (await h.engine.store.getFlavor('42'))!;
  return {
    name: 'vm', description: null, flavor, image_ref: 'img-1', image_properties: {}, key_name: null, key_data: null, user_data: null,
    metadata: {}, tags: [], networks: 'auto', availability_zone: null, security_groups: ['default'], block_device_mapping: [],
    scheduler_hints: {}, min_count: 1, max_count: 1, config_drive: false, auto_disk_config: false, access_ip_v4: '', access_ip_v6: '',
    trusted_image_certificates: null, hostname: null, requested_host: null, admin_pass: 'pw', ...over,
  };
}

export async function statusNow(h: Harness, uuid: string): Promise<string> {
  const s = (await h.engine.store.getServer(uuid))!;
  return statusOf(s.vm_state, s.task_state, s.deleted);
}

/** Step the engine one transition at a time, recording each distinct status seen (with the first). */
export async function walk(h: Harness, uuid: string): Promise<string[]> {
  const seen = [await statusNow(h, uuid)];
  for (let i = 0; i < 100; i++) {
    if (!(await h.engine.transitions.runOne())) break;
    const st = await statusNow(h, uuid);
    if (st !== seen[seen.length - 1]) seen.push(st);
  }
  return seen;
}

export async function activeServer(h: Harness, base = DEMO): Promise<string> {
  const [s] = await h.engine.create(ctx(base), await createRequest(h));
  await h.engine.settle();
  return s.uuid;
}
