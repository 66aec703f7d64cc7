// Request body schemas for POST /servers, PUT /servers/{id} and the rebuild action, per microversion
// (nova/api/openstack/compute/schemas/servers.py).
import type { Version } from '../../microversion.ts';
import { atLeast } from '../../microversion.ts';
import * as P from './params.ts';
import { derive } from './params.ts';
import type { Schema } from './validate.ts';

const legacyBdm: Schema = {
  type: 'object',
  properties: {
    virtual_name: { type: 'string', maxLength: 255 },
    volume_id: P.uuid,
    snapshot_id: P.uuid,
    volume_size: P.volumeSize,
    device_name: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[a-zA-Z0-9._/-]*$' },
    delete_on_termination: P.boolean,
    no_device: {},
    connection_info: { type: 'string', maxLength: 16777215 },
  },
  additionalProperties: false,
};

const bdmV2 = derive(legacyBdm, (s) => {
  Object.assign(s.properties, {
    source_type: { type: 'string', enum: ['volume', 'image', 'snapshot', 'blank'] },
    uuid: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[a-zA-Z0-9._-]*$' },
    image_id: P.uuid,
    destination_type: { type: 'string', enum: ['local', 'volume'] },
    guest_format: { type: 'string', maxLength: 255 },
    device_type: { type: 'string', maxLength: 255 },
    disk_bus: { type: 'string', maxLength: 255 },
    boot_index: { type: ['integer', 'string', 'null'], pattern: '^-?[0-9]+$' },
  });
});

const hints: Schema = {
  type: 'object',
  properties: {
    group: { type: 'string', format: 'uuid' },
    different_host: { oneOf: [{ type: 'string', format: 'uuid' }, { type: 'array', items: P.uuid }] },
    same_host: { type: ['string', 'array'], items: P.uuid },
    query: { type: ['string', 'object'] },
    target_cell: P.name,
    different_cell: { type: ['string', 'array'], items: { type: 'string' } },
    build_near_host_ip: P.ipAddress,
    cidr: { type: 'string', pattern: '^/[0-9a-f.:]+$' },
  },
  additionalProperties: true,
};

const networkItem = (uuidFormat: boolean, tag: boolean): Schema => ({
  type: 'object',
  properties: {
    fixed_ip: P.ipAddress,
    port: { oneOf: [{ type: 'string', format: 'uuid' }, { type: 'null' }] },
    uuid: uuidFormat ? { type: 'string', format: 'uuid' } : { type: 'string' },
    ...(tag ? { tag: P.tag } : {}),
  },
  additionalProperties: false,
});

const create21: Schema = {
  type: 'object',
  properties: {
    server: {
      type: 'object',
      properties: {
        name: P.name,
        imageRef: P.imageIdOrEmpty,
        flavorRef: P.flavorRef,
        adminPass: P.adminPassword,
        metadata: P.metadata,
        networks: { type: 'array', items: networkItem(false, false) },
        'OS-DCF:diskConfig': P.diskConfig,
        accessIPv4: P.accessIPv4,
        accessIPv6: P.accessIPv6,
        personality: P.personality,
        availability_zone: P.name,
        block_device_mapping: { type: 'array', items: legacyBdm },
        block_device_mapping_v2: { type: 'array', items: bdmV2 },
        config_drive: P.boolean,
        key_name: P.name,
        min_count: P.positiveInteger,
        max_count: P.positiveInteger,
        return_reservation_id: P.boolean,
        security_groups: {
          type: 'array',
          items: { type: 'object', properties: { name: P.name }, additionalProperties: false },
        },
        user_data: P.userData,
      },
      required: ['name', 'flavorRef'],
      additionalProperties: false,
    },
    'os:scheduler_hints': hints,
    'OS-SCH-HNT:scheduler_hints': hints,
  },
  required: ['server'],
  additionalProperties: false,
};

