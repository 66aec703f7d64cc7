// Neutron's resource attribute maps (neutron-lib api/definitions), declared once as data: for each
// attribute whether a POST or PUT may set it, how it is validated and converted, its default, whether
// GET shows it, who may set or see it, and whether lists filter and sort on it. One generic
// controller (src/api/network/controller.ts) serves every resource from these maps.
import type { Conversion, Validation } from './validators.ts';

/** Who may set (and, for `admin`, see) an attribute beyond the resource's owner. */
export type AttributePolicy =
  | 'admin' // create/update by admins only; shown to admins only when `admin_read`
  | 'network_owner'; // admins or the owner of the network the resource is on

export interface Attribute {
  allow_post: boolean;
  allow_put: boolean;
  validate?: Validation;
  convert?: Conversion;
  /** The value when a POST leaves it out; absent and allow_post means the attribute is required. */
  default?: unknown;
  is_visible: boolean;
  policy?: AttributePolicy;
  /** Shown to admins only (binding:*, provider:*). */
  admin_read?: boolean;
  /** Lists may filter on it (default true for visible attributes). */
  is_filter?: boolean;
  is_sort_key?: boolean;
  /** Filled by the plugin (status, mac_address when left out …): the controller never defaults it. */
  computed?: boolean;
  /** Worked out at read time from other resources (a group's rules, `shared`): lists filter it after reading. */
  derived?: boolean;
}

export interface ResourceDef {
  collection: string;
  member: string;
  /** Neutron's <Type>NotFound class name and message. */
  notFound: { type: string; message: (id: string) => string };
  /** The quota resource counted on create (none for rules or subnets in some deployments). */
  quota?: string;
  attributes: Record<string, Attribute>;
}

const RO = { allow_post: false, allow_put: false, is_visible: true } as const;
const name = { allow_post: true, allow_put: true, validate: { kind: 'string', max: 255 }, default: '', is_visible: true, is_sort_key: true } as const;
const id = { ...RO, validate: { kind: 'uuid' }, is_sort_key: true } as const;
const project = { allow_post: true, allow_put: false, validate: { kind: 'string', max: 255 }, is_visible: true, computed: true, is_sort_key: true } as const;
const adminState = { allow_post: true, allow_put: true, default: true, convert: 'boolean', validate: { kind: 'boolean' }, is_visible: true } as const;

/** The standard attributes every resource here carries (standard-attr-* extensions). */
export const STANDARD: Record<string, Attribute> = {
  description: { allow_post: true, allow_put: true, validate: { kind: 'string', max: 255 }, default: '', is_visible: true },
  created_at: { ...RO, is_sort_key: true },
  updated_at: { ...RO, is_sort_key: true },
  revision_number: { ...RO, is_sort_key: true },
  tags: { allow_post: true, allow_put: false, validate: { kind: 'list_of_strings' }, default: [], is_visible: true, is_filter: false },
};

const withStandard = (a: Record<string, Attribute>): Record<string, Attribute> => ({ id, name, tenant_id: project, project_id: project, ...a, ...STANDARD });

