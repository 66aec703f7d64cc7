// Tempest workspace and configuration for a compute-only cloud (see TEMPEST-CONFIG.md in the
// shared conformance notes): pre-provisioned accounts, identity v3, compute and image; neutron,
// cinder, swift off; SSH validation on when the runner can route floating IPs here (lib/guest-ssh.ts).
// With networking in the catalog, as devstack runs tempest: dynamic credentials with isolated networks
// (the pre-provisioned accounts are then unused). Pure functions render the files; writeWorkspace runs
// `tempest init` and writes them.
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Account } from './discover.ts';
import type { SeedUser } from './novabox.ts';

export const PASSWORD = 'secret';
export const DOMAIN = 'Default';

/**
 * Tempest locks one primary, one alt (another project) and one admin account per test class for
 * the class's whole life, so `concurrency` workers need 2×N member accounts, each in its own
 * project, and N admins. The first three are novabox's default seed (demo, alt_demo, admin).
 */
export function accountsFor(concurrency: number): Account[] {
  const n = Math.max(1, Math.floor(concurrency));
  const members: Account[] = [
    { username: 'demo', password: PASSWORD, project_name: 'demo' },
    { username: 'alt_demo', password: PASSWORD, project_name: 'alt_demo' },
  ];
  for (let i = 2; i <= n; i++) {
    members.push({ username: `demo${i}`, password: PASSWORD, project_name: `demo${i}` });
    members.push({ username: `alt_demo${i}`, password: PASSWORD, project_name: `alt_demo${i}` });
  }
  const admins: Account[] = [{ username: 'admin', password: PASSWORD, project_name: 'admin', admin: true }];
  for (let i = 2; i <= n; i++) admins.push({ username: `admin${i}`, password: PASSWORD, project_name: 'admin', admin: true });
  return [...members, ...admins];
}

/** The novabox `seed` section that provisions exactly these accounts (passed with --config). */
export function seedFor(accounts: Account[]): { domain: string; projects: string[]; users: SeedUser[] } {
  const projects = [...new Set(accounts.map((a) => a.project_name))];
  const users = accounts.map((a) => ({ name: a.username, password: a.password, project: a.project_name, roles: a.admin ? ['admin'] : ['member'] }));
  return { domain: DOMAIN, projects, users };
}

export function renderAccountsYaml(accounts: Account[]): string {
  const q = (s: string) => `'${s.replace(/'/g, "''")}'`;
  return accounts
    .map((a) => {
      const lines = [`- username: ${q(a.username)}`, `  project_name: ${q(a.project_name)}`, `  password: ${q(a.password)}`, `  domain_name: ${q(DOMAIN)}`];
      if (a.admin) lines.push('  roles:', "    - 'admin'", '  types:', "    - 'admin'");
      return lines.join('\n');
    })
    .join('\n\n') + '\n';
}

export interface ConfInput {
  workspace: string;
  identityV3: string;
  imageRef: string;
  imageRefAlt: string;
  flavorRef: string;
  flavorRefAlt: string;
  maxMicroversion: string;
  region?: string;
  fixedNetworkName?: string;
  /** The external network (devstack's `public`): tempest's public_network_id and floating pool. */
  publicNetwork?: { id: string; name: string };
  /** Turn on the compute features tier3 exercises (snapshots, migrations, personality, stable rescue…). */
  tier3Features?: boolean;
  /** Turn on the identity and image features devstack turns on (application credentials, access rules, project tags, trusts; image import, os_glance reserved properties). */
  identityImageFeatures?: boolean;
  /** Services the cloud's catalog offers beyond compute, identity and image. */
  services?: OptionalServices;
  /** The admin account tempest may use to create throw-away projects and users. */
  admin?: Account;
  /**
   * SSH validation into the simulated guests (novabox --guest-ssh, with the floating range routed
   * here: lib/guest-ssh.ts): tempest logs in over floating IPs with the keypair it makes.
   */
  validation?: { networkForSsh: string; user: string };
  /** `section.option=value` overrides, applied last. */
  overrides?: string[];
}

/** Networking (catalog type `network`) and block storage (`volumev3`/`block-storage`). */
export interface OptionalServices { neutron: boolean; cinder: boolean }

