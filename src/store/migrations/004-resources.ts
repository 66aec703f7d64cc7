import type { Migration } from './index.ts';
// Compute side resources: keypairs, quota sets, server groups.
export const resources004: Migration = { id: '004-resources', up: `SELECT 1;` };
