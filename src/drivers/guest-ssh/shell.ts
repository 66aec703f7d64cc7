// The simulated guest's shell: what an `exec` over SSH runs. A small POSIX-ish interpreter (quoting,
// `;` `&&` `||` lists, `|` pipelines, `>` redirection, `set -e`/`-o pipefail`, VAR=value prefixes,
// sudo, sh -c) over a table of commands that answer from the guest's snapshot (guest.ts): the
// commands tempest's remote client sends (hostname, /proc/uptime, /proc/cpuinfo, ip, lsblk, curl to
// the metadata service, cat of injected files …). Anything else answers as a shell does when a
// command is missing: `sh: NAME: not found`, status 127. Nothing here moves a packet.
import type { GuestNic, GuestView } from './guest.ts';
import { METADATA_HOST, metadataGet } from './metadata.ts';

export interface Result {
  stdout: string;
  stderr: string;
  code: number;
}

interface Io {
  stdin: string;
  g: GuestView;
}

type Command = (args: string[], io: Io) => Result;

const ok = (stdout = ''): Result => ({ stdout, stderr: '', code: 0 });
const fail = (stderr: string, code = 1): Result => ({ stdout: '', stderr: stderr.endsWith('\n') ? stderr : `${stderr}\n`, code });

// ---------- the guest's files ----------

function cpuinfo(g: GuestView): string {
  const one = (i: number) => [
    `processor\t: ${i}`, 'vendor_id\t: GenuineIntel', 'cpu family\t: 6', 'model\t\t: 85', 'model name\t: Intel Xeon Processor (Cascadelake)',
    `physical id\t: ${i}`, 'siblings\t: 1', 'core id\t\t: 0', 'cpu cores\t: 1', 'flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ss syscall nx pdpe1gb rdtscp lm constant_tsc rep_good nopl xtopology cpuid tsc_known_freq pni pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt aes xsave avx f16c rdrand hypervisor lahf_lm abm 3dnowprefetch avx2 smep bmi2 erms invpcid avx512f',
    '',
  ].join('\n');
  return Array.from({ length: g.vcpus }, (_, i) => one(i)).join('\n');
}

function meminfo(g: GuestView): string {
  const kb = g.memory_mb * 1024;
  const total = Math.max(0, kb - 40 * 1024);
  return `MemTotal:       ${String(total).padStart(8)} kB\nMemFree:        ${String(Math.floor(total * 0.8)).padStart(8)} kB\nMemAvailable:   ${String(Math.floor(total * 0.85)).padStart(8)} kB\n`;
}

/** The kernel's block devices: each disk (virtio majors, 16 minors apart), the root disk's one partition after it. */
function partitions(g: GuestView): string {
  const rows = ['major minor  #blocks  name', ''];
  g.disks.forEach((d, i) => {
    const kb = Math.floor(d.bytes / 1024);
    rows.push(` 253 ${String(i * 16).padStart(8)} ${String(kb).padStart(10)} ${d.name}`);
    if (i === 0) rows.push(` 253 ${String(i * 16 + 1).padStart(8)} ${String(Math.max(0, kb - 1024)).padStart(10)} ${d.name}1`);
  });
  return `${rows.join('\n')}\n`;
}

/** The file at path, or undefined when the guest has none there. */
export function readFile(g: GuestView, path: string): string | undefined {
  if (Object.hasOwn(g.files, path)) return g.files[path];
  switch (path) {
    case '/proc/uptime': {
      const up = Math.max(0, g.uptime);
      return `${up.toFixed(2)} ${(up * g.vcpus * 0.97).toFixed(2)}\n`;
    }
    case '/proc/cpuinfo':
      return cpuinfo(g);
    case '/proc/meminfo':
      return meminfo(g);
    case '/proc/partitions':
      return partitions(g);
    case '/etc/hostname':
      return `${g.hostname}\n`;
    case '/etc/hosts':
      return `127.0.0.1\tlocalhost\n127.0.1.1\t${g.hostname}\n`;
    case '/etc/resolv.conf': {
      const gw = g.nics[0]?.ips.find((i) => i.version === 4);
      return gw ? `search openstacklocal\nnameserver ${gatewayOf(gw.addr)}\n` : '';
    }
    case '/etc/os-release':
      return 'NAME=CirrOS\nVERSION="0.6.2"\nID=cirros\nVERSION_ID=0.6.2\nPRETTY_NAME="CirrOS 0.6.2"\n';
    default:
      return undefined;
  }
}

