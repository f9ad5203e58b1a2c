import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from '@redis/client';
import { Queue, createNodeRedisClient } from 'bullmq';
import { waitFor, type StartedServer } from '../support/server.js';
import {
  assertEachOnceAfterCrash,
  createBroadcast,
  deliveries,
  json,
  numbers,
  type Delivery,
  type ReportRow,
} from '../broadcasts/helpers.js';
import { localDay } from '../../src/broadcasts/pace-policy.js';
import { tickQueueName, type Tick } from '../../src/broadcasts/ticks.js';
import { adopted, twoNodes, untilState } from './two-nodes.js';

const { ctx, ownerOf } = twoNodes({ CLUSTER_LEASE_TTL_MS: '2000' });

// The fastest pace the API allows (6,000 a minute, no jitter): a gap of 10 ms at least between two sends.
const PACE = { perMinute: 6000, jitter: 0 };
const GAP_MS = 60_000 / PACE.perMinute;

const linked = async (via: StartedServer, session: string) => {
  assert.equal((await via.api('/api/sessions', { method: 'POST', json: { id: session, driver: 'sandbox' } })).status, 201);
  await untilState(via, session, 'qr');
  const res = await via.api(`/api/sessions/${session}/sandbox/link`, { method: 'POST', json: { phone: '+4915100000001' } });
  assert.equal(res.status, 200);
};

/** How many the sandbox delivered, asked of `node`; undefined while no node has the session open. */
const delivered = async (node: StartedServer, session: string) => {
  const res = await node.api(`/api/sessions/${session}/sandbox/deliveries`);
  return res.ok ? ((await res.json()) as { items: unknown[] }).items.length : undefined;
};

/**
 * Once `after` are delivered, makes the next send hang (the sandbox never answers it) and kills the owner with
 * SIGKILL while that message is `sending`: the new owner finds a recipient whose turn was taken and whose message
 * is not finished, the case where a pace kept in one process starts again with no gap.
 */
const killMidSend = async (owner: StartedServer, other: StartedServer, session: string, broadcastId: string, after: number) => {
  await waitFor(`${after} delivered`, async () => ((await delivered(other, session)) ?? 0) >= after || undefined, 60_000);
  const hang = await other.api(`/api/sessions/${session}/sandbox/failures`, { method: 'POST', json: { count: 1, mode: 'hang' } });
  assert.equal(hang.status, 200);
  const row = await waitFor(
    'a send hanging',
    async () => {
      const n = (await delivered(other, session)) ?? 0;
      const [next] = (await json<{ items: ReportRow[] }>(await other.api(`/api/broadcasts/${broadcastId}/report?from=${n}&limit=1`))).items;
      if (!next?.messageId) return undefined;
      const message = await json<{ status: string }>(await other.api(`/api/messages/${next.messageId}`));
      return message.status === 'sending' ? next : undefined;
    },
    30_000,
  );
  await owner.kill('SIGKILL');
  const killedAt = Date.now();
  // The other node opens the session once the dead owner's lease has run out: a takeover, not a handover.
  await untilState(other, session, 'connected', 30_000);
  await waitFor('the takeover', async () => adopted(other, session) === 1 || undefined, 30_000);
  return { row, killedAt };
};

/** When the sandbox received each message, in order. */
const sendTimes = (got: Delivery[]) =>
  got.map((d) => Date.parse((d as Delivery & { receivedAt: string }).receivedAt)).sort((a, b) => a - b);

/** Consecutive sends closer than the pace allows; `killedAt` marks the ones after the kill. */
const tooClose = (got: Delivery[], killedAt: number) => {
  const times = sendTimes(got);
  return times.flatMap((t, i) =>
    i > 0 && t - times[i - 1]! < GAP_MS ? [`${t - times[i - 1]!} ms apart at #${i}${t >= killedAt ? ' (after the kill)' : ''}`] : [],
  );
};

test('kill -9 of the owner in the middle of a paced broadcast: every recipient once, and no two sends closer than the pace, across the takeover too', async (t) => {
  const session = 'paced';
  const { owner, other } = ownerOf(session);
  await linked(other, session);
  const phones = numbers(150);
  const created = await createBroadcast(other, session, {
    name: 'paced',
    recipients: phones.map((to, i) => ({ to, vars: { n: String(i) } })),
    message: { text: 'Offer {{n}}' },
    pace: PACE,
  });
  const { killedAt } = await killMidSend(owner, other, session, created.id, 50);

  await assertEachOnceAfterCrash(other, session, created.id, phones);
  const got = await deliveries(other, session);
  const times = sendTimes(got);
  const gaps = times.slice(1).map((x, i) => x - times[i]!);
  t.diagnostic(
    `gaps between sends: min ${Math.min(...gaps)} ms, max ${Math.max(...gaps)} ms (the takeover); killed at +${killedAt - times[0]!} ms`,
  );
  assert.deepEqual(tooClose(got, killedAt), []);
});

/** The zone, of a few, whose local time is farthest from midnight: the test's day does not end while it runs. */
const middayZone = () => {
  const now = Date.now();
  const zones = ['UTC', 'Asia/Tokyo', 'America/New_York', 'Asia/Kolkata', 'America/Los_Angeles', 'Europe/Berlin'];
  const distance = (tz: string) => {
    const { start, next } = localDay(now, tz);
    return Math.min(now - start, next - now);
  };
  return zones.reduce((a, b) => (distance(b) > distance(a) ? b : a));
};

test('a daily cap across a takeover is not over-spent: the new owner sends up to the cap and waits, as a delayed job, for the next local day', async (t) => {
  // The node killed before is back: the session goes to whichever of the two it is placed on.
  for (const node of ctx.nodes) if (!(await node.api('/readyz').catch(() => undefined))?.ok) await node.restart();
  const session = 'capped';
  const { owner, other } = ownerOf(session);
  await linked(other, session);
  const phones = numbers(100);
  const timezone = middayZone();
  const cap = 40;
  const created = await createBroadcast(other, session, {
    name: 'capped',
    recipients: phones.map((to, i) => ({ to, vars: { n: String(i) } })),
    message: { text: 'Offer {{n}}' },
    pace: PACE,
    dailyCap: cap,
    // No quiet hours (start = end): only the zone whose day the cap counts in.
    quietHours: { start: '00:00', end: '00:00', timezone },
  });
  const { killedAt } = await killMidSend(owner, other, session, created.id, 15);

  // The new owner parks the broadcast until the next local day: a delayed job in the session's tick queue.
  const client = await createClient({ url: ctx.redis.url }).connect();
  const ticks = new Queue<Tick>(tickQueueName(session), { connection: createNodeRedisClient(client), prefix: 'hs:bull' });
  t.after(async () => {
    await ticks.close();
    await client.close();
  });
  const tomorrow = localDay(Date.now(), timezone).next;
  await waitFor(
    'the broadcast waiting for the next local day',
    async () => (await ticks.getDelayed()).some((j) => j.data.broadcastId === created.id && j.data.at === tomorrow) || undefined,
    60_000,
  );

  const got = await deliveries(other, session);
  assert.equal(got.length, cap);
  assert.deepEqual(new Set(got.map((d) => d.text)), new Set(phones.slice(0, cap).map((_, i) => `Offer ${i}`)));
  const b = await json<{ status: string; counts: Record<string, number> }>(await other.api(`/api/broadcasts/${created.id}`));
  assert.equal(b.status, 'running');
  assert.equal(b.counts.pending, phones.length - cap);
  assert.deepEqual(tooClose(got, killedAt), []);
});
