// Neutron-lib's attribute validators and converters, by name, so attribute maps stay plain data.
// Each validator returns null or the reason text Neutron gives ("'x' is not a valid UUID").
import { ipVersion, parseCidr } from './ip.ts';

export type Validation =
  | { kind: 'string'; max?: number }
  | { kind: 'string_or_none'; max?: number }
  | { kind: 'uuid' }
  | { kind: 'uuid_or_none' }
  | { kind: 'uuid_list' }
  | { kind: 'boolean' }
  | { kind: 'values'; values: readonly unknown[] }
  | { kind: 'range'; min: number; max: number }
  | { kind: 'range_or_none'; min: number; max: number }
  | { kind: 'ip_address_or_none' }
  | { kind: 'subnet' }
  | { kind: 'subnet_or_none' }
  | { kind: 'mac_address' }
  | { kind: 'nameservers' }
  | { kind: 'hostroutes' }
  | { kind: 'ip_pools' }
  | { kind: 'fixed_ips' }
  | { kind: 'address_pairs' }
  | { kind: 'subports' }
  | { kind: 'dict_or_none' }
  | { kind: 'dict_or_empty' }
  | { kind: 'list_of_strings' }
  | { kind: 'any' };

export type Conversion = 'boolean' | 'int' | 'int_or_none' | 'none_to_empty_list' | 'lowercase_or_none' | 'protocol';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (v: unknown): v is string => typeof v === 'string' && UUID_RE.test(v);
const MAC_RE = /^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$/i;
const py = (v: unknown): string => (typeof v === 'string' ? v : v === null ? 'None' : typeof v === 'boolean' ? (v ? 'True' : 'False') : JSON.stringify(v));
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function str(v: unknown, max?: number): string | null {
  if (typeof v !== 'string') return `'${py(v)}' is not a valid string`;
  if (max !== undefined && v.length > max) return `'${v}' exceeds maximum length of ${max}`;
  return null;
}

function ip(v: unknown): string | null {
  return typeof v === 'string' && ipVersion(v) ? null : `'${py(v)}' is not a valid IP address`;
}