const srv = (s: any) => s.properties.server.properties;
const create219 = derive(create21, (s) => { srv(s).description = P.description; });
const create232 = derive(create219, (s) => {
  srv(s).networks.items.properties.tag = P.tag;
  srv(s).block_device_mapping_v2.items.properties.tag = P.tag;
});
const create233 = derive(create219, (s) => { srv(s).networks.items.properties.tag = P.tag; });
const create237 = derive(create233, (s) => {
  s.properties.server.required.push('networks');
  srv(s).networks = { oneOf: [{ type: 'array', items: networkItem(true, false) }, { type: 'string', enum: ['none', 'auto'] }] };
});
const create242 = derive(create237, (s) => {
  srv(s).networks = { oneOf: [{ type: 'array', items: networkItem(true, true) }, { type: 'string', enum: ['none', 'auto'] }] };
  srv(s).block_device_mapping_v2.items.properties.tag = P.tag;
});
const create252 = derive(create242, (s) => { srv(s).tags = { type: 'array', items: P.tag, maxItems: 50 }; });
const create257 = derive(create252, (s) => { delete srv(s).personality; });
const create263 = derive(create257, (s) => { srv(s).trusted_image_certificates = P.trustedCerts; });
const create267 = derive(create263, (s) => { srv(s).block_device_mapping_v2.items.properties.volume_type = P.volumeType; });
const create274 = derive(create267, (s) => { srv(s).host = P.fqdn; srv(s).hypervisor_hostname = P.fqdn; });
const create290 = derive(create274, (s) => { srv(s).hostname = P.hostnameLabel; });
const create294 = derive(create290, (s) => { srv(s).hostname = P.hostnameFqdn; });

export function createSchema(v: Version): Schema {
  if (atLeast(v, 94)) return create294;
  if (atLeast(v, 90)) return create290;
  if (atLeast(v, 74)) return create274;
  if (atLeast(v, 67)) return create267;
  if (atLeast(v, 63)) return create263;
  if (atLeast(v, 57)) return create257;
  if (atLeast(v, 52)) return create252;
  if (atLeast(v, 42)) return create242;
  if (atLeast(v, 37)) return create237;
  if (atLeast(v, 33)) return create233;
  if (atLeast(v, 32)) return create232;
  if (atLeast(v, 19)) return create219;
  return create21;
}

const update21: Schema = {
  type: 'object',
  properties: {
    server: {
      type: 'object',
      properties: { name: P.name, 'OS-DCF:diskConfig': P.diskConfig, accessIPv4: P.accessIPv4, accessIPv6: P.accessIPv6 },
      additionalProperties: false,
    },
  },
  required: ['server'],
  additionalProperties: false,
};
const upd = (s: any) => s.properties.server.properties;
const update219 = derive(update21, (s) => { upd(s).description = P.description; });
const update290 = derive(update219, (s) => { upd(s).hostname = P.hostnameLabel; });
const update294 = derive(update290, (s) => { upd(s).hostname = P.hostnameFqdn; });
const update2104 = derive(update294, (s) => { upd(s).pinned_availability_zone = { oneOf: [P.name, { type: 'null' }] }; });

export function updateSchema(v: Version): Schema {
  if (atLeast(v, 104)) return update2104;
  if (atLeast(v, 94)) return update294;
  if (atLeast(v, 90)) return update290;
  if (atLeast(v, 19)) return update219;
  return update21;
}

const rebuild21: Schema = {
  type: 'object',
  properties: {
    rebuild: {
      type: 'object',
      properties: {
        name: P.name,
        imageRef: P.uuid,
        adminPass: P.adminPassword,
        metadata: P.metadata,
        preserve_ephemeral: P.boolean,
        'OS-DCF:diskConfig': P.diskConfig,
        accessIPv4: P.accessIPv4,
        accessIPv6: P.accessIPv6,
        personality: P.personality,
      },
      required: ['imageRef'],
      additionalProperties: false,
    },
  },
  required: ['rebuild'],
  additionalProperties: false,
};
const reb = (s: any) => s.properties.rebuild.properties;
const rebuild219 = derive(rebuild21, (s) => { reb(s).description = P.description; });
const rebuild254 = derive(rebuild219, (s) => { reb(s).key_name = P.nameOrNone; });
const rebuild257 = derive(rebuild254, (s) => { delete reb(s).personality; reb(s).user_data = P.userDataOrNull; });
const rebuild263 = derive(rebuild257, (s) => { reb(s).trusted_image_certificates = P.trustedCerts; });
const rebuild290 = derive(rebuild263, (s) => { reb(s).hostname = P.hostnameLabel; });
const rebuild294 = derive(rebuild290, (s) => { reb(s).hostname = P.hostnameFqdn; });

export function rebuildSchema(v: Version): Schema {
  if (atLeast(v, 94)) return rebuild294;
  if (atLeast(v, 90)) return rebuild290;
  if (atLeast(v, 63)) return rebuild263;
  if (atLeast(v, 57)) return rebuild257;
  if (atLeast(v, 54)) return rebuild254;
  if (atLeast(v, 19)) return rebuild219;
  return rebuild21;
}
