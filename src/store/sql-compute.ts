// The compute store written once against the portable executor, for PostgreSQL (and runnable on
// SQLite, where the contract suite checks it beside the hand-tuned SqliteComputeStore). Nothing is
// cached in the process, so several replicas on one database always agree: a server read in a unit
// of work is locked (SELECT … FOR UPDATE), due steps are claimed with FOR UPDATE SKIP LOCKED and a
// lease, and quota usage is counted in the same unit of work that writes.
import type { FlavorSnapshot, ServerPatch, ServerRecord } from '../domain/server.ts';
import type { TaskState } from '../domain/states.ts';
import type {
  ComputeHostRow, ComputeStore, ComputeTx, FaultRow, FlavorInput, InstanceActionEventRow, InstanceActionRow,
  HostChange, Lease, MigrationFilter, MigrationRow, ServerQuery, ServerStateCount, TaskRow, Usage,
} from './store.ts';
import { holdUntilCommit, type Param, type PostgresSql, type Sql, type SqlDatabase } from './sql.ts';
import { newLeaseOwner } from './lease-owner.ts';
import { bumpGeneration } from './generations.ts';
import { DOC_FIELDS, DOC_SET, expectedTaskState, flavorRow, hostChangeSql, listServersSql, rowToServer, serverParams, taskRow, type ServerRow } from './server-rows.ts';

type Row = Record<string, unknown>;

function hostRow(r: Row): ComputeHostRow {
  return {
    name: r.name as string, availability_zone: r.availability_zone as string, disabled: Number(r.disabled) === 1,
    disabled_reason: (r.disabled_reason as string | null) ?? null, forced_down: Number(r.forced_down) === 1, up: Number(r.up) === 1,
    updated_at: (r.updated_at as number | null) ?? null,
  };
}

const USAGE = `SELECT COUNT(*) AS instances, COALESCE(SUM(vcpus), 0) AS cores, COALESCE(SUM(memory_mb), 0) AS ram
  FROM servers WHERE project_id = ? AND deleted = 0 AND vm_state <> 'soft-delete'`;

async function usageOf(x: Sql, project_id: string): Promise<Usage> {
  const r = (await x.get<Row>(USAGE, [project_id]))!;
  return { instances: Number(r.instances), cores: Number(r.cores), ram: Number(r.ram) };
}

async function migrationsOf(x: Sql, filter: MigrationFilter): Promise<MigrationRow[]> {
  const where: string[] = [];
  const params: Param[] = [];
  for (const k of ['server_uuid', 'project_id', 'migration_type', 'status'] as const) {
    if (filter[k] !== undefined) {
      where.push(`${k} = ?`);
      params.push(filter[k]!);
    }
  }
  if (filter.host !== undefined) {
    where.push('(source_compute = ? OR dest_compute = ?)');
    params.push(filter.host, filter.host);
  }
  return x.all<MigrationRow>(`SELECT * FROM migrations ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY created_at DESC, id DESC`, params);
}

async function insertId(x: Sql, sql: string, params: Param[]): Promise<number> {
  return Number((await x.get<{ id: number }>(`${sql} RETURNING id`, params))!.id);
}

export class SqlComputeStore implements ComputeStore {
  lease: Lease = { owner: newLeaseOwner(), ms: 5000 };
  private readonly pg: boolean;

  constructor(readonly sql: SqlDatabase) {
    this.pg = sql.dialect === 'postgres';
  }

  transaction<T>(fn: (tx: ComputeTx) => Promise<T>): Promise<T> {
    const wrote = { task: false };
    return this.sql.transaction(async (x) => {
      const out = await fn(this.unitOfWork(x, wrote));
      // Delivered at commit, to every replica listening (PostgreSQL drops it on rollback).
      if (wrote.task && this.pg) await x.run("SELECT pg_notify('novabox_tasks', '')");
      return out;
    });
  }

