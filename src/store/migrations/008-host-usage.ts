// Placement's usage per compute host (Nova's allocations, summed per resource provider): what the
// live servers placed on each host take (instances, vcpus, memory, disk from the flavor), kept exact
// by triggers on `servers` in the unit of work that writes the server, whatever path writes it (the
// engine's steps, bulk loads, deletes). The scheduler claims from these rows inside the unit of work
// that places a server (src/engine/scheduling.ts): on PostgreSQL the chosen host's row is locked
// (SELECT … FOR UPDATE) until that unit of work commits, so two replicas cannot both fill the last
// room on a host; on SQLite the unit of work is the only writer. Same table and backfill on both
// dialects (PostgreSQL: COMPUTE_MIGRATIONS 'compute-host-usage', statement triggers over transition
// tables so a bulk insert is one update per host).
import type { Migration } from './index.ts';

export const HOST_USAGE_TABLE = `CREATE TABLE IF NOT EXISTS host_usage (
  host TEXT PRIMARY KEY,
  instances BIGINT NOT NULL DEFAULT 0,
  vcpus BIGINT NOT NULL DEFAULT 0,
  memory_mb BIGINT NOT NULL DEFAULT 0,
  disk_gb BIGINT NOT NULL DEFAULT 0
)`;

export const HOST_USAGE_BACKFILL = `INSERT INTO host_usage (host, instances, vcpus, memory_mb, disk_gb)
  SELECT s.host, COUNT(*), SUM(s.vcpus), SUM(s.memory_mb), SUM(COALESCE(f.root_gb, 0) + COALESCE(f.ephemeral_gb, 0))
    FROM servers s LEFT JOIN flavors f ON f.id = s.instance_type_id
   WHERE s.deleted = 0 AND s.host IS NOT NULL
   GROUP BY s.host`;

const disk = (row: 'NEW' | 'OLD') => `COALESCE((SELECT COALESCE(root_gb, 0) + COALESCE(ephemeral_gb, 0) FROM flavors WHERE id = ${row}.instance_type_id), 0)`;
const ADD = `INSERT INTO host_usage (host, instances, vcpus, memory_mb, disk_gb)
    SELECT NEW.host, 1, NEW.vcpus, NEW.memory_mb, ${disk('NEW')} WHERE NEW.deleted = 0 AND NEW.host IS NOT NULL
    ON CONFLICT (host) DO UPDATE SET instances = instances + excluded.instances, vcpus = vcpus + excluded.vcpus,
      memory_mb = memory_mb + excluded.memory_mb, disk_gb = disk_gb + excluded.disk_gb;`;
const SUBTRACT = `UPDATE host_usage SET instances = instances - 1, vcpus = vcpus - OLD.vcpus, memory_mb = memory_mb - OLD.memory_mb,
      disk_gb = disk_gb - ${disk('OLD')}
    WHERE host = OLD.host AND OLD.deleted = 0;`;

export const hostUsage008: Migration = {
  id: '008-host-usage',
  up: `
${HOST_USAGE_TABLE};
${HOST_USAGE_BACKFILL};
CREATE TRIGGER host_usage_insert AFTER INSERT ON servers WHEN NEW.deleted = 0 AND NEW.host IS NOT NULL BEGIN
  ${ADD}
END;
CREATE TRIGGER host_usage_update AFTER UPDATE OF host, vcpus, memory_mb, instance_type_id, deleted ON servers
  WHEN OLD.host IS NOT NEW.host OR OLD.vcpus IS NOT NEW.vcpus OR OLD.memory_mb IS NOT NEW.memory_mb
    OR OLD.instance_type_id IS NOT NEW.instance_type_id OR (OLD.deleted = 0) <> (NEW.deleted = 0) BEGIN
  ${SUBTRACT}
  ${ADD}
END;
CREATE TRIGGER host_usage_delete AFTER DELETE ON servers WHEN OLD.deleted = 0 AND OLD.host IS NOT NULL BEGIN
  ${SUBTRACT}
END;
`,
};

// PostgreSQL: one function for the three statement triggers; each applies the per-host difference of
// the rows the statement changed (hosts in name order, so two statements lock host rows in one order).
const CHANGED = '(o.host IS DISTINCT FROM n.host OR o.vcpus <> n.vcpus OR o.memory_mb <> n.memory_mb OR o.instance_type_id <> n.instance_type_id OR (o.deleted = 0) <> (n.deleted = 0))';
const pgDisk = (f: string) => `COALESCE(${f}.root_gb, 0) + COALESCE(${f}.ephemeral_gb, 0)`;
const pgApply = (rows: string) => `INSERT INTO host_usage AS u (host, instances, vcpus, memory_mb, disk_gb)
 SELECT host, SUM(i), SUM(v), SUM(m), SUM(d) FROM (${rows}) AS delta GROUP BY host
 HAVING SUM(i) <> 0 OR SUM(v) <> 0 OR SUM(m) <> 0 OR SUM(d) <> 0 ORDER BY host
 ON CONFLICT (host) DO UPDATE SET instances = u.instances + excluded.instances, vcpus = u.vcpus + excluded.vcpus,
 memory_mb = u.memory_mb + excluded.memory_mb, disk_gb = u.disk_gb + excluded.disk_gb`;
const plus = (from: string, where: string) => `SELECT n.host, 1 AS i, n.vcpus AS v, n.memory_mb AS m, ${pgDisk('fn')} AS d FROM ${from} LEFT JOIN flavors fn ON fn.id = n.instance_type_id WHERE n.deleted = 0 AND n.host IS NOT NULL${where}`;
const minus = (from: string, where: string) => `SELECT o.host, -1 AS i, -o.vcpus AS v, -o.memory_mb AS m, -(${pgDisk('fo')}) AS d FROM ${from} LEFT JOIN flavors fo ON fo.id = o.instance_type_id WHERE o.deleted = 0 AND o.host IS NOT NULL${where}`;
const PG_FUNCTION = `CREATE OR REPLACE FUNCTION novabox_host_usage() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
 IF TG_OP = 'INSERT' THEN ${pgApply(plus('new_rows n', ''))};
 ELSIF TG_OP = 'DELETE' THEN ${pgApply(minus('old_rows o', ''))};
 ELSE ${pgApply(`${plus('new_rows n JOIN old_rows o ON o.id = n.id', ` AND ${CHANGED}`)} UNION ALL ${minus('old_rows o JOIN new_rows n ON n.id = o.id', ` AND ${CHANGED}`)}`)};
 END IF; RETURN NULL; END $$`.replace(/\s*\n\s*/g, ' ');

export const HOST_USAGE_POSTGRES = [
  HOST_USAGE_TABLE,
  HOST_USAGE_BACKFILL,
  PG_FUNCTION,
  'CREATE TRIGGER host_usage_insert AFTER INSERT ON servers REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION novabox_host_usage()',
  'CREATE TRIGGER host_usage_update AFTER UPDATE ON servers REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION novabox_host_usage()',
  'CREATE TRIGGER host_usage_delete AFTER DELETE ON servers REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION novabox_host_usage()',
].join(';\n');