/** The DHCP server's address a guest would be handed: the subnet's first host (a simplification). */
function gatewayOf(addr: string): string {
  const p = addr.split('.');
  return `${p[0]}.${p[1]}.${p[2]}.1`;
}

// ---------- ip ----------

function v4Broadcast(addr: string, prefix: number): string {
  const n = addr.split('.').reduce((a, o) => (a << 8) + Number(o), 0) >>> 0;
  const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
  const b = (n | (~mask >>> 0)) >>> 0;
  return [24, 16, 8, 0].map((s) => (b >>> s) & 255).join('.');
}

interface Link { index: number; name: string; flags: string; mtu: number; qdisc: string; state: string; kind: 'loopback' | 'ether'; mac: string; brd: string; addrs: { family: 'inet' | 'inet6'; cidr: string; rest: string }[] }

function links(g: GuestView): Link[] {
  const lo: Link = {
    index: 1, name: 'lo', flags: '<LOOPBACK,UP,LOWER_UP>', mtu: 65536, qdisc: 'noqueue', state: 'UNKNOWN', kind: 'loopback', mac: '00:00:00:00:00:00', brd: '00:00:00:00:00:00',
    addrs: [{ family: 'inet', cidr: '127.0.0.1/8', rest: 'scope host lo' }, { family: 'inet6', cidr: '::1/128', rest: 'scope host' }],
  };
  const eth = (n: GuestNic, i: number): Link => ({
    index: i + 2, name: n.name, flags: '<BROADCAST,MULTICAST,UP,LOWER_UP>', mtu: n.mtu, qdisc: 'pfifo_fast', state: 'UP', kind: 'ether', mac: n.mac, brd: 'ff:ff:ff:ff:ff:ff',
    addrs: [
      ...n.ips.filter((a) => a.version === 4).map((a) => ({ family: 'inet' as const, cidr: `${a.addr}/${a.prefix}`, rest: `brd ${v4Broadcast(a.addr, a.prefix)} scope global ${n.name}` })),
      ...n.ips.filter((a) => a.version === 6).map((a) => ({ family: 'inet6' as const, cidr: `${a.addr}/${a.prefix}`, rest: 'scope global dynamic' })),
    ],
  });
  return [lo, ...g.nics.map(eth)];
}

const linkHead = (l: Link) => `${l.index}: ${l.name}: ${l.flags} mtu ${l.mtu} qdisc ${l.qdisc} state ${l.state} qlen 1000`;
const linkLine = (l: Link) => `link/${l.kind} ${l.mac} brd ${l.brd}`;