/** Which optional services a catalog offers, by entry type. */
export function servicesInCatalog(types: string[]): OptionalServices {
  return { neutron: types.includes('network'), cinder: types.some((t) => t === 'volumev3' || t === 'block-storage' || t === 'volume') };
}

type Ini = Record<string, Record<string, string | number | boolean>>;

export function tempestConf(c: ConfInput): Ini {
  const ini = baseConf(c);
  const svc = c.services ?? { neutron: false, cinder: false };
  ini.service_available.neutron = svc.neutron;
  ini.service_available.cinder = svc.cinder;
  const f = ini['compute-feature-enabled'];
  if (c.tier3Features) {
    // What a simulated compute host can do: snapshots, cold and live migration between its simulated
    // hosts, personality files, stable rescue. Consoles need a real guest and stay off.
    Object.assign(f, {
      snapshot: true, cold_migration: true, live_migration: true, block_migration_for_live_migration: true, personality: true, stable_rescue: true,
      // The scheduler has the same_host/different_host filters as well as Nova's defaults.
      scheduler_enabled_filters: 'all',
    });
    ini.compute.min_compute_nodes = 2;
    // The simulated compute, like Nova's fake virt driver, never downloads an image, so there is no
    // signature to verify: any image serves for the 2.63 trusted_image_certificates tests.
    Object.assign(ini.compute, { certified_image_ref: c.imageRef, certified_image_trusted_certs: '0b5d2c72-12cc-4ba6-a8d7-3ff5cc1d8cb8,674736e3-f25c-405c-8362-bbf991e0ce0a' });
    ini['image-feature-enabled'].api_v2 = true;
  }
  if (c.identityImageFeatures) {
    // As devstack's lib/tempest writes them for Keystone and Glance, but security_compliance: its tests
    // need password history and lockout, which novabox stores but does not enforce, and on a refused
    // history check they leave a pre-provisioned account with a changed password (every later class fails).
    Object.assign(ini['identity-feature-enabled'], { application_credentials: true, access_rules: true, project_tags: true, security_compliance: false, trust: true });
    Object.assign(ini['image-feature-enabled'], { import_image: true, os_glance_reserved: true });
  }
  if (svc.neutron) {
    // As devstack's lib/tempest runs it: tempest makes a project and users per test class, and for
    // each project a network, a subnet and a router gatewayed on public_network_id. devstack's seeded
    // `private` is the demo project's and not shared, so other projects need networks of their own.
    Object.assign(ini.auth, { use_dynamic_credentials: true, create_isolated_networks: true });
    f.interface_attach = true;
    ini['network-feature-enabled'].floating_ips = true;
    // devstack names its external network in both options; the os-floating-ips tests allocate from it.
    if (c.publicNetwork) Object.assign(ini.network, { public_network_id: c.publicNetwork.id, floating_network_name: c.publicNetwork.name });
  }
  if (svc.cinder) {
    Object.assign(f, { swap_volume: true, volume_multiattach: true });
    // Block live migration with a volume attached (tempest names the option after iSCSI volumes).
    if (c.tier3Features) Object.assign(f, { volume_backed_live_migration: true, block_migrate_cinder_iscsi: true });
    ini['volume-feature-enabled'] = { api_v3: true, api_v2: false, backup: false, snapshot: true };
    ini.volume = { catalog_type: 'volumev3', max_microversion: 'latest' };
  }
  if (c.validation && svc.neutron) {
    // Validation resources per test: a keypair, a security group allowing SSH and ping, a floating
    // IP on the public network associated to the server's port on network_for_ssh.
    ini.validation = {
      run_validation: true, connect_method: 'floating', auth_method: 'keypair', ip_version_for_ssh: 4,
      network_for_ssh: c.validation.networkForSsh, image_ssh_user: c.validation.user, image_alt_ssh_user: c.validation.user,
      security_group: true, security_group_rules: true, ssh_timeout: 60, connect_timeout: 20,
    };
    // The guest reaches the metadata service (device tags); a config drive it has not.
    f.metadata_service = true;
  }
  for (const o of c.overrides ?? []) {
    const m = /^([^.=]+)\.([^=]+)=(.*)$/.exec(o.trim());
    if (!m) throw new Error(`tempest.conf override '${o}' is not section.option=value`);
    (ini[m[1]] ??= {})[m[2]] = m[3];
  }
  return ini;
}

