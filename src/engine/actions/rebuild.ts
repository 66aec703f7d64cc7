// rebuild: the new image and whatever else the request changes (name, metadata, key, user data …) are written with the task state.
import type { ServerPatch } from '../../domain/server.ts';
import { adminPass } from './checks.ts';
import type { ActionPreparation } from './preparation.ts';

export const rebuild: ActionPreparation = {
  prepare({ params: p }) {
    const patch: ServerPatch = { image_ref: p.image_ref as string, image_properties: (p.image_properties as Record<string, string>) ?? {} };
    if (p.name !== undefined) patch.display_name = p.name as string;
    if (p.metadata !== undefined) patch.metadata = p.metadata as Record<string, string>;
    if (p.description !== undefined) patch.display_description = p.description as string | null;
    if (p.access_ip_v4 !== undefined) patch.access_ip_v4 = p.access_ip_v4 as string;
    if (p.access_ip_v6 !== undefined) patch.access_ip_v6 = p.access_ip_v6 as string;
    if (p.key_name !== undefined) {
      patch.key_name = p.key_name as string | null;
      patch.key_data = (p.key_data as string | null | undefined) ?? null;
    }
    if (p.user_data !== undefined) patch.user_data = p.user_data as string | null;
    if (p.hostname !== undefined) patch.hostname = p.hostname as string;
    if (p.trusted_image_certificates !== undefined) patch.trusted_image_certificates = p.trusted_image_certificates as string[] | null;
    if (p.auto_disk_config !== undefined) patch.auto_disk_config = p.auto_disk_config as boolean;
    return { patch, outcome: { admin_pass: adminPass(p) } };
  },
};
