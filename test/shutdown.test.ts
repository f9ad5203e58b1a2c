import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startServer, waitFor, type StartedServer } from './support/server.js';
import { makeJpeg } from './support/media-fixtures.js';

interface Message {
  id: string;
  status: string;
}
interface Delivery {
  messageId: string;
  sendAttempts: number;
}

/** An origin that holds its answer until released: a send resolving its media stays in progress meanwhile. */
const heldOrigin = async (body: Buffer) => {
  let requested: () => void = () => undefined;
  const seen = new Promise<void>((resolve) => (requested = resolve));
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => (release = resolve));
  const server: Server = createServer((_req, res) => {
    requested();
    void released.then(() => res.writeHead(200, { 'content-type': 'image/jpeg', 'cache-control': 'no-store' }).end(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/held.jpg`,
    seen,
    release,
    close: () => {
      release();
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

const start = async (env: Record<string, string> = {}) => {
  const server = await startServer({ MEDIA_ALLOW_HOSTS: '127.0.0.1', ...env });
  cleanups.push(() => server.close());
  return server;
};
const errorCode = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;
const linked = async (server: StartedServer, id: string) => {
  assert.equal((await server.api('/api/sessions', { method: 'POST', json: { id } })).status, 201);
  assert.equal((await server.api(`/api/sessions/${id}/sandbox/link`, { method: 'POST', json: {} })).status, 200);
};
const send = (server: StartedServer, session: string, body: object) =>
  server.api(`/api/sessions/${session}/messages`, { method: 'POST', json: { to: '+4915100000041', ...body } });
const message = async (server: StartedServer, id: string) => (await server.api(`/api/messages/${id}`)).json() as Promise<Message>;
const deliveries = async (server: StartedServer, session: string) =>
  ((await (await server.api(`/api/sessions/${session}/sandbox/deliveries`)).json()) as { items: Delivery[] }).items;
const readiness = async (server: StartedServer) => {
  const res = await fetch(`${server.url}/readyz`);
  return { status: res.status, body: (await res.json()) as { status: string } };
};
/** The log lines about shutting down, so a failed match shows those and not the whole log. */
const shutdownLog = (server: StartedServer) =>
  server
    .output()
    .split('\n')
    .filter((l) => /shut|signal|SHUTDOWN/.test(l))
    .join('\n');
const stopping = (server: StartedServer) =>
  waitFor('/readyz to say stopping', async () => ((await readiness(server)).status === 503 ? true : undefined));

test('SIGTERM during a stream of sends: /readyz 503 and new sends 503 shutting_down while it drains, exit 0, and after a restart every accepted message went out exactly once', async () => {
  const server = await start({ SHUTDOWN_TIMEOUT_MS: '120000' });
  const origin = await heldOrigin(await makeJpeg({ seed: 401 }));
  cleanups.push(origin.close);
  await linked(server, 'shop');

  // Four clients send texts back to back until the server refuses; every 202 is a message that must go out once.
  const accepted: string[] = [];
  const refusals: string[] = [];
  const client = async (n: number) => {
    for (let i = 0; ; i++) {
      const res = await send(server, 'shop', { text: `c${n}-${i}` });
      if (res.status !== 202) return refusals.push(`${res.status} ${await errorCode(res)}`);
      accepted.push(((await res.json()) as { id: string }).id);
    }
  };
  const clients = Promise.all([0, 1, 2, 3].map(client));
  await waitFor('sends flowing', async () => (accepted.length >= 40 ? true : undefined));

  // A send still resolving its media when the signal comes: it is let finish, and what it accepts is kept.
  const held = send(server, 'shop', { media: { url: origin.url } });
  await origin.seen;
  server.signal('SIGTERM');
  await stopping(server);
  assert.deepEqual((await readiness(server)).body, { status: 'stopping' });
  await clients;
  assert.deepEqual(refusals, Array(4).fill('503 shutting_down'), 'each client was told the server is shutting down');
  const late = await send(server, 'shop', { text: 'too late' });
  assert.deepEqual([late.status, await errorCode(late)], [503, 'shutting_down']);
  assert.equal((await server.api(`/api/messages/${accepted[0]}`)).status, 200, 'reads still answer while it drains');
  assert.equal((await fetch(`${server.url}/healthz`)).status, 200, 'alive while it drains');

  origin.release();
  const media = await held;
  assert.equal(media.status, 202, 'the send in progress at the signal was accepted');
  accepted.push(((await media.json()) as { id: string }).id);
  assert.equal(await server.exited(), 0);
  assert.match(shutdownLog(server), /shutting down: \d+ requests? in progress, \d+ messages? in flight, \d+ waiting/);
  assert.match(shutdownLog(server), /shut down cleanly/);

  await server.restart();
  await waitFor(
    'every accepted message delivered',
    async () => {
      for (const id of accepted) if (!['delivered', 'read'].includes((await message(server, id)).status)) return undefined;
      return true;
    },
    30_000,
  );
  const items = await deliveries(server, 'shop');
  assert.deepEqual(items.map((d) => d.messageId).sort(), [...accepted].sort(), 'what was accepted arrived, and nothing else');
  assert.deepEqual(
    items.filter((d) => d.sendAttempts !== 1).map((d) => d.messageId),
    [],
    'no message was sent twice',
  );
});

test('a second signal exits at once; what was queued is still queued after the restart', async () => {
  const server = await start({ SHUTDOWN_TIMEOUT_MS: '120000' });
  const origin = await heldOrigin(await makeJpeg({ seed: 402 }));
  cleanups.push(origin.close);
  assert.equal((await server.api('/api/sessions', { method: 'POST', json: { id: 'later' } })).status, 201);
  const queued: string[] = [];
  for (const text of ['q1', 'q2', 'q3']) queued.push(((await (await send(server, 'later', { text })).json()) as { id: string }).id);

  const held = send(server, 'later', { media: { url: origin.url } }).catch((err: Error) => err);
  await origin.seen;
  server.signal('SIGTERM');
  await stopping(server);
  server.signal('SIGINT');
  assert.equal(await server.exited(), 1, 'a forced exit is not a clean one');
  assert.ok((await held) instanceof Error, 'the held request was cut, not answered');
  assert.match(shutdownLog(server), /second signal: exiting now/);

  await server.restart();
  for (const id of queued) assert.equal((await message(server, id)).status, 'queued');
});

test('a send that never answers is cut after the drain time: exit 0, and after a restart it goes once under its id', async () => {
  const server = await start({ SHUTDOWN_TIMEOUT_MS: '2000' });
  await linked(server, 'stuck');
  assert.equal(
    (await server.api('/api/sessions/stuck/sandbox/failures', { method: 'POST', json: { count: 1, mode: 'hang' } })).status,
    200,
  );
  const res = await send(server, 'stuck', { text: 'hangs' });
  const { id } = (await res.json()) as { id: string };
  await waitFor('the send in flight', async () => ((await message(server, id)).status === 'sending' ? true : undefined));

  server.signal('SIGTERM');
  assert.equal(await server.exited(), 0);
  assert.match(shutdownLog(server), /shutting down: 0 requests in progress, 1 message in flight/);
  assert.match(shutdownLog(server), /1 send still unanswered; closing sessions cuts them/);

  await server.restart();
  await waitFor('delivered after the restart', async () =>
    ['delivered', 'read'].includes((await message(server, id)).status) ? true : undefined,
  );
  assert.deepEqual(
    (await deliveries(server, 'stuck')).map((d) => [d.messageId, d.sendAttempts]),
    [[id, 1]],
  );
});
