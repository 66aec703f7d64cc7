// GET /servers and /servers/detail query processing (Nova's ServersController._get_servers):
// schema per microversion, admin/non-admin filter whitelist, status, deleted, tenants, sorting, paging.
import { beforeBound, sinceBound } from './resources/common.ts';
import { BadRequest, Forbidden } from '../../domain/errors.ts';
import { policyMessage } from '../../domain/policy.ts';
import { statusFilter } from '../../domain/states.ts';
import { compileNameFilter } from '../../domain/regex.ts';
import type { ServerColumn, ServerQuery, SortDir } from '../../store/store.ts';
import type { Version } from '../microversion.ts';
import { atLeast } from '../microversion.ts';
import { nonNegativeInteger } from './schemas/params.ts';
import { checkQueryValue, parseIsoTime, pyRepr, unexpectedMessage, type Schema } from './schemas/validate.ts';

export type RawQuery = Map<string, string[]>;

/** Parse a URL's query string into name → values, in order; 400 when it is not UTF-8. */
export function parseRawQuery(url: string): RawQuery {
  const out: RawQuery = new Map();
  const i = url.indexOf('?');
  if (i < 0) return out;
  for (const part of url.slice(i + 1).split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const rawK = eq < 0 ? part : part.slice(0, eq);
    const rawV = eq < 0 ? '' : part.slice(eq + 1);
    let k: string;
    let v: string;
    try {
      k = decodeURIComponent(rawK.replace(/\+/g, ' '));
      v = decodeURIComponent(rawV.replace(/\+/g, ' '));
    } catch {
      throw new BadRequest('Query string is not UTF-8 encoded');
    }
    const list = out.get(k);
    if (list) list.push(v);
    else out.set(k, [v]);
  }
  return out;
}

type Kind = 'plain' | 'regex' | 'date' | 'int' | 'sort_key';

const SORT_KEYS = [
  'access_ip_v4', 'access_ip_v6', 'auto_disk_config', 'availability_zone', 'config_drive', 'created_at',
  'display_description', 'display_name', 'host', 'hostname', 'image_ref', 'instance_type_id', 'kernel_id', 'key_name',
  'launch_index', 'launched_at', 'locked_by', 'node', 'power_state', 'progress', 'project_id', 'ramdisk_id',
  'root_device_name', 'task_state', 'terminated_at', 'updated_at', 'user_id', 'uuid', 'vm_state',
];
const IGNORED_SORT_KEYS = [
  'architecture', 'cell_name', 'cleaned', 'default_ephemeral_device', 'default_swap_device', 'deleted', 'deleted_at',
  'disable_terminate', 'ephemeral_gb', 'ephemeral_key_uuid', 'id', 'key_data', 'launched_on', 'locked', 'memory_mb',
  'os_type', 'reservation_id', 'root_gb', 'shutdown_terminate', 'user_data', 'vcpus', 'vm_mode',
];

const PARAMS_21: Record<string, Kind> = {
  user_id: 'plain', project_id: 'plain', tenant_id: 'plain', launch_index: 'plain', image_ref: 'plain', image: 'plain',
  kernel_id: 'regex', ramdisk_id: 'regex', hostname: 'regex', key_name: 'regex', power_state: 'regex', vm_state: 'plain',
  task_state: 'plain', host: 'plain', node: 'regex', flavor: 'regex', reservation_id: 'regex', launched_at: 'regex',
  terminated_at: 'regex', availability_zone: 'regex', name: 'regex', display_name: 'regex', description: 'regex',
  display_description: 'regex', locked_by: 'regex', uuid: 'plain', root_device_name: 'regex', config_drive: 'regex',
  access_ip_v4: 'regex', access_ip_v6: 'regex', auto_disk_config: 'regex', progress: 'regex', sort_key: 'sort_key',
  sort_dir: 'plain', all_tenants: 'plain', soft_deleted: 'plain', deleted: 'plain', status: 'plain',
  'changes-since': 'date', ip: 'regex', ip6: 'regex', created_at: 'regex',
  block_device_mapping: 'plain', services: 'plain', metadata: 'plain', system_metadata: 'plain', info_cache: 'plain',
  security_groups: 'plain', pci_devices: 'plain', limit: 'int', marker: 'plain',
};
const JOINED_TABLES = new Set(['block_device_mapping', 'services', 'metadata', 'system_metadata', 'info_cache', 'security_groups', 'pci_devices']);