export const NETWORK: ResourceDef = {
  collection: 'networks', member: 'network', quota: 'network',
  notFound: { type: 'NetworkNotFound', message: (x) => `Network ${x} could not be found.` },
  attributes: withStandard({
    admin_state_up: { ...adminState, is_sort_key: true },
    status: { ...RO, computed: true, is_sort_key: true },
    subnets: { ...RO, computed: true, is_filter: false, derived: true },
    shared: { allow_post: true, allow_put: true, default: false, convert: 'boolean', validate: { kind: 'boolean' }, is_visible: true, policy: 'admin', is_sort_key: true },
    'router:external': { allow_post: true, allow_put: true, default: false, convert: 'boolean', validate: { kind: 'boolean' }, is_visible: true, policy: 'admin' },
    mtu: { allow_post: true, allow_put: true, convert: 'int', validate: { kind: 'range', min: 68, max: 9000 }, is_visible: true, computed: true, is_sort_key: true },
    port_security_enabled: { allow_post: true, allow_put: true, default: true, convert: 'boolean', validate: { kind: 'boolean' }, is_visible: true },
    'provider:network_type': { allow_post: true, allow_put: false, validate: { kind: 'values', values: ['flat', 'vlan', 'vxlan', 'geneve', 'gre', 'local'] }, is_visible: true, policy: 'admin', admin_read: true, computed: true },
    'provider:physical_network': { allow_post: true, allow_put: false, validate: { kind: 'string_or_none', max: 64 }, is_visible: true, policy: 'admin', admin_read: true, computed: true },
    'provider:segmentation_id': { allow_post: true, allow_put: false, convert: 'int_or_none', validate: { kind: 'range_or_none', min: 0, max: 16777215 }, is_visible: true, policy: 'admin', admin_read: true, computed: true },
    availability_zone_hints: { allow_post: true, allow_put: false, validate: { kind: 'list_of_strings' }, default: [], is_visible: true, is_filter: false },
    availability_zones: { ...RO, computed: true, is_filter: false },
    ipv4_address_scope: { ...RO, computed: true },
    ipv6_address_scope: { ...RO, computed: true },
    is_default: { allow_post: true, allow_put: true, default: false, convert: 'boolean', validate: { kind: 'boolean' }, is_visible: true, policy: 'admin' },
    l2_adjacency: { ...RO, computed: true },
    dns_domain: { allow_post: true, allow_put: true, validate: { kind: 'string', max: 255 }, default: '', is_visible: true },
    qos_policy_id: { ...RO, computed: true },
  }),
};

export const SUBNET: ResourceDef = {
  collection: 'subnets', member: 'subnet', quota: 'subnet',
  notFound: { type: 'SubnetNotFound', message: (x) => `Subnet ${x} could not be found.` },
  attributes: withStandard({
    network_id: { allow_post: true, allow_put: false, validate: { kind: 'uuid' }, is_visible: true, is_sort_key: true },
    ip_version: { allow_post: true, allow_put: false, convert: 'int', validate: { kind: 'values', values: [4, 6] }, is_visible: true, is_sort_key: true },
    cidr: { allow_post: true, allow_put: false, validate: { kind: 'subnet_or_none' }, default: null, is_visible: true, is_sort_key: true },
    prefixlen: { allow_post: true, allow_put: false, convert: 'int_or_none', validate: { kind: 'range_or_none', min: 0, max: 128 }, default: null, is_visible: false },
    gateway_ip: { allow_post: true, allow_put: true, validate: { kind: 'ip_address_or_none' }, default: '', is_visible: true },
    allocation_pools: { allow_post: true, allow_put: true, validate: { kind: 'ip_pools' }, default: null, is_visible: true, is_filter: false, computed: true },
    dns_nameservers: { allow_post: true, allow_put: true, convert: 'none_to_empty_list', validate: { kind: 'nameservers' }, default: [], is_visible: true, is_filter: false },
    host_routes: { allow_post: true, allow_put: true, convert: 'none_to_empty_list', validate: { kind: 'hostroutes' }, default: [], is_visible: true, is_filter: false },
    enable_dhcp: { allow_post: true, allow_put: true, default: true, convert: 'boolean', validate: { kind: 'boolean' }, is_visible: true },
    ipv6_ra_mode: { allow_post: true, allow_put: true, validate: { kind: 'values', values: ['dhcpv6-stateful', 'dhcpv6-stateless', 'slaac', null] }, default: null, is_visible: true },
    ipv6_address_mode: { allow_post: true, allow_put: true, validate: { kind: 'values', values: ['dhcpv6-stateful', 'dhcpv6-stateless', 'slaac', null] }, default: null, is_visible: true },
    subnetpool_id: { allow_post: true, allow_put: false, validate: { kind: 'uuid_or_none' }, default: null, is_visible: true },
    use_default_subnet_pool: { allow_post: true, allow_put: false, default: false, convert: 'boolean', validate: { kind: 'boolean' }, is_visible: false },
    service_types: { allow_post: true, allow_put: true, validate: { kind: 'list_of_strings' }, default: [], is_visible: true, is_filter: false },
    segment_id: { allow_post: true, allow_put: true, validate: { kind: 'uuid_or_none' }, default: null, is_visible: true },
    dns_publish_fixed_ip: { allow_post: true, allow_put: true, default: false, convert: 'boolean', validate: { kind: 'boolean' }, is_visible: true },
  }),
};

