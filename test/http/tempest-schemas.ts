// Tempest's compute response schemas (tempest 33, module tempest.lib.api_schema.response.compute), written
// once, by hand, as the project's own JSON Schemas (draft 4 semantics); nothing here reads ../shared:
// every object tempest closes is closed here too (additionalProperties: false), so a key novabox adds
// that tempest does not expect fails just as it would fail tempest.
//
// `tempestSchema(method, minor)` answers the expected status codes and body schema of one tempest client
// method at a request microversion 2.<minor> (tempest picks the newest schema at or below the request).
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsImport from 'ajv-formats';

export type S = Record<string, unknown>;
export interface Expectation {
  status: number[];
  /** null: the body must be empty. */
  body: S | null;
}

// ---------------------------------------------------------------- building blocks

const str: S = { type: 'string' };
const int: S = { type: 'integer' };
const bool: S = { type: 'boolean' };
const num: S = { type: 'number' };
const strOrNull: S = { type: ['string', 'null'] };
const intOrNull: S = { type: ['integer', 'null'] };
const array: S = { type: 'array' };
const object: S = { type: 'object' };
const iso: S = { type: 'string', format: 'iso8601' };
const isoOrNull: S = { type: ['string', 'null'], format: 'iso8601' };
const uri: S = { type: 'string', format: 'uri' };
const uuid: S = { type: 'string', format: 'uuid' };
const ip: S = { oneOf: [{ format: 'ipv4' }, { format: 'ipv6' }] };
const ipOrNull: S = { oneOf: [{ type: 'string', oneOf: [{ format: 'ipv4' }, { format: 'ipv6' }] }, { type: 'null' }] };
const mac: S = { type: 'string', pattern: '(?:[a-f0-9]{2}:){5}[a-f0-9]{2}' };
const arr = (items: S): S => ({ type: 'array', items });
const enumOf = (...values: unknown[]): S => ({ enum: values });

/** A closed object: every listed key allowed, keys written `name?` optional, nothing else. */
function obj(props: Record<string, S>): S {
  const properties: Record<string, S> = {};
  const required: string[] = [];
  for (const [k, v] of Object.entries(props)) {
    const optional = k.endsWith('?');
    const name = optional ? k.slice(0, -1) : k;
    properties[name] = v;
    if (!optional) required.push(name);
  }
  return { type: 'object', properties, ...(required.length ? { required } : {}), additionalProperties: false };
}

/** An object whose keys match a pattern (tempest leaves these open to other keys). */
const mapOf = (pattern: string, value: S): S => ({ type: 'object', patternProperties: { [pattern]: value } });

const links = arr(obj({ href: uri, rel: str }));
const linksTyped = arr(obj({ href: uri, rel: str, 'type?': str }));
const NET_NAME = '^[a-zA-Z0-9\\-_.]+$';
const SPEC_KEY = '^[a-zA-Z0-9_\\-. :]+$';

// ---------------------------------------------------------------- servers

type ServerKind = 'show' | 'detail' | 'update' | 'rebuild';

function addressItem(extended: boolean): S {
  return obj({
    addr: ip, version: enumOf(4, 6),
    ...(extended ? { 'OS-EXT-IPS-MAC:mac_addr?': mac, 'OS-EXT-IPS:type?': str } : {}),
  });
}

const trustedCerts: S = { type: ['array', 'null'], minItems: 1, maxItems: 50, uniqueItems: true, items: { type: 'string', minLength: 1 } };
const fault = obj({ code: int, created: str, message: str, 'details?': str });
const powerState = enumOf(0, 1, 3, 4, 6, 7);

