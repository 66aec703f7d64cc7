#!/usr/bin/env node
// novabox command line: `novabox serve` and friends.
import { Command, Option } from 'commander';
import { loadConfig, publicUrl, DEFAULT_PASSWORD, type Config } from './config.ts';
import { createNovabox } from './novabox.ts';

const program = new Command();
program.name('novabox').description('An OpenStack Compute (Nova) API that real OpenStack clients cannot tell apart from Nova');

program
  .command('serve')
  .description('start the identity, image and compute APIs on one port')
  .addOption(new Option('--host <host>', 'address to bind (default 127.0.0.1; env NOVABOX_HOST)'))
  .addOption(new Option('--port <port>', 'port to bind (default 8774; env NOVABOX_PORT)').argParser((v) => Number(v)))
  .addOption(new Option('--db <path>', "SQLite file or ':memory:' (default .novabox/novabox.db; env NOVABOX_DB)"))
  .addOption(new Option('--time-scale <n>', 'multiplies every simulated step duration; 0 = instant (env NOVABOX_TIME_SCALE)').argParser((v) => Number(v)))
  .addOption(new Option('--config <file>', 'YAML or JSON config file (env NOVABOX_CONFIG)'))
  .addOption(new Option('--log-level <level>', 'fatal, error, warn, info, debug, silent'))
  .addOption(new Option('--clock <kind>', "'manual': simulated steps wait for POST /novabox/v1/clock (env NOVABOX_CLOCK)").choices(['system', 'manual']))
  .addOption(new Option('--notifications <url>', "publish Nova's versioned notifications to this AMQP broker, e.g. amqp://guest:guest@127.0.0.1:5672/ (env NOVABOX_NOTIFICATIONS)"))
  .action(async (opts: { host?: string; port?: number; db?: string; timeScale?: number; config?: string; logLevel?: string; clock?: Config['clock']; notifications?: string }) => {
    const overrides: Partial<Config> & { config?: string } = {
      host: opts.host, port: opts.port, db: opts.db, time_scale: opts.timeScale, config: opts.config, log_level: opts.logLevel, clock: opts.clock, notifications: opts.notifications,
    };
    const config = loadConfig(overrides);
    const started = Date.now();
    const nb = await createNovabox(config, { start: false });
    const loopback = /^(127\.|::1$|localhost$)/.test(config.host);
    if (!loopback && config.seed.users.some((u) => u.password === DEFAULT_PASSWORD)) {
      console.warn(`WARNING: listening on ${config.host} with the default password '${DEFAULT_PASSWORD}' for seeded users; set NOVABOX_<USER>_PASSWORD or a config file`);
    }
    // Bind first: a second novabox that cannot have the port stops here, before its restart
    // recovery could touch the tasks of the one already running on the same database.
    try {
      await nb.app.listen({ host: config.host, port: config.port });
    } catch (err) {
      await nb.close().catch(() => undefined);
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') throw new Error(`novabox: ${config.host}:${config.port} is already in use (another novabox?); nothing was started or changed`);
      throw err;
    }
    await nb.start();
    const addr = nb.app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : config.port;
    if (config.port === 0) config.port = port;
    console.log(`novabox ready on ${publicUrl(config)} (db ${config.db}, time scale ${config.time_scale}${config.clock === 'manual' ? ', manual clock' : ''}) in ${Date.now() - started} ms`);
    console.log(`  identity ${publicUrl(config)}/identity/v3   compute ${publicUrl(config)}/compute/v2.1   image ${publicUrl(config)}/image`);
    const shutdown = async () => {
      await nb.close();
      process.exit(0);
    };
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
  });

program.parseAsync(process.argv).catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