export const PORT: ResourceDef = {
  collection: 'ports', member: 'port', quota: 'port',
  notFound: { type: 'PortNotFound', message: (x) => `Port ${x} could not be found.` },
  attributes: withStandard({
    network_id: { allow_post: true, allow_put: false, validate: { kind: 'uuid' }, is_visible: true, is_sort_key: true },
    admin_state_up: adminState,
    mac_address: { allow_post: true, allow_put: true, validate: { kind: 'mac_address' }, convert: 'lowercase_or_none', is_visible: true, policy: 'network_owner', computed: true, is_sort_key: true },
    fixed_ips: { allow_post: true, allow_put: true, validate: { kind: 'fixed_ips' }, is_visible: true, computed: true },
    device_id: { allow_post: true, allow_put: true, validate: { kind: 'string', max: 255 }, default: '', is_visible: true, is_sort_key: true },
    device_owner: { allow_post: true, allow_put: true, validate: { kind: 'string', max: 255 }, default: '', is_visible: true, is_sort_key: true },
    status: { ...RO, computed: true, is_sort_key: true },
    security_groups: { allow_post: true, allow_put: true, validate: { kind: 'uuid_list' }, convert: 'none_to_empty_list', is_visible: true, computed: true },
    port_security_enabled: { allow_post: true, allow_put: true, convert: 'boolean', validate: { kind: 'boolean' }, is_visible: true, policy: 'network_owner', computed: true },
    allowed_address_pairs: { allow_post: true, allow_put: true, convert: 'none_to_empty_list', validate: { kind: 'address_pairs' }, default: [], is_visible: true, is_filter: false },
    extra_dhcp_opts: { allow_post: true, allow_put: true, default: [], is_visible: true, is_filter: false, validate: { kind: 'any' } },
    'binding:host_id': { allow_post: true, allow_put: true, validate: { kind: 'string', max: 255 }, default: '', is_visible: true, policy: 'admin', admin_read: true },
    'binding:profile': { allow_post: true, allow_put: true, validate: { kind: 'dict_or_none' }, default: {}, is_visible: true, policy: 'admin', admin_read: true, is_filter: false },
    'binding:vnic_type': { allow_post: true, allow_put: true, validate: { kind: 'values', values: ['normal', 'direct', 'macvtap', 'baremetal', 'direct-physical', 'virtio-forwarder', 'smart-nic', 'vdpa', 'remote-managed'] }, default: 'normal', is_visible: true },
    'binding:vif_type': { ...RO, admin_read: true, computed: true },
    'binding:vif_details': { ...RO, admin_read: true, computed: true, is_filter: false },
    dns_name: { allow_post: true, allow_put: true, validate: { kind: 'string', max: 255 }, default: '', is_visible: true },
    dns_assignment: { ...RO, computed: true, is_filter: false },
    ip_allocation: { ...RO, computed: true },
    propagate_uplink_status: { allow_post: true, allow_put: true, default: false, convert: 'boolean', validate: { kind: 'boolean' }, is_visible: true },
    qos_policy_id: { ...RO, computed: true },
  }),
};

export const SECURITY_GROUP: ResourceDef = {
  collection: 'security-groups', member: 'security_group', quota: 'security_group',
  notFound: { type: 'SecurityGroupNotFound', message: (x) => `Security group ${x} does not exist` },
  attributes: withStandard({
    security_group_rules: { ...RO, computed: true, is_filter: false, derived: true },
    stateful: { allow_post: true, allow_put: true, default: true, convert: 'boolean', validate: { kind: 'boolean' }, is_visible: true },
    shared: { ...RO, computed: true, derived: true },
  }),
};

