// Back to the seed: every server, image, user, project, token and setting made since the first start
// is gone, the seeds run again and the timers restart. Used by POST /novabox/v1/reset and, before
// the engines start, by `serve --reset`.
import { seedCloud, type Services } from './novabox.ts';
import { wipe } from './store/maintenance.ts';

export interface ResetSummary { tables: number; rows: number }

/** `running: false` when the engines have not been started yet (serve --reset): they are left stopped. */
export async function resetCloud(svc: Services, opts: { running: boolean } = { running: true }): Promise<ResetSummary> {
  if (opts.running) {
    await svc.engine.stop();
    await svc.volumes.stop();
  }
  let summary: ResetSummary;
  try {
    summary = await wipe(svc.db, svc.sql);
    svc.identity.changed();
    svc.driver.clearFaults();
    svc.driver.setTimeScale(svc.config.time_scale);
    svc.driver.setTimings(svc.config.timings);
    await seedCloud(svc);
  } finally {
    if (opts.running) {
      await svc.engine.start();
      await svc.volumes.start();
    }
  }
  svc.engine.events.safeEmit('reset', { kind: 'reset', time: svc.clock.now() });
  svc.log.info({ event: 'reset' }, `reset to the seed: ${summary.rows} rows removed from ${summary.tables} tables`);
  return summary;
}
