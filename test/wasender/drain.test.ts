import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServer, waitFor } from '../support/server.js';
import { expectError, wasenderClient } from './support.js';

const server = await startServer({ SHUTDOWN_TIMEOUT_MS: '120000' });
after(() => server.close());

test('while the server drains, work starting on /wasender/api is refused 503 shutting_down in its shape; reads still answer', async () => {
  const wa = wasenderClient(server);
  const session = await wa.create();
  // A request let in before the signal and not finished: its body is still coming, so the drain waits for it.
  const { port } = new URL(server.url);
  const held = net.connect(Number(port), '127.0.0.1');
  await new Promise<void>((resolve) => held.once('connect', () => resolve()));
  const answered = new Promise<string>((resolve) => {
    let text = '';
    held.on('data', (d) => (text += d.toString()));
    held.on('close', () => resolve(text));
  });
  held.write(
    `PUT /wasender/api/whatsapp-sessions/${session.id} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${server.apiKey}\r\n` +
      'Content-Type: application/json\r\nContent-Length: 18\r\nConnection: close\r\n\r\n{"name":',
  );
  // Its headers were written first: once a later request on another connection is answered, they have been read.
  assert.equal((await wa.call('/whatsapp-sessions')).status, 200);

  server.signal('SIGTERM');
  await waitFor('/readyz to say stopping', async () => ((await fetch(`${server.url}/readyz`)).status === 503 ? true : undefined));
  await expectError(await wa.call('/whatsapp-sessions', { method: 'POST', json: { name: 'late' } }), 503, 'shutting_down');
  await expectError(await wa.call(`/whatsapp-sessions/${session.id}/connect`, { method: 'POST' }), 503, 'shutting_down');
  assert.equal((await wa.call(`/whatsapp-sessions/${session.id}`)).status, 200);

  held.write('"Held on"}');
  // Let in before the signal, it finishes its work.
  const text = await answered;
  assert.match(text, /^HTTP\/1\.1 200/);
  assert.match(text, /"name":"Held on"/);
});
