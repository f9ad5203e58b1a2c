import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, type RedisServer } from '../support/redis.js';
import { startServer, waitFor, type StartedServer } from '../support/server.js';

interface Message {
  id: string;
  status: string;
  attempts: number;
  position?: number;
  error?: { code: string };
}
interface Delivery {
  messageId: string;
  text?: string;
  sendAttempts: number;
}

let redis: RedisServer;
let server: StartedServer;
before(async () => {
  redis = await startRedis();
  server = await startServer({ REDIS_URL: redis.url });
});
after(async () => {
  await server?.close();
  await redis?.stop();
});

const json = async <T>(res: Response) => (await res.json()) as T;
const send = async (session: string, text: string) => {
  const res = await server.api(`/api/sessions/${session}/messages`, { method: 'POST', json: { to: '+4915123456789', text } });
  assert.equal(res.status, 202, await res.clone().text());
  return (await json<{ id: string }>(res)).id;
};
const message = async (id: string) => json<Message>(await server.api(`/api/messages/${id}`));
const deliveries = async (session: string) =>
  (await json<{ items: Delivery[] }>(await server.api(`/api/sessions/${session}/sandbox/deliveries`))).items;
const createSession = (id: string) => server.api('/api/sessions', { method: 'POST', json: { id } });
const link = (session: string) => server.api(`/api/sessions/${session}/sandbox/link`, { method: 'POST', json: {} });
const fail = (session: string, failure: Record<string, unknown>) =>
  server.api(`/api/sessions/${session}/sandbox/failures`, { method: 'POST', json: failure });
const until = (id: string, ok: (m: Message) => boolean, what: string, timeoutMs?: number) =>
  waitFor(
    what,
    async () => {
      const m = await message(id);
      return ok(m) ? m : undefined;
    },
    timeoutMs,
  );
const done = (m: Message) => m.status === 'delivered' || m.status === 'read';

test('1,000 texts through the API on Redis: each delivered exactly once, in the order accepted', async () => {
  await createSession('bulk');
  await link('bulk');
  const texts = Array.from({ length: 1000 }, (_, i) => `t${i}`);
  const ids: string[] = [];
  // Ten requests in flight at a time: the order to check is the one the queue gave them (their positions).
  for (let i = 0; i < texts.length; i += 10) ids.push(...(await Promise.all(texts.slice(i, i + 10).map((t) => send('bulk', t)))));
  const got = await waitFor(
    'every delivery',
    async () => ((await deliveries('bulk')).length >= 1000 ? deliveries('bulk') : undefined),
    120_000,
  );
  assert.equal(got.length, 1000);
  assert.equal(new Set(got.map((d) => d.messageId)).size, 1000, 'no message delivered twice');
  assert.deepEqual(
    got.filter((d) => d.sendAttempts !== 1),
    [],
    'each sent once',
  );
  // The queue's order: the list, oldest first, as the API shows it.
  const listed: Message[] = [];
  let cursor: number | null | undefined;
  do {
    const page = await json<{ items: Message[]; nextCursor: number | null }>(
      await server.api(`/api/sessions/bulk/messages?limit=100${cursor == null ? '' : `&cursor=${cursor}`}`),
    );
    listed.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor != null);
  assert.equal(listed.length, 1000);
  assert.deepEqual(
    got.map((d) => d.messageId),
    listed.reverse().map((m) => m.id),
    'delivered in queue order',
  );
  assert.deepEqual(new Set(ids), new Set(got.map((d) => d.messageId)));
});

test('a session not connected: its messages wait, then go in order once it links', async () => {
  await createSession('later');
  const ids = [await send('later', 'l1'), await send('later', 'l2'), await send('later', 'l3')];
  for (const id of ids) assert.equal((await message(id)).status, 'queued');
  await link('later');
  for (const id of ids) await until(id, done, `delivery of ${id}`);
  assert.deepEqual(
    (await deliveries('later')).map((d) => [d.messageId, d.text, d.sendAttempts]),
    [
      [ids[0], 'l1', 1],
      [ids[1], 'l2', 1],
      [ids[2], 'l3', 1],
    ],
  );
});

test('a transient failure holds back the messages after it and is retried; a permanent one fails and the next goes', async () => {
  await createSession('flaky');
  await link('flaky');
  await fail('flaky', { count: 2, code: 'upstream_unavailable', status: 503 });
  const retried = [await send('flaky', 'r1'), await send('flaky', 'r2')];
  for (const id of retried) await until(id, done, `delivery of ${id}`);
  const m = await message(retried[0]);
  assert.equal(m.attempts, 3, 'two failed attempts, then the send');
  assert.deepEqual(
    (await deliveries('flaky')).map((d) => [d.text, d.sendAttempts]),
    [
      ['r1', 1],
      ['r2', 1],
    ],
    'r2 waited for r1',
  );

  await fail('flaky', { count: 1, code: 'invalid_recipient', status: 400 });
  const [bad, next] = [await send('flaky', 'p1'), await send('flaky', 'p2')];
  const failed = await until(bad, (r) => r.status === 'failed', 'the permanent failure');
  assert.deepEqual([failed.error?.code, failed.attempts], ['invalid_recipient', 1]);
  await until(next, done, 'the next message');
  assert.deepEqual(
    (await deliveries('flaky')).map((d) => d.text),
    ['r1', 'r2', 'p2'],
  );
});
