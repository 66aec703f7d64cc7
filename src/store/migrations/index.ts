// Versioned schema migrations, applied in this order exactly once each.
import { compute001 } from './001-compute.ts';
import { identity002 } from './002-identity.ts';
import { image003 } from './003-image.ts';
import { resources004 } from './004-resources.ts';
import { securityGroups005 } from './005-security-groups.ts';
import { serverStates006 } from './006-server-states.ts';
import { taskLeases007 } from './007-task-leases.ts';
import { hostUsage008 } from './008-host-usage.ts';
import { GENERATIONS_MIGRATION } from '../generations.ts';

export interface Migration {
  id: string;
  up: string;
}

export const MIGRATIONS: Migration[] = [compute001, identity002, image003, resources004, securityGroups005, serverStates006, taskLeases007, { id: GENERATIONS_MIGRATION.id, up: GENERATIONS_MIGRATION.sqlite }, hostUsage008];
