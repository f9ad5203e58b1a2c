import { test } from 'node:test';
import assert from 'node:assert/strict';
import { messageApi, reached } from '../support/message-api.js';
import { openEventStream } from '../support/sse.js';
import { waitFor, type StartedServer } from '../support/server.js';
import { linkedSession } from '../broadcasts/helpers.js';
import { NODE_IDS, explained, ownershipLog, twoNodes, untilState } from './two-nodes.js';

// A 2 s lease: an outage of a few seconds outlasts it, so the owner must close the session before its lease could
// run out, and a node must take it again once Redis is back.
const { ctx, ownerOf } = twoNodes({ CLUSTER_LEASE_TTL_MS: '2000' });
const SESSION = 'outage';

const readyz = async (node: StartedServer) => {
  const res = await fetch(`${node.url}/readyz`);
  return { status: res.status, body: (await res.json()) as { status: string } };
};
const allReadyz = () => Promise.all(ctx.nodes.map(readyz));

interface Outcome {
  text: string;
  node: number;
  status: number;
  id?: string;
  code?: string;
  /** A refusal's message id: Redis went away before confirming the send, so it may have been queued. */
  inDoubt?: string;
}

/**
 * A client per recipient sending one message after another, alternating nodes, until told to stop; it records every
 * answer. A refusal is fine as long as it says why; the client goes on with its next message.
 */
const sender = (to: string, tag: string) => {
  const outcomes: Outcome[] = [];
  let stop = false;
  const done = (async () => {
    for (let k = 0; !stop; k++) {
      const node = k % 2;
      const text = `${tag}:${k}`;
      const res = await ctx.nodes[node]!.api(`/api/sessions/${SESSION}/messages`, { method: 'POST', json: { to, text } });
      const body = (await res.json()) as { id?: string; error?: { code: string; details?: { messageId?: string } } };
      outcomes.push({ text, node, status: res.status, id: body.id, code: body.error?.code, inDoubt: body.error?.details?.messageId });
    }
  })();
  return {
    outcomes,
    accepted: () => outcomes.filter((o) => o.status === 202),
    async stop() {
      stop = true;
      await done;
    },
  };
};

test('Redis stopped and started again under sends to both nodes: 503 store_unavailable meanwhile (never a 500), /readyz follows on both, every 202 delivered exactly once and in order, one owner after', async () => {
  const { owner, other } = ownerOf(SESSION);
  await linkedSession(other, SESSION);
  await untilState(owner, SESSION, 'connected');
  await untilState(other, SESSION, 'connected');

  const recipients = ['+4915300000001', '+4915300000002', '+4915300000003'];
  const senders = recipients.map((to, r) => sender(to, `r${r}`));
  const acceptedCount = () => senders.reduce((n, s) => n + s.accepted().length, 0);
  await waitFor('sends accepted before the outage', async () => (acceptedCount() >= 60 ? true : undefined), 30_000);

  await ctx.redis.halt();
  const down = await waitFor('both nodes not ready', async () => {
    const r = await allReadyz();
    return r.every((x) => x.status === 503) ? r : undefined;
  });
  assert.deepEqual(
    down.map((r) => r.body.status),
    ['store_unreachable', 'store_unreachable'],
  );
  // A send to either node now is refused, saying why; nothing of it is kept.
  for (const node of ctx.nodes) {
    const res = await node.api(`/api/sessions/${SESSION}/messages`, { method: 'POST', json: { to: recipients[0], text: 'while down' } });
    assert.deepEqual([res.status, ((await res.json()) as { error: { code: string } }).error.code], [503, 'store_unavailable']);
  }
  assert.deepEqual(
    (await allReadyz()).map((r) => r.status),
    [503, 503],
    'still down',
  );

  // The outage lasts until the owner has given the session up: its lease could not be renewed.
  await waitFor('the owner to close the session', async () => (/a session lease is lost/.test(owner.output()) ? true : undefined));
  await ctx.redis.restart();
  await waitFor('both nodes ready again', async () => ((await allReadyz()).every((r) => r.status === 200) ? true : undefined), 20_000);
  // Followed on both nodes from now: the owner's events reach the other node again over the reconnected Redis.
  const streams = await Promise.all(
    ctx.nodes.map((n) => openEventStream(`${n.url}/api/sessions/${SESSION}/events`, { authorization: `Bearer ${n.apiKey}` })),
  );
  const afterRestart = acceptedCount();
  await waitFor('sends accepted after the outage', async () => (acceptedCount() >= afterRestart + 60 ? true : undefined), 30_000);
  await Promise.all(senders.map((s) => s.stop()));

  const all = senders.flatMap((s) => s.outcomes);
  // What a client saw: accepted, or refused because the store was away; nothing else, never a 500.
  assert.deepEqual([...new Set(all.map((o) => `${o.status} ${o.code ?? ''}`.trim()))].sort(), ['202', '503 store_unavailable']);

  // Every accepted message reaches its recipient once, in the order it was accepted; none refused does.
  const api = messageApi(other);
  const accepted = senders.flatMap((s) => s.accepted());
  for (const o of accepted) await explained(ctx.nodes, api.until(o.id!, reached, `${o.text} delivered`, 30_000));
  // Asked of both nodes (one of them calls the owner over Redis, reconnected since).
  const [deliveries, fromOther] = await Promise.all(ctx.nodes.map((n) => messageApi(n).deliveries(SESSION)));
  assert.deepEqual(fromOther, deliveries);
  const byId = new Map(deliveries.map((d) => [d.messageId, d]));
  assert.equal(byId.size, deliveries.length, 'one delivery per message id');
  assert.deepEqual(
    accepted.filter((o) => !byId.has(o.id!)).map((o) => o.text),
    [],
  );
  // Refused outright: never delivered. Refused in doubt (Redis dropped with the send in flight): delivered at most
  // once, under the id the refusal named.
  const delivered = (o: Outcome) => o.status === 202 || (!!o.inDoubt && byId.has(o.inDoubt));
  assert.equal(deliveries.length, all.filter(delivered).length, 'nothing delivered that was refused outright');
  for (const [r, s] of senders.entries()) {
    assert.deepEqual(
      deliveries.filter((d) => d.text!.startsWith(`r${r}:`)).map((d) => d.text),
      s.outcomes.filter(delivered).map((o) => o.text),
      `recipient ${r} in order`,
    );
  }

  const last = senders[0]!.accepted().at(-1)!;
  const lastWa = byId.get(last.id!)!.messageId;
  for (const stream of streams) {
    await stream.next((e) => e.event === 'receipt' && (e.data as { waMessageId: string }).waMessageId === lastWa, 20_000);
    await stream.close();
  }

  // Ready again without a restart: both show the session connected; exactly one node holds it.
  await untilState(owner, SESSION, 'connected');
  await untilState(other, SESSION, 'connected');
  const holding = NODE_IDS.filter((_, i) => {
    const log = ownershipLog(ctx.nodes[i]!, SESSION);
    return log.filter((e) => e === 'adopted').length > log.filter((e) => e === 'closing').length;
  });
  assert.equal(holding.length, 1, `holders: ${holding.join(', ')}`);
  for (const node of ctx.nodes) assert.doesNotMatch(node.output(), /unhandled|uncaught/i);
});
