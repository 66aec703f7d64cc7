// Service heartbeats as a client of os-services sees them: updated_at moves every report_interval
// (10 s) with the clock; a compute host taken down stops moving, stays `up` for service_down_time
// (60 s) and is `down` after it; back up, it reports again at once.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { lastReport } from '../../src/domain/heartbeat.ts';
import { ManualClock } from '../../src/engine/clock.ts';
import { startNovabox, type TestNovabox } from '../helpers/novabox.ts';

interface Service { binary: string; host: string; state: string; updated_at: string }

describe('heartbeats', () => {
  let nb: TestNovabox;
  const clock = new ManualClock(Date.UTC(2026, 0, 1, 12, 0, 3));
  before(async () => { nb = await startNovabox({}, { clock }); });
  after(() => nb.close());

  const services = async (): Promise<Service[]> => {
    const r = await nb.app.inject({ method: 'GET', url: '/compute/v2.1/os-services', headers: await nb.headers('admin') });
    assert.equal(r.statusCode, 200, r.body);
    return r.json().services;
  };
  const compute = async (host: string) => (await services()).find((s) => s.binary === 'nova-compute' && s.host === host)!;
  const t = (s: Service) => Date.parse(`${s.updated_at}Z`);
  const tick = async (ms: number) => {
    clock.advance(ms);
    await nb.services.engine.settle();
  };

  it('every service reports every 10 s: updated_at moves in 10 s steps, never ahead of the clock', async () => {
    const first = await services();
    assert.ok(first.length >= 3);
    await tick(4_000);
    const mid = await services();
    await tick(10_000);
    const later = await services();
    for (let i = 0; i < first.length; i++) {
      assert.ok(t(later[i]) <= clock.now(), later[i].updated_at);
      assert.ok(clock.now() - t(later[i]) < 10_000, `${later[i].binary}@${later[i].host} reported within the last interval`);
      assert.equal(t(later[i]) - t(mid[i]), 10_000, `${later[i].binary}@${later[i].host} moved one interval`);
      assert.equal(later[i].state, 'up');
    }
  });

  it('a host taken down stops reporting; it is down once 60 s have passed without a report; back up, it reports at once', async () => {
    const admin = await nb.headers('admin');
    const down = await nb.app.inject({ method: 'PUT', url: '/novabox/v1/hosts/compute-1', headers: admin, payload: { up: false } });
    assert.equal(down.statusCode, 200, down.body);
    const frozen = await compute('compute-1');
    assert.equal(frozen.state, 'up');
    await tick(30_000);
    assert.equal((await compute('compute-1')).updated_at, frozen.updated_at);
    assert.equal((await compute('compute-1')).state, 'up');
    assert.notEqual((await compute('compute-0')).updated_at, frozen.updated_at);
    await tick(31_000);
    const stale = await compute('compute-1');
    assert.equal(stale.updated_at, frozen.updated_at);
    assert.equal(stale.state, 'down');
    assert.equal((await compute('compute-0')).state, 'up');
    // The hypervisor view agrees.
    const hv = await nb.app.inject({ method: 'GET', url: '/compute/v2.1/os-hypervisors', headers: admin });
    assert.equal(hv.json().hypervisors.find((h: { hypervisor_hostname: string }) => h.hypervisor_hostname === 'compute-1').state, 'down');

    await nb.app.inject({ method: 'PUT', url: '/novabox/v1/hosts/compute-1', headers: admin, payload: { up: true } });
    const back = await compute('compute-1');
    assert.equal(back.state, 'up');
    assert.equal(t(back), clock.now());
    await tick(25_000);
    assert.equal(t(await compute('compute-1')), clock.now() - 5_000);
  });

  it('lastReport is the last multiple of the interval since the start, never in the future', () => {
    assert.equal(lastReport(1000, 1000, 10_000), 1000);
    assert.equal(lastReport(1000, 10_999, 10_000), 1000);
    assert.equal(lastReport(1000, 11_000, 10_000), 11_000);
    assert.equal(lastReport(1000, 500, 10_000), 1000);
  });
});
