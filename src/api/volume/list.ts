// Cinder's list semantics (cinder/api/common.py, cinder/db get_all with filters): filters by exact
// value (metadata by key/value subset, `name~` style LIKE filters from 3.34), sort by `sort=k:dir,…`
// or `sort_key`/`sort_dir`, then `marker`/`limit`/`offset`, and a `next` link when a page is full.
import { VolumeFault } from '../../engine/volume.ts';

type Rec = Record<string, unknown>;

export interface ListOptions {
  /** Query parameters. */
  query: Record<string, string>;
  /** Filter keys accepted (besides paging and sorting). */
  filters: readonly string[];
  /** Field each public sort key reads. */
  sortKeys: Record<string, string>;
  minor: number;
  maxLimit: number;
  admin: boolean;
}

const PAGING = new Set(['limit', 'marker', 'offset', 'sort', 'sort_key', 'sort_dir', 'all_tenants', 'with_count', 'project_id', 'is_public']);

function parseJsonish(v: string): unknown {
  try {
    return JSON.parse(v);
  } catch {
    try {
      return JSON.parse(v.replace(/'/g, '"'));
    } catch {
      return v;
    }
  }
}

export function applyList<T extends Rec>(all: T[], o: ListOptions, field: (r: T, k: string) => unknown): { items: T[]; more: boolean; count: number } {
  const q = o.query;
  const bad = Object.keys(q).filter((k) => !PAGING.has(k) && !o.filters.includes(k.replace(/~$/, '')));
  if (bad.length && o.minor >= 31) throw new VolumeFault(400, `Invalid filter keys: ${bad.join(', ')}`);
  let items = all;
  for (const [k0, raw] of Object.entries(q)) {
    if (PAGING.has(k0) || bad.includes(k0)) continue;
    const like = k0.endsWith('~') && o.minor >= 34;
    const k = k0.replace(/~$/, '');
    if (k === 'metadata' || k === 'image_metadata' || k === 'glance_metadata') {
      const want = parseJsonish(raw);
      if (typeof want !== 'object' || want === null) continue;
      items = items.filter((r) => {
        const have = (field(r, k === 'metadata' ? 'metadata' : 'image_metadata') ?? {}) as Record<string, string>;
        return Object.entries(want as Record<string, unknown>).every(([mk, mv]) => have[mk] === String(mv));
      });
      continue;
    }
    items = items.filter((r) => {
      const have = field(r, k);
      if (have === null || have === undefined) return raw === '' || raw.toLowerCase() === 'none';
      if (typeof have === 'boolean') return have === ['true', '1', 't', 'yes', 'y', 'on'].includes(raw.toLowerCase());
      if (like) return String(have).toLowerCase().includes(raw.toLowerCase());
      return String(have) === raw;
    });
  }
  // Sorting: Cinder's default is created_at desc, then id desc.
  const sorts: [string, 'asc' | 'desc'][] = [];
  if (q.sort) {
    if (q.sort_key || q.sort_dir) throw new VolumeFault(400, "The 'sort_key' and 'sort_dir' parameters are deprecated and cannot be used with the 'sort' parameter.");
    for (const part of q.sort.split(',')) {
      const [k, d = 'desc'] = part.trim().split(':');
      if (d !== 'asc' && d !== 'desc') throw new VolumeFault(400, `Unknown sort direction, must be 'desc' or 'asc'`);
      sorts.push([k, d]);
    }
  } else if (q.sort_key) {
    const d = (q.sort_dir ?? 'desc') as 'asc' | 'desc';
    if (d !== 'asc' && d !== 'desc') throw new VolumeFault(400, `Unknown sort direction, must be 'desc' or 'asc'`);
    sorts.push([q.sort_key, d]);
  }
  for (const [k] of sorts) if (!(k in o.sortKeys)) throw new VolumeFault(400, `Invalid input received: Invalid sort key ${k}`);
  if (!sorts.some(([k]) => k === 'created_at')) sorts.push(['created_at', 'desc']);
  if (!sorts.some(([k]) => k === 'id')) sorts.push(['id', 'desc']);
  items = [...items].sort((a, b) => {
    for (const [k, d] of sorts) {
      const f = o.sortKeys[k] ?? k;
      const x = field(a, f) as string | number | null;
      const y = field(b, f) as string | number | null;
      if (x === y) continue;
      const c = x === null ? -1 : y === null ? 1 : x < y ? -1 : 1;
      return d === 'asc' ? c : -c;
    }
    return 0;
  });
  const count = items.length;
  if (q.marker !== undefined) {
    const i = items.findIndex((r) => field(r, 'id') === q.marker);
    if (i < 0) throw new VolumeFault(404, `Marker ${q.marker} could not be found.`);
    items = items.slice(i + 1);
  }
  if (q.offset !== undefined) {
    const off = Number(q.offset);
    if (!/^\d+$/.test(q.offset)) throw new VolumeFault(400, `Invalid input received: offset param must be an integer`);
    items = items.slice(off);
  }
  let limit = o.maxLimit;
  if (q.limit !== undefined) {
    if (!/^-?\d+$/.test(q.limit)) throw new VolumeFault(400, 'Invalid input received: limit param must be an integer');
    const n = Number(q.limit);
    if (n < 0) throw new VolumeFault(400, 'Invalid input received: limit param must be positive');
    limit = Math.min(n, o.maxLimit);
  }
  // Cinder links a next page whenever a page is full (cinder/api/common.py _get_collection_links).
  const page = items.slice(0, limit);
  return { items: page, more: page.length > 0 && page.length === limit, count };
}
