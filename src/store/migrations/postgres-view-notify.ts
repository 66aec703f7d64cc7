// PostgreSQL: every replica hears of each committed write that changes a rendered server view
// (src/store/pg-feed.ts, the show memo in src/api/compute/views/show-cache.ts). An update or delete of
// a server row notifies `novabox_views` with its uuid; any write to a table the view reads beside
// the row (SERVER_VIEW_INPUTS) notifies '*'. Triggers rather than calls in the repositories, so no
// writer can forget one; PostgreSQL sends them at commit and folds duplicates within a transaction.
// Applied after every migration set that creates those tables (compute, infra, network). SQLite's
// memo watches its own connection with TEMP triggers instead (SqliteSql.watchServerViews).
import { SERVER_VIEW_INPUTS, type SqlMigration } from '../sql.ts';

const POSTGRES = [
  "CREATE OR REPLACE FUNCTION novabox_view_server_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_notify('novabox_views', OLD.uuid); RETURN NULL; END $$",
  "CREATE OR REPLACE FUNCTION novabox_view_inputs_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_notify('novabox_views', '*'); RETURN NULL; END $$",
  'CREATE TRIGGER novabox_view_servers AFTER UPDATE OR DELETE ON servers FOR EACH ROW EXECUTE FUNCTION novabox_view_server_changed()',
  'CREATE TRIGGER novabox_view_servers_truncate AFTER TRUNCATE ON servers FOR EACH STATEMENT EXECUTE FUNCTION novabox_view_inputs_changed()',
  ...SERVER_VIEW_INPUTS.map((t) => `CREATE TRIGGER novabox_view_${t} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ${t} FOR EACH STATEMENT EXECUTE FUNCTION novabox_view_inputs_changed()`),
].join(';\n');

export const VIEW_NOTIFY_MIGRATIONS: SqlMigration[] = [{ id: 'compute-view-notify', sqlite: '-- SQLite: TEMP triggers per connection (SqliteSql.watchServerViews)', postgres: POSTGRES }];
