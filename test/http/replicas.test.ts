// Three `novabox serve` replicas on one PostgreSQL database: builds and actions go through one,
// it is SIGKILLed with them in flight, and through the other two every server settles — none
// lost, none in ERROR because of the kill — and both list the same servers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPostgresDatabase } from '../helpers/postgres.ts';
import { call, token } from '../helpers/remote.ts';
import { serveReplica, stopReplicas, type Replica } from '../helpers/replicas.ts';

const IMAGE = '4fa04c19-09fa-51ff-9872-fac075d1145b';
const serve = (db: string): Promise<Replica> => serveReplica(db, { env: { NOVABOX_TASK_LEASE_MS: '1000' }, args: ['--time-scale', '2'] });

async function servers(base: string, tok: string): Promise<Record<string, any>[]> {
  const res = await call(base, tok, 'GET', '/servers/detail');
  assert.equal(res.status, 200);
  return (await res.json()).servers;
}

test('three replicas on one PostgreSQL database: a SIGKILLed replica’s builds and actions are finished by the others', { timeout: 240_000 }, async (t) => {
  const made = await createPostgresDatabase();
  if (!made) return t.skip('no PostgreSQL');
  const replicas: Replica[] = [];
  try {
    for (let i = 0; i < 3; i++) replicas.push(await serve(made.url));
    const [doomed, ...rest] = replicas;
    const tok = await token(doomed.base);
    const create = async (name: string) => {
      const res = await call(doomed.base, tok, 'POST', '/servers', { server: { name, flavorRef: '42', imageRef: IMAGE } });
      assert.equal(res.status, 202, await res.clone().text());
      return (await res.json()).server.id as string;
    };
    const first = [await create('early-1'), await create('early-2')];
    const end = Date.now() + 60_000;
    while ((await servers(doomed.base, tok)).filter((s) => first.includes(s.id) && s.status === 'ACTIVE').length < 2) {
      assert.ok(Date.now() < end, 'the first builds end ACTIVE');
      await new Promise((r) => setTimeout(r, 200));
    }
    const ids = [...first];
    for (let i = 1; i <= 6; i++) ids.push(await create(`late-${i}`));
    assert.equal((await call(doomed.base, tok, 'POST', `/servers/${first[0]}/action`, { reboot: { type: 'HARD' } })).status, 202);
    assert.equal((await call(doomed.base, tok, 'POST', `/servers/${first[1]}/action`, { 'os-stop': null })).status, 202);
    doomed.child.kill('SIGKILL');
    await new Promise((r) => doomed.child.once('exit', r));

    const settle = Date.now() + 120_000;
    for (;;) {
      const views = await Promise.all(rest.map((r) => servers(r.base, tok)));
      const mine = views.map((v) => v.filter((s) => ids.includes(s.id)));
      const done = mine.every((v) => v.length === ids.length && v.every((s) => s['OS-EXT-STS:task_state'] === null && s.status !== 'BUILD'));
      if (done) {
        for (const v of mine) {
          const by = new Map(v.map((s) => [s.id, s.status]));
          for (const id of ids) assert.equal(by.get(id), id === first[1] ? 'SHUTOFF' : 'ACTIVE', `${id} finished, not ERROR`);
        }
        assert.deepEqual(views[0].map((s) => s.id).sort(), views[1].map((s) => s.id).sort(), 'every replica lists the same servers');
        break;
      }
      assert.ok(Date.now() < settle, `still in flight: ${mine[0].map((s) => `${s.name} ${s.status}/${s['OS-EXT-STS:task_state']}`).join(', ')}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await stopReplicas(replicas);
    await made.drop();
  }
});