export const SECURITY_GROUP_RULE: ResourceDef = {
  collection: 'security-group-rules', member: 'security_group_rule', quota: 'security_group_rule',
  notFound: { type: 'SecurityGroupRuleNotFound', message: (x) => `Security group rule ${x} does not exist` },
  attributes: (() => {
    const a = withStandard({
      security_group_id: { allow_post: true, allow_put: false, validate: { kind: 'uuid' }, is_visible: true, is_sort_key: true },
      direction: { allow_post: true, allow_put: false, validate: { kind: 'values', values: ['ingress', 'egress'] }, is_visible: true, is_sort_key: true },
      ethertype: { allow_post: true, allow_put: false, validate: { kind: 'values', values: ['IPv4', 'IPv6'] }, default: 'IPv4', is_visible: true, is_sort_key: true },
      protocol: { allow_post: true, allow_put: false, convert: 'protocol', validate: { kind: 'any' }, default: null, is_visible: true, is_sort_key: true },
      port_range_min: { allow_post: true, allow_put: false, convert: 'int_or_none', validate: { kind: 'range_or_none', min: 0, max: 65535 }, default: null, is_visible: true, is_sort_key: true },
      port_range_max: { allow_post: true, allow_put: false, convert: 'int_or_none', validate: { kind: 'range_or_none', min: 0, max: 65535 }, default: null, is_visible: true, is_sort_key: true },
      remote_ip_prefix: { allow_post: true, allow_put: false, validate: { kind: 'subnet_or_none' }, default: null, is_visible: true },
      remote_group_id: { allow_post: true, allow_put: false, validate: { kind: 'uuid_or_none' }, default: null, is_visible: true },
      remote_address_group_id: { allow_post: true, allow_put: false, validate: { kind: 'uuid_or_none' }, default: null, is_visible: true },
      normalized_cidr: { ...RO, computed: true },
      belongs_to_default_sg: { ...RO, computed: true, derived: true },
    });
    delete a.name;
    delete a.tags;
    return a;
  })(),
};

export const ROUTER: ResourceDef = {
  collection: 'routers', member: 'router', quota: 'router',
  notFound: { type: 'RouterNotFound', message: (x) => `Router ${x} could not be found` },
  attributes: withStandard({
    admin_state_up: adminState,
    status: { ...RO, computed: true },
    external_gateway_info: { allow_post: true, allow_put: true, validate: { kind: 'dict_or_none' }, default: null, is_visible: true, is_filter: false },
    routes: { allow_post: false, allow_put: true, validate: { kind: 'hostroutes' }, convert: 'none_to_empty_list', is_visible: true, computed: true, is_filter: false },
    distributed: { ...RO, computed: true, admin_read: true },
    ha: { ...RO, computed: true, admin_read: true },
    availability_zone_hints: { allow_post: true, allow_put: false, validate: { kind: 'list_of_strings' }, default: [], is_visible: true, is_filter: false },
    availability_zones: { ...RO, computed: true, is_filter: false },
    flavor_id: { ...RO, computed: true },
  }),
};

export const FLOATINGIP: ResourceDef = {
  collection: 'floatingips', member: 'floatingip', quota: 'floatingip',
  notFound: { type: 'FloatingIPNotFound', message: (x) => `Floating IP ${x} could not be found` },
  attributes: (() => {
    const a = withStandard({
      floating_ip_address: { allow_post: true, allow_put: false, validate: { kind: 'ip_address_or_none' }, is_visible: true, policy: 'admin', computed: true, is_sort_key: true },
      subnet_id: { allow_post: true, allow_put: false, validate: { kind: 'uuid_or_none' }, default: null, is_visible: false },
      floating_network_id: { allow_post: true, allow_put: false, validate: { kind: 'uuid' }, is_visible: true, is_sort_key: true },
      router_id: { ...RO, computed: true },
      port_id: { allow_post: true, allow_put: true, validate: { kind: 'uuid_or_none' }, default: null, is_visible: true },
      fixed_ip_address: { allow_post: true, allow_put: true, validate: { kind: 'ip_address_or_none' }, default: null, is_visible: true },
      status: { ...RO, computed: true },
      port_details: { ...RO, computed: true, is_filter: false, derived: true },
      dns_domain: { ...RO, computed: true },
      dns_name: { ...RO, computed: true },
      port_forwardings: { ...RO, computed: true, is_filter: false },
      qos_policy_id: { ...RO, computed: true },
    });
    delete a.name;
    return a;
  })(),
};

export const TRUNK: ResourceDef = {
  collection: 'trunks', member: 'trunk',
  notFound: { type: 'TrunkNotFound', message: (x) => `Trunk ${x} could not be found.` },
  attributes: withStandard({
    admin_state_up: adminState,
    port_id: { allow_post: true, allow_put: false, validate: { kind: 'uuid' }, is_visible: true, is_sort_key: true },
    status: { ...RO, computed: true, is_sort_key: true },
    sub_ports: { allow_post: true, allow_put: false, validate: { kind: 'subports' }, default: [], is_visible: true, is_filter: false },
  }),
};

