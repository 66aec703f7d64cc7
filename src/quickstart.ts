// What a newcomer needs after `novabox serve`: the start-up banner (endpoints, users, database,
// timings, the next commands) and a ready clouds.yaml for this instance.
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { DEFAULT_PASSWORD, publicUrl, type Config } from './config.ts';
import { VERSION } from './version.ts';

const BIN = resolve(fileURLToPath(new URL('../bin/novabox.js', import.meta.url)));

/** How to run novabox from here: `node bin/novabox.js` relative to the working directory when that is shorter. */
export function novaboxCommand(cwd = process.cwd()): string {
  const rel = relative(cwd, BIN);
  return `node ${rel.length < BIN.length && !rel.startsWith('..') ? rel : BIN}`;
}

/** The cloud name a seeded user gets in clouds.yaml: `novabox` for demo, `novabox-<user>` for the others. */
export function cloudName(user: string): string {
  return user === 'demo' ? 'novabox' : `novabox-${user.replace(/_demo$/, '').replace(/_/g, '-')}`;
}

/** A clouds.yaml with one cloud per seeded user, as devstack writes it. */
export function cloudsYaml(cfg: Config, url = publicUrl(cfg)): string {
  const clouds: Record<string, unknown> = {};
  const users = [...cfg.seed.users].sort((a, b) => (a.name === 'demo' ? -1 : b.name === 'demo' ? 1 : 0));
  for (const u of users) {
    clouds[cloudName(u.name)] = {
      auth: {
        auth_url: `${url}/identity/v3`, username: u.name, password: u.password, project_name: u.project,
        user_domain_name: cfg.seed.domain, project_domain_name: cfg.seed.domain,
      },
      region_name: cfg.region,
      interface: 'public',
      identity_api_version: 3,
    };
  }
  return `# novabox ${VERSION} at ${url}: save as ~/.config/openstack/clouds.yaml (or point OS_CLIENT_CONFIG_FILE at it)\n${stringify({ clouds })}`;
}

export interface BannerFacts {
  startedInMs: number;
  /** The database existed before this start (false: just created and seeded). */
  existed: boolean;
  recovered: number;
  reset: boolean;
}

/** The start-up banner: a quick start for this instance. */
export function banner(cfg: Config, facts: BannerFacts, cwd = process.cwd()): string {
  const url = publicUrl(cfg);
  const cmd = novaboxCommand(cwd);
  const users = cfg.seed.users.map((u) => `${u.name} (${u.roles.join(', ')} in ${u.project})`).join(', ');
  const defaults = cfg.seed.users.filter((u) => u.password === DEFAULT_PASSWORD).map((u) => u.name);
  const passwords = defaults.length === cfg.seed.users.length
    ? `all with the default password '${DEFAULT_PASSWORD}'`
    : defaults.length === 0
      ? 'passwords set by NOVABOX_<USER>_PASSWORD or the config file (not the default)'
      : `default password '${DEFAULT_PASSWORD}' for ${defaults.join(', ')}; the others set by NOVABOX_<USER>_PASSWORD or the config file`;
  const db = cfg.db === ':memory:' ? 'in memory (gone at exit)' : cfg.db;
  const state = facts.reset ? 'reset to the seed' : facts.existed ? `kept from the last run${facts.recovered ? `, ${facts.recovered} task(s) recovered` : ''}` : 'new, seeded';
  const timing = cfg.time_scale === 0 || cfg.timings === 'instant' ? 'instant' : `${cfg.timings}${cfg.time_scale !== 1 ? ` × ${cfg.time_scale}` : ''}`;
  const port = cfg.public_url ? ` --url ${url}` : cfg.port !== 8774 || cfg.host !== '127.0.0.1' ? ` --url ${url}` : '';
  return [
    `novabox ready on ${url} in ${facts.startedInMs} ms (novabox ${VERSION})`,
    `  identity  ${url}/identity/v3`,
    `  compute   ${url}/compute/v2.1`,
    `  image     ${url}/image`,
    `  network   ${url}/networking`,
    `  volume    ${url}/volume/v3/{project_id}`,
    `  control   ${url}/novabox/v1/   (index; admin token)`,
    `  dashboard ${url}/dashboard/`,
    `  health    ${url}/healthz`,
    ...(cfg.guest_ssh ? [`  guest ssh ${cfg.guest_ssh} (the simulated guests' SSH, by floating or fixed IP)`] : []),
    `  users     ${users}: ${passwords}`,
    `  database  ${db} (${state}; --reset starts from the seed)`,
    `  timings   ${timing} (--timings libvirt|fake|instant, --time-scale N)`,
    `  next      ${cmd} clouds-yaml${port} > ~/.config/openstack/clouds.yaml`,
    `            openstack --os-cloud novabox server create --flavor m1.tiny --image cirros-0.6.2-x86_64-disk --wait vm1`,
  ].join('\n');
}
