// Seeds a throw-away PostgreSQL database with N servers in one set-based INSERT … SELECT over
// generate_series. novabox itself creates the schema (its migrations) and the seed data (projects,
// users, flavors, images); the servers are shaped as bench/seed.ts shapes them on SQLite: the same
// settled states and shares, projects and shares, flavors, hosts and per-server addresses, with a
// fault row for every ERROR server. Only the metadata and tags that seed.ts puts on every 10th and
// 20th server are left out (their rows would need a second pass).
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../src/config.ts';
import { createNovabox } from '../src/novabox.ts';
import { SEED_IMAGES } from '../src/api/image/model.ts';
import { docOf } from '../src/store/server-rows.ts';
import type { FlavorSnapshot, ServerRecord } from '../src/domain/server.ts';
import { fleetOwners, HOSTS, PROJECTS, STATES, type SeedResult } from './seed.ts';

/** Per mille ranges of a share table, as SQL: `CASE WHEN x < 600 THEN 0 WHEN … END`. */
function shareCase<T>(table: T[], share: (t: T) => number, x: string): string {
  let acc = 0;
  const arms = table.map((t, i) => {
    acc += share(t);
    return `WHEN ${x} < ${acc} THEN ${i}`;
  });
  return `CASE ${arms.join(' ')} ELSE ${table.length - 1} END`;
}