function ipCommand(args: string[], io: Io): Result {
  let oneline = false;
  const rest: string[] = [];
  for (const a of args) {
    if (a === '-o' || a === '-oneline' || a === '--oneline') oneline = true;
    else if (a === '-4' || a === '-6') continue;
    else rest.push(a);
  }
  const [obj = 'help', ...more] = rest;
  const sub = more[0] === 'show' || more[0] === 'list' || more[0] === 'ls' ? more.slice(1) : more;
  const dev = sub[0] === 'dev' ? sub[1] : sub[0];
  let all = links(io.g);
  if (dev !== undefined) {
    all = all.filter((l) => l.name === dev);
    if (!all.length) return fail(`Device "${dev}" does not exist.`);
  }
  const isAddr = 'address'.startsWith(obj) && obj.length >= 1 && obj !== 'l';
  const isLink = 'link'.startsWith(obj) && obj.length >= 1;
  if (isAddr && !isLink) {
    const out: string[] = [];
    for (const l of all) {
      if (oneline) {
        for (const a of l.addrs) out.push(`${l.index}: ${l.name}    ${a.family} ${a.cidr} ${a.rest}\\       valid_lft forever preferred_lft forever`);
      } else {
        out.push(linkHead(l), `    ${linkLine(l)}`);
        for (const a of l.addrs) out.push(`    ${a.family} ${a.cidr} ${a.rest}`, '       valid_lft forever preferred_lft forever');
      }
    }
    return ok(out.map((l) => `${l}\n`).join(''));
  }
  if (isLink) {
    const out = all.map((l) => (oneline ? `${linkHead(l)}\\    ${linkLine(l)}` : `${linkHead(l)}\n    ${linkLine(l)}`));
    return ok(out.map((l) => `${l}\n`).join(''));
  }
  if ('route'.startsWith(obj)) {
    const nic = io.g.nics.find((n) => n.ips.some((i) => i.version === 4));
    const a = nic?.ips.find((i) => i.version === 4);
    if (!nic || !a) return ok('');
    return ok(`default via ${gatewayOf(a.addr)} dev ${nic.name}\n`);
  }
  return fail(`Object "${obj}" is unknown, try "ip help".`, 255);
}

// ---------- lsblk ----------

function lsblk(args: string[], io: Io): Result {
  const bytes = args.some((a) => a === '-b' || (/^-[a-zA-Z]+$/.test(a) && a.includes('b')));
  const human = (n: number) => {
    const units = ['B', 'K', 'M', 'G', 'T'];
    let v = n;
    let u = 0;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return `${Number.isInteger(v) ? v : v.toFixed(1)}${units[u]}`;
  };
  const rows = [['NAME', 'MAJ:MIN', 'RM', 'SIZE', 'RO', 'TYPE', 'MOUNTPOINT']];
  io.g.disks.forEach((d, i) => rows.push([d.name, `253:${i * 16}`, '0', bytes ? String(d.bytes) : human(d.bytes), '0', 'disk', i === 0 ? '/' : '']));
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  // lsblk aligns sizes and flags to the right, names and types to the left.
  const right = new Set([2, 3, 4]);
  const text = rows.map((r) => r.map((v, c) => (right.has(c) ? v.padStart(widths[c]) : v.padEnd(widths[c]))).join(' ').trimEnd()).join('\n');
  return ok(`${text}\n`);
}

// ---------- curl ----------

function curl(args: string[], io: Io): Result {
  if (args.includes('-V') || args.includes('--version')) {
    return ok('curl 7.84.0 (x86_64-pc-linux-gnu) libcurl/7.84.0 OpenSSL/1.1.1q zlib/1.2.12\nProtocols: dict file ftp ftps http https\nFeatures: IPv6 Largefile SSL\n');
  }
  const failOnError = args.some((a) => a === '-f' || a === '--fail' || /^-[a-zA-Z]*f[a-zA-Z]*$/.test(a));
  const url = args.find((a) => !a.startsWith('-'));
  if (!url) return fail("curl: try 'curl --help' or 'curl --manual' for more information", 2);
  const m = /^(?:http:\/\/)?([^/:]+)(?::(\d+))?(\/.*)?$/.exec(url);
  if (!m) return fail(`curl: (3) URL using bad/illegal format or missing URL`, 3);
  const [, host, port = '80', path = '/'] = m;
  if (host !== METADATA_HOST || port !== '80') return fail(`curl: (7) Failed to connect to ${host} port ${port}: Connection refused`, 7);
  const r = metadataGet(io.g, path);
  if (r.status >= 400 && failOnError) return fail(`curl: (22) The requested URL returned error: ${r.status}`, 22);
  return ok(r.body);
}

// ---------- text tools ----------

const lines = (s: string) => (s === '' ? [] : s.replace(/\n$/, '').split('\n'));

