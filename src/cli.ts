#!/usr/bin/env node
// novabox command line: `novabox serve`, `novabox clouds-yaml`.
import { existsSync } from 'node:fs';
import v8 from 'node:v8';
import { Command, Option } from 'commander';
import { loadConfig, DEFAULT_PASSWORD, LOG_FORMATS, LOG_LEVELS, TIMING_PROFILES, type Config } from './config.ts';
import { createLogger } from './logging.ts';
import { createNovabox } from './novabox.ts';
import { banner, cloudsYaml } from './quickstart.ts';
import { resetCloud } from './reset.ts';

interface CommonOpts { host?: string; port?: number; db?: string; config?: string }
interface ServeOpts extends CommonOpts { timeScale?: number; timings?: string; logLevel?: string; logFormat?: string; reset?: boolean; clock?: Config['clock']; notifications?: string; guestSsh?: string }

const program = new Command();
program.name('novabox').description('An OpenStack Compute (Nova) API that real OpenStack clients cannot tell apart from Nova');

const common = (c: Command) => c
  .addOption(new Option('--host <host>', 'address to bind (default 127.0.0.1; env NOVABOX_HOST)'))
  .addOption(new Option('--port <port>', 'port to bind, 0 = any free port (default 8774; env NOVABOX_PORT)').argParser((v) => Number(v)))
  .addOption(new Option('--db <path>', "SQLite file or ':memory:' (default $XDG_DATA_HOME/novabox/novabox.db, else ~/.local/share/novabox/novabox.db; env NOVABOX_DB)"))
  .addOption(new Option('--config <file>', 'YAML or JSON config file (env NOVABOX_CONFIG)'));

function configFrom(opts: ServeOpts): Config {
  return loadConfig({
    host: opts.host, port: opts.port, db: opts.db, config: opts.config, time_scale: opts.timeScale,
    timings: opts.timings as Config['timings'] | undefined, log_level: opts.logLevel, log_format: opts.logFormat as Config['log_format'] | undefined,
    clock: opts.clock, notifications: opts.notifications, guest_ssh: opts.guestSsh,
  });
}

/**
 * V8 allocates the objects of an allocation site (an object or array literal) straight into the old
 * generation once most of them outlived a scavenge. A site on the request path caught that way
 * while the process starts (its objects happened to be alive at that moment) keeps doing it: every
 * request's short-lived objects then go to the old generation, the process spends a fifth of its
 * time collecting garbage and answers about 40% fewer requests, for as long as it runs. That
 * happened in about one start of `novabox serve` in three (docs/BENCHMARKS.md, 2026-12-04).
 * novabox keeps its long-lived state in the database, not in large heap structures, so it loses
 * nothing by never pretenuring. A node option naming the flag wins over this.
 */
function keepRequestGarbageYoung(): void {
  if (process.execArgv.some((a) => /allocation-site-pretenuring/.test(a))) return;
  v8.setFlagsFromString('--no-allocation-site-pretenuring');
}

common(program.command('serve').description('start the identity, image and compute APIs on one port'))
  .addOption(new Option('--time-scale <n>', 'multiplies every simulated step duration; 0 = instant (default 1; env NOVABOX_TIME_SCALE)').argParser((v) => Number(v)))
  .addOption(new Option('--timings <profile>', 'step durations: libvirt (a real KVM cloud), fake (Nova\'s fake driver), instant (default libvirt; env NOVABOX_TIMINGS)').choices([...TIMING_PROFILES]))
  .addOption(new Option('--log-level <level>', 'default info; env NOVABOX_LOG_LEVEL').choices([...LOG_LEVELS]))
  .addOption(new Option('--log-format <format>', 'pretty: readable lines (default); json: one JSON object per line (env NOVABOX_LOG_FORMAT)').choices([...LOG_FORMATS]))
  .addOption(new Option('--reset', 'delete the database first and start from the seed'))
  .addOption(new Option('--clock <kind>', "'manual': simulated steps wait for POST /novabox/v1/clock (env NOVABOX_CLOCK)").choices(['system', 'manual']))
  .addOption(new Option('--notifications <url>', "publish Nova's versioned notifications to this AMQP broker, e.g. amqp://guest:guest@127.0.0.1:5672/ (env NOVABOX_NOTIFICATIONS)"))
  .addOption(new Option('--guest-ssh <host:port>', "serve the simulated guests' SSH on this address, e.g. 0.0.0.0:22: a client that dials a server's floating or fixed IP there reaches its guest (env NOVABOX_GUEST_SSH; off by default)"))
  .action(async (opts: ServeOpts) => {
    keepRequestGarbageYoung();
    const config = configFrom(opts);
    const log = createLogger(config);
    const started = Date.now();
    const existed = config.db !== ':memory:' && existsSync(config.db);
    const nb = await createNovabox(config, { start: false, log });
    const loopback = /^(127\.|::1$|localhost$)/.test(config.host);
    if (!loopback && config.seed.users.some((u) => u.password === DEFAULT_PASSWORD)) {
      log.warn(`listening on ${config.host} with the default password '${DEFAULT_PASSWORD}' for seeded users; set NOVABOX_<USER>_PASSWORD or a config file`);
    }
    // Bind first: a second novabox that cannot have the port stops here, before its restart
    // recovery could touch the tasks of the one already running on the same database.
    // The banner below says where novabox listens; Fastify's own "Server listening" line would repeat it.
    const level = nb.app.log.level;
    if (log.isLevelEnabled('info')) nb.app.log.level = 'warn';
    try {
      await nb.app.listen({ host: config.host, port: config.port });
    } catch (err) {
      await nb.close().catch(() => undefined);
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') throw new Error(`novabox: ${config.host}:${config.port} is already in use (another novabox?); nothing was started or changed`);
      throw err;
    } finally {
      nb.app.log.level = level;
    }
    if (opts.reset) {
      // After binding, so a second novabox on the same database (which cannot bind) wipes nothing.
      await resetCloud(nb.services, { running: false });
    }
    const recovered = await nb.start();
    const addr = nb.app.server.address();
    if (typeof addr === 'object' && addr) config.port = addr.port;
    const text = banner(config, { startedInMs: Date.now() - started, existed, recovered: recovered.tasks, reset: !!opts.reset });
    if (config.log_format === 'json') log.info({ event: 'ready', banner: text.split('\n') }, text.split('\n')[0]);
    else if (config.log_level !== 'silent') process.stdout.write(`${text}\n`);
    else process.stdout.write(`${text.split('\n')[0]}\n`);
    let stopping = false;
    const shutdown = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ event: 'shutdown', signal }, `${signal}: stopping (finishing requests in progress; tasks in flight resume at the next start)`);
      await nb.close();
      log.info({ event: 'shutdown' }, 'novabox stopped');
      process.exit(0);
    };
    process.once('SIGINT', () => void shutdown('SIGINT'));
    process.once('SIGTERM', () => void shutdown('SIGTERM'));
  });

common(program.command('clouds-yaml').description('print a clouds.yaml for this novabox (one cloud per seeded user: novabox = demo, novabox-admin, novabox-alt)'))
  .addOption(new Option('--url <url>', 'the novabox base URL (default from --host/--port/config: http://127.0.0.1:8774)'))
  .action((opts: CommonOpts & { url?: string }) => {
    const config = configFrom(opts);
    process.stdout.write(cloudsYaml(config, opts.url?.replace(/\/$/, '')));
  });

program.parseAsync(process.argv).catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
