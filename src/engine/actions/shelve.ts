// shelve: an image-backed server is snapshotted first (the image Nova's API creates before it casts);
// the server remembers it as shelved_image_id, which unshelve and delete clean up.
import type { ActionPreparation } from './preparation.ts';

export const shelve: ActionPreparation = {
  async image(env, _ctx, s) {
    if (!s.image_ref) return undefined;
    return env.images.createSnapshot({
      name: `${s.display_name}-shelved`, owner: s.project_id,
      properties: { instance_uuid: s.uuid, image_type: 'snapshot', base_image_ref: s.image_ref }, min_disk: s.flavor.root_gb, min_ram: 0,
    });
  },
  prepare({ server: s, image }) {
    if (!image) return {};
    return { context: { image_id: image.id }, patch: { system_metadata: { ...s.system_metadata, shelved_image_id: image.id } } };
  },
};