/** Files named by args (stdin when none); an error for a missing one. */
function inputs(files: string[], io: Io, cmd: string): { text: string; err: string } {
  if (!files.length) return { text: io.stdin, err: '' };
  let text = '';
  let err = '';
  for (const f of files) {
    const c = readFile(io.g, f);
    if (c === undefined) err += `${cmd}: ${f}: No such file or directory\n`;
    else text += c;
  }
  return { text, err };
}

function cat(args: string[], io: Io): Result {
  const { text, err } = inputs(args.filter((a) => a !== '-'), io, 'cat');
  return { stdout: text, stderr: err, code: err ? 1 : 0 };
}

function cut(args: string[], io: Io): Result {
  let field = '';
  let delim = '\t';
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '-f') field = args[++i] ?? '';
    else if (a.startsWith('-f')) field = a.slice(2);
    else if (a === '-d') delim = args[++i] ?? '';
    else if (a.startsWith('-d')) delim = a.slice(2);
    else files.push(a);
  }
  const wanted = field.split(',').map(Number).filter((n) => n > 0);
  if (!wanted.length) return fail('cut: you must specify a list of bytes, characters, or fields');
  const { text, err } = inputs(files, io, 'cut');
  const out = lines(text).map((l) => (l.includes(delim) ? wanted.map((n) => l.split(delim)[n - 1] ?? '').join(delim) : l));
  return { stdout: out.map((l) => `${l}\n`).join(''), stderr: err, code: err ? 1 : 0 };
}

function grep(args: string[], io: Io): Result {
  const flags = new Set<string>();
  const rest: string[] = [];
  for (const a of args) {
    if (/^-[a-zA-Z]+$/.test(a)) for (const f of a.slice(1)) flags.add(f);
    else rest.push(a);
  }
  const [pattern, ...files] = rest;
  if (pattern === undefined) return fail('Usage: grep [OPTION]... PATTERNS [FILE]...', 2);
  let re: RegExp;
  try {
    re = flags.has('F') ? new RegExp(pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), flags.has('i') ? 'i' : '') : new RegExp(pattern, flags.has('i') ? 'i' : '');
  } catch {
    return fail('grep: Invalid regular expression', 2);
  }
  const { text, err } = inputs(files, io, 'grep');
  const hits = lines(text).filter((l) => re.test(l) !== flags.has('v'));
  const code = err ? 2 : hits.length ? 0 : 1;
  if (flags.has('q')) return { stdout: '', stderr: err, code };
  if (flags.has('c')) return { stdout: `${hits.length}\n`, stderr: err, code };
  return { stdout: hits.map((l) => `${l}\n`).join(''), stderr: err, code };
}

/** awk programs of the form `[/regex/] {print $N[, $M…]}`, the only kind tempest sends. */
function awk(args: string[], io: Io): Result {
  const [program, ...files] = args;
  const m = /^\s*(?:\/((?:\\.|[^/])*)\/)?\s*\{\s*print(?:\s+((?:\$(?:\d+|NF))(?:\s*,\s*\$(?:\d+|NF))*))?\s*;?\s*\}\s*$/.exec(program ?? '');
  if (!m) return fail(`awk: cmd. line:1: ${program ?? ''}\nawk: cmd. line:1: syntax error`, 2);
  const re = m[1] !== undefined ? new RegExp(m[1]) : null;
  const fields = (m[2] ?? '$0').split(',').map((f) => f.trim().slice(1));
  const { text, err } = inputs(files, io, 'awk');
  const out: string[] = [];
  for (const l of lines(text)) {
    if (re && !re.test(l)) continue;
    const parts = l.trim().split(/\s+/);
    out.push(fields.map((f) => (f === '0' ? l : f === 'NF' ? parts[parts.length - 1] : parts[Number(f) - 1] ?? '')).join(' '));
  }
  return { stdout: out.map((l) => `${l}\n`).join(''), stderr: err, code: err ? 2 : 0 };
}

