// The compute store on embedded SQLite (better-sqlite3), hand-tuned for the hot paths the benchmarks
// measure. One connection shared with the portable executor (`sql`): units of work hold its lock,
// and the synchronous statements here wait while any unit of work is open.
import type { Db } from './db.ts';
import type { FlavorSnapshot, ServerPatch, ServerRecord } from '../domain/server.ts';
import type { TaskState } from '../domain/states.ts';
import type {
  ComputeHostRow, ComputeStore, ComputeTx, FaultRow, FlavorInput, InstanceActionEventRow, InstanceActionRow,
  HostChange, Lease, MigrationFilter, MigrationRow, ServerStateCount, ServerQuery, TaskRow, Usage,
} from './store.ts';
import { SqliteSql } from './sql.ts';
import {
  COLUMN_FIELDS, DOC_FIELDS, DOC_SET, expectedTaskState, flavorRow, hostChangeSql, listServersSql, rowToServer, serverParams, taskRow, usageOf,
  type DocField, type ServerRow,
} from './server-rows.ts';
import { newLeaseOwner } from './lease-owner.ts';

type Stmt = ReturnType<Db['prepare']>;

/**
 * rowToServer for a statement in raw mode (rows as arrays): better-sqlite3 builds no 36-key row
 * object first, which roughly halves a lookup (GET /servers/{id}, list pages). Same record.
 */
function rawServerReader(stmt: Stmt): (r: unknown[]) => ServerRecord {
  const names = stmt.columns().map((c) => c.name);
  const at = (n: string) => names.indexOf(n);
  const fields = COLUMN_FIELDS.map((f) => [f, at(f)] as const);
  const [iId, iDoc, iAdc, iDeleted] = [at('id'), at('doc'), at('auto_disk_config'), at('deleted')];
  return (r) => {
    const doc = JSON.parse(r[iDoc] as string) as Pick<ServerRecord, DocField>;
    const s = { id: r[iId] } as Record<string, unknown>;
    for (const [f, i] of fields) s[f] = r[i];
    s.auto_disk_config = r[iAdc] === 1;
    s.deleted = r[iDeleted] !== 0;
    Object.assign(s, doc);
    return s as unknown as ServerRecord;
  };
}

export class SqliteComputeStore implements ComputeStore {
  /**
   * Quota usage per project, kept up to date by this store's own writes (it is the only writer of
   * servers): counting a project of 500,000 servers costs 250 ms, and every create asks for it.
   * Cleared on rollback and bulk loads.
   */
  private readonly usageCache = new Map<string, Usage>();
  private hostRows: ComputeHostRow[] | null = null;
  /** UPDATE statements by their SET list: the engine's few patch shapes recur on every step. */
  private readonly updates = new Map<string, ReturnType<Db['prepare']>>();
  private readonly tx: ComputeTx;
  private readonly st;

  /** The executor this store shares its connection and lock with (other repositories use it). */
  readonly sql: SqliteSql;
  lease: Lease = { owner: newLeaseOwner(), ms: 5000 };

