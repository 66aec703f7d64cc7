// Where the compute and volume engines meet, as Nova and Cinder do through each other's APIs:
// a finished detach removes the server's block device mapping; a deleted server lets go of its
// volumes (deleting those whose mapping says delete_on_termination); a shelve-offloaded server's
// attachments lose their host connection (the volumes stay in-use) and are connected again on unshelve.
import type { ComputeEngine } from './compute.ts';
import type { VolumeEngine } from './volume.ts';

const volumeIdOf = (b: Record<string, unknown>): string | null =>
  b.destination_type === 'volume' && typeof (b.volume_id ?? b.uuid) === 'string' ? String(b.volume_id ?? b.uuid) : null;

export function connectVolumesToCompute(compute: ComputeEngine, volumes: VolumeEngine): void {
  volumes.listeners.push({
    async detached(volume, serverUuid) {
      if (!serverUuid) return;
      await compute.changeBlockDevices(null, serverUuid, 'detach_volume', 'any', (s) => s.block_device_mapping.filter((b) => volumeIdOf(b) !== volume.id)).catch(() => undefined);
    },
  });
  compute.events.on('transition', (t) => {
    if (t.vm_state !== 'deleted' && t.vm_state !== 'shelved_offloaded' && !(t.from?.vm_state === 'shelved_offloaded' && t.vm_state === 'active')) return;
    void (async () => {
      const s = await compute.store.getServer(t.server_id);
      if (!s) return;
      for (const b of s.block_device_mapping) {
        const id = volumeIdOf(b);
        if (!id) continue;
        if (t.vm_state === 'deleted') await volumes.releaseFromServer(id, s.uuid, b.delete_on_termination === true);
        else await volumes.setServerConnection(id, s.uuid, t.vm_state === 'active');
      }
    })().catch(() => undefined);
  });
}