function wc(args: string[], io: Io): Result {
  const files = args.filter((a) => !a.startsWith('-'));
  const { text, err } = inputs(files, io, 'wc');
  const n = (text.match(/\n/g) ?? []).length;
  return { stdout: `${n}\n`, stderr: err, code: err ? 1 : 0 };
}

function head(args: string[], io: Io): Result {
  let n = 10;
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '-n') n = Number(args[++i]);
    else if (/^-\d+$/.test(args[i])) n = Number(args[i].slice(1));
    else files.push(args[i]);
  }
  const { text, err } = inputs(files, io, 'head');
  return { stdout: lines(text).slice(0, n).map((l) => `${l}\n`).join(''), stderr: err, code: err ? 1 : 0 };
}

function uname(args: string[], io: Io): Result {
  const all = args.includes('-a');
  return ok(all ? `Linux ${io.g.hostname} 5.15.0-71-generic #78-Ubuntu SMP x86_64 GNU/Linux\n` : args.includes('-n') ? `${io.g.hostname}\n` : 'Linux\n');
}

function blkid(args: string[], io: Io): Result {
  const i = args.indexOf('-L');
  if (i >= 0) return args[i + 1] === 'config-2' && io.g.config_drive ? ok('/dev/sr0\n') : { stdout: '', stderr: '', code: 2 };
  return ok(io.g.disks.map((d, n) => `/dev/${d.name}: ${n === 0 ? 'LABEL="cirros-rootfs" ' : ''}TYPE="ext4"\n`).join(''));
}

/** The guest's commands, by name. */
export const COMMANDS: Record<string, Command> = {
  hostname: (_a, io) => ok(`${io.g.hostname}\n`),
  cat,
  cut,
  grep,
  awk,
  wc,
  head,
  ip: ipCommand,
  lsblk,
  blkid,
  curl,
  uname,
  nproc: (_a, io) => ok(`${io.g.vcpus}\n`),
  whoami: (_a, io) => ok(`${io.g.user}\n`),
  echo: (a) => (a[0] === '-n' ? ok(a.slice(1).join(' ')) : ok(`${a.join(' ')}\n`)),
  true: () => ok(),
  false: () => ({ stdout: '', stderr: '', code: 1 }),
  sync: () => ok(),
};

// ---------- the interpreter ----------

type Token = { op: ';' | '&&' | '||' | '|' | '&' | '>' | '>>' } | { word: string };

/** Words and operators, with '…', "…" and \ quoting; $VAR is kept literally (nothing to expand into). */
export function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let word: string | null = null;
  const push = () => {
    if (word !== null) out.push({ word });
    word = null;
  };
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === "'") {
      const end = src.indexOf("'", i + 1);
      if (end < 0) throw new SyntaxError("Unterminated quoted string");
      word = (word ?? '') + src.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let s = '';
      let j = i + 1;
      for (; j < src.length && src[j] !== '"'; j++) {
        if (src[j] === '\\' && j + 1 < src.length && '"\\$`\n'.includes(src[j + 1])) s += src[++j];
        else s += src[j];
      }
      if (j >= src.length) throw new SyntaxError('Unterminated quoted string');
      word = (word ?? '') + s;
      i = j;
    } else if (c === '\\' && i + 1 < src.length) {
      word = (word ?? '') + src[++i];
    } else if (c === ' ' || c === '\t' || c === '\n') {
      push();
    } else if (c === ';' || c === '|' || c === '&' || c === '>') {
      // 2>&1 and 2>/dev/null: the descriptor digit is part of the redirection.
      if (c === '>' && word !== null && /^\d$/.test(word)) word = null;
      else push();
      const two = src.slice(i, i + 2);
      if (two === '&&' || two === '||' || two === '>>') {
        out.push({ op: two as '&&' | '||' | '>>' });
        i++;
      } else out.push({ op: c as ';' | '|' | '&' | '>' });
      if (c === '>' && src[i + 1] === '&') {
        // >&N: a descriptor, not a file
        i += 1;
        while (/\d/.test(src[i + 1] ?? '')) i++;
        out.pop();
      }
    } else {
      word = (word ?? '') + c;
    }
  }
  push();
  return out;
}