function knownParams(mv: Version): Record<string, Kind> {
  const p: Record<string, Kind> = { ...PARAMS_21 };
  if (atLeast(mv, 26)) Object.assign(p, { tags: 'regex', 'tags-any': 'regex', 'not-tags': 'regex', 'not-tags-any': 'regex' });
  if (atLeast(mv, 66)) p['changes-before'] = 'date';
  if (atLeast(mv, 73)) p.locked = 'plain';
  return p;
}

/** Filters a non-admin may use (Nova's _get_server_search_options plus the per-version additions). */
function userWhitelist(mv: Version): Set<string> {
  const w = ['reservation_id', 'name', 'status', 'image', 'flavor', 'ip', 'changes-since', 'all_tenants'];
  if (atLeast(mv, 5)) w.push('ip6');
  if (atLeast(mv, 26)) w.push('tags', 'tags-any', 'not-tags', 'not-tags-any');
  if (atLeast(mv, 66)) w.push('changes-before');
  if (atLeast(mv, 73)) w.push('locked');
  if (atLeast(mv, 83)) {
    w.push('availability_zone', 'config_drive', 'key_name', 'created_at', 'launched_at', 'terminated_at', 'power_state',
      'task_state', 'vm_state', 'progress', 'user_id');
  }
  if (atLeast(mv, 90)) w.push('hostname');
  return new Set(w);
}

const TRUE = ['1', 't', 'true', 'on', 'y', 'yes'];
const FALSE = ['0', 'f', 'false', 'off', 'n', 'no'];
function strictBool(v: string): boolean {
  const l = v.trim().toLowerCase();
  if (TRUE.includes(l)) return true;
  if (FALSE.includes(l)) return false;
  throw new BadRequest(`Invalid input received: Unrecognized value ${pyRepr(v)}, acceptable values are: '0', '1', 'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'`);
}
function lenientBool(v: string): boolean {
  return TRUE.includes(v.trim().toLowerCase());
}

const REGEX_SCHEMA: Schema = { type: 'string', format: 'regex' };
/** Parameters of kind 'regex' in Nova's schema that are not matched as regular expressions here. */
const NOT_MATCHED = new Set(['ip', 'ip6', 'flavor', 'tags', 'tags-any', 'not-tags', 'not-tags-any']);
const DATE_SCHEMA: Schema = { type: 'string', format: 'date-time' };

export interface ListRequest {
  mv: Version;
  admin: boolean;
  project_id: string;
  detail: boolean;
  max_limit: number;
  /** flavorid → internal flavor row id, or undefined when unknown. */
  flavorRowId(flavorid: string): Promise<number | undefined>;
}

export interface ParsedList {
  query: ServerQuery;
  /** The filters can match nothing (unknown flavor, unknown status below 2.38). */
  empty: boolean;
  /** Effective page size (for the next link). */
  limit: number;
}

