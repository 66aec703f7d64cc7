import type { Migration } from './index.ts';
// Owned by the identity service (domains, projects, users, roles, assignments, tokens).
export const identity002: Migration = { id: '002-identity', up: `SELECT 1;` };
