// Service heartbeats as Nova's servicegroup DB driver sees them: a running service writes its
// updated_at every report_interval seconds; the API calls it down when the last report is older than
// service_down_time (or it is forced down). novabox computes the reports from the clock instead of
// writing them: a host that is up has reported at every interval since its row was last written;
// one that was taken down keeps the time it stopped.

export interface Heartbeat {
  /** ms; when the service last reported. */
  updated_at: number;
  state: 'up' | 'down';
}

export interface HeartbeatConfig {
  /** seconds */
  report_interval: number;
  /** seconds */
  service_down_time: number;
}

/** The last report at or before `now` of a service reporting every `interval` ms since `since`. */
export function lastReport(since: number, now: number, interval: number): number {
  if (now <= since || interval <= 0) return since;
  return since + Math.floor((now - since) / interval) * interval;
}

/** A service's heartbeat now: reporting since `since` while `reporting`, frozen at `since` otherwise. */
export function heartbeat(s: { since: number; reporting: boolean; forced_down: boolean }, now: number, cfg: HeartbeatConfig): Heartbeat {
  const updated_at = s.reporting ? lastReport(s.since, now, cfg.report_interval * 1000) : s.since;
  const stale = now - updated_at > cfg.service_down_time * 1000;
  return { updated_at, state: s.forced_down || stale ? 'down' : 'up' };
}