export async function buildServerQuery(raw: RawQuery, r: ListRequest): Promise<ParsedList> {
  const { mv } = r;
  const known = knownParams(mv);
  const unknown: string[] = [];
  const params = new Map<string, string[]>();

  // 1. Schema: formats per parameter; unknown names dropped (<2.75) or refused (>=2.75).
  for (const [k, vals] of raw) {
    const kind = known[k];
    if (kind === undefined && !k.startsWith('_')) {
      unknown.push(k);
      continue;
    }
    for (const v of vals) {
      let err: string | null = null;
      if (kind === 'regex') {
        err = checkQueryValue(REGEX_SCHEMA, k, v);
        // Matched by the linear-time engine: what it cannot run (backreferences, lookaround) is refused.
        if (!err && !NOT_MATCHED.has(k) && !compileNameFilter(v)) err = `Invalid input for query parameters ${k}. Value: ${v}. ${pyRepr(v)} is not a 'regex'`;
      }
      else if (kind === 'date') err = checkQueryValue(DATE_SCHEMA, k, v);
      else if (kind === 'int') err = checkQueryValue(nonNegativeInteger, k, v);
      else if (kind === 'sort_key') {
        const allowed = atLeast(mv, 75) ? [...SORT_KEYS, 'locked'] : atLeast(mv, 73) ? [...SORT_KEYS, 'locked', ...IGNORED_SORT_KEYS.filter((x) => x !== 'locked')] : [...SORT_KEYS, ...IGNORED_SORT_KEYS];
        if (!allowed.includes(v)) err = `Invalid input for query parameters sort_key. Value: ${v}. ${pyRepr(v)} is not one of ${pyRepr(allowed)}`;
      }
      if (err) throw new BadRequest(err);
    }
    params.set(k, vals);
  }
  if (unknown.length && atLeast(mv, 75)) {
    throw new BadRequest(unexpectedMessage(unknown));
  }

  // Paging and sorting parameters are handled apart from filters.
  const sortKeys = params.get('sort_key') ?? [];
  const sortDirs = params.get('sort_dir') ?? [];
  const limitRaw = params.get('limit');
  const marker = params.get('marker');
  for (const k of ['sort_key', 'sort_dir', 'limit', 'marker']) params.delete(k);

  // 2. Non-admins keep only the whitelisted filters; the rest are dropped silently.
  if (!r.admin) {
    const white = userWhitelist(mv);
    for (const k of [...params.keys()]) if (!white.has(k)) params.delete(k);
  }
  // 3. Joined tables and internal names are refused.
  for (const k of params.keys()) {
    if (JOINED_TABLES.has(k) || k.startsWith('_')) throw new BadRequest(`Invalid filter field: ${k}.`);
  }

  const last = (k: string) => {
    const v = params.get(k);
    return v ? v[v.length - 1] : undefined;
  };
  const q: ServerQuery = { deleted: 'exclude', sort: [], limit: r.max_limit };
  let empty = false;
  const exact: NonNullable<ServerQuery['exact']> = [];
  const regex: NonNullable<ServerQuery['regex']> = [];

  // 4. status → vm_state / task_state.
  const status = params.get('status');
  let onlyDeleted = false;
  if (status) {
    const f = statusFilter(status.map((s) => s.toLowerCase()));
    if (!f) {
      if (atLeast(mv, 38)) throw new BadRequest('Invalid status value');
      empty = true;
    } else {
      if (f.vm_states.length === 1 && f.vm_states[0] === 'deleted') {
        if (!r.admin) throw new Forbidden('Only administrators may list deleted instances');
        onlyDeleted = true;
      }
      q.vm_states = f.vm_states;
      if (f.task_states) q.task_states = f.task_states;
    }
  } else {
    const vm = params.get('vm_state');
    const task = params.get('task_state');
    if (vm) q.vm_states = vm;
    if (task) q.task_states = task.map((t) => (t === 'None' || t === '' ? null : t));
  }

  // 5. changes-since / changes-before.
  const since = last('changes-since');
  const before = last('changes-before');
  const tSince = since === undefined ? undefined : parseIsoTime(since)!;
  const tBefore = before === undefined ? undefined : parseIsoTime(before)!;
  if (tSince !== undefined) q.changes_since = sinceBound(tSince);
  if (tBefore !== undefined) q.changes_before = beforeBound(tBefore);
  if (tSince !== undefined && tBefore !== undefined && tBefore < tSince) {
    throw new BadRequest('The value of changes-since must be less than or equal to changes-before.');
  }

  // 6. deleted / soft_deleted (admin only; others had them dropped above).
  const deleted = last('deleted');
  if (deleted !== undefined) {
    if (lenientBool(deleted)) q.deleted = 'only';
    else q.deleted = last('soft_deleted') ? 'include_soft' : 'exclude';
  } else if (onlyDeleted) {
    q.deleted = 'only';
  } else if (since !== undefined || before !== undefined) {
    q.deleted = 'include';
  }

  // 7. tags (2.26): comma-separated lists.
  const split = (k: string) => {
    const v = params.get(k);
    return v ? v.flatMap((x) => x.split(',')).filter((x) => x !== '') : undefined;
  };
  q.tags = split('tags');
  q.tags_any = split('tags-any');
  q.not_tags = split('not-tags');
  q.not_tags_any = split('not-tags-any');

  // 8. all_tenants and the project scope.
  const allTenantsRaw = last('all_tenants');
  const allTenants = allTenantsRaw === undefined ? false : allTenantsRaw === '' ? true : strictBool(allTenantsRaw);
  if (allTenants) {
    if (!r.admin) throw new Forbidden(policyMessage(`os_compute_api:servers:${r.detail ? 'detail' : 'index'}:get_all_tenants`));
    const pid = last('project_id') ?? last('tenant_id');
    if (pid !== undefined) q.project_id = pid;
  } else {
    q.project_id = r.project_id;
  }

  // 9. locked (2.73).
  const locked = last('locked');
  if (locked !== undefined) q.locked = strictBool(locked);

  // 10. Remaining filters.
  const name = params.get('name') ?? params.get('display_name');
  if (name) regex.push({ column: 'display_name', pattern: name[name.length - 1] });
  const image = params.get('image') ?? params.get('image_ref');
  if (image) exact.push({ column: 'image_ref', values: image });
  const flavor = last('flavor');
  if (flavor !== undefined) {
    const id = await r.flavorRowId(flavor);
    if (id === undefined) empty = true;
    else exact.push({ column: 'instance_type_id', values: [id] });
  }
  const ip = last('ip');
  if (ip !== undefined) q.ip = ip;
  const ip6 = last('ip6');
  if (ip6 !== undefined) q.ip6 = ip6;
  const description = params.get('description') ?? params.get('display_description');
  if (description) regex.push({ column: 'display_description', pattern: description[description.length - 1] });
  const EXACT: ServerColumn[] = ['user_id', 'uuid', 'host', 'launch_index'];
  for (const c of EXACT) {
    const v = params.get(c);
    // A launch_index that is no number matches nothing (PostgreSQL would refuse to compare it).
    if (v) exact.push({ column: c, values: c === 'launch_index' ? v.map(Number).filter(Number.isFinite) : v });
  }
  const REGEX: ServerColumn[] = [
    'reservation_id', 'availability_zone', 'config_drive', 'key_name', 'power_state', 'progress', 'hostname', 'node',
    'kernel_id', 'ramdisk_id', 'locked_by', 'root_device_name', 'access_ip_v4', 'access_ip_v6', 'auto_disk_config',
    'created_at', 'launched_at', 'terminated_at',
  ];
  for (const c of REGEX) {
    const v = last(c);
    if (v !== undefined) regex.push({ column: c, pattern: v });
  }
  if (exact.length) q.exact = exact;
  if (regex.length) q.regex = regex;

  // 11. Sorting.
  if (sortDirs.length > sortKeys.length) throw new BadRequest('Invalid input received: Sort direction size exceeds sort key size');
  for (const d of sortDirs) if (d !== 'asc' && d !== 'desc') throw new BadRequest("Invalid input received: Unknown sort direction, must be 'desc' or 'asc'");
  const defaultDir: SortDir = (sortDirs[0] as SortDir | undefined) ?? 'desc';
  const valid = new Set(atLeast(mv, 73) ? [...SORT_KEYS, 'locked'] : SORT_KEYS);
  sortKeys.forEach((k, i) => {
    if (!valid.has(k)) return; // ignored before 2.75 (refused by the schema from 2.75)
    if ((k === 'host' || k === 'node') && !r.admin) throw new Forbidden(`Only administrators can sort servers by ${k}`);
    q.sort.push({ key: k as ServerColumn, dir: (sortDirs[i] as SortDir | undefined) ?? defaultDir });
  });
  if (q.sort.length === 0) q.sort.push({ key: 'created_at', dir: 'desc' });

  // 12. Paging.
  const requested = limitRaw ? Number(limitRaw[limitRaw.length - 1] || r.max_limit) : r.max_limit;
  q.limit = Math.min(requested, r.max_limit);
  if (marker) q.marker = marker[marker.length - 1];
  return { query: q, empty, limit: q.limit };
}
