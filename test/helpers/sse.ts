// A small Server-Sent Events reader over fetch, for tests: collects events until told to stop.
export interface SseEvent {
  id: string | null;
  event: string;
  data: any;
}

export interface SseStream {
  events: SseEvent[];
  /** Resolves with the events once `until` accepts one (or rejects after `ms`). */
  waitFor(until: (e: SseEvent, all: SseEvent[]) => boolean, ms?: number): Promise<SseEvent[]>;
  close(): void;
  status: number;
}

export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
  const ctl = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: ctl.signal });
  const events: SseEvent[] = [];
  const waiters: { until: (e: SseEvent, all: SseEvent[]) => boolean; resolve: (v: SseEvent[]) => void }[] = [];
  const stream: SseStream = {
    events,
    status: res.status,
    waitFor(until, ms = 10000) {
      const hit = events.find((e) => until(e, events));
      if (hit) return Promise.resolve([...events]);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no matching event within ${ms} ms; got ${JSON.stringify(events.map((e) => e.data))}`)), ms);
        waiters.push({ until, resolve: (v) => { clearTimeout(t); resolve(v); } });
      });
    },
    close: () => ctl.abort(),
  };
  if (!res.ok || !res.body) return stream;
  void (async () => {
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true });
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let id: string | null = null;
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            const [k, ...rest] = line.split(':');
            const v = rest.join(':').replace(/^ /, '');
            if (k === 'id') id = v;
            else if (k === 'event') event = v;
            else if (k === 'data') data.push(v);
          }
          if (data.length === 0) continue;
          const e = { id, event, data: JSON.parse(data.join('\n')) };
          events.push(e);
          for (const w of [...waiters]) {
            if (w.until(e, events)) {
              waiters.splice(waiters.indexOf(w), 1);
              w.resolve([...events]);
            }
          }
        }
      }
    } catch {
      // aborted
    }
  })();
  return stream;
}
