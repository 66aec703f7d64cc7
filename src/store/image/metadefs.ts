// Glance's metadata definitions catalog (metadefs): namespaces, the objects, properties and tags in
// them, resource types and their associations with namespaces. Objects, properties and tags share
// one table (`kind` tells them apart; each keeps its definition as JSON). Renaming a namespace
// carries its contents along (ON UPDATE CASCADE); deleting it takes them (ON DELETE CASCADE).
// The metadefs API decides; this only reads and writes.
import type { Sql, SqlDatabase } from '../sql.ts';
import { Table } from '../table.ts';

export interface MetadefNamespace {
  namespace: string;
  display_name: string | null;
  description: string | null;
  visibility: 'public' | 'private';
  protected: boolean;
  owner: string | null;
  created_at: number;
  updated_at: number;
}
export type MetadefKind = 'object' | 'property' | 'tag';
export interface MetadefItem { namespace: string; kind: MetadefKind; name: string; body: Record<string, unknown>; created_at: number; updated_at: number }
export interface MetadefResourceType { name: string; created_at: number; updated_at: number }
export interface MetadefAssociation { namespace: string; resource_type: string; prefix: string | null; properties_target: string | null; created_at: number; updated_at: number }

export const METADEF_SCHEMA = `
CREATE TABLE metadef_namespaces (
  namespace TEXT PRIMARY KEY,
  display_name TEXT,
  description TEXT,
  visibility TEXT NOT NULL,
  protected INTEGER NOT NULL DEFAULT 0,
  owner TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE TABLE metadef_items (
  namespace TEXT NOT NULL REFERENCES metadef_namespaces(namespace) ON DELETE CASCADE ON UPDATE CASCADE,
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  body TEXT NOT NULL DEFAULT '{}',
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (namespace, kind, name)
);
CREATE TABLE metadef_resource_types (
  name TEXT PRIMARY KEY,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE TABLE metadef_associations (
  namespace TEXT NOT NULL REFERENCES metadef_namespaces(namespace) ON DELETE CASCADE ON UPDATE CASCADE,
  resource_type TEXT NOT NULL REFERENCES metadef_resource_types(name),
  prefix TEXT,
  properties_target TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (namespace, resource_type)
);
`;

const namespaces = new Table<MetadefNamespace>('metadef_namespaces', {
  namespace: 'text', display_name: 'text', description: 'text', visibility: 'text', protected: 'bool', owner: 'text', created_at: 'int', updated_at: 'int',
});
const items = new Table<MetadefItem>('metadef_items', { namespace: 'text', kind: 'text', name: 'text', body: 'json', created_at: 'int', updated_at: 'int' });
const resourceTypes = new Table<MetadefResourceType>('metadef_resource_types', { name: 'text', created_at: 'int', updated_at: 'int' });
const associations = new Table<MetadefAssociation>('metadef_associations', {
  namespace: 'text', resource_type: 'text', prefix: 'text', properties_target: 'text', created_at: 'int', updated_at: 'int',
});

export class SqlMetadefStore {
  constructor(private readonly db: SqlDatabase, private readonly sql: Sql = db, private readonly inTx = false) {}

  transaction<T>(fn: (s: SqlMetadefStore) => Promise<T>): Promise<T> {
    if (this.inTx) return fn(this);
    return this.db.transaction((tx) => fn(new SqlMetadefStore(this.db, tx, true)));
  }

  getNamespace(namespace: string) { return namespaces.get(this.sql, { namespace }); }
  listNamespaces() { return namespaces.list(this.sql, {}, 'created_at, namespace'); }
  async insertNamespace(n: MetadefNamespace) { await namespaces.insert(this.sql, n); }
  /** Updates a namespace (a new `namespace` renames it, its contents follow). */
  async updateNamespace(namespace: string, patch: Partial<MetadefNamespace>) { await namespaces.update(this.sql, { namespace }, patch); }
  async deleteNamespace(namespace: string) { return (await namespaces.delete(this.sql, { namespace })) > 0; }

  getItem(namespace: string, kind: MetadefKind, name: string) { return items.get(this.sql, { namespace, kind, name }); }
  listItems(namespace: string, kind: MetadefKind) { return items.list(this.sql, { namespace, kind }, 'created_at, name'); }
  async insertItem(i: MetadefItem) { await items.insert(this.sql, i); }
  async updateItem(namespace: string, kind: MetadefKind, name: string, patch: Partial<MetadefItem>) { await items.update(this.sql, { namespace, kind, name }, patch); }
  async deleteItem(namespace: string, kind: MetadefKind, name: string) { return (await items.delete(this.sql, { namespace, kind, name })) > 0; }
  async deleteItems(namespace: string, kind: MetadefKind) { return items.delete(this.sql, { namespace, kind }); }

  getResourceType(name: string) { return resourceTypes.get(this.sql, { name }); }
  listResourceTypes() { return resourceTypes.list(this.sql, {}, 'created_at, name'); }
  /** Adds the resource types not yet known (Glance loads them from its definition files). */
  async seedResourceTypes(names: string[], at: number) {
    for (const [i, name] of names.entries()) await resourceTypes.insert(this.sql, { name, created_at: at + i, updated_at: at + i }, 'ignore');
  }

  getAssociation(namespace: string, resource_type: string) { return associations.get(this.sql, { namespace, resource_type }); }
  listAssociations(namespace?: string) { return associations.list(this.sql, { namespace }, 'created_at, resource_type'); }
  async insertAssociation(a: MetadefAssociation) { await associations.insert(this.sql, a); }
  async deleteAssociation(namespace: string, resource_type: string) { return (await associations.delete(this.sql, { namespace, resource_type })) > 0; }
}