interface Simple { words: string[]; redirect: string | null }
interface Pipeline { commands: Simple[] }
interface ListItem { pipeline: Pipeline; next: ';' | '&&' | '||' | '&' | null }

function parse(tokens: Token[]): ListItem[] {
  const items: ListItem[] = [];
  let cmds: Simple[] = [];
  let cur: Simple = { words: [], redirect: null };
  const endCmd = () => {
    if (cur.words.length) cmds.push(cur);
    cur = { words: [], redirect: null };
  };
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if ('word' in t) {
      cur.words.push(t.word);
      continue;
    }
    if (t.op === '>' || t.op === '>>') {
      const target = tokens[++i];
      if (!target || !('word' in target)) throw new SyntaxError('syntax error: unexpected redirection');
      cur.redirect = target.word;
    } else if (t.op === '|') {
      endCmd();
    } else {
      endCmd();
      if (cmds.length) items.push({ pipeline: { commands: cmds }, next: t.op });
      cmds = [];
    }
  }
  endCmd();
  if (cmds.length) items.push({ pipeline: { commands: cmds }, next: null });
  return items;
}

interface ShellState { errexit: boolean; pipefail: boolean }

function runSimple(words: string[], stdin: string, g: GuestView, state: ShellState): Result {
  let w = words;
  while (w.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(w[0])) w = w.slice(1); // environment assignments
  if (!w.length) return ok();
  const [name, ...args] = w;
  if (name === 'sudo') {
    let i = 0;
    while (i < args.length && args[i].startsWith('-')) i++;
    return runSimple(args.slice(i), stdin, g, state);
  }
  if (name === 'set') {
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      if (a === '-o' || a === '+o') {
        if (args[i + 1] === 'pipefail') state.pipefail = a === '-o';
        if (args[i + 1] === 'errexit') state.errexit = a === '-o';
        i++;
      } else if (/^[-+][a-z]+$/.test(a) && a.includes('e')) state.errexit = a[0] === '-';
    }
    return ok();
  }
  if (name === 'export' || name === 'cd' || name === ':') return ok();
  if ((name === 'sh' || name === 'bash' || name === '/bin/sh') && args[0] === '-c') return run(args[1] ?? '', g, stdin);
  const cmd = COMMANDS[name.replace(/^(?:\/usr)?\/s?bin\//, '')];
  if (!cmd) return fail(`sh: ${name}: not found`, 127);
  return cmd(args, { stdin, g });
}

/** Runs a command line in the guest, as `sh -c` would. */
export function run(line: string, g: GuestView, stdin = ''): Result {
  let items: ListItem[];
  try {
    items = parse(tokenize(line));
  } catch (e) {
    return fail(`sh: ${(e as Error).message}`, 2);
  }
  const state: ShellState = { errexit: false, pipefail: false };
  let stdout = '';
  let stderr = '';
  let code = 0;
  let prev: ListItem['next'] = null;
  for (const item of items) {
    const skipped = (prev === '&&' && code !== 0) || (prev === '||' && code === 0);
    const inList = prev === '&&' || prev === '||' || item.next === '&&' || item.next === '||';
    prev = item.next;
    if (skipped) continue;
    let input = stdin;
    let status = 0;
    let last: Result = ok();
    for (const c of item.pipeline.commands) {
      last = runSimple(c.words, input, g, state);
      stderr += last.stderr;
      if (last.code !== 0) status = last.code;
      // Redirected output goes to a device or file the guest keeps to itself (/dev/console, /dev/null).
      input = c.redirect !== null ? '' : last.stdout;
    }
    stdout += input;
    code = state.pipefail && status !== 0 ? status : last.code;
    // set -e: the shell stops at a failing command that is not part of an && / || list.
    if (code !== 0 && state.errexit && !inList) break;
  }
  return { stdout, stderr, code };
}