  constructor(private readonly db: Db, sql?: SqliteSql) {
    this.sql = sql ?? new SqliteSql(db);
    const p = (sql: string) => db.prepare(sql);
    this.st = {
      byUuid: p('SELECT * FROM servers WHERE uuid = ?'),
      byId: p('SELECT * FROM servers WHERE id = ?'),
      insertServer: p(`INSERT INTO servers (${COLUMN_FIELDS.join(', ')}, instance_type_id, vcpus, memory_mb, locked, deleted, doc)
        VALUES (${COLUMN_FIELDS.map((f) => '@' + f).join(', ')}, @instance_type_id, @vcpus, @memory_mb, @locked, @deleted, @doc)`),
      insertTag: p('INSERT OR IGNORE INTO server_tags (server_id, tag) VALUES (?, ?)'),
      deleteTags: p('DELETE FROM server_tags WHERE server_id = ?'),
      insertIp: p('INSERT OR IGNORE INTO server_ips (server_id, address, version) VALUES (?, ?, ?)'),
      deleteIps: p('DELETE FROM server_ips WHERE server_id = ?'),
      getTask: p('SELECT * FROM tasks WHERE server_id = ?'),
      putTask: p(`INSERT INTO tasks (server_id, action, action_id, step, due_at, plan, context, owner, lease_until, parked_host)
        VALUES (@server_id, @action, @action_id, @step, @due_at, @plan, @context, @owner, @lease_until, NULL)
        ON CONFLICT (server_id) DO UPDATE SET action = excluded.action, action_id = excluded.action_id, step = excluded.step, due_at = excluded.due_at,
        plan = excluded.plan, context = excluded.context, owner = excluded.owner, lease_until = excluded.lease_until, parked_host = NULL`),
      parkTask: p('UPDATE tasks SET parked_host = ? WHERE server_id = ?'),
      unpark: p('UPDATE tasks SET parked_host = NULL WHERE parked_host = ?'),
      claim: p('UPDATE tasks SET owner = ?, lease_until = ? WHERE server_id = ?'),
      renew: p('UPDATE tasks SET lease_until = ? WHERE owner = ?'),
      release: p('UPDATE tasks SET lease_until = 0 WHERE owner = ?'),
      otherOwners: p('SELECT DISTINCT owner FROM tasks WHERE owner IS NOT NULL AND owner <> ? AND lease_until > ?'),
      deleteTask: p('DELETE FROM tasks WHERE server_id = ?'),
      // `+parked_host`: walk tasks_due in due order (its entries are ordered by due_at, then server_id)
      // and stop at the limit; with the tasks_parked index (every unparked task) SQLite read and
      // sorted all of them, O(tasks) per claim during a burst of builds.
      dueTasks: p(`SELECT * FROM tasks WHERE due_at <= ? AND +parked_host IS NULL AND (owner IS NULL OR owner = ? OR lease_until <= ?)
        ORDER BY due_at, server_id LIMIT ?`),
      nextDue: p('SELECT MIN(due_at) AS t FROM tasks WHERE +parked_host IS NULL AND (owner IS NULL OR owner = ? OR lease_until <= ?)'),
      allTasks: p('SELECT * FROM tasks ORDER BY due_at, server_id'),
      countByState: p('SELECT project_id, deleted, vm_state, task_state, COUNT(*) AS count FROM servers GROUP BY project_id, deleted, vm_state, task_state'),
      countTasks: p('SELECT COUNT(*) AS n FROM tasks'),
      insertAction: p(`INSERT INTO instance_actions (server_uuid, action, request_id, user_id, project_id, start_time, finish_time, message, updated_at)
        VALUES (@server_uuid, @action, @request_id, @user_id, @project_id, @start_time, @finish_time, @message, @updated_at)`),
      finishAction: p('UPDATE instance_actions SET finish_time = ?, updated_at = ?, message = COALESCE(?, message) WHERE id = ?'),
      startEvent: p('INSERT INTO instance_action_events (action_id, event, start_time, host) VALUES (?, ?, ?, ?)'),
      finishEvent: p('UPDATE instance_action_events SET finish_time = ?, result = ?, details = ?, traceback = ? WHERE id = ?'),
      touchAction: p('UPDATE instance_actions SET updated_at = ? WHERE id = (SELECT action_id FROM instance_action_events WHERE id = ?)'),
      failAction: p("UPDATE instance_actions SET message = 'Error' WHERE id = (SELECT action_id FROM instance_action_events WHERE id = ?)"),
      insertFault: p('INSERT INTO instance_faults (server_uuid, code, message, details, host, created_at) VALUES (@server_uuid, @code, @message, @details, @host, @created_at)'),
      insertMigration: p(`INSERT INTO migrations (uuid, server_uuid, project_id, user_id, source_compute, dest_compute, source_node, dest_node, dest_host,
        old_instance_type_id, new_instance_type_id, status, migration_type, created_at, updated_at)
        VALUES (@uuid, @server_uuid, @project_id, @user_id, @source_compute, @dest_compute, @source_node, @dest_node, @dest_host,
        @old_instance_type_id, @new_instance_type_id, @status, @migration_type, @created_at, @updated_at)`),
      updateMigration: p('UPDATE migrations SET status = ?, updated_at = ? WHERE id = ?'),
      usageRow: p('SELECT project_id, deleted, vm_state, vcpus, memory_mb FROM servers WHERE id = ?'),
      usage: p(`SELECT COUNT(*) AS instances, COALESCE(SUM(vcpus), 0) AS cores, COALESCE(SUM(memory_mb), 0) AS ram
        FROM servers WHERE project_id = ? AND deleted = 0 AND vm_state <> 'soft-delete'`),
      listActions: p('SELECT * FROM instance_actions WHERE server_uuid = ? ORDER BY start_time DESC, id DESC'),
      getAction: p('SELECT * FROM instance_actions WHERE server_uuid = ? AND request_id = ? ORDER BY id DESC LIMIT 1'),
      listEvents: p('SELECT * FROM instance_action_events WHERE action_id = ? ORDER BY start_time, id'),
      latestFault: p('SELECT * FROM instance_faults WHERE server_uuid = ? ORDER BY id DESC LIMIT 1'),
      getMigration: p('SELECT * FROM migrations WHERE id = ?'),
      listFlavors: p('SELECT * FROM flavors WHERE deleted = 0 ORDER BY id'),
      getFlavor: p('SELECT * FROM flavors WHERE flavorid = ? AND deleted = 0'),
      getFlavorById: p('SELECT * FROM flavors WHERE id = ?'),
      insertFlavor: p(`INSERT INTO flavors (flavorid, name, vcpus, memory_mb, root_gb, ephemeral_gb, swap, rxtx_factor, is_public, description, extra_specs, created_at)
        VALUES (@flavorid, @name, @vcpus, @memory_mb, @root_gb, @ephemeral_gb, @swap, @rxtx_factor, @is_public, @description, @extra_specs, @created_at)`),
      deleteFlavor: p("UPDATE flavors SET deleted = id, flavorid = flavorid || '.deleted.' || id, name = name || '.deleted.' || id WHERE flavorid = ? AND deleted = 0"),
      setSpecs: p('UPDATE flavors SET extra_specs = ? WHERE flavorid = ? AND deleted = 0'),
      setDescription: p('UPDATE flavors SET description = ? WHERE flavorid = ? AND deleted = 0'),
      flavorProjects: p('SELECT project_id FROM flavor_projects WHERE flavor_id = ? ORDER BY project_id'),
      addAccess: p('INSERT OR IGNORE INTO flavor_projects (flavor_id, project_id) VALUES (?, ?)'),
      removeAccess: p('DELETE FROM flavor_projects WHERE flavor_id = ? AND project_id = ?'),
      listHosts: p('SELECT * FROM compute_hosts ORDER BY name'),
      upsertHost: p(`INSERT INTO compute_hosts (name, availability_zone, disabled, disabled_reason, forced_down, up, updated_at)
        VALUES (@name, @availability_zone, @disabled, @disabled_reason, @forced_down, @up, @updated_at)
        ON CONFLICT (name) DO UPDATE SET availability_zone = excluded.availability_zone, disabled = excluded.disabled,
        disabled_reason = excluded.disabled_reason, forced_down = excluded.forced_down, up = excluded.up, updated_at = excluded.updated_at`),
      bumpHosts: p(`INSERT INTO cache_generations (name, generation) VALUES ('hosts', 1)
        ON CONFLICT (name) DO UPDATE SET generation = cache_generations.generation + 1`),
    };
    const st = this.st;
    const self = this;
    this.tx = {
      sql: this.sql.unlocked(),
      async getServerForUpdate(uuid) {
        const r = st.byUuid.get(uuid) as ServerRow | undefined;
        return r && rowToServer(r);
      },
      async getServerById(id) {
        const r = st.byId.get(id) as ServerRow | undefined;
        return r && rowToServer(r);
      },
      async insertServer(s) {
        const info = st.insertServer.run(serverParams(s));
        const id = Number(info.lastInsertRowid);
        self.syncSide(id, s.tags, s.addresses);
        self.addUsage(s.project_id, usageOf({ deleted: s.deleted ? 1 : 0, vm_state: s.vm_state, vcpus: s.flavor.vcpus, memory_mb: s.flavor.memory_mb }), 1);
        return { ...s, id } as ServerRecord;
      },
      async updateServer(id, patch, now, expected) {
        return self.update(id, patch, now, expected);
      },
      async getTask(server_id) {
        const r = st.getTask.get(server_id) as Record<string, unknown> | undefined;
        return r && taskRow(r);
      },
      async putTask(t) {
        st.putTask.run({
          server_id: t.server_id, action: t.action, action_id: t.action_id, step: t.step, due_at: t.due_at,
          plan: JSON.stringify(t.plan), context: JSON.stringify(t.context), owner: self.lease.owner, lease_until: Date.now() + self.lease.ms,
        });
      },
      async parkTask(server_id, host) {
        st.parkTask.run(host, server_id);
      },
      async deleteTask(server_id) {
        st.deleteTask.run(server_id);
      },
      async insertAction(a) {
        return Number(st.insertAction.run(a).lastInsertRowid);
      },
      async finishAction(id, now, message) {
        st.finishAction.run(now, now, message, id);
      },
      async startEvent(action_id, event, now, host) {
        return Number(st.startEvent.run(action_id, event, now, host).lastInsertRowid);
      },
      async finishEvent(id, now, result, details = null, traceback = null) {
        st.finishEvent.run(now, result, details, traceback, id);
        st.touchAction.run(now, id);
        if (result === 'Error') st.failAction.run(id);
      },
      async insertFault(f) {
        st.insertFault.run(f);
      },
      async insertMigration(m) {
        return Number(st.insertMigration.run(m).lastInsertRowid);
      },
      async updateMigration(id, status, now) {
        st.updateMigration.run(status, now, id);
      },
      async usage(project_id) {
        return self.cachedUsage(project_id);
      },
      async getMigration(id) {
        return st.getMigration.get(id) as MigrationRow | undefined;
      },
      async listMigrations(filter) {
        return self.migrationsNow(filter);
      },
      async listHosts() {
        return self.hostsNow();
      },
    };
  }