  async subscribe(wake: (what: 'tasks' | 'hosts') => void): Promise<() => Promise<void>> {
    if (!this.pg) return async () => undefined;
    const client = await (this.sql as PostgresSql).pool.connect();
    const onNotify = (m: { payload?: string }) => wake(m.payload === 'hosts' ? 'hosts' : 'tasks');
    client.on('notification', onNotify);
    await client.query('LISTEN novabox_tasks');
    return async () => {
      client.off('notification', onNotify);
      await client.query('UNLISTEN novabox_tasks').catch(() => undefined);
      client.release();
    };
  }

  private unitOfWork(x: Sql, wrote: { task: boolean }): ComputeTx {
    const self = this;
    const forUpdate = this.pg ? ' FOR UPDATE' : '';
    return {
      sql: x,
      async getServerForUpdate(uuid) {
        const r = await x.get<ServerRow>(`SELECT * FROM servers WHERE uuid = ?${forUpdate}`, [uuid]);
        return r && rowToServer(r);
      },
      async getServerById(id) {
        const r = await x.get<ServerRow>(`SELECT * FROM servers WHERE id = ?${forUpdate}`, [id]);
        return r && rowToServer(r);
      },
      async insertServer(s) {
        const p = serverParams(s);
        const cols = Object.keys(p);
        const id = await insertId(x, `INSERT INTO servers (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`, cols.map((c) => p[c] as Param));
        await self.syncSide(x, id, s.tags, s.addresses, true);
        return { ...s, id } as ServerRecord;
      },
      async updateServer(id, patch, now, expected) {
        return self.update(x, id, patch, now, expected);
      },
      async getTask(server_id) {
        const r = await x.get<Row>('SELECT * FROM tasks WHERE server_id = ?', [server_id]);
        return r && taskRow(r);
      },
      async putTask(t) {
        wrote.task = true;
        await x.run(
          `INSERT INTO tasks (server_id, action, action_id, step, due_at, plan, context, owner, lease_until, parked_host) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)
           ON CONFLICT (server_id) DO UPDATE SET action = excluded.action, action_id = excluded.action_id, step = excluded.step, due_at = excluded.due_at,
           plan = excluded.plan, context = excluded.context, owner = excluded.owner, lease_until = excluded.lease_until, parked_host = NULL`,
          [t.server_id, t.action, t.action_id, t.step, t.due_at, JSON.stringify(t.plan), JSON.stringify(t.context), self.lease.owner, Date.now() + self.lease.ms],
        );
      },
      async parkTask(server_id, host) {
        await x.run('UPDATE tasks SET parked_host = ? WHERE server_id = ?', [host, server_id]);
      },
      async deleteTask(server_id) {
        await x.run('DELETE FROM tasks WHERE server_id = ?', [server_id]);
      },
      async insertAction(a) {
        return insertId(x, `INSERT INTO instance_actions (server_uuid, action, request_id, user_id, project_id, start_time, finish_time, message, updated_at)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, [a.server_uuid, a.action, a.request_id, a.user_id, a.project_id, a.start_time, a.finish_time, a.message, a.updated_at]);
      },
      async finishAction(id, now, message) {
        await x.run('UPDATE instance_actions SET finish_time = ?, updated_at = ?, message = COALESCE(?, message) WHERE id = ?', [now, now, message, id]);
      },
      async startEvent(action_id, event, now, host) {
        return insertId(x, 'INSERT INTO instance_action_events (action_id, event, start_time, host) VALUES (?, ?, ?, ?)', [action_id, event, now, host]);
      },
      async finishEvent(id, now, result, details = null, traceback = null) {
        await x.run('UPDATE instance_action_events SET finish_time = ?, result = ?, details = ?, traceback = ? WHERE id = ?', [now, result, details, traceback, id]);
        await x.run('UPDATE instance_actions SET updated_at = ? WHERE id = (SELECT action_id FROM instance_action_events WHERE id = ?)', [now, id]);
        if (result === 'Error') await x.run("UPDATE instance_actions SET message = 'Error' WHERE id = (SELECT action_id FROM instance_action_events WHERE id = ?)", [id]);
      },
      async insertFault(f) {
        await x.run('INSERT INTO instance_faults (server_uuid, code, message, details, host, created_at) VALUES (?, ?, ?, ?, ?, ?)', [f.server_uuid, f.code, f.message, f.details, f.host, f.created_at]);
      },
      async insertMigration(m) {
        return insertId(x, `INSERT INTO migrations (uuid, server_uuid, project_id, user_id, source_compute, dest_compute, source_node, dest_node, dest_host,
          old_instance_type_id, new_instance_type_id, status, migration_type, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
          m.uuid, m.server_uuid, m.project_id, m.user_id, m.source_compute, m.dest_compute, m.source_node, m.dest_node, m.dest_host,
          m.old_instance_type_id, m.new_instance_type_id, m.status, m.migration_type, m.created_at, m.updated_at,
        ]);
      },
      async updateMigration(id, status, now) {
        await x.run('UPDATE migrations SET status = ?, updated_at = ? WHERE id = ?', [status, now, id]);
      },
      async usage(project_id) {
        // The count decides a write (a create, a resize, a restore): a second unit of work of the
        // same project waits here until this one commits, so both cannot pass on the same count.
        await holdUntilCommit(x, `compute-usage:${project_id}`);
        return usageOf(x, project_id);
      },
      getMigration: (id) => x.get<MigrationRow>('SELECT * FROM migrations WHERE id = ?', [id]),
      listMigrations: (filter) => migrationsOf(x, filter),
      listHosts: async () => (await x.all<Row>('SELECT * FROM compute_hosts ORDER BY name')).map(hostRow),
    };
  }