export async function seedPostgres(url: string, n: number, log: (msg: string) => void = () => undefined): Promise<SeedResult> {
  const t0 = performance.now();
  const config = loadConfig({ db: url, time_scale: 0, log_level: 'silent', port: 0 }, {});
  const nb = await createNovabox(config, { start: false });
  try {
    const { sql } = nb.services;
    const { projectId, userId, flavors } = await fleetOwners(nb);

    // One doc per (state, flavor), with placeholders for the per-server addresses.
    const templates: Record<string, unknown>[] = [];
    STATES.forEach((st, si) => flavors.forEach((flavor: FlavorSnapshot, fi) => {
      const doc = {
        flavor, old_flavor: null, new_flavor: null, image_properties: { os_distro: 'cirros' }, key_data: null, user_data: null,
        metadata: {}, system_metadata: st.vm_state === 'stopped' ? { old_vm_state: 'active' } : {}, tags: [],
        addresses: [
          { network: 'private', version: 4, addr: '@V4@', mac: '@MAC@', type: 'fixed' },
          { network: 'private', version: 6, addr: '@V6@', mac: '@MAC@', type: 'fixed' },
        ],
        security_groups: ['default'], block_device_mapping: [], scheduler_hints: {}, trusted_image_certificates: null,
        locked_reason: null, pinned_availability_zone: null,
      } as unknown as ServerRecord;
      templates.push({ st: si, fl: fi, vm_state: st.vm_state, power_state: st.power_state, has_host: st.vm_state === 'shelved_offloaded' ? 0 : 1, flavor_id: flavor.id, vcpus: flavor.vcpus, memory_mb: flavor.memory_mb, doc: docOf(doc) });
    }));
    const projects = PROJECTS.map(([name]) => projectId.get(name)!);
    const users = PROJECTS.map(([name]) => userId.get(name === 'admin' ? 'admin' : 'demo') ?? 'bench');

    const first = Number((await sql.get<{ m: number }>('SELECT COALESCE(MAX(id), 0) AS m FROM servers'))!.m) + 1;
    const base = Date.now() - n * 10 - 60_000;
    const salt = randomUUID();
    // Two well-mixed per-mille draws per row (project, state), as seed.ts picks on SQLite.
    const draw = (k: string) => `(('x' || substr(md5(g::text || '${k}'), 1, 8))::bit(32)::bigint % 1000)`;
    const insert = `
      WITH tpl AS (SELECT * FROM json_to_recordset(?::json) AS t(st int, fl int, vm_state text, power_state int, has_host int, flavor_id bigint, vcpus int, memory_mb int, doc text)),
      rows AS (
        SELECT g, ${first} + g AS id, (${first} + g + 1) AS a,
               ${shareCase(PROJECTS, (p) => p[1], draw('p'))} AS pi,
               ${shareCase(STATES, (s) => s.share, draw('s'))} AS si,
               g % ${flavors.length} AS fi
        FROM generate_series(0, ? - 1) AS g
      )
      INSERT INTO servers (id, uuid, project_id, user_id, display_name, display_description, hostname, vm_state, task_state, power_state,
        host, node, availability_zone, image_ref, instance_type_id, vcpus, memory_mb, key_name, reservation_id, launch_index, locked,
        locked_by, access_ip_v4, access_ip_v6, config_drive, auto_disk_config, progress, created_at, updated_at, launched_at,
        terminated_at, deleted_at, deleted, doc)
      SELECT r.id, md5(?::text || r.g::text)::uuid::text, (?::json ->> r.pi), (?::json ->> r.pi), 'srv-' || r.g, NULL, 'srv-' || r.g,
        t.vm_state, NULL, t.power_state,
        CASE WHEN t.has_host = 1 THEN (?::json ->> (r.g % ${HOSTS.length})::int) END, CASE WHEN t.has_host = 1 THEN (?::json ->> (r.g % ${HOSTS.length})::int) END,
        NULL, ?, t.flavor_id, t.vcpus, t.memory_mb, NULL, 'r-' || lpad(to_hex(r.id), 8, '0'), 0, 0,
        NULL, '', '', '', 0, 0, ?::bigint + r.g * 10, ?::bigint + r.g * 10 + 5, CASE WHEN t.has_host = 1 THEN ?::bigint + r.g * 10 + 5 END,
        NULL, NULL, 0,
        replace(replace(replace(t.doc, '@V4@', '10.' || ((r.a >> 16) & 255) || '.' || ((r.a >> 8) & 255) || '.' || (r.a & 255)),
          '@V6@', 'fd00:10::' || to_hex(r.a)),
          '@MAC@', 'fa:16:3e:' || lpad(to_hex((r.a >> 16) & 255), 2, '0') || ':' || lpad(to_hex((r.a >> 8) & 255), 2, '0') || ':' || lpad(to_hex(r.a & 255), 2, '0'))
      FROM rows r JOIN tpl t ON t.st = r.si AND t.fl = r.fi`;
    const s0 = performance.now();
    const CHUNK = 250_000;
    for (let start = 0; start < n; start += CHUNK) {
      const count = Math.min(CHUNK, n - start);
      // generate_series restarts at 0 per chunk: shift it by `start` through the ids and names.
      const chunkSql = insert.replace('generate_series(0, ? - 1) AS g', `generate_series(${start}, ${start} + ? - 1) AS g`);
      await sql.run(chunkSql, [
        JSON.stringify(templates), count, salt, JSON.stringify(projects), JSON.stringify(users),
        JSON.stringify(HOSTS), JSON.stringify(HOSTS), SEED_IMAGES[0].id, base, base, base,
      ]);
      log(`  seeded ${start + count} servers`);
    }
    await sql.run("INSERT INTO server_ips (server_id, address, version) SELECT id, '10.' || (((id + 1) >> 16) & 255) || '.' || (((id + 1) >> 8) & 255) || '.' || ((id + 1) & 255), 4 FROM servers WHERE id >= ?", [first]);
    await sql.run("INSERT INTO instance_faults (server_uuid, code, message, details, host, created_at) SELECT uuid, 500, 'No valid host was found. ', '', NULL, ?::bigint FROM servers WHERE vm_state = 'error' AND id >= ?", [base, first]);
    await sql.run("SELECT setval(pg_get_serial_sequence('servers', 'id'), (SELECT MAX(id) FROM servers))");
    await sql.run('ANALYZE');
    const seed_ms = performance.now() - s0;

    // What the scenarios need: a sample of demo servers, a SHUTOFF name, the middle of the ACTIVE lists.
    const demo = projectId.get('demo')!;
    const demoSample = (await sql.all<{ uuid: string }>('SELECT uuid FROM servers WHERE project_id = ? AND id % 7 = 0 ORDER BY id LIMIT 1000', [demo])).map((r) => r.uuid);
    const middle = async (project: string | null) => {
      const where = project ? 'project_id = ? AND ' : '';
      const params = project ? [project] : [];
      const c = Number((await sql.get<{ c: number }>(`SELECT COUNT(*) AS c FROM servers WHERE ${where}deleted = 0 AND vm_state = 'active'`, params))!.c);
      return (await sql.get<{ uuid: string }>(`SELECT uuid FROM servers WHERE ${where}deleted = 0 AND vm_state = 'active' ORDER BY created_at DESC, id DESC OFFSET ? LIMIT 1`, [...params, Math.floor(c / 2)]))?.uuid ?? '';
    };
    const shutoff = await sql.get<{ display_name: string }>("SELECT display_name FROM servers WHERE project_id = ? AND vm_state = 'stopped' ORDER BY id DESC LIMIT 1", [demo]);
    const counts: Record<string, number> = {};
    for (const r of await sql.all<{ vm_state: string; c: number }>('SELECT vm_state, COUNT(*) AS c FROM servers WHERE id >= ? GROUP BY vm_state', [first])) {
      counts[STATES.find((s) => s.vm_state === r.vm_state)?.status ?? r.vm_state] = Number(r.c);
    }
    return {
      servers: n, seed_ms, total_ms: performance.now() - t0,
      demo_sample: demoSample, shutoff_name: shutoff?.display_name ?? '',
      demo_active_middle: await middle(demo), all_active_middle: await middle(null), counts,
    };
  } finally {
    await nb.close();
  }
}