/** The server object of show / list-detail items / PUT / rebuild at 2.<v>. */
export function serverObject(kind: ServerKind, v: number): S {
  // From 2.75 PUT and rebuild answer the show representation.
  if ((kind === 'update' || kind === 'rebuild') && v >= 75) {
    const show = serverObject('show', 73) as { properties: Record<string, S>; required: string[] };
    const out = structuredClone(show);
    if (kind === 'rebuild') {
      delete out.properties['OS-EXT-SRV-ATTR:user_data'];
      out.properties.user_data = strOrNull;
      out.properties.adminPass = str;
      out.required.push('user_data', 'adminPass');
    }
    return out as S;
  }
  const full = kind === 'show' || kind === 'detail';
  const p: Record<string, S> = {
    addresses: mapOf(NET_NAME, arr(addressItem(kind !== 'rebuild'))),
    created: full && v >= 3 ? str : iso,
    flavor: v >= 47
      ? obj({ disk: int, ephemeral: int, 'extra_specs?': object, original_name: str, ram: int, swap: int, vcpus: int })
      : full && v >= 3 ? obj({ id: str, links }) : obj({ 'id?': str, 'links?': links }),
    hostId: str,
    id: str,
    image: { oneOf: [obj({ id: str, links }), strOrNull] },
    links,
    metadata: object,
    name: str,
    status: str,
    tenant_id: str,
    updated: full && v >= 3 ? str : iso,
    user_id: str,
    'OS-DCF:diskConfig?': str,
    'accessIPv4?': { oneOf: [{ format: 'ipv4' }, enumOf('')] },
    'accessIPv6?': { oneOf: [{ format: 'ipv6' }, enumOf('')] },
    'fault?': fault,
    'progress?': int,
  };
  if (full) {
    Object.assign(p, {
      'OS-EXT-AZ:availability_zone?': str,
      'OS-EXT-SRV-ATTR:host?': strOrNull,
      'OS-EXT-SRV-ATTR:hypervisor_hostname?': strOrNull,
      'OS-EXT-SRV-ATTR:instance_name?': str,
      'OS-EXT-STS:power_state?': powerState,
      'OS-EXT-STS:task_state?': strOrNull,
      'OS-EXT-STS:vm_state?': str,
      'OS-SRV-USG:launched_at?': strOrNull,
      'OS-SRV-USG:terminated_at?': strOrNull,
      'config_drive?': str,
      'key_name?': strOrNull,
      'os-extended-volumes:volumes_attached?': arr(obj({ 'id?': str, ...(v >= 3 ? { 'delete_on_termination?': bool } : {}) })),
      'security_groups?': array,
    });
    if (v >= 3) {
      Object.assign(p, {
        'OS-EXT-SRV-ATTR:hostname?': str,
        'OS-EXT-SRV-ATTR:kernel_id?': strOrNull,
        'OS-EXT-SRV-ATTR:launch_index?': int,
        'OS-EXT-SRV-ATTR:ramdisk_id?': strOrNull,
        'OS-EXT-SRV-ATTR:reservation_id?': strOrNull,
        'OS-EXT-SRV-ATTR:root_device_name?': strOrNull,
        'OS-EXT-SRV-ATTR:user_data?': strOrNull,
      });
    }
    if (v >= 16) p['host_status?'] = str;
  }
  if (v >= 9) p[full && v >= 16 ? 'locked?' : 'locked'] = bool;
  if (v >= 19) p.description = strOrNull;
  if (v >= 26) p.tags = array;
  if (kind === 'rebuild' && v >= 54) p.key_name = strOrNull;
  if (kind === 'rebuild' && v >= 57) p.user_data = strOrNull;
  if (v >= 63) p.trusted_image_certificates = trustedCerts;
  if (v >= 71 && kind !== 'detail') p.server_groups = array;
  if (v >= 73) p.locked_reason = strOrNull;
  if (kind === 'rebuild') p.adminPass = str;
  return obj(p);
}

// ---------------------------------------------------------------- other resources

function flavorObject(v: number): S {
  return obj({
    disk: int, id: str, links, name: str, ram: int, swap: { type: ['integer', 'string'] }, vcpus: int,
    'OS-FLV-DISABLED:disabled?': bool, 'OS-FLV-EXT-DATA:ephemeral?': int, 'os-flavor-access:is_public?': bool, 'rxtx_factor?': num,
    ...(v >= 55 ? { description: { type: ['string', 'null'], maxLength: 65535 } } : {}),
    ...(v >= 61 ? { 'extra_specs?': object } : {}),
  });
}