  /** Rewrites a server's tag and address rows; a new server (`fresh`) has none to delete. */
  private async syncSide(x: Sql, id: number, tags: string[] | undefined, addresses: ServerRecord['addresses'] | undefined, fresh = false): Promise<void> {
    if (tags) {
      if (!fresh) await x.run('DELETE FROM server_tags WHERE server_id = ?', [id]);
      for (const t of tags) await x.run('INSERT INTO server_tags (server_id, tag) VALUES (?, ?) ON CONFLICT DO NOTHING', [id, t]);
    }
    if (addresses) {
      if (!fresh) await x.run('DELETE FROM server_ips WHERE server_id = ?', [id]);
      for (const a of addresses) await x.run('INSERT INTO server_ips (server_id, address, version) VALUES (?, ?, ?) ON CONFLICT DO NOTHING', [id, a.addr, a.version]);
    }
  }

  private async update(x: Sql, id: number, patch: ServerPatch, now: number, expected?: readonly (TaskState | null)[]): Promise<boolean> {
    const sets: string[] = [];
    const params: Param[] = [];
    const set = (col: string, v: unknown) => {
      sets.push(`${col} = ?`);
      params.push(v as Param);
    };
    let docPatch = false;
    for (const [k, v] of Object.entries(patch)) {
      if (v === undefined || k === 'updated_at') continue;
      if (DOC_SET.has(k)) {
        docPatch = true;
      } else if (k === 'deleted') {
        set('deleted', v ? id : 0);
      } else if (k === 'auto_disk_config') {
        set('auto_disk_config', v ? 1 : 0);
      } else {
        set(k, v);
        if (k === 'locked_by') set('locked', v ? 1 : 0);
      }
    }
    if (patch.flavor) {
      set('instance_type_id', patch.flavor.id);
      set('vcpus', patch.flavor.vcpus);
      set('memory_mb', patch.flavor.memory_mb);
    }
    if (docPatch) {
      const r = (await x.get<{ doc: string }>('SELECT doc FROM servers WHERE id = ?', [id]))!;
      const doc = JSON.parse(r.doc) as Record<string, unknown>;
      for (const f of DOC_FIELDS) if ((patch as Record<string, unknown>)[f] !== undefined) doc[f] = (patch as Record<string, unknown>)[f];
      set('doc', JSON.stringify(doc));
    }
    set('updated_at', now);
    const cas = expectedTaskState(expected);
    const r = await x.run(`UPDATE servers SET ${sets.join(', ')} WHERE id = ?${cas.sql}`, [...params, id, ...cas.params]);
    if (r.changes === 0) return false;
    await this.syncSide(x, id, patch.tags, patch.addresses);
    return true;
  }

