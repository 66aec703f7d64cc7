// The OpenStack tools come from Debian's archive, run by the system interpreter: a pyenv
// `python3` earlier on PATH does not see Debian's Python libraries.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const PACKAGES = ['tempest', 'python3-tempest', 'python3-stestr', 'python3-openstackclient', 'python3-openstacksdk'];
export const PYTHON = '/usr/bin/python3';
export const OPENSTACK = '/usr/bin/openstack';

export function installed(pkg: string): boolean {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
}

/** An environment for the Debian tools: system binaries first, no pyenv/virtualenv leaking in. */
export function debianEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(OS_|PYENV|PYTHON|VIRTUAL_ENV)/.test(k)) continue;
    env[k] = v;
  }
  env.PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'].join(':');
  env.PYTHON = PYTHON;
  return { ...env, ...extra };
}

/** apt-get installs whatever is missing (needs root); returns the packages that were missing. */
export function ensurePackages(pkgs: string[] = PACKAGES, log: (s: string) => void = console.log): string[] {
  const missing = pkgs.filter((p) => !installed(p));
  if (missing.length === 0) return [];
  log(`installing Debian packages: ${missing.join(' ')}`);
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const sudo = asRoot ? [] : ['sudo', '-n'];
  if (!asRoot && spawnSync('sudo', ['-n', 'true']).status !== 0) {
    throw new Error(`missing Debian packages (${missing.join(' ')}); install them as root: apt-get install -y ${missing.join(' ')}`);
  }
  const env = { ...debianEnv(), DEBIAN_FRONTEND: 'noninteractive' };
  const run = (args: string[]) => {
    const [cmd, ...rest] = [...sudo, ...args];
    execFileSync(cmd, rest, { stdio: 'inherit', env });
  };
  run(['apt-get', 'update']);
  run(['apt-get', 'install', '-y', '--no-install-recommends', ...missing]);
  const still = missing.filter((p) => !installed(p));
  if (still.length) throw new Error(`apt-get did not install: ${still.join(' ')}`);
  return missing;
}

/** For tests: the client tools are usable (present and importable by the system interpreter). */
export function haveOpenstackCli(): boolean {
  return existsSync(OPENSTACK) && existsSync(PYTHON);
}

export function haveOpenstackSdk(): boolean {
  if (!existsSync(PYTHON)) return false;
  return spawnSync(PYTHON, ['-c', 'import openstack'], { env: debianEnv() }).status === 0;
}