export function validate(spec: Validation, v: unknown): string | null {
  switch (spec.kind) {
    case 'any':
      return null;
    case 'string':
      return str(v, spec.max);
    case 'string_or_none':
      return v === null ? null : str(v, spec.max);
    case 'uuid':
      return isUuid(v) ? null : `'${py(v)}' is not a valid UUID`;
    case 'uuid_or_none':
      return v === null || isUuid(v) ? null : `'${py(v)}' is not a valid UUID`;
    case 'uuid_list':
      if (!Array.isArray(v)) return `'${py(v)}' is not a list`;
      for (const x of v) if (!isUuid(x)) return `'${py(x)}' is not a valid UUID`;
      if (new Set(v).size !== v.length) return `Duplicate items in the list: '${v.join(', ')}'`;
      return null;
    case 'boolean':
      return typeof v === 'boolean' ? null : `'${py(v)}' is not boolean`;
    case 'values':
      return spec.values.includes(v) ? null : `${py(v)} is not in ${py(spec.values)}`;
    case 'range_or_none':
      if (v === null) return null;
    // falls through
    case 'range':
      if (typeof v !== 'number' || !Number.isInteger(v)) return `'${py(v)}' is not an integer`;
      if (v < spec.min) return `'${v}' is too small - must be at least '${spec.min}'`;
      if (v > spec.max) return `'${v}' is too large - must be no larger than '${spec.max}'`;
      return null;
    case 'ip_address_or_none':
      return v === null ? null : ip(v);
    case 'subnet_or_none':
      if (v === null) return null;
    // falls through
    case 'subnet':
      return typeof v === 'string' && parseCidr(v) ? null : `'${py(v)}' is not a valid IP subnet`;
    case 'mac_address':
      return typeof v === 'string' && MAC_RE.test(v) && !/^00[:-]00[:-]00[:-]00[:-]00[:-]00$/.test(v) ? null : `'${py(v)}' is not a valid MAC address`;
    case 'nameservers':
      if (!Array.isArray(v)) return `'${py(v)}' is not a list`;
      for (const x of v) if (ip(x)) return `'${py(x)}' is not a valid nameserver. '${py(x)}' is not a valid IP address`;
      if (new Set(v).size !== v.length) return `Duplicate nameserver '${v.find((x, i) => v.indexOf(x) !== i)}'`;
      return null;
    case 'hostroutes':
      if (!Array.isArray(v)) return `Invalid data format for hostroute: '${py(v)}'`;
      for (const r of v) {
        if (!isObj(r) || Object.keys(r).sort().join() !== 'destination,nexthop') return `Invalid data format for hostroute: '${py(r)}'`;
        if (typeof r.destination !== 'string' || !parseCidr(r.destination)) return `'${py(r.destination)}' is not a valid IP subnet`;
        if (ip(r.nexthop)) return ip(r.nexthop);
      }
      return null;
    case 'ip_pools':
      if (v === null) return null;
      if (!Array.isArray(v)) return `Invalid data format for IP pool: '${py(v)}'`;
      for (const p of v) {
        if (!isObj(p) || Object.keys(p).sort().join() !== 'end,start') return `Invalid data format for IP pool: '${py(p)}'`;
        if (ip(p.start)) return ip(p.start);
        if (ip(p.end)) return ip(p.end);
      }
      return null;
    case 'fixed_ips':
      if (!Array.isArray(v)) return `Invalid data format for fixed IP: '${py(v)}'`;
      for (const f of v) {
        if (!isObj(f)) return `Invalid data format for fixed IP: '${py(f)}'`;
        const extra = Object.keys(f).filter((k) => k !== 'ip_address' && k !== 'subnet_id');
        if (extra.length) return `Invalid data format for fixed IP: '${py(f)}'`;
        if ('ip_address' in f && ip(f.ip_address)) return ip(f.ip_address);
        if ('subnet_id' in f && !isUuid(f.subnet_id)) return `'${py(f.subnet_id)}' is not a valid UUID`;
      }
      return null;
    case 'address_pairs':
      if (!Array.isArray(v)) return `Allowed address pairs must be a list.`;
      for (const p of v) {
        if (!isObj(p) || typeof p.ip_address !== 'string') return 'AllowedAddressPair must contain ip_address';
        if (ip(p.ip_address) && !parseCidr(p.ip_address)) return `'${p.ip_address}' is not a valid IP address`;
        if (p.mac_address !== undefined && (typeof p.mac_address !== 'string' || !MAC_RE.test(p.mac_address))) return `'${py(p.mac_address)}' is not a valid MAC address`;
      }
      return null;
    case 'subports': {
      // A trunk's sub_ports: distinct port ids, each with both segmentation details or neither,
      // no (type, id) twice.
      if (!Array.isArray(v)) return `Invalid data format for subports: '${py(v)}' is not a list`;
      const ids = new Set<string>();
      const segs = new Set<string>();
      for (const sp of v) {
        if (!isObj(sp)) return `Invalid data format for subport: '${py(sp)}' is not a dict`;
        if (!('port_id' in sp)) return 'A valid port UUID must be specified';
        if (!isUuid(sp.port_id)) return `Invalid UUID for subport: '${py(sp.port_id)}'`;
        if (ids.has(sp.port_id)) return `Non unique UUID for subport: '${sp.port_id}'`;
        ids.add(sp.port_id);
        if (sp.segmentation_type === 'inherit') continue;
        const missing = !sp.segmentation_type || sp.segmentation_id === undefined || sp.segmentation_id === null;
        if (missing && Object.keys(sp).length > 1) {
          return `Invalid subport details '${py(sp)}': missing segmentation information. Must specify both segmentation_id and segmentation_type`;
        }
        const key = JSON.stringify([sp.segmentation_type, sp.segmentation_id]);
        if (!missing && segs.has(key)) return `Segmentation ID '${py(sp.segmentation_id)}' for '${py(sp)}' is not unique`;
        segs.add(key);
      }
      return null;
    }
    case 'dict_or_none':
      return v === null || isObj(v) ? null : `'${py(v)}' is not a dictionary`;
    case 'dict_or_empty':
      return v === '' || isObj(v) ? null : `'${py(v)}' is not a dictionary`;
    case 'list_of_strings':
      return Array.isArray(v) && v.every((x) => typeof x === 'string') ? null : `'${py(v)}' is not a list`;
  }
}

/** Neutron's converters: raise (as a 400 reason) when the value cannot be converted. */
export function convert(kind: Conversion, v: unknown): { value: unknown } | { error: string } {
  switch (kind) {
    case 'boolean': {
      if (typeof v === 'boolean') return { value: v };
      if (v === 0 || v === 1) return { value: v === 1 };
      if (typeof v === 'string' && ['true', 'false', '1', '0'].includes(v.toLowerCase())) return { value: v.toLowerCase() === 'true' || v === '1' };
      return { error: `'${py(v)}' cannot be converted to boolean` };
    }
    case 'int_or_none':
      if (v === null) return { value: null };
    // falls through
    case 'int': {
      const n = typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v;
      if (typeof n === 'number' && Number.isInteger(n)) return { value: n };
      return { error: `'${py(v)}' is not an integer` };
    }
    case 'none_to_empty_list':
      return { value: v === null ? [] : v };
    case 'lowercase_or_none':
      return { value: typeof v === 'string' ? v.toLowerCase() : v };
    case 'protocol': {
      if (v === null) return { value: null };
      if (typeof v === 'number' || (typeof v === 'string' && /^\d+$/.test(v))) {
        const n = Number(v);
        if (n >= 0 && n <= 255) return { value: String(n) };
      }
      if (typeof v === 'string') return { value: v.toLowerCase() };
      return { error: `'${py(v)}' is not a valid protocol` };
    }
  }
}