  async getServer(uuid: string): Promise<ServerRecord | undefined> {
    const r = await this.sql.get<ServerRow>('SELECT * FROM servers WHERE uuid = ?', [uuid]);
    return r && rowToServer(r);
  }

  async getServerById(id: number): Promise<ServerRecord | undefined> {
    const r = await this.sql.get<ServerRow>('SELECT * FROM servers WHERE id = ?', [id]);
    return r && rowToServer(r);
  }

  async listServers(q: ServerQuery): Promise<ServerRecord[]> {
    const marker = q.marker === undefined ? undefined : await this.sql.get<ServerRow>('SELECT * FROM servers WHERE uuid = ?', [q.marker]);
    const { sql, params } = listServersSql(q, this.sql.dialect, marker);
    return (await this.sql.all<ServerRow>(sql, params as Param[])).map(rowToServer);
  }

  async claimDueTasks(now: number, limit: number): Promise<TaskRow[]> {
    const wall = Date.now();
    const { owner, ms } = this.lease;
    const free = 'due_at <= ? AND parked_host IS NULL AND (owner IS NULL OR owner = ? OR lease_until <= ?)';
    if (this.pg) {
      // Replicas claim disjoint rows at once: a row another replica is claiming is skipped, not waited for.
      const rows = await this.sql.all<Row>(
        `UPDATE tasks SET owner = ?, lease_until = ? WHERE server_id IN
         (SELECT server_id FROM tasks WHERE ${free} ORDER BY due_at, server_id LIMIT ? FOR UPDATE SKIP LOCKED) RETURNING *`,
        [owner, wall + ms, now, owner, wall, limit],
      );
      return rows.map(taskRow).sort((a, b) => a.due_at - b.due_at || a.server_id - b.server_id);
    }
    return this.sql.transaction(async (x) => {
      const rows = (await x.all<Row>(`SELECT * FROM tasks WHERE ${free} ORDER BY due_at, server_id LIMIT ?`, [now, owner, wall, limit])).map(taskRow);
      for (const t of rows) {
        await x.run('UPDATE tasks SET owner = ?, lease_until = ? WHERE server_id = ?', [owner, wall + ms, t.server_id]);
        t.owner = owner;
        t.lease_until = wall + ms;
      }
      return rows;
    });
  }

  async nextDueAt(): Promise<number | null> {
    const r = await this.sql.get<{ t: number | null }>(
      'SELECT MIN(due_at) AS t FROM tasks WHERE parked_host IS NULL AND (owner IS NULL OR owner = ? OR lease_until <= ?)', [this.lease.owner, Date.now()],
    );
    return r?.t ?? null;
  }

  async allTasks(): Promise<TaskRow[]> {
    return (await this.sql.all<Row>('SELECT * FROM tasks ORDER BY due_at, server_id')).map(taskRow);
  }

  async renewLeases(): Promise<void> {
    await this.sql.run('UPDATE tasks SET lease_until = ? WHERE owner = ?', [Date.now() + this.lease.ms, this.lease.owner]);
  }

  async releaseLeases(owner: string): Promise<void> {
    await this.sql.run('UPDATE tasks SET lease_until = 0 WHERE owner = ?', [owner]);
  }

  async otherOwners(): Promise<string[]> {
    return (await this.sql.all<{ owner: string }>('SELECT DISTINCT owner FROM tasks WHERE owner IS NOT NULL AND owner <> ? AND lease_until > ?', [this.lease.owner, Date.now()])).map((r) => r.owner);
  }

  async unparkHost(host: string): Promise<number> {
    const n = (await this.sql.run('UPDATE tasks SET parked_host = NULL WHERE parked_host = ?', [host])).changes;
    if (n > 0 && this.pg) await this.sql.run("SELECT pg_notify('novabox_tasks', '')");
    return n;
  }