function quotaSet(v: number, withId: boolean, detail: boolean): S {
  const value = detail ? { type: 'object', properties: { in_use: int, limit: int, reserved: int } } : int;
  const keys = ['cores', 'instances', 'key_pairs', 'metadata_items', 'ram'];
  if (v < 36) keys.push('fixed_ips', 'floating_ips', 'security_group_rules', 'security_groups');
  if (v < 57) keys.push('injected_file_content_bytes', 'injected_file_path_bytes', 'injected_files');
  const p: Record<string, S> = {};
  for (const k of keys) p[k] = value;
  p['server_group_members?'] = value;
  p['server_groups?'] = value;
  if (withId) p.id = str;
  return obj({ quota_set: obj(p) });
}

function limitsBody(v: number): S {
  const abs: Record<string, S> = {
    maxServerMeta: int, maxTotalCores: int, maxTotalInstances: int, maxTotalKeypairs: int, maxTotalRAMSize: int,
    totalCoresUsed: int, totalInstancesUsed: int, totalRAMUsed: int,
    'maxServerGroupMembers?': int, 'maxServerGroups?': int, 'totalServerGroupsUsed?': int,
  };
  if (v < 36) Object.assign(abs, { maxSecurityGroupRules: int, maxSecurityGroups: int, maxTotalFloatingIps: int, totalFloatingIpsUsed: int, totalSecurityGroupsUsed: int });
  if (v < 39) abs.maxImageMeta = int;
  if (v < 57) Object.assign(abs, { maxPersonality: int, maxPersonalitySize: int });
  const rate = arr(obj({ 'limit?': arr(obj({ 'next-available?': str, 'remaining?': int, 'unit?': str, 'value?': int, 'verb?': str })), 'regex?': str, 'uri?': str }));
  return obj({ limits: obj({ absolute: obj(abs), rate }) });
}

function serverGroup(v: number): S {
  const p: Record<string, S> = { id: str, members: arr(str), name: str };
  if (v >= 64) Object.assign(p, { policy: str, rules: object });
  else Object.assign(p, { metadata: object, policies: arr(str) });
  if (v >= 13) Object.assign(p, { project_id: str, user_id: str });
  return obj(p);
}

function instanceAction(v: number, withEvents: boolean): S {
  const p: Record<string, S> = { action: str, instance_uuid: str, message: strOrNull, project_id: str, request_id: str, start_time: iso, user_id: str };
  if (v >= 58) p.updated_at = isoOrNull;
  if (withEvents) {
    const ev: Record<string, S> = { event: str, finish_time: isoOrNull, result: strOrNull, start_time: iso, 'traceback?': strOrNull };
    if (v >= 62) Object.assign(ev, { 'host?': str, hostId: str });
    p[v >= 51 ? 'events' : 'events?'] = arr(obj(ev));
  }
  return obj(p);
}

function hypervisorBrief(v: number, servers: boolean): S {
  return obj({
    hypervisor_hostname: str, id: { type: ['integer', 'string'] }, 'state?': str, 'status?': str,
    ...(servers || v >= 53 ? { 'servers?': arr(obj({ 'name?': str, 'uuid?': v >= 53 ? uuid : str })) } : {}),
  });
}

function hypervisorDetail(v: number): S {
  return obj({
    cpu_info: v >= 28 ? object : str, current_workload: int, disk_available_least: intOrNull, free_disk_gb: int, free_ram_mb: int,
    host_ip: ipOrNull, hypervisor_hostname: str, hypervisor_type: str, hypervisor_version: int, id: { type: ['integer', 'string'] },
    local_gb: int, local_gb_used: int, memory_mb: int, memory_mb_used: int, running_vms: int,
    service: obj({ host: str, id: { type: ['integer', 'string'] }, 'disabled_reason?': strOrNull }),
    vcpus: int, vcpus_used: int, 'state?': str, 'status?': str,
    ...(v >= 53 ? { 'servers?': arr(obj({ 'name?': str, 'uuid?': uuid })) } : {}),
  });
}

