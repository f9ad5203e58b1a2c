import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reached, serverOnRedis, type ApiMessage } from '../support/message-api.js';
import { waitFor } from '../support/server.js';

const ctx = serverOnRedis();
const done = reached;

test('1,000 texts through the API on Redis: each delivered exactly once, in the order accepted', async () => {
  await ctx.api.createSession('bulk');
  await ctx.api.link('bulk');
  const texts = Array.from({ length: 1000 }, (_, i) => `t${i}`);
  const ids: string[] = [];
  // Ten requests in flight at a time: the order to check is the one the queue gave them (their positions).
  for (let i = 0; i < texts.length; i += 10) ids.push(...(await Promise.all(texts.slice(i, i + 10).map((t) => ctx.api.send('bulk', t)))));
  const got = await waitFor(
    'every delivery',
    async () => ((await ctx.api.deliveries('bulk')).length >= 1000 ? ctx.api.deliveries('bulk') : undefined),
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
  const listed: ApiMessage[] = [];
  let cursor: number | null | undefined;
  do {
    const page = await ctx.api.json<{ items: ApiMessage[]; nextCursor: number | null }>(
      await ctx.server.api(`/api/sessions/bulk/messages?limit=100${cursor == null ? '' : `&cursor=${cursor}`}`),
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
  await ctx.api.createSession('later');
  const ids = [await ctx.api.send('later', 'l1'), await ctx.api.send('later', 'l2'), await ctx.api.send('later', 'l3')];
  for (const id of ids) assert.equal((await ctx.api.message(id)).status, 'queued');
  await ctx.api.link('later');
  for (const id of ids) await ctx.api.until(id, done, `delivery of ${id}`);
  assert.deepEqual(
    (await ctx.api.deliveries('later')).map((d) => [d.messageId, d.text, d.sendAttempts]),
    [
      [ids[0], 'l1', 1],
      [ids[1], 'l2', 1],
      [ids[2], 'l3', 1],
    ],
  );
});

test('a transient failure holds back the messages after it and is retried; a permanent one fails and the next goes', async () => {
  await ctx.api.createSession('flaky');
  await ctx.api.link('flaky');
  await ctx.api.failNext('flaky', { count: 2, code: 'upstream_unavailable', status: 503 });
  const retried = [await ctx.api.send('flaky', 'r1'), await ctx.api.send('flaky', 'r2')];
  for (const id of retried) await ctx.api.until(id, done, `delivery of ${id}`);
  const m = await ctx.api.message(retried[0]);
  assert.equal(m.attempts, 3, 'two failed attempts, then the send');
  assert.deepEqual(
    (await ctx.api.deliveries('flaky')).map((d) => [d.text, d.sendAttempts]),
    [
      ['r1', 1],
      ['r2', 1],
    ],
    'r2 waited for r1',
  );

  await ctx.api.failNext('flaky', { count: 1, code: 'invalid_recipient', status: 400 });
  const [bad, next] = [await ctx.api.send('flaky', 'p1'), await ctx.api.send('flaky', 'p2')];
  const failed = await ctx.api.until(bad, (r) => r.status === 'failed', 'the permanent failure');
  assert.deepEqual([failed.error?.code, failed.attempts], ['invalid_recipient', 1]);
  await ctx.api.until(next, done, 'the next message');
  assert.deepEqual(
    (await ctx.api.deliveries('flaky')).map((d) => d.text),
    ['r1', 'r2', 'p2'],
  );
});

test('deleting a session fails its queued messages as session_deleted', async () => {
  await ctx.api.createSession('gone');
  const ids = [await ctx.api.send('gone', 'g1'), await ctx.api.send('gone', 'g2')];
  assert.equal((await ctx.server.api('/api/sessions/gone', { method: 'DELETE' })).status, 204);
  for (const id of ids) {
    const m = await ctx.api.until(id, (r) => r.status === 'failed', `${id} to fail`);
    assert.equal(m.error?.code, 'session_deleted');
  }
});
