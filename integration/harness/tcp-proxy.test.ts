/**
 * Unit test of the chaos tests' TCP forwarder: with delay and jitter it keeps every byte in order (an echo through
 * it returns exactly what was sent, in many small writes), it holds each direction back at least delay − jitter,
 * and a half-close travels through.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { test } from 'node:test';
import { startProxy } from './tcp-proxy.ts';

test('the forwarder keeps the byte stream whole and in order under jitter, and delays it', async () => {
  // An echo server that ends its side once the client has ended its own.
  const echo = createServer({ allowHalfOpen: true }, (socket) => {
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  const target = { host: '127.0.0.1', port: (echo.address() as AddressInfo).port };
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const listen = { host: '127.0.0.1', port: (probe.address() as AddressInfo).port };
  await new Promise((resolve) => probe.close(resolve));
  const proxy = await startProxy({ forwards: [{ listen, target }], latency: { delayMs: 20, jitterMs: 15 } });
  try {
    const sent = randomBytes(1 << 20);
    const received: Buffer[] = [];
    const started = Date.now();
    let firstByteMs = 0;
    await new Promise<void>((resolve, reject) => {
      const client = createConnection({ ...listen, allowHalfOpen: true });
      client.on('data', (d: Buffer) => {
        if (received.length === 0) firstByteMs = Date.now() - started;
        received.push(d);
      });
      client.on('end', () => resolve());
      client.on('error', reject);
      client.on('connect', () => {
        for (let i = 0; i < sent.length; i += 1000) client.write(sent.subarray(i, i + 1000));
        client.end();
      });
    });
    assert.ok(Buffer.concat(received).equals(sent), 'the echo is the bytes sent, in order');
    assert.ok(firstByteMs >= 2 * (20 - 15), `a round trip took ${firstByteMs} ms, at least 2 × (delay − jitter)`);
    assert.deepEqual(proxy.accepted, [1]);
  } finally {
    await proxy.close();
    await new Promise((resolve) => echo.close(resolve));
  }
});