  async countServersByState(): Promise<ServerStateCount[]> {
    const rows = await this.sql.all<Row>(`SELECT project_id, CASE WHEN deleted <> 0 THEN 1 ELSE 0 END AS gone, vm_state, task_state, COUNT(*) AS count
      FROM servers GROUP BY project_id, CASE WHEN deleted <> 0 THEN 1 ELSE 0 END, vm_state, task_state`);
    return rows.map((r) => ({ project_id: r.project_id as string, vm_state: r.vm_state as string, task_state: (r.task_state as string | null) ?? null, deleted: Number(r.gone) !== 0, count: Number(r.count) }));
  }

  async countTasks(): Promise<number> {
    return Number((await this.sql.get<{ n: number }>('SELECT COUNT(*) AS n FROM tasks'))!.n);
  }

  usage(project_id: string): Promise<Usage> {
    return usageOf(this.sql, project_id);
  }

  listActions(server_uuid: string): Promise<InstanceActionRow[]> {
    return this.sql.all<InstanceActionRow>('SELECT * FROM instance_actions WHERE server_uuid = ? ORDER BY start_time DESC, id DESC', [server_uuid]);
  }

  getAction(server_uuid: string, request_id: string): Promise<InstanceActionRow | undefined> {
    return this.sql.get<InstanceActionRow>('SELECT * FROM instance_actions WHERE server_uuid = ? AND request_id = ? ORDER BY id DESC LIMIT 1', [server_uuid, request_id]);
  }

  listEvents(action_id: number): Promise<InstanceActionEventRow[]> {
    return this.sql.all<InstanceActionEventRow>('SELECT * FROM instance_action_events WHERE action_id = ? ORDER BY start_time, id', [action_id]);
  }

  latestFault(server_uuid: string): Promise<FaultRow | undefined> {
    return this.sql.get<FaultRow>('SELECT * FROM instance_faults WHERE server_uuid = ? ORDER BY id DESC LIMIT 1', [server_uuid]);
  }

  async latestFaults(server_uuids: string[]): Promise<Map<string, FaultRow>> {
    const out = new Map<string, FaultRow>();
    if (server_uuids.length === 0) return out;
    const rows = await this.sql.all<FaultRow>(`SELECT f.* FROM instance_faults f JOIN (SELECT server_uuid, MAX(id) AS id FROM instance_faults
      WHERE server_uuid IN (${server_uuids.map(() => '?').join(', ')}) GROUP BY server_uuid) m ON f.id = m.id`, server_uuids);
    for (const r of rows) out.set(r.server_uuid, r);
    return out;
  }

  listMigrations(filter: MigrationFilter): Promise<MigrationRow[]> {
    return migrationsOf(this.sql, filter);
  }

  getMigration(id: number): Promise<MigrationRow | undefined> {
    return this.sql.get<MigrationRow>('SELECT * FROM migrations WHERE id = ?', [id]);
  }

  async listFlavors(opts: { include_private: boolean; project_id?: string }): Promise<FlavorSnapshot[]> {
    const all = (await this.sql.all<Row>('SELECT * FROM flavors WHERE deleted = 0 ORDER BY id')).map(flavorRow);
    if (opts.include_private || opts.project_id === undefined) return opts.include_private ? all : all.filter((f) => f.is_public);
    const access = new Set((await this.sql.all<{ flavor_id: number }>('SELECT flavor_id FROM flavor_projects WHERE project_id = ?', [opts.project_id])).map((r) => Number(r.flavor_id)));
    return all.filter((f) => f.is_public || access.has(f.id));
  }

  async getFlavor(flavorid: string): Promise<FlavorSnapshot | undefined> {
    const r = await this.sql.get<Row>('SELECT * FROM flavors WHERE flavorid = ? AND deleted = 0', [flavorid]);
    return r && flavorRow(r);
  }

  async getFlavorById(id: number): Promise<FlavorSnapshot | undefined> {
    const r = await this.sql.get<Row>('SELECT * FROM flavors WHERE id = ?', [id]);
    return r && flavorRow(r);
  }

