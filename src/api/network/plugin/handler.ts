// What the generic controller asks of each resource's plugin: visibility and ownership (Neutron's
// default policy), create/update/delete with their business rules, and computed attributes.
import type { ResourceDef } from '../../../domain/network/attributes.ts';
import type { Doc, ResourceRow } from '../../../store/network/repository.ts';
import type { Unit } from '../unit.ts';

export interface Handler {
  def: ResourceDef;
  /** GET policy: may the caller see this row (else 404). */
  visible(u: Unit, row: ResourceRow): Promise<boolean>;
  /** PUT/DELETE policy once visible (else 403). Default: admin or owner. */
  mayModify?(u: Unit, row: ResourceRow): Promise<boolean>;
  /** `attrs` holds every POST attribute after defaults, conversion and validation (project_id set). */
  create(u: Unit, attrs: Doc, tags: string[]): Promise<ResourceRow>;
  update(u: Unit, row: ResourceRow, changes: Doc, expected_revision?: number): Promise<ResourceRow>;
  delete(u: Unit, row: ResourceRow): Promise<void>;
  /** Attributes computed at read time (a network's subnets, a group's rules …). */
  extend?(u: Unit, row: ResourceRow): Promise<Doc>;
}

export const isOwner = (u: Unit, row: { project_id: string }): boolean => u.ctx.admin || (u.ctx.project_id !== '' && row.project_id === u.ctx.project_id);

/** Plain copy of a stored document without the controller's bookkeeping keys. */
export function docOf(attrs: Doc): Doc {
  const out = { ...attrs };
  for (const k of ['id', 'tenant_id', 'project_id', 'tags', 'created_at', 'updated_at', 'revision_number']) delete out[k];
  return out;
}