function migration(v: number): S {
  const p: Record<string, S> = {
    created_at: v >= 23 ? str : iso, dest_compute: strOrNull, dest_host: strOrNull, dest_node: strOrNull, id: int,
    instance_uuid: strOrNull, new_instance_type_id: intOrNull, old_instance_type_id: intOrNull, source_compute: strOrNull,
    source_node: strOrNull, status: strOrNull, updated_at: v >= 23 ? strOrNull : isoOrNull,
  };
  if (v >= 23) Object.assign(p, { 'links?': links, migration_type: strOrNull });
  if (v >= 59) p.uuid = uuid;
  return obj(p);
}

function serviceItem(v: number): S {
  return obj({
    binary: str, disabled_reason: strOrNull, host: str,
    id: v >= 53 ? uuid : { oneOf: [int, { type: 'string', pattern: '^[a-zA-Z!]*@[0-9]+$' }] },
    state: str, status: str, updated_at: isoOrNull, zone: str,
    ...(v >= 11 ? { forced_down: bool } : {}),
  });
}

const versionEntry = obj({ id: str, links: linksTyped, status: str, updated: iso, 'media-types?': array, 'min_version?': str, 'version?': str });
const metadataMap = mapOf('^.+$', str);
const imageDetail = obj({
  created: iso, id: str, links: linksTyped, metadata: object, minDisk: int, minRam: int, name: strOrNull, progress: int,
  status: enumOf('ACTIVE', 'SAVING', 'DELETED', 'ERROR', 'UNKNOWN'), updated: iso, 'OS-DCF:diskConfig?': str, 'OS-EXT-IMG-SIZE:size?': intOrNull,
  'server?': obj({ id: str, links }),
});

// security groups (SecurityGroupsClient, SecurityGroupRulesClient; one schema for 2.1–2.35)
const sgRule = (optional: boolean): S => {
  const q = optional ? '?' : '';
  return obj({
    [`from_port${q}`]: intOrNull, [`group${q}`]: obj({ 'name?': str, 'tenant_id?': str }), [`id${q}`]: { type: ['string', 'integer'] },
    [`ip_protocol${q}`]: strOrNull, [`ip_range${q}`]: obj({ 'cidr?': str }), [`parent_group_id${q}`]: { type: ['string', 'integer', 'null'] }, [`to_port${q}`]: intOrNull,
  });
};
const securityGroup = obj({ description: str, id: { type: ['integer', 'string'] }, name: str, rules: arr({ anyOf: [sgRule(true), { type: 'null' }] }), tenant_id: str });

