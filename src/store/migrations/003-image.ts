import type { Migration } from './index.ts';
// Owned by the image service (images, members, tags).
export const image003: Migration = { id: '003-image', up: `SELECT 1;` };
