// Nova's versioned notifications published on the real RabbitMQ (127.0.0.1:5672), consumed the way
// an operator's tool binds to them, and checked against what Nova sends for a create and a delete.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import amqp from 'amqplib';
import { startNovabox, type TestNovabox } from '../helpers/novabox.ts';
import { CREATE_THEN_DELETE, NOTIFICATION_TIME, OSLO_TIMESTAMP, PAYLOADS } from '../fixtures/nova-notifications.ts';

const URL = process.env.NOVABOX_TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672/';
const REQUIRED = process.env.NOVABOX_TEST_AMQP_REQUIRED === '1';

let conn: amqp.ChannelModel | null = null;
let skip: string | false = false;
try {
  conn = await amqp.connect(URL, { timeout: 3000 });
} catch (e) {
  if (REQUIRED) throw new Error(`RabbitMQ is required (NOVABOX_TEST_AMQP_REQUIRED=1) but ${URL} is unreachable: ${e instanceof Error ? e.message : e}`);
  skip = `RabbitMQ is not reachable at ${URL}`;
}

interface Received {
  routingKey: string;
  exchange: string;
  contentType: string | undefined;
  envelope: Record<string, unknown>;
  message: Record<string, any>;
}

let nb: TestNovabox;
const received: Received[] = [];
before(async () => {
  if (skip || !conn) return;
  const ch = await conn.createChannel();
  await ch.assertExchange('nova', 'topic', { durable: false, autoDelete: false });
  const q = await ch.assertQueue('', { exclusive: true, autoDelete: true });
  await ch.bindQueue(q.queue, 'nova', 'versioned_notifications.*');
  await ch.consume(q.queue, (m) => {
    if (!m) return;
    const envelope = JSON.parse(m.content.toString('utf8'));
    received.push({ routingKey: m.fields.routingKey, exchange: m.fields.exchange, contentType: m.properties.contentType, envelope, message: JSON.parse(envelope['oslo.message']) });
  }, { noAck: true });
  nb = await startNovabox({ notifications: URL });
});
after(async () => {
  await nb?.close();
  if (conn) {
    // The default queues oslo.messaging declares (and we with it) would keep filling up otherwise.
    const ch = await conn.createChannel();
    for (const q of ['versioned_notifications.info', 'versioned_notifications.error']) await ch.deleteQueue(q).catch(() => undefined);
    await conn.close();
  }
});

async function waitFor(pred: () => boolean, ms = 10000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out; received ${JSON.stringify(received.map((r) => r.message.event_type))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('a create and a delete publish what Nova publishes, in order', { skip }, async () => {
  const headers = await nb.headers('demo');
  const r = await nb.app.inject({ method: 'POST', url: '/compute/v2.1/servers', headers, payload: { server: { name: 'notified', imageRef: '4fa04c19-09fa-51ff-9872-fac075d1145b', flavorRef: '42', metadata: { role: 'web' } } } });
  assert.equal(r.statusCode, 202, r.body);
  const id = r.json().server.id;
  const createReq = String(r.headers['x-openstack-request-id']);
  await nb.services.engine.settle();
  const d = await nb.app.inject({ method: 'DELETE', url: `/compute/v2.1/servers/${id}`, headers });
  assert.equal(d.statusCode, 204);
  await nb.services.engine.settle();
  await nb.services.notifier!.flushed();
  const mine = () => received.filter((m) => m.message.payload['nova_object.data'].uuid === id);
  await waitFor(() => mine().some((m) => m.message.event_type === 'instance.delete.end'));

  const got = mine();
  assert.deepEqual(got.map((m) => m.message.event_type), CREATE_THEN_DELETE.map((e) => e.event_type));
  for (const [i, want] of CREATE_THEN_DELETE.entries()) {
    const m = got[i];
    const at = want.event_type;
    // oslo.messaging's envelope on the nova topic exchange
    assert.equal(m.exchange, 'nova', at);
    assert.equal(m.routingKey, `versioned_notifications.${want.priority.toLowerCase()}`, at);
    assert.equal(m.contentType, 'application/json', at);
    assert.deepEqual(Object.keys(m.envelope).sort(), ['oslo.message', 'oslo.version'], at);
    assert.equal(m.envelope['oslo.version'], '2.0', at);
    const msg = m.message;
    assert.match(msg.message_id, /^[0-9a-f-]{36}$/, at);
    assert.match(msg.timestamp, OSLO_TIMESTAMP, at);
    assert.equal(msg.priority, want.priority, at);
    assert.match(msg.publisher_id, want.publisher, at);
    // the versioned payload
    const p = msg.payload;
    assert.equal(p['nova_object.name'], want.payload, at);
    assert.equal(p['nova_object.namespace'], 'nova', at);
    assert.equal(p['nova_object.version'], PAYLOADS[want.payload].version, at);
    const data = p['nova_object.data'];
    assert.deepEqual(Object.keys(data).sort(), [...PAYLOADS[want.payload].fields].sort(), at);
    for (const [k, v] of Object.entries(want.data)) {
      if (v === 'non-null') assert.notEqual(data[k], null, `${at} ${k}`);
      else if (v === 'non-empty') assert.ok(Array.isArray(data[k]) && data[k].length > 0, `${at} ${k}`);
      else if (v === 'empty') assert.deepEqual(data[k], [], `${at} ${k}`);
      else assert.equal(data[k], v, `${at} ${k}`);
    }
    assert.equal(data.uuid, id);
    assert.equal(data.display_name, 'notified');
    assert.equal(data.tenant_id, nb.projectId('demo'));
    assert.deepEqual(data.metadata, { role: 'web' });
    assert.equal(data.image_uuid, '4fa04c19-09fa-51ff-9872-fac075d1145b');
    assert.match(data.created_at, NOTIFICATION_TIME);
    for (const k of ['launched_at', 'deleted_at', 'terminated_at', 'updated_at']) if (data[k] !== null) assert.match(data[k], NOTIFICATION_TIME, `${at} ${k}`);
    const flavor = data.flavor;
    assert.equal(flavor['nova_object.name'], 'FlavorPayload');
    assert.equal(flavor['nova_object.version'], PAYLOADS.FlavorPayload.version);
    assert.deepEqual(Object.keys(flavor['nova_object.data']).sort(), [...PAYLOADS.FlavorPayload.fields].sort());
    assert.equal(flavor['nova_object.data'].flavorid, '42');
    for (const ip of data.ip_addresses) {
      assert.equal(ip['nova_object.name'], 'IpPayload');
      assert.deepEqual(Object.keys(ip['nova_object.data']).sort(), [...PAYLOADS.IpPayload.fields].sort());
    }
    if (at.startsWith('instance.create')) {
      assert.equal(data.request_id, createReq, at);
      assert.match(data.instance_name, /^instance-[0-9a-f]{8}$/);
    }
  }
});

test('off by default: nothing is published without --notifications', { skip }, async () => {
  const quiet = await startNovabox();
  try {
    assert.equal(quiet.services.notifier, null);
  } finally {
    await quiet.close();
  }
});