function baseConf(c: ConfInput): Ini {
  return {
    DEFAULT: { debug: true, log_dir: join(c.workspace, 'logs'), log_file: 'tempest.log', use_stderr: false },
    auth: {
      use_dynamic_credentials: false,
      test_accounts_file: join(c.workspace, 'etc', 'accounts.yaml'),
      default_credentials_domain_name: DOMAIN,
      create_isolated_networks: false,
      admin_domain_name: DOMAIN,
      // The classes that force tenant isolation (admin quota tests) create a project and a user with
      // these credentials through the identity v3 admin API.
      ...(c.admin ? { admin_username: c.admin.username, admin_password: c.admin.password, admin_project_name: c.admin.project_name } : {}),
    },
    identity: {
      auth_version: 'v3',
      uri_v3: c.identityV3,
      region: c.region ?? 'RegionOne',
      v3_endpoint_type: 'public',
      admin_role: 'admin',
      default_domain_id: 'default',
    },
    'identity-feature-enabled': {
      api_v2: false, api_v3: true, trust: false, application_credentials: false, project_tags: false,
      access_rules: false, security_compliance: false,
    },
    service_available: { nova: true, glance: true, neutron: false, cinder: false, swift: false, horizon: false },
    compute: {
      image_ref: c.imageRef,
      image_ref_alt: c.imageRefAlt,
      flavor_ref: c.flavorRef,
      flavor_ref_alt: c.flavorRefAlt,
      build_timeout: 60,
      build_interval: 1,
      fixed_network_name: c.fixedNetworkName ?? '',
      shelved_offload_time: 0,
      min_compute_nodes: 1,
      max_microversion: c.maxMicroversion,
    },
    'compute-feature-enabled': {
      pause: true, suspend: true, shelve: true, rescue: true, resize: true, disk_config: true, console_output: true,
      enable_instance_password: true, change_password: true, xenapi_apis: true,
      cold_migration: false, live_migration: false, stable_rescue: false, snapshot: false, interface_attach: false,
      config_drive: false, metadata_service: false, personality: false, vnc_console: false, spice_console: false,
      rdp_console: false, serial_console: false, swap_volume: false, volume_multiattach: false, unified_limits: false,
    },
    image: { catalog_type: 'image', endpoint_type: 'publicURL' },
    'image-feature-enabled': { api_v2: true, api_v1: false, import_image: false, os_glance_reserved: false, manage_locations: false },
    network: { public_network_id: '', floating_network_name: '' },
    'network-feature-enabled': { floating_ips: false, ipv6: false, port_security: false },
    validation: { run_validation: false },
    enforce_scope: { nova: false, keystone: false, glance: false },
    oslo_concurrency: { lock_path: join(c.workspace, 'tempest_lock') },
  };
}

export function renderIni(ini: Ini): string {
  return Object.entries(ini)
    .map(([section, opts]) => `[${section}]\n${Object.entries(opts).map(([k, v]) => `${k} = ${typeof v === 'boolean' ? (v ? 'true' : 'false') : v}`).join('\n')}\n`)
    .join('\n');
}

export const TEMPEST = '/usr/bin/tempest';

/** `tempest init` into dir (registered in a private workspace file, not ~/.tempest), then our files. */
export function writeWorkspace(dir: string, conf: ConfInput, accounts: Account[]): void {
  execFileSync(TEMPEST, ['init', '--workspace-path', join(dir, '..', 'workspace.yaml'), dir], { stdio: 'pipe' });
  // tempest init's logging.conf would override log_dir/log_file with a truncating handler per
  // worker; without it oslo.log appends every worker's requests to logs/tempest.log.
  rmSync(join(dir, 'etc', 'logging.conf'), { force: true });
  writeFileSync(join(dir, 'etc', 'accounts.yaml'), renderAccountsYaml(accounts));
  writeFileSync(join(dir, 'etc', 'tempest.conf'), renderIni(tempestConf(conf)));
}

/** Test ids of a list file: one per line; blank lines and '#' comments ignored. */
export function readList(text: string): string[] {
  return text.split('\n').map((l) => l.replace(/#.*$/, '').trim()).filter((l) => l.length > 0);
}
