// Seeds a novabox SQLite file with N servers through the store's bulk path, shaped the way
// engine.create leaves them once settled: flavor snapshot, fixed addresses, metadata, and the
// vm/task/power states of each status. The bench then serves the file from a child process.
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../src/config.ts';
import { createNovabox, type Novabox } from '../src/novabox.ts';
import type { SqliteComputeStore } from '../src/store/sqlite.ts';
import { allocateAddresses } from '../src/engine/compute.ts';
import { SEED_IMAGES } from '../src/api/image/model.ts';
import { newId } from '../src/api/identity/model.ts';
import type { FlavorSnapshot, ServerRecord } from '../src/domain/server.ts';
import { POWER_STATE, type PowerState, type TaskState, type VmState } from '../src/domain/states.ts';

/** The settled states a seeded server can be in, with their share of the fleet (per mille). */
export const STATES: { status: string; vm_state: VmState; task_state: TaskState | null; power_state: PowerState; share: number }[] = [
  { status: 'ACTIVE', vm_state: 'active', task_state: null, power_state: POWER_STATE.RUNNING, share: 600 },
  { status: 'SHUTOFF', vm_state: 'stopped', task_state: null, power_state: POWER_STATE.SHUTDOWN, share: 200 },
  { status: 'PAUSED', vm_state: 'paused', task_state: null, power_state: POWER_STATE.PAUSED, share: 50 },
  { status: 'SUSPENDED', vm_state: 'suspended', task_state: null, power_state: POWER_STATE.SUSPENDED, share: 50 },
  { status: 'ERROR', vm_state: 'error', task_state: null, power_state: POWER_STATE.NOSTATE, share: 50 },
  { status: 'SHELVED_OFFLOADED', vm_state: 'shelved_offloaded', task_state: null, power_state: POWER_STATE.SHUTDOWN, share: 50 },
];

/** Projects and their share of the fleet (per mille); the seeded users' projects plus three more. */
export const PROJECTS: [string, number][] = [['demo', 500], ['admin', 100], ['alt_demo', 100], ['bench-1', 100], ['bench-2', 100], ['bench-3', 100]];

export const HOSTS = ['compute-0', 'compute-1'];
const CHUNK = 20000;

export interface SeedResult {
  servers: number;
  /** Wall time of the bulk inserts (the servers, their addresses and tags). */
  seed_ms: number;
  /** Wall time including creating the database, projects, flavors and fault rows. */
  total_ms: number;
  /** Server uuids of the demo project (a sample), for GET /servers/{id}. */
  demo_sample: string[];
  /** The name of a SHUTOFF server of the demo project, for the name filter. */
  shutoff_name: string;
  /** Demo project's ACTIVE servers in list order (newest first): the uuid in the middle. */
  demo_active_middle: string;
  /** All projects' ACTIVE servers in list order: the uuid in the middle (all_tenants listing). */
  all_active_middle: string;
  counts: Record<string, number>;
}

