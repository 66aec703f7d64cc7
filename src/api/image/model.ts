// Image model (placeholder: the image service replaces this).
import type { Config } from '../../config.ts';
import type { Clock } from '../../engine/clock.ts';
import type { Db } from '../../store/db.ts';
import type { ImagePort, ImageRecord } from '../ports.ts';

export interface ImageModel extends ImagePort {
  seed(): Promise<void>;
}

export function createImageModel(_db: Db, _config: Config, _clock: Clock): ImageModel {
  return {
    async seed() {},
    async getImage(): Promise<ImageRecord | undefined> {
      return undefined;
    },
    async createSnapshot(): Promise<ImageRecord> {
      throw new Error('not implemented');
    },
    async setStatus() {},
    async deleteImage() {},
    async findByProperties() {
      return [];
    },
  };
}
