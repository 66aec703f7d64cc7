// createImage: the snapshot image is made before the unit of work (its id is the answer); the steps upload it.
import type { ServerRecord } from '../../domain/server.ts';
import type { ImageRecord } from '../../api/ports.ts';
import type { RequestContext } from '../types.ts';
import type { ActionEnv, ActionPreparation, Prepared } from './preparation.ts';

/** The image record a createImage or a createBackup makes, with the properties Nova sets. */
export function snapshotImage(
  env: ActionEnv, ctx: RequestContext, s: ServerRecord, p: Record<string, unknown>, kind: 'snapshot' | 'backup',
): Promise<ImageRecord> {
  const metadata = (p.metadata as Record<string, string> | undefined) ?? {};
  const system = { instance_uuid: s.uuid, user_id: ctx.user_id, image_type: kind };
  // A snapshot's request metadata overrides what Nova sets (tempest sets image_type itself); a
  // backup keeps its own, which its rotation finds it by.
  const properties: Record<string, string> = kind === 'snapshot' ? { ...system, ...metadata } : { ...metadata, ...system };
  if (s.image_ref) properties.base_image_ref = s.image_ref;
  if (kind === 'backup') properties.backup_type = String(p.backup_type);
  return env.images.createSnapshot({ name: String(p.name), owner: s.project_id, properties, min_disk: s.flavor.root_gb, min_ram: 0 });
}

/** The task follows the image it uploads; the API answers its id. */
export function uploading(image: ImageRecord | undefined, taskParams?: Record<string, unknown>): Prepared {
  const img = image!;
  return { context: { image_id: img.id }, taskParams, outcome: { image_id: img.id } };
}

export const createImage: ActionPreparation = {
  image: (env, ctx, s, p) => snapshotImage(env, ctx, s, p, 'snapshot'),
  prepare: ({ image }) => uploading(image),
};