/** Picks by share (per mille) with a fixed, well-mixed permutation of i: deterministic and even. */
function pick<T>(table: T[], share: (t: T) => number, i: number, salt: number): T {
  let h = Math.imul(i ^ salt, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  h ^= h >>> 13;
  const x = (h >>> 0) % 1000;
  let acc = 0;
  for (const t of table) {
    acc += share(t);
    if (x < acc) return t;
  }
  return table[table.length - 1];
}

/**
 * The projects (made when missing) and users the fleet belongs to, and its four flavors; the demo
 * project gets unlimited instance/core/ram quota for the bench's creates.
 */
export async function fleetOwners(nb: Novabox): Promise<{ projectId: Map<string, string>; userId: Map<string, string>; flavors: FlavorSnapshot[] }> {
  const { identity } = nb.services;
  const projectId = new Map<string, string>();
  for (const [name] of PROJECTS) {
    let p = await identity.store.projectByName('default', name);
    if (!p) {
      const made = { id: newId(), name, domain_id: 'default', description: `${name} project`, enabled: true, parent_id: null, tags: [], extra: {}, created_at: Date.now() };
      await identity.write((s) => s.insertProject(made));
      p = made;
    }
    projectId.set(name, p.id);
  }
  const userId = new Map<string, string>();
  for (const u of await identity.store.listUsers({ domain_id: 'default' })) userId.set(u.name, u.id);
  const flavors = (await nb.services.store.listFlavors({ include_private: true })).filter((f) => ['1', '2', '3', '42'].includes(f.flavorid));
  // Creates go to the demo project, which already holds half the fleet: no quota in the way.
  await nb.services.engine.setQuotaLimits(projectId.get('demo')!, { instances: -1, cores: -1, ram: -1 });
  return { projectId, userId, flavors };
}

export async function seedDatabase(file: string, n: number, log: (msg: string) => void = () => undefined): Promise<SeedResult> {
  const t0 = performance.now();
  const config = loadConfig({ db: file, time_scale: 0, log_level: 'silent', port: 0 }, {});
  const nb = await createNovabox(config);
  try {
    const store = nb.services.store as SqliteComputeStore;
    const { projectId, userId, flavors } = await fleetOwners(nb);
    const image = SEED_IMAGES[0].id;

    const firstId = ((nb.services.db.prepare('SELECT COALESCE(MAX(id), 0) AS m FROM servers').get() as { m: number }).m) + 1;
    const base = Date.now() - n * 10 - 60_000;
    const counts: Record<string, number> = {};
    const demoSample: string[] = [];
    const demoActive: string[] = [];
    const allActive: string[] = [];
    let shutoffName = '';
    const errors: string[] = [];

    const make = (i: number): Omit<ServerRecord, 'id'> => {
      const [project] = pick(PROJECTS, (p) => p[1], i, 17);
      const st = pick(STATES, (s) => s.share, i, 911);
      const flavor: FlavorSnapshot = flavors[i % flavors.length];
      const uuid = randomUUID();
      const name = `srv-${i}`;
      const created = base + i * 10;
      const host = st.vm_state === 'shelved_offloaded' ? null : HOSTS[i % HOSTS.length];
      counts[st.status] = (counts[st.status] ?? 0) + 1;
      if (project === 'demo') {
        if (demoSample.length < 1000 && i % 7 === 0) demoSample.push(uuid);
        if (st.status === 'SHUTOFF') shutoffName = name;
        if (st.status === 'ACTIVE') demoActive.push(uuid);
      }
      if (st.status === 'ACTIVE') allActive.push(uuid);
      if (st.status === 'ERROR') errors.push(uuid);
      return {
        uuid, project_id: projectId.get(project)!, user_id: userId.get(project === 'admin' ? 'admin' : 'demo') ?? 'bench',
        display_name: name, display_description: null, hostname: name,
        vm_state: st.vm_state, task_state: st.task_state, power_state: st.power_state,
        host, node: host, availability_zone: null, pinned_availability_zone: null,
        flavor, old_flavor: null, new_flavor: null,
        image_ref: image, image_properties: { os_distro: 'cirros' },
        key_name: null, key_data: null, user_data: null, config_drive: '', auto_disk_config: false,
        access_ip_v4: '', access_ip_v6: '',
        metadata: i % 10 === 0 ? { role: 'web', tier: String(i % 3) } : {},
        system_metadata: st.vm_state === 'stopped' ? { old_vm_state: 'active' } : {},
        tags: i % 20 === 0 ? ['bench'] : [],
        addresses: allocateAddresses(firstId + i),
        security_groups: ['default'], block_device_mapping: [], scheduler_hints: {}, trusted_image_certificates: null,
        locked_by: null, locked_reason: null,
        reservation_id: `r-${(firstId + i).toString(36).padStart(8, '0')}`, launch_index: 0, progress: 0,
        created_at: created, updated_at: created + 5, launched_at: host ? created + 5 : null,
        terminated_at: null, deleted_at: null, deleted: false,
      };
    };

    const s0 = performance.now();
    for (let start = 0; start < n; start += CHUNK) {
      const batch: Omit<ServerRecord, 'id'>[] = [];
      for (let i = start; i < Math.min(n, start + CHUNK); i++) batch.push(make(i));
      store.insertServersBulk(batch);
      if ((start / CHUNK) % 10 === 9) log(`  seeded ${start + batch.length} servers`);
    }
    const seed_ms = performance.now() - s0;

    // ERROR servers carry a fault, as Nova's do (the view shows it).
    for (let i = 0; i < errors.length; i += CHUNK) {
      await store.transaction(async (tx) => {
        for (const uuid of errors.slice(i, i + CHUNK)) {
          await tx.insertFault({ server_uuid: uuid, code: 500, message: 'No valid host was found. ', details: '', host: null, created_at: base });
        }
      });
    }
    // Lists are newest first, so the middle of the list is the middle of the insertion order.
    return {
      servers: n, seed_ms, total_ms: performance.now() - t0,
      demo_sample: demoSample, shutoff_name: shutoffName,
      demo_active_middle: demoActive[Math.floor(demoActive.length / 2)],
      all_active_middle: allActive[Math.floor(allActive.length / 2)],
      counts,
    };
  } finally {
    await nb.close();
    // Leave a compact file with no WAL behind: the server starts from what a user would have on disk.
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(file);
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
  }
}