export const RESOURCES: ResourceDef[] = [NETWORK, SUBNET, PORT, SECURITY_GROUP, SECURITY_GROUP_RULE, ROUTER, FLOATINGIP, TRUNK];

/** Neutron's default quotas (quotas section of neutron.conf). */
export const DEFAULT_QUOTAS: Record<string, number> = {
  network: 100, subnet: 100, port: 500, router: 10, floatingip: 50, security_group: 10, security_group_rule: 100, rbac_policy: 10, subnetpool: -1,
};

/** Extensions served, as GET /v2.0/extensions lists them: [alias, name, description]. */
export const EXTENSIONS: [string, string, string][] = [
  ['network', 'Network', 'Core network resource'],
  ['subnet', 'Subnet', 'Core subnet resource'],
  ['port', 'Port', 'Core port resource'],
  ['project-id', 'project_id field enabled', 'Extension that indicates that project_id field is enabled.'],
  ['pagination', 'Pagination support', 'Extension that indicates that pagination is enabled.'],
  ['sorting', 'Sorting support', 'Extension that indicates that sorting is enabled.'],
  ['filter-validation', 'Filter parameters validation', 'Provides validation on filtering parameters.'],
  ['fields-in-listing', 'fields= in listings', 'Lists answer only the fields= asked for.'],
  ['standard-attr-description', 'standard-attr-description', 'Extension to add descriptions to standard attributes'],
  ['standard-attr-timestamp', 'Resource timestamps', 'Adds created_at and updated_at fields to all Neutron resources that have Neutron standard attributes.'],
  ['standard-attr-revisions', 'Resource revision numbers', 'This extension will display the revision number of neutron resources.'],
  ['revision-if-match', 'If-Match constraints based on revision_number', "Extension indicating that If-Match based on revision_number is supported."],
  ['standard-attr-tag', 'Tag support for resources with standard attribute: subnet, trunk, network_segment_range, router, network, policy, subnetpool, port, security_group, floatingip', 'Enables to set tag on resources with standard attribute.'],
  ['tag-creation', 'Tag creation extension', 'Allow to set tags on the resource creation.'],
  ['external-net', 'Neutron external network', 'Adds external network attribute to network resource.'],
  ['provider', 'Provider Network', 'Expose mapping of virtual networks to physical networks'],
  ['net-mtu', 'Network MTU', 'Provides MTU attribute for a network resource.'],
  ['net-mtu-writable', 'Network MTU (writable)', 'Provides a writable MTU attribute for a network resource.'],
  ['port-security', 'Port Security', 'Provides port security'],
  ['allowed-address-pairs', 'Allowed Address Pairs', 'Provides allowed address pairs'],
  ['extra_dhcp_opt', 'Neutron Extra DHCP options', 'Extra options configuration for DHCP. For example PXE boot options to DHCP clients can be specified (e.g. tftp-server, server-ip-address, bootfile-name)'],
  ['binding', 'Port Binding', 'Expose port bindings of a virtual port to external application'],
  ['security-group', 'security-group', 'The security groups extension.'],
  ['stateful-security-group', 'Stateful security group', 'Indicates if the security group is stateful or not'],
  ['router', 'Neutron L3 Router', 'Router abstraction for basic L3 forwarding between L2 Neutron networks and access to external networks via a NAT gateway.'],
  ['ext-gw-mode', 'Neutron L3 Configurable external gateway mode', 'Extension of the router abstraction for specifying whether SNAT should occur on the external gateway'],
  ['extraroute', 'Neutron Extra Route', 'Extra routes configuration for L3 router'],
  ['quotas', 'Quota management support', 'Expose functions for quotas management per project'],
  ['quota_details', 'Quota details management support', 'Expose functions for quotas usage statistics per project'],
  ['network-ip-availability', 'Network IP Availability', 'Provides IP availability data for each network and subnet.'],
  ['auto-allocated-topology', 'Auto Allocated Topology Services', 'Auto Allocated Topology Services.'],
  ['availability_zone', 'Availability Zone', 'The availability zone extension.'],
  ['dns-integration', 'DNS Integration', 'Provides integration with DNS.'],
  ['trunk', 'Trunk Extension', 'Provides support for trunk ports'],
];
