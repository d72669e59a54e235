/**
 * How the HTTP client classifies failures, against a local HTTP server that answers as scripted: the statuses
 * a real registry rarely produces on demand (5xx, a proxy's HTML). The real registry's own answers are covered
 * by integration/tests/schema-registry.test.ts.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { IncompatibleSchemaError, SchemaRegistryError } from './errors.ts';
import { ConfluentRegistryClient } from './registry.ts';

type Reply = { status: number; body: string };
const replies = new Map<string, Reply>(); // "METHOD path" → reply
const requests: string[] = [];
let server: Server;
let base: string;

function reply(method: string, path: string, status: number, body: unknown) {
  replies.set(`${method} ${path}`, { status, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

before(async () => {
  server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const key = `${request.method} ${request.url}`;
    requests.push(key);
    const found = replies.get(key) ?? { status: 404, body: '{"error_code":404,"message":"HTTP 404 Not Found"}' };
    response.writeHead(found.status, { 'content-type': 'application/json' }).end(found.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
});

after(() => new Promise<void>((resolve) => server.close(() => resolve())));

test('a 5xx names the URL, subject and status and is retriable', async () => {
  reply('POST', '/api/subjects/orders-value/versions', 503, { error_code: 50003, message: 'forwarding failed' });
  const client = new ConfluentRegistryClient({ url: `${base}/` });
  await assert.rejects(client.register('orders-value', '"string"'), (error: SchemaRegistryError) => {
    assert.equal(error.code, 'REGISTRY_SERVER_ERROR');
    assert.equal(error.retriable, true);
    assert.equal(error.status, 503);
    assert.equal(error.registryCode, 50003);
    assert.equal(error.subject, 'orders-value');
    assert.equal(error.url, `${base}/subjects/orders-value/versions`);
    assert.match(error.message, /POST http:\/\/127\.0\.0\.1:\d+\/api\/subjects\/orders-value\/versions/);
    assert.match(error.message, /subject "orders-value" failed with HTTP 503 \(error_code 50003\): forwarding failed/);
    return true;
  });
});

test('4xx are not retriable and map the registry error codes', async () => {
  const client = new ConfluentRegistryClient({ url: base });
  reply('POST', '/api/subjects/bad-value/versions', 422, { error_code: 42201, message: 'Invalid schema' });
  await assert.rejects(client.register('bad-value', '{}'), { code: 'INVALID_SCHEMA', retriable: false, status: 422 });

  const diff = 'Incompatible artifact: inc-value [AVRO], num of incompatible diffs: {1}, list of diff types: [b]';
  reply('POST', '/api/subjects/inc-value/versions', 409, { error_code: 409, message: diff });
  await assert.rejects(client.register('inc-value', '"string"'), (error: IncompatibleSchemaError) => {
    assert.ok(error instanceof IncompatibleSchemaError);
    assert.equal(error.retriable, false);
    assert.deepEqual(error.reasons, [diff]);
    return true;
  });

  reply('GET', '/api/schemas/ids/9', 404, { error_code: 40403, message: 'Schema 9 not found.' });
  await assert.rejects(client.getSchema(9), { code: 'SCHEMA_NOT_FOUND', retriable: false });
  // Statuses that say "try later" are the exception among 4xx.
  reply('GET', '/api/schemas/ids/10', 429, 'slow down');
  await assert.rejects(client.getSchema(10), { code: 'REGISTRY_HTTP_ERROR', retriable: true });
});

test('a subject without versions has no latest id and accepts any schema', async () => {
  const client = new ConfluentRegistryClient({ url: base });
  const missing = { error_code: 40401, message: "Subject 'none-value' not found." };
  reply('GET', '/api/subjects/none-value/versions/latest', 404, missing);
  reply('POST', '/api/compatibility/subjects/none-value/versions/latest', 404, missing);
  assert.equal(await client.latestId('none-value'), undefined);
  assert.equal(await client.checkCompatibility('none-value', '"string"'), true);
});

test('schemas by id are fetched once; a failed fetch is not cached', async () => {
  const client = new ConfluentRegistryClient({ url: base });
  reply('GET', '/api/schemas/ids/3', 500, 'boom');
  await assert.rejects(client.getSchema(3), { code: 'REGISTRY_SERVER_ERROR' });
  reply('GET', '/api/schemas/ids/3', 200, { schema: '"string"' });
  const before = requests.length;
  assert.equal(await client.getSchema(3), '"string"');
  assert.equal(await client.getSchema(3), '"string"');
  assert.equal(requests.length - before, 1);
});

test('an answer that is not the registry API says so and suggests the API root', async () => {
  reply('GET', '/api/subjects/html-value/versions/latest', 200, '<!DOCTYPE html><html>Registry UI</html>');
  const client = new ConfluentRegistryClient({ url: base });
  await assert.rejects(client.latestId('html-value'), (error: SchemaRegistryError) => {
    assert.equal(error.code, 'REGISTRY_BAD_RESPONSE');
    assert.match(error.message, /not JSON \(<!DOCTYPE html>.*apis\/ccompat\/v7/);
    return true;
  });
  reply('GET', '/api/subjects/odd-value/versions/latest', 200, { version: 1 });
  await assert.rejects(client.latestId('odd-value'), /answered without a number "id"/);
});

test('an unreachable registry is retriable and the error names the URL', async () => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const client = new ConfluentRegistryClient({ url: `http://127.0.0.1:${port}` });
  await assert.rejects(client.setCompatibility('x-value', 'BACKWARD'), (error: SchemaRegistryError) => {
    assert.equal(error.code, 'REGISTRY_UNAVAILABLE');
    assert.equal(error.retriable, true);
    assert.match(error.message, new RegExp(`PUT http://127\\.0\\.0\\.1:${port}/config/x-value .*ECONNREFUSED`));
    return true;
  });
});