  async createFlavor(f: FlavorInput, now: number): Promise<FlavorSnapshot> {
    await this.sql.run(
      `INSERT INTO flavors (flavorid, name, vcpus, memory_mb, root_gb, ephemeral_gb, swap, rxtx_factor, is_public, description, extra_specs, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [f.flavorid, f.name, f.vcpus, f.memory_mb, f.root_gb, f.ephemeral_gb ?? 0, f.swap ?? 0, f.rxtx_factor ?? 1.0, f.is_public === false ? 0 : 1,
        f.description ?? null, JSON.stringify(f.extra_specs ?? {}), now],
    );
    return (await this.getFlavor(f.flavorid))!;
  }

  async deleteFlavor(flavorid: string): Promise<boolean> {
    const r = await this.sql.run("UPDATE flavors SET deleted = id, flavorid = flavorid || '.deleted.' || id, name = name || '.deleted.' || id WHERE flavorid = ? AND deleted = 0", [flavorid]);
    return r.changes > 0;
  }

  async setFlavorExtraSpecs(flavorid: string, specs: Record<string, string>): Promise<void> {
    await this.sql.run('UPDATE flavors SET extra_specs = ? WHERE flavorid = ? AND deleted = 0', [JSON.stringify(specs), flavorid]);
  }

  async setFlavorDescription(flavorid: string, description: string | null): Promise<boolean> {
    return (await this.sql.run('UPDATE flavors SET description = ? WHERE flavorid = ? AND deleted = 0', [description, flavorid])).changes > 0;
  }

  async addFlavorAccess(flavorid: string, project_id: string): Promise<void> {
    await this.sql.run(
      'INSERT INTO flavor_projects (flavor_id, project_id) SELECT id, ? FROM flavors WHERE flavorid = ? AND deleted = 0 ON CONFLICT DO NOTHING', [project_id, flavorid],
    );
  }

  async removeFlavorAccess(flavorid: string, project_id: string): Promise<void> {
    await this.sql.run('DELETE FROM flavor_projects WHERE project_id = ? AND flavor_id IN (SELECT id FROM flavors WHERE flavorid = ? AND deleted = 0)', [project_id, flavorid]);
  }

  async flavorAccess(flavorid: string): Promise<string[]> {
    const rows = await this.sql.all<{ project_id: string }>(
      'SELECT p.project_id FROM flavor_projects p JOIN flavors f ON f.id = p.flavor_id WHERE f.flavorid = ? AND f.deleted = 0 ORDER BY p.project_id', [flavorid],
    );
    return rows.map((r) => r.project_id);
  }

  async listHosts(): Promise<ComputeHostRow[]> {
    return (await this.sql.all<Row>('SELECT * FROM compute_hosts ORDER BY name')).map(hostRow);
  }

  async upsertHost(h: ComputeHostRow): Promise<void> {
    await this.sql.transaction(async (x) => {
      await x.run(
        `INSERT INTO compute_hosts (name, availability_zone, disabled, disabled_reason, forced_down, up, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET availability_zone = excluded.availability_zone, disabled = excluded.disabled,
         disabled_reason = excluded.disabled_reason, forced_down = excluded.forced_down, up = excluded.up, updated_at = excluded.updated_at`,
        [h.name, h.availability_zone, h.disabled ? 1 : 0, h.disabled_reason, h.forced_down ? 1 : 0, h.up ? 1 : 0, h.updated_at],
      );
      // Every process's host cache (src/engine/scheduling.ts) checks this before it is used.
      await bumpGeneration(x, 'hosts');
    });
    if (this.pg) await this.sql.run("SELECT pg_notify('novabox_tasks', 'hosts')");
  }

  async updateHost(name: string, change: HostChange, now: number): Promise<ComputeHostRow | undefined> {
    const { sets, params } = hostChangeSql(change, now);
    const r = await this.sql.transaction(async (x) => {
      const row = await x.get<Row>(`UPDATE compute_hosts SET ${sets} WHERE name = ? RETURNING *`, [...params, name]);
      if (row) await bumpGeneration(x, 'hosts');
      return row;
    });
    if (r && this.pg) await this.sql.run("SELECT pg_notify('novabox_tasks', 'hosts')");
    return r && hostRow(r);
  }
}