/** Expected status codes and body schema of a tempest client method at microversion 2.<v>. */
export function tempestSchema(method: string, v = 1): Expectation {
  const ok = (body: S | null, status = [200]): Expectation => ({ status, body });
  switch (method) {
    // servers
    case 'ServersClient.create_server':
      return ok(obj({ server: obj({ adminPass: str, id: str, links, 'OS-DCF:diskConfig?': str, 'security_groups?': array }) }), [202]);
    case 'ServersClient.list_servers':
      return ok(obj({ servers: arr(obj({ id: str, links, name: str })), 'servers_links?': links }));
    case 'ServersClient.list_servers_detail':
      return ok(obj({ servers: arr(serverObject('detail', v)), 'servers_links?': links }));
    case 'ServersClient.show_server':
      return ok(obj({ server: serverObject('show', v) }));
    case 'ServersClient.update_server':
      return ok(obj({ server: serverObject('update', v) }));
    case 'ServersClient.rebuild_server':
      return ok(obj({ server: serverObject('rebuild', v) }), [202]);
    case 'ServersClient.action':
      return ok(null, [202]);
    case 'ServersClient.confirm_resize_server':
      return ok(null, [204]);
    case 'ServersClient.rescue_server':
    case 'ServersClient.evacuate_server':
      return ok(obj({ adminPass: str }));
    case 'ServersClient.get_console_output':
      return ok(obj({ output: str }));
    case 'ServersClient.create_image':
      return v >= 45 ? ok(obj({ image_id: str }), [202]) : ok(null, [202]);
    case 'ServersClient.delete_server':
      return ok(null, [204]);
    case 'ServersClient.list_addresses':
      return ok(obj({ addresses: mapOf(NET_NAME, arr(addressItem(true))) }));
    case 'ServersClient.list_addresses_by_network':
      return ok(mapOf(NET_NAME, arr(addressItem(true))));
    case 'ServersClient.list_server_metadata':
    case 'ServersClient.set_server_metadata':
    case 'ServersClient.update_server_metadata':
      return ok(obj({ metadata: metadataMap }));
    case 'ServersClient.show_server_metadata_item':
    case 'ServersClient.set_server_metadata_item':
      return ok(obj({ meta: metadataMap }));
    case 'ServersClient.delete_server_metadata_item':
      return ok(null, [204]);
    case 'ServersClient.list_tags':
    case 'ServersClient.update_all_tags':
      return ok(obj({ tags: arr(str) }));
    case 'ServersClient.update_tag':
      return ok(null, [201, 204]);
    case 'ServersClient.check_tag_existence':
    case 'ServersClient.delete_tag':
    case 'ServersClient.delete_all_tags':
      return ok(null, [204]);
    case 'ServersClient.list_instance_actions':
      return ok(obj({ instanceActions: arr(instanceAction(v, false)), ...(v >= 58 ? { 'links?': links } : {}) }));
    case 'ServersClient.show_instance_action':
      return ok(obj({ instanceAction: instanceAction(v, true) }));
    case 'ServersClient.show_password':
      return ok(obj({ password: str }));
    // flavors
    case 'FlavorsClient.list_flavors':
      return ok(obj({ flavors: arr(obj({ id: str, links, name: str, ...(v >= 55 ? { description: strOrNull } : {}) })), 'flavors_links?': links }));
    case 'FlavorsClient.list_flavors_detail':
      return ok(obj({ flavors: arr(flavorObject(v)), 'flavors_links?': links }));
    case 'FlavorsClient.show_flavor':
    case 'FlavorsClient.create_flavor':
    case 'FlavorsClient.update_flavor':
      return ok(obj({ flavor: flavorObject(v) }));
    case 'FlavorsClient.delete_flavor':
      return ok(null, [202]);
    case 'FlavorsClient.list_flavor_extra_specs':
    case 'FlavorsClient.set_flavor_extra_spec':
      return ok(obj({ extra_specs: mapOf(SPEC_KEY, str) }));
    case 'FlavorsClient.show_flavor_extra_spec':
    case 'FlavorsClient.update_flavor_extra_spec':
      return ok(mapOf(SPEC_KEY, str));
    case 'FlavorsClient.list_flavor_access':
    case 'FlavorsClient.add_flavor_access':
    case 'FlavorsClient.remove_flavor_access':
      return ok(obj({ flavor_access: arr(obj({ flavor_id: str, tenant_id: str })) }));
    // keypairs
    case 'KeyPairsClient.create_keypair':
      return ok(obj({ keypair: obj({ fingerprint: str, name: str, public_key: str, user_id: str, 'private_key?': str, ...(v >= 2 ? { type: str } : {}) }) }), v >= 2 ? [201] : [200]);
    case 'KeyPairsClient.list_keypairs':
      return ok(obj({ keypairs: arr(obj({ keypair: obj({ fingerprint: str, name: str, public_key: str, ...(v >= 2 ? { type: str } : {}) }) })), ...(v >= 35 ? { 'keypairs_links?': links } : {}) }));
    case 'KeyPairsClient.show_keypair':
      return ok(obj({ keypair: obj({ created_at: iso, deleted: bool, deleted_at: isoOrNull, fingerprint: str, id: int, name: str, public_key: str, updated_at: isoOrNull, user_id: str, ...(v >= 2 ? { type: str } : {}) }) }));
    case 'KeyPairsClient.delete_keypair':
      return ok(null, v >= 2 ? [204] : [202]);
    // limits and quotas
    case 'LimitsClient.show_limits':
      return ok(limitsBody(v));
    case 'QuotasClient.show_quota_set':
    case 'QuotasClient.show_default_quota_set':
      return ok(quotaSet(v, true, false));
    case 'QuotasClient.show_quota_set_detail':
      return ok(quotaSet(v, true, true));
    case 'QuotasClient.update_quota_set':
      return ok(quotaSet(v, false, false));
    case 'QuotasClient.delete_quota_set':
      return ok(null, [202]);
    // server groups
    case 'ServerGroupsClient.create_server_group':
    case 'ServerGroupsClient.show_server_group':
      return ok(obj({ server_group: serverGroup(v) }));
    case 'ServerGroupsClient.list_server_groups':
      return ok(obj({ server_groups: arr(serverGroup(v)) }));
    case 'ServerGroupsClient.delete_server_group':
      return ok(null, [204]);
    // availability zones
    case 'AvailabilityZoneClient.list_availability_zones':
      return ok(obj({ availabilityZoneInfo: arr(obj({ hosts: { type: 'null' }, zoneName: str, zoneState: obj({ available: bool }) })) }));
    case 'AvailabilityZoneClient.list_availability_zones_detail': {
      const hosts = { oneOf: [mapOf(NET_NAME, mapOf('^.*$', obj({ active: bool, available: bool, updated_at: isoOrNull }))), { type: 'null' }] };
      return ok(obj({ availabilityZoneInfo: arr(obj({ hosts, zoneName: str, zoneState: obj({ available: bool }) })) }));
    }
    // hypervisors
    case 'HypervisorClient.list_hypervisors':
      return ok(obj({ hypervisors: arr(hypervisorBrief(v, false)), ...(v >= 33 ? { 'hypervisors_links?': links } : {}) }));
    case 'HypervisorClient.list_hypervisors_detail':
      return ok(obj({ hypervisors: arr(hypervisorDetail(v)), ...(v >= 33 ? { 'hypervisors_links?': links } : {}) }));
    case 'HypervisorClient.show_hypervisor':
      return ok(obj({ hypervisor: hypervisorDetail(v) }));
    case 'HypervisorClient.search_hypervisor':
      return ok(obj({ hypervisors: arr(hypervisorBrief(v, false)) }));
    case 'HypervisorClient.list_servers_on_hypervisor':
      return ok(obj({ hypervisors: arr(hypervisorBrief(v, true)) }));
    case 'HypervisorClient.show_hypervisor_uptime':
      return ok(obj({ hypervisor: obj({ hypervisor_hostname: str, id: { type: ['integer', 'string'] }, uptime: str, 'state?': str, 'status?': str }) }));
    case 'HypervisorClient.show_hypervisor_statistics': {
      const keys = ['count', 'current_workload', 'free_disk_gb', 'free_ram_mb', 'local_gb', 'local_gb_used', 'memory_mb', 'memory_mb_used', 'running_vms', 'vcpus', 'vcpus_used'];
      return ok(obj({ hypervisor_statistics: obj({ ...Object.fromEntries(keys.map((k) => [k, int])), disk_available_least: intOrNull }) }));
    }
    // services
    case 'ServicesClient.list_services':
      return ok(obj({ services: arr(serviceItem(v)) }));
    case 'ServicesClient.enable_service':
    case 'ServicesClient.disable_service':
      return ok(obj({ service: obj({ binary: str, host: str, status: str }) }));
    case 'ServicesClient.disable_log_reason':
      return ok(obj({ service: obj({ binary: str, disabled_reason: str, host: str, status: str }) }));
    case 'ServicesClient.update_forced_down':
      return ok(obj({ service: obj({ binary: str, forced_down: bool, host: str }) }));
    // migrations
    case 'MigrationsClient.list_migrations':
      return ok(obj({ migrations: arr(migration(v)), ...(v >= 59 ? { 'migrations_links?': links } : {}) }));
    case 'SecurityGroupsClient.create_security_group':
    case 'SecurityGroupsClient.show_security_group':
    case 'SecurityGroupsClient.update_security_group':
      return ok(obj({ security_group: securityGroup }));
    case 'SecurityGroupsClient.list_security_groups':
    case 'ServersClient.list_security_groups_by_server':
      return ok(obj({ security_groups: arr(securityGroup) }));
    case 'SecurityGroupsClient.delete_security_group':
    case 'SecurityGroupRulesClient.delete_security_group_rule':
      return ok(null, [202]);
    case 'SecurityGroupRulesClient.create_security_group_rule':
      return ok(obj({ security_group_rule: sgRule(false) }));
    // tenant networks
    case 'TenantNetworksClient.list_tenant_networks':
      return ok(obj({ networks: arr(obj({ cidr: strOrNull, id: str, label: str })) }));
    // the compute image proxy (tempest uses it below 2.36 only; one schema for all of them)
    case 'ImagesClient.list_images':
      return ok(obj({ images: arr(obj({ id: str, links: linksTyped, name: strOrNull })), 'images_links?': links }));
    case 'ImagesClient.list_images_detail':
      return ok(obj({ images: arr(imageDetail), 'images_links?': links }));
    case 'ImagesClient.show_image':
      return ok(obj({ image: imageDetail }));
    case 'ImagesClient.delete_image':
    case 'ImagesClient.delete_image_metadata_item':
      return ok(null, [204]);
    case 'ImagesClient.list_image_metadata':
    case 'ImagesClient.set_image_metadata':
    case 'ImagesClient.update_image_metadata':
      return ok(obj({ metadata: object }));
    case 'ImagesClient.show_image_metadata_item':
    case 'ImagesClient.set_image_metadata_item':
      return ok(obj({ meta: object }));
    // versions
    case 'VersionsClient.list_versions':
      return ok(obj({ versions: arr(versionEntry) }));
    case 'VersionsClient.get_version_by_url':
      return ok(obj({ 'version?': versionEntry }));
    default:
      throw new Error(`no tempest schema transcribed for ${method}`);
  }
}