  /** Rewrites a server's tag and address rows; a new server (`fresh`) has none to delete. */
  private syncSide(id: number, tags: string[] | undefined, addresses: ServerRecord['addresses'] | undefined, fresh = false): void {
    if (tags) {
      if (!fresh) this.st.deleteTags.run(id);
      for (const t of tags) this.st.insertTag.run(id, t);
    }
    if (addresses) {
      if (!fresh) this.st.deleteIps.run(id);
      for (const a of addresses) this.st.insertIp.run(id, a.addr, a.version);
    }
  }

  private update(id: number, patch: ServerPatch, now: number, expected?: readonly (TaskState | null)[]): boolean {
    type UsageRow = { project_id: string; deleted: number; vm_state: string; vcpus: number; memory_mb: number } | undefined;
    const counts = patch.deleted !== undefined || patch.vm_state !== undefined || patch.flavor !== undefined || patch.project_id !== undefined;
    const before = counts ? (this.st.usageRow.get(id) as UsageRow) : undefined;
    const sets: string[] = [];
    const params: Record<string, unknown> = { id, updated_at: now };
    let docPatch = false;
    for (const [k, v] of Object.entries(patch)) {
      if (v === undefined) continue;
      if (DOC_SET.has(k)) {
        docPatch = true;
        continue;
      }
      if (k === 'updated_at') continue;
      if (k === 'deleted') {
        sets.push('deleted = @deleted');
        params.deleted = v ? id : 0;
        continue;
      }
      if (k === 'auto_disk_config') {
        sets.push('auto_disk_config = @auto_disk_config');
        params.auto_disk_config = v ? 1 : 0;
        continue;
      }
      sets.push(`${k} = @${k}`);
      params[k] = v;
      if (k === 'locked_by') {
        sets.push('locked = @locked');
        params.locked = v ? 1 : 0;
      }
    }
    if (patch.flavor) {
      sets.push('instance_type_id = @itid', 'vcpus = @vcpus', 'memory_mb = @mem');
      Object.assign(params, { itid: patch.flavor.id, vcpus: patch.flavor.vcpus, mem: patch.flavor.memory_mb });
    }
    if (docPatch) {
      const r = this.st.byId.get(id) as ServerRow;
      const doc = JSON.parse(r.doc) as Record<string, unknown>;
      for (const f of DOC_FIELDS) if ((patch as Record<string, unknown>)[f] !== undefined) doc[f] = (patch as Record<string, unknown>)[f];
      sets.push('doc = @doc');
      params.doc = JSON.stringify(doc);
    }
    sets.push('updated_at = @updated_at');
    const cas = expectedTaskState(expected);
    cas.params.forEach((v, i) => (params[`expected${i}`] = v));
    let n = 0;
    const where = cas.sql.replace(/\?/g, () => `@expected${n++}`);
    if (this.updateStatement(sets.join(', '), where).run(params).changes === 0) return false;
    this.syncSide(id, patch.tags, patch.addresses);
    if (before) {
      const after = this.st.usageRow.get(id) as UsageRow;
      this.addUsage(before.project_id, usageOf(before), -1);
      if (after) this.addUsage(after.project_id, usageOf(after), 1);
    }
    return true;
  }

