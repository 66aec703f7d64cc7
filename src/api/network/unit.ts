// One request's unit of work over Neutron's repository: the transaction, a per-request cache of
// networks and subnets (visibility and rendering read them often), and the compute devices whose
// ports changed (Nova's info cache is refreshed for them once the unit commits).
import { randomUUID } from 'node:crypto';
import type { Sql } from '../../store/sql.ts';
import type { Doc, NetworkRepository, ResourceFilter, ResourceRow } from '../../store/network/repository.ts';
import type { ResourceDef } from '../../domain/network/attributes.ts';
import { NeutronFault, resourceNotFound } from '../../domain/network/errors.ts';

export interface NetContext {
  user_id: string;
  /** '' for an unscoped or domain-scoped token. */
  project_id: string;
  admin: boolean;
  now: number;
}

/** Port attributes that Nova's view of a server's addresses is made from (server-network.ts networkInfo). */
const ADDRESS_FIELDS = ['device_id', 'device_owner', 'network_id', 'mac_address', 'fixed_ips'];

export class Unit {
  /** Server uuids whose ports (or their floating IPs) changed. */
  readonly devices = new Set<string>();
  private readonly cache = new Map<string, ResourceRow | null>();

  constructor(readonly tx: Sql, readonly repo: NetworkRepository, readonly ctx: NetContext) {}

  get now(): number {
    return this.ctx.now;
  }

  async get(kind: string, id: string): Promise<ResourceRow | undefined> {
    const key = `${kind}/${id}`;
    if (!this.cache.has(key)) this.cache.set(key, (await this.repo.get(this.tx, kind, id)) ?? null);
    return this.cache.get(key) ?? undefined;
  }

  /** Drops a cached read (after a write made straight through the repository). */
  forget(kind: string, id: string): void {
    this.cache.delete(`${kind}/${id}`);
  }

  async list(kind: string, filter?: ResourceFilter): Promise<ResourceRow[]> {
    const rows = await this.repo.list(this.tx, kind, filter);
    for (const r of rows) this.cache.set(`${kind}/${r.id}`, r);
    return rows;
  }

  /** A resource that must exist (any project), or its NotFound. */
  async need(def: ResourceDef, id: string): Promise<ResourceRow> {
    const r = await this.get(def.member, id);
    if (!r) throw new NeutronFault(404, def.notFound.type, def.notFound.message(id));
    return r;
  }

  async insert(kind: string, project_id: string, doc: Doc, tags: string[] = [], id: string = newId()): Promise<ResourceRow> {
    await this.repo.insert(this.tx, { kind, id, project_id, created_at: this.now, doc, tags });
    this.cache.delete(`${kind}/${id}`);
    this.touch(kind, doc);
    return (await this.get(kind, id))!;
  }

  async save(row: ResourceRow, doc: Doc, expected_revision?: number): Promise<ResourceRow> {
    const ok = await this.repo.update(this.tx, row.kind, row.id, doc, this.now, expected_revision);
    if (!ok) {
      const cur = await this.repo.get(this.tx, row.kind, row.id);
      if (!cur) throw resourceNotFound(row.kind, row.id);
      throw new NeutronFault(412, 'RevisionNumberConstraintFailed', `Constrained to ${expected_revision}, but current revision is ${cur.revision_number}`);
    }
    // A server's addresses come from its ports' device, network, MAC and fixed IPs: a change of
    // binding or name leaves Nova's network info as it is.
    if (ADDRESS_FIELDS.some((k) => JSON.stringify(row.doc[k]) !== JSON.stringify(doc[k]))) {
      this.touch(row.kind, row.doc);
      this.touch(row.kind, doc);
    }
    this.cache.delete(`${row.kind}/${row.id}`);
    return (await this.get(row.kind, row.id))!;
  }

  async remove(row: ResourceRow): Promise<void> {
    await this.repo.delete(this.tx, row.kind, row.id);
    this.touch(row.kind, row.doc);
    this.cache.set(`${row.kind}/${row.id}`, null);
  }

  /** Remembers the server a compute port belongs to. */
  touch(kind: string, doc: Doc): void {
    if (kind === 'port' && String(doc.device_owner ?? '').startsWith('compute:') && doc.device_id) this.devices.add(String(doc.device_id));
  }
}

export const newId = (): string => randomUUID();