// ---------------------------------------------------------------- validation

/** tempest's iso8601 format: a date and time, optional fraction and zone. */
const ISO8601 = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?$/;

const ajv = new Ajv({ strict: false, allErrors: true });
const addFormats = (addFormatsImport as unknown as { default?: typeof addFormatsImport }).default ?? addFormatsImport;
(addFormats as unknown as (a: Ajv, f: string[]) => void)(ajv, ['uri', 'ipv4', 'ipv6', 'date-time', 'uuid']);
ajv.addFormat('iso8601', { type: 'string', validate: (s: string) => ISO8601.test(s) && !Number.isNaN(Date.parse(s.replace(' ', 'T'))) });

const cache = new Map<string, ValidateFunction>();

/** Problems of a response against the expectation ([] when it passes), in tempest's terms. */
export function checkResponse(exp: Expectation, status: number, rawBody: string): string[] {
  if (!exp.status.includes(status)) return [`status ${status}, expected ${exp.status.join(' or ')}: ${rawBody.slice(0, 300)}`];
  if (exp.body === null) return rawBody === '' ? [] : [`expected an empty body, got ${rawBody.slice(0, 200)}`];
  let body: unknown;
  try {
    body = JSON.parse(rawBody);
  } catch {
    return [`body is not JSON: ${rawBody.slice(0, 200)}`];
  }
  const key = JSON.stringify(exp.body);
  let v = cache.get(key);
  if (!v) cache.set(key, (v = ajv.compile(exp.body)));
  if (v(body)) return [];
  return (v.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}${e.keyword === 'additionalProperties' ? `: ${String((e.params as { additionalProperty?: string }).additionalProperty)}` : ''}`);
}