  private updateStatement(sets: string, where = ''): ReturnType<Db['prepare']> {
    const key = `${sets}${where}`;
    let st = this.updates.get(key);
    if (!st) {
      st = this.db.prepare(`UPDATE servers SET ${sets} WHERE id = @id${where}`);
      if (this.updates.size >= 500) this.updates.clear();
      this.updates.set(key, st);
    }
    return st;
  }

  /**
   * A unit of work on the process's one connection, under the executor's lock: no other unit of
   * work (this store's or another repository's through `sql`) and no synchronous write of this
   * store can run while the body awaits.
   */
  transaction<T>(fn: (tx: ComputeTx) => Promise<T>): Promise<T> {
    return this.sql.lock.run(async () => {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        this.noticeOthers();
        const out = await fn(this.tx);
        this.db.exec('COMMIT');
        return out;
      } catch (e) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        this.usageCache.clear();
        this.hostRows = null;
        throw e;
      }
    });
  }

  private foreignSeen = -1;
  /**
   * The usage and host caches hold only while this process is the only writer: the connection's
   * foreign epoch (PRAGMA data_version, SqliteSql.foreignEpoch) moves when another connection
   * (another novabox on the same file) commits, and then they are dropped.
   */
  private noticeOthers(): void {
    const e = this.sql.foreignEpoch();
    if (e !== this.foreignSeen) {
      this.foreignSeen = e;
      this.usageCache.clear();
      this.hostRows = null;
    }
  }

  /** Waits until no unit of work is open, so a synchronous statement neither joins one nor reads its uncommitted rows. */
  private async idle(): Promise<void> {
    await this.sql.lock.idle();
  }

  private byUuidRaw?: { st: Stmt; read: (r: unknown[]) => ServerRecord };

  async getServer(uuid: string): Promise<ServerRecord | undefined> {
    if (this.sql.lock.locked) await this.idle();
    if (!this.byUuidRaw) {
      const st = this.db.prepare('SELECT * FROM servers WHERE uuid = ? /* raw */').raw(true);
      this.byUuidRaw = { st, read: rawServerReader(st) };
    }
    const r = this.byUuidRaw.st.get(uuid) as unknown[] | undefined;
    return r && this.byUuidRaw.read(r);
  }

  async getServerById(id: number): Promise<ServerRecord | undefined> {
    if (this.sql.lock.locked) await this.idle();
    const r = this.st.byId.get(id) as ServerRow | undefined;
    return r && rowToServer(r);
  }

  async listServers(q: ServerQuery): Promise<ServerRecord[]> {
    if (this.sql.lock.locked) await this.idle();
    const { sql, params } = this.listSql(q);
    const st = this.db.prepare(`${sql} /* raw */`).raw(true);
    return (st.all(...params) as unknown[][]).map(rawServerReader(st));
  }

  /** SQLite's query plan for a list query (tests assert pages are read through an index). */
  explainList(q: ServerQuery): string[] {
    const { sql, params } = this.listSql(q);
    return (this.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((r) => r.detail);
  }

  private listSql(q: ServerQuery): { sql: string; params: unknown[] } {
    const marker = q.marker === undefined ? undefined : (this.st.byUuid.get(q.marker) as ServerRow | undefined);
    return listServersSql(q, 'sqlite', marker);
  }


  async claimDueTasks(now: number, limit: number): Promise<TaskRow[]> {
    if (this.sql.lock.locked) await this.idle();
    const wall = Date.now();
    const { owner, ms } = this.lease;
    // One immediate transaction: another process on the file cannot claim the same rows in between.
    return this.db.transaction(() => {
      const rows = (this.st.dueTasks.all(now, owner, wall, limit) as Record<string, unknown>[]).map(taskRow);
      for (const t of rows) {
        if (t.owner === owner && (t.lease_until ?? 0) > wall + ms / 2) continue;
        this.st.claim.run(owner, wall + ms, t.server_id);
        t.owner = owner;
        t.lease_until = wall + ms;
      }
      return rows;
    }).immediate();
  }

  async nextDueAt(): Promise<number | null> {
    if (this.sql.lock.locked) await this.idle();
    return (this.st.nextDue.get(this.lease.owner, Date.now()) as { t: number | null }).t;
  }

  async renewLeases(): Promise<void> {
    if (this.sql.lock.locked) await this.idle();
    this.st.renew.run(Date.now() + this.lease.ms, this.lease.owner);
  }

  async releaseLeases(owner: string): Promise<void> {
    if (this.sql.lock.locked) await this.idle();
    this.st.release.run(owner);
  }

  async otherOwners(): Promise<string[]> {
    if (this.sql.lock.locked) await this.idle();
    return (this.st.otherOwners.all(this.lease.owner, Date.now()) as { owner: string }[]).map((r) => r.owner);
  }

  async unparkHost(host: string): Promise<number> {
    if (this.sql.lock.locked) await this.idle();
    return this.st.unpark.run(host).changes;
  }

  async countServersByState(): Promise<ServerStateCount[]> {
    if (this.sql.lock.locked) await this.idle();
    return (this.st.countByState.all() as (Omit<ServerStateCount, 'deleted'> & { deleted: number })[]).map((r) => ({ ...r, deleted: r.deleted !== 0 }));
  }

  async countTasks(): Promise<number> {
    if (this.sql.lock.locked) await this.idle();
    return (this.st.countTasks.get() as { n: number }).n;
  }

  async allTasks(): Promise<TaskRow[]> {
    if (this.sql.lock.locked) await this.idle();
    return (this.st.allTasks.all() as Record<string, unknown>[]).map(taskRow);
  }

  async usage(project_id: string): Promise<Usage> {
    if (this.sql.lock.locked) await this.idle();
    return this.cachedUsage(project_id);
  }

  private cachedUsage(project_id: string): Usage {
    this.noticeOthers();
    let u = this.usageCache.get(project_id);
    if (!u) {
      u = this.st.usage.get(project_id) as Usage;
      this.usageCache.set(project_id, u);
    }
    return { ...u };
  }

  private addUsage(project_id: string, d: Usage, sign: 1 | -1): void {
    const u = this.usageCache.get(project_id);
    if (!u) return;
    u.instances += sign * d.instances;
    u.cores += sign * d.cores;
    u.ram += sign * d.ram;
  }

  async listActions(server_uuid: string): Promise<InstanceActionRow[]> {
    if (this.sql.lock.locked) await this.idle();
    return this.st.listActions.all(server_uuid) as InstanceActionRow[];
  }

  async getAction(server_uuid: string, request_id: string): Promise<InstanceActionRow | undefined> {
    if (this.sql.lock.locked) await this.idle();
    return this.st.getAction.get(server_uuid, request_id) as InstanceActionRow | undefined;
  }

  async listEvents(action_id: number): Promise<InstanceActionEventRow[]> {
    if (this.sql.lock.locked) await this.idle();
    return this.st.listEvents.all(action_id) as InstanceActionEventRow[];
  }

  async latestFault(server_uuid: string): Promise<FaultRow | undefined> {
    if (this.sql.lock.locked) await this.idle();
    return this.st.latestFault.get(server_uuid) as FaultRow | undefined;
  }

  async latestFaults(server_uuids: string[]): Promise<Map<string, FaultRow>> {
    if (this.sql.lock.locked) await this.idle();
    const out = new Map<string, FaultRow>();
    if (server_uuids.length === 0) return out;
    const rows = this.db
      .prepare(`SELECT f.* FROM instance_faults f JOIN (SELECT server_uuid, MAX(id) AS id FROM instance_faults
        WHERE server_uuid IN (${server_uuids.map(() => '?').join(', ')}) GROUP BY server_uuid) m ON f.id = m.id`)
      .all(...server_uuids) as FaultRow[];
    for (const r of rows) out.set(r.server_uuid, r);
    return out;
  }

  async listMigrations(filter: MigrationFilter): Promise<MigrationRow[]> {
    if (this.sql.lock.locked) await this.idle();
    return this.migrationsNow(filter);
  }

  private migrationsNow(filter: MigrationFilter): MigrationRow[] {
    const where: string[] = [];
    const params: unknown[] = [];
    for (const k of ['server_uuid', 'project_id', 'migration_type', 'status'] as const) {
      if (filter[k] !== undefined) {
        where.push(`${k} = ?`);
        params.push(filter[k]);
      }
    }
    if (filter.host !== undefined) {
      where.push('(source_compute = ? OR dest_compute = ?)');
      params.push(filter.host, filter.host);
    }
    return this.db.prepare(`SELECT * FROM migrations ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY created_at DESC, id DESC`).all(...params) as MigrationRow[];
  }

  async getMigration(id: number): Promise<MigrationRow | undefined> {
    if (this.sql.lock.locked) await this.idle();
    return this.st.getMigration.get(id) as MigrationRow | undefined;
  }

  async listFlavors(opts: { include_private: boolean; project_id?: string }): Promise<FlavorSnapshot[]> {
    if (this.sql.lock.locked) await this.idle();
    const all = (this.st.listFlavors.all() as Record<string, unknown>[]).map(flavorRow);
    if (opts.include_private) return all;
    return all.filter((f) => f.is_public || (opts.project_id !== undefined && this.hasAccess(f.id, opts.project_id)));
  }

  private hasAccess(flavor_id: number, project_id: string): boolean {
    return (this.st.flavorProjects.all(flavor_id) as { project_id: string }[]).some((r) => r.project_id === project_id);
  }

  async getFlavor(flavorid: string): Promise<FlavorSnapshot | undefined> {
    if (this.sql.lock.locked) await this.idle();
    const r = this.st.getFlavor.get(flavorid) as Record<string, unknown> | undefined;
    return r && flavorRow(r);
  }

  async getFlavorById(id: number): Promise<FlavorSnapshot | undefined> {
    if (this.sql.lock.locked) await this.idle();
    const r = this.st.getFlavorById.get(id) as Record<string, unknown> | undefined;
    return r && flavorRow(r);
  }

  async createFlavor(f: FlavorInput, now: number): Promise<FlavorSnapshot> {
    if (this.sql.lock.locked) await this.idle();
    this.st.insertFlavor.run({
      flavorid: f.flavorid, name: f.name, vcpus: f.vcpus, memory_mb: f.memory_mb, root_gb: f.root_gb,
      ephemeral_gb: f.ephemeral_gb ?? 0, swap: f.swap ?? 0, rxtx_factor: f.rxtx_factor ?? 1.0, is_public: f.is_public === false ? 0 : 1,
      description: f.description ?? null, extra_specs: JSON.stringify(f.extra_specs ?? {}), created_at: now,
    });
    return flavorRow(this.st.getFlavor.get(f.flavorid) as Record<string, unknown>);
  }

  async deleteFlavor(flavorid: string): Promise<boolean> {
    if (this.sql.lock.locked) await this.idle();
    return this.st.deleteFlavor.run(flavorid).changes > 0;
  }

  async setFlavorExtraSpecs(flavorid: string, specs: Record<string, string>): Promise<void> {
    if (this.sql.lock.locked) await this.idle();
    this.st.setSpecs.run(JSON.stringify(specs), flavorid);
  }

  async addFlavorAccess(flavorid: string, project_id: string): Promise<void> {
    if (this.sql.lock.locked) await this.idle();
    const f = this.st.getFlavor.get(flavorid) as { id: number } | undefined;
    if (f) this.st.addAccess.run(f.id, project_id);
  }

  async removeFlavorAccess(flavorid: string, project_id: string): Promise<void> {
    if (this.sql.lock.locked) await this.idle();
    const f = this.st.getFlavor.get(flavorid) as { id: number } | undefined;
    if (f) this.st.removeAccess.run(f.id, project_id);
  }

  async flavorAccess(flavorid: string): Promise<string[]> {
    if (this.sql.lock.locked) await this.idle();
    const f = this.st.getFlavor.get(flavorid) as { id: number } | undefined;
    return f ? (this.st.flavorProjects.all(f.id) as { project_id: string }[]).map((r) => r.project_id) : [];
  }

  async listHosts(): Promise<ComputeHostRow[]> {
    if (this.sql.lock.locked) await this.idle();
    return this.hostsNow();
  }

  private hostsNow(): ComputeHostRow[] {
    this.noticeOthers();
    // Every server view asks for the hosts; only upsertHost changes them.
    this.hostRows ??= (this.st.listHosts.all() as Record<string, unknown>[]).map((r) => ({
      name: r.name as string, availability_zone: r.availability_zone as string, disabled: r.disabled === 1,
      disabled_reason: r.disabled_reason as string | null, forced_down: r.forced_down === 1, up: r.up === 1, updated_at: r.updated_at as number | null,
    }));
    return this.hostRows.map((h) => ({ ...h }));
  }

  async upsertHost(h: ComputeHostRow): Promise<void> {
    if (this.sql.lock.locked) await this.idle();
    this.hostRows = null;
    this.db.transaction(() => {
      this.st.upsertHost.run({ ...h, disabled: h.disabled ? 1 : 0, forced_down: h.forced_down ? 1 : 0, up: h.up ? 1 : 0 });
      // Every process's host cache (src/engine/scheduling.ts) checks this before it is used.
      this.st.bumpHosts.run();
    })();
  }

  async updateHost(name: string, change: HostChange, now: number): Promise<ComputeHostRow | undefined> {
    if (this.sql.lock.locked) await this.idle();
    this.hostRows = null;
    const { sets, params } = hostChangeSql(change, now);
    const changed = this.db.transaction(() => {
      if (this.db.prepare(`UPDATE compute_hosts SET ${sets} WHERE name = ?`).run(...params, name).changes === 0) return false;
      this.st.bumpHosts.run();
      return true;
    })();
    return changed ? this.hostsNow().find((h) => h.name === name) : undefined;
  }
  async setFlavorDescription(flavorid: string, description: string | null): Promise<boolean> {
    if (this.sql.lock.locked) await this.idle();
    return this.st.setDescription.run(description, flavorid).changes > 0;
  }

  /** Bulk insert for seeding benchmarks: many servers in one transaction, no tasks. */
  insertServersBulk(servers: Omit<ServerRecord, 'id'>[]): void {
    this.usageCache.clear();
    this.db.transaction(() => {
      for (const s of servers) {
        const id = Number(this.st.insertServer.run(serverParams(s)).lastInsertRowid);
        this.syncSide(id, s.tags, s.addresses, true);
      }
    })();
  }
}
