// The baseline: a bare Fastify route answering GET /item with a fixed JSON object, run as a child
// process like novabox. `node --import tsx bench/baseline.ts <body-file> <port>`; prints "ready".
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';

const [bodyFile, port] = process.argv.slice(2);
// Parsed, so Fastify serializes it on every request exactly as novabox serializes its views.
const body = JSON.parse(readFileSync(bodyFile, 'utf8')) as unknown;
const app = Fastify({ logger: false });
app.get('/item', async () => body);
await app.listen({ host: '127.0.0.1', port: Number(port) });
console.log('ready');
