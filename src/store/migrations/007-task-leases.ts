import type { Migration } from './index.ts';

// Durable tasks carry a lease so several processes can share one database: `owner` is the engine
// that accepted or last claimed the task, `lease_until` (wall-clock ms) how long that claim holds
// unless renewed; start-up recovery and other processes touch a task only once its lease expired.
// A task whose compute host is down is parked (`parked_host`) instead of being retried every second.
export const taskLeases007: Migration = {
  id: '007-task-leases',
  up: `
ALTER TABLE tasks ADD COLUMN owner TEXT;
ALTER TABLE tasks ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN parked_host TEXT;
CREATE INDEX tasks_owner ON tasks (owner);
CREATE INDEX tasks_parked ON tasks (parked_host);
`,
};
