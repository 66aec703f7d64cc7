// Placement across replicas: two `novabox serve` processes on one PostgreSQL database schedule builds
// onto one small compute host at the same time. Each claims room in the unit of work that places the
// server (the host's usage row locked until commit), so however the builds interleave, the host
// never holds more than it has; the builds that do not fit end in ERROR with NoValidHost, as in Nova.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPostgresDatabase } from '../helpers/postgres.ts';
import { call, token } from '../helpers/remote.ts';
import { serveReplica, stopReplicas, type Replica } from '../helpers/replicas.ts';

const IMAGE = '4fa04c19-09fa-51ff-9872-fac075d1145b';
/** m1.nano: 1 vCPU, 128 MB, 1 GB. */
const FLAVOR = '42';
const VCPUS = 4;
const BUILDS = 12;
const ROUNDS = 3;

test('two replicas building at once onto one small host never place more than it holds', { timeout: 240_000 }, async (t) => {
  const made = await createPostgresDatabase();
  if (!made) return t.skip('no PostgreSQL');
  const dir = mkdtempSync(join(tmpdir(), 'novabox-placement-'));
  const config = join(dir, 'novabox.json');
  // One host with room for VCPUS nano servers (no CPU overcommit); memory and disk leave plenty.
  writeFileSync(config, JSON.stringify({
    hosts: [{ name: 'compute-0', availability_zone: 'nova', vcpus: VCPUS, memory_mb: 65536, local_gb: 1000 }],
    cpu_allocation_ratio: 1,
    quota_defaults: { instances: 100, cores: 100, ram: 512000 },
  }));
  const replicas: Replica[] = [];
  try {
    for (let i = 0; i < 2; i++) replicas.push(await serveReplica(made.url, { args: ['--config', config, '--time-scale', '0'] }));
    const tokens = await Promise.all(replicas.map((r) => token(r.base)));
    const end = Date.now() + 180_000;
    const settled = async (ids: string[]) => {
      for (;;) {
        const res = await call(replicas[1].base, tokens[1], 'GET', '/servers/detail');
        assert.equal(res.status, 200);
        const views = ((await res.json()).servers as Record<string, any>[]).filter((s) => ids.includes(s.id));
        if (views.length === ids.length && views.every((s) => s.status !== 'BUILD' && s['OS-EXT-STS:task_state'] === null)) return views;
        assert.ok(Date.now() < end, `builds still running: ${views.map((s) => s.status).join(', ')}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    const gone = async (id: string) => {
      while ((await call(replicas[1].base, tokens[1], 'GET', `/servers/${id}`)).status !== 404) {
        assert.ok(Date.now() < end, 'the delete ends');
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    // A race is a matter of timing: several rounds, each filling the host from scratch.
    let active: Record<string, any>[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // Every build at once: a multi-create through each replica at the same moment, so both engines
      // schedule their builds side by side.
      const ids = (await Promise.all(replicas.map(async (r, i) => {
        const res = await call(r.base, tokens[i], 'POST', '/servers', { server: { name: `fit-${round}-${i}`, flavorRef: FLAVOR, imageRef: IMAGE, min_count: BUILDS / 2, max_count: BUILDS / 2, return_reservation_id: true } });
        assert.equal(res.status, 202, await res.clone().text());
        const rid = (await res.json()).reservation_id as string;
        const list = await call(r.base, tokens[i], 'GET', `/servers?reservation_id=${rid}`);
        return ((await list.json()).servers as { id: string }[]).map((s) => s.id);
      }))).flat();
      assert.equal(ids.length, BUILDS);
      const views = await settled(ids);
      active = views.filter((s) => s.status === 'ACTIVE');
      assert.equal(active.length, VCPUS, `round ${round}: exactly the host's ${VCPUS} vCPUs are placed: ${views.map((s) => s.status).join(', ')}`);
      for (const s of views.filter((v) => v.status !== 'ACTIVE')) {
        assert.equal(s.status, 'ERROR');
        assert.match(s.fault?.message ?? '', /No valid host/);
      }
      if (round === ROUNDS - 1) break;
      for (const id of ids) assert.equal((await call(replicas[round % 2].base, tokens[round % 2], 'DELETE', `/servers/${id}`)).status, 204);
      for (const id of ids) await gone(id);
    }

    // What placement says agrees with the servers: the hypervisor counts what is on it, no more.
    const admin = await token(replicas[0].base, 'admin');
    const hv = await call(replicas[0].base, admin, 'GET', '/os-hypervisors/detail');
    assert.equal(hv.status, 200);
    const [node] = (await hv.json()).hypervisors as { vcpus_used: number; running_vms: number }[];
    assert.equal(node.vcpus_used, VCPUS);

    // Deleting one frees its room for the next build, through the other replica.
    assert.equal((await call(replicas[0].base, tokens[0], 'DELETE', `/servers/${active[0].id}`)).status, 204);
    await gone(active[0].id);
    const res = await call(replicas[1].base, tokens[1], 'POST', '/servers', { server: { name: 'fit-again', flavorRef: FLAVOR, imageRef: IMAGE } });
    assert.equal(res.status, 202);
    const again = (await res.json()).server.id as string;
    for (;;) {
      const s = (await (await call(replicas[0].base, tokens[0], 'GET', `/servers/${again}`)).json()).server;
      if (s.status !== 'BUILD') {
        assert.equal(s.status, 'ACTIVE', JSON.stringify(s.fault ?? {}));
        break;
      }
      assert.ok(Date.now() < end, 'the build after a delete ends');
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await stopReplicas(replicas);
    await made.drop();
    rmSync(dir, { recursive: true, force: true });
  }
});
