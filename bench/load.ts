// Load generation, in the bench's own process: autocannon for request/response scenarios, and
// closed-loop workers for "do something, then poll until the server reaches a status".
import autocannon from 'autocannon';

export interface LoadFigures {
  connections: number;
  requests: number;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  mean_ms: number;
  errors: number;
}

/** Runs autocannon for `duration` seconds over `paths` (round robin), all expected to answer 2xx. */
export async function cannon(base: string, paths: string[], opts: { connections: number; duration: number; headers?: Record<string, string> }): Promise<LoadFigures> {
  let next = 0;
  const r = await autocannon({
    url: base,
    connections: opts.connections,
    duration: opts.duration,
    timeout: 60,
    requests: [{
      method: 'GET',
      headers: opts.headers,
      setupRequest: (req: { path: string }) => {
        req.path = paths[next++ % paths.length];
        return req;
      },
    }],
  });
  const total = r['2xx'] + r.non2xx;
  return {
    connections: opts.connections,
    requests: total,
    rps: round(total / r.duration),
    p50_ms: r.latency.p50,
    p99_ms: r.latency.p99,
    mean_ms: round(r.latency.average, 2),
    errors: r.non2xx + r.errors + r.timeouts,
  };
}

export function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export interface RoundTripFigures {
  connections: number;
  count: number;
  per_second: number;
  p50_ms: number;
  p99_ms: number;
  mean_ms: number;
  /** Status polls per round trip, on average (GET /servers/{id} until the status arrives). */
  polls: number;
}

export function summarize(connections: number, samples: number[], seconds: number, polls: number): RoundTripFigures {
  const s = [...samples].sort((a, b) => a - b);
  return {
    connections,
    count: s.length,
    per_second: round(s.length / seconds),
    p50_ms: round(percentile(s, 50), 2),
    p99_ms: round(percentile(s, 99), 2),
    mean_ms: round(s.reduce((a, b) => a + b, 0) / (s.length || 1), 2),
    polls: round(polls / (s.length || 1), 2),
  };
}

/** A tiny JSON client on fetch (keep-alive), failing loudly on an unexpected status. */
export class Client {
  constructor(readonly base: string, private readonly token: string) {}

  async call(method: string, path: string, body?: unknown, expect: number[] = [200]): Promise<any> {
    const res = await fetch(this.base + path, {
      method,
      headers: { 'x-auth-token': this.token, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!expect.includes(res.status)) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
    return text ? JSON.parse(text) : null;
  }

  /** Polls GET /servers/{id} until `status`; returns the number of polls. ERROR ends it with an error. */
  async waitStatus(uuid: string, status: string, timeoutMs = 30000): Promise<number> {
    const until = performance.now() + timeoutMs;
    for (let polls = 1; ; polls++) {
      const s = (await this.call('GET', `/compute/v2.1/servers/${uuid}`)).server;
      if (s.status === status) return polls;
      if (s.status === 'ERROR') throw new Error(`server ${uuid} went to ERROR waiting for ${status}`);
      if (performance.now() > until) throw new Error(`server ${uuid} still ${s.status} after ${timeoutMs} ms waiting for ${status}`);
    }
  }
}

/**
 * Closed loop: `connections` workers each repeat `op` until `seconds` have passed (or `maxOps` in
 * all); each op returns its measured samples (ms) and the polls it made.
 */
export async function closedLoop(
  connections: number, seconds: number, maxOps: number,
  op: (worker: number) => Promise<{ samples: number[]; polls: number }>,
): Promise<{ samples: number[]; polls: number; seconds: number }> {
  const samples: number[] = [];
  let polls = 0;
  let started = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  await Promise.all(Array.from({ length: connections }, async (_, w) => {
    while (performance.now() < end && started < maxOps) {
      started++;
      const r = await op(w);
      samples.push(...r.samples);
      polls += r.polls;
    }
  }));
  return { samples, polls, seconds: (performance.now() - t0) / 1000 };
}

/**
 * Soft reboots posted at `perSecond` to `servers` (round robin) until stop() is called; stop()
 * resolves with how many were accepted (202, or any of `counted`) and for how long it ran.
 */
export function paceActions(base: string, token: string, servers: () => string, perSecond: number, counted: number[] = [202]): { stop(): Promise<{ accepted: number; ms: number }> } {
  let acting = true;
  let accepted = 0;
  const t0 = performance.now();
  const actor = (async () => {
    for (let i = 0; acting; i++) {
      const wait = t0 + (i * 1000) / perSecond - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (!acting) break;
      const res = await fetch(`${base}/compute/v2.1/servers/${servers()}/action`, {
        method: 'POST', headers: { 'x-auth-token': token, 'content-type': 'application/json' }, body: JSON.stringify({ reboot: { type: 'SOFT' } }),
      });
      await res.arrayBuffer();
      if (counted.includes(res.status)) accepted++;
    }
  })();
  return {
    async stop() {
      acting = false;
      await actor;
      return { accepted, ms: performance.now() - t0 };
    },
  };
}

/**
 * A burst of `builds` builds: multi-creates of 100, four at a time, while a probe reads `probePath`
 * every 5 ms; resolves once no server is in BUILD, with the probe's waits (ms, in order) and the seconds taken.
 */
export async function buildBurst(demo: Client, builds: number, image: string, probePath: string): Promise<{ probeMs: number[]; seconds: number; acceptedSeconds: number }> {
  const probeMs: number[] = [];
  let probing = true;
  const probe = (async () => {
    while (probing) {
      const t = performance.now();
      await demo.call('GET', probePath);
      probeMs.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  const tb = performance.now();
  let sent = 0;
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (sent < builds) {
      const count = Math.min(100, builds - sent);
      sent += count;
      await demo.call('POST', '/compute/v2.1/servers', { server: { name: `burst-${sent}`, flavorRef: '42', imageRef: image, min_count: count, max_count: count } }, [202]);
    }
  }));
  const acceptedSeconds = (performance.now() - tb) / 1000;
  for (;;) {
    const building = await demo.call('GET', '/compute/v2.1/servers?status=BUILD&limit=1');
    if (building.servers.length === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const seconds = (performance.now() - tb) / 1000;
  probing = false;
  await probe;
  return { probeMs, seconds, acceptedSeconds };
}
