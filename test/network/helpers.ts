// Drives the networking API of an in-memory novabox: `call(user, method, path, body)` answers the
// status and parsed body of /networking/v2.0{path}.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { startNovabox, type TestNovabox } from '../helpers/novabox.ts';

export interface NetApi {
  nb: TestNovabox;
  call(user: string, method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

export async function startNetApi(): Promise<NetApi> {
  const nb = await startNovabox();
  return {
    nb,
    async call(user, method, path, body, headers = {}) {
      const res = await nb.app.inject({
        method: method as 'GET',
        url: `/networking/v2.0${path}`,
        headers: { ...(await nb.headers(user)), ...headers },
        ...(body === undefined ? {} : { payload: body as object }),
      });
      return { status: res.statusCode, body: res.body ? res.json() : null };
    },
    close: () => nb.close(),
  };
}

/** One networking API for the file's tests: started before them, closed after. */
export function useNetApi(): { readonly api: NetApi } {
  const holder = {} as { api: NetApi };
  before(async () => {
    holder.api = await startNetApi();
  });
  after(async () => holder.api.close());
  return holder;
}

/** Asserts a Neutron fault: status, {"NeutronError": {type, message, detail}}. */
export function fault(r: { status: number; body: any }, status: number, type: string): void {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(r.body.NeutronError.type, type, JSON.stringify(r.body));
  assert.equal(typeof r.body.NeutronError.message, 'string');
  assert.equal(r.body.NeutronError.detail, '');
}
