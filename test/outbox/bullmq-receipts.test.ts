import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { HashsendError } from '../../src/errors.js';
import { waitFor } from '../support/server.js';
import { fakeSessions, outboxesOnRedis, text } from './bullmq-fakes.js';

const ctx = outboxesOnRedis();

const to = 'x@s.whatsapp.net';

/**
 * Redis holds every write (CLIENT PAUSE WRITE) while `act` runs; once a `command` is held, every connection but the
 * test's is dropped with it in flight, as when Redis goes away mid-command.
 */
const droppedMidCommand = async <T>(command: string, act: () => Promise<T>) => {
  await ctx.look.sendCommand(['CLIENT', 'PAUSE', '10000', 'WRITE']);
  try {
    const acting = act();
    await waitFor(`a ${command} held`, async () =>
      (await ctx.look.sendCommand<string>(['CLIENT', 'LIST'])).split('\n').some((c) => /flags=b /.test(c) && c.includes(` cmd=${command} `))
        ? true
        : undefined,
    );
    await ctx.look.sendCommand(['CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes']);
    return await acting;
  } finally {
    await ctx.look.sendCommand(['CLIENT', 'UNPAUSE']);
  }
};

test('a receipt whose write was in flight when Redis dropped is recorded once Redis answers: the message is delivered, not left sent', async () => {
  const fake = fakeSessions();
  fake.setState('receipts', 'connected');
  const owner = await ctx.nodes.node(fake.sessions);
  try {
    await owner.own('receipts');
    const message = await owner.enqueue({ sessionId: 'receipts', to, content: text('hello') });
    await waitFor('sent', async () => ((await owner.get(message.id))?.status === 'sent' ? true : undefined));
    await droppedMidCommand('set', async () => fake.receipt('receipts', message.id, 'delivered'));
    const delivered = await waitFor('the receipt recorded', async () => {
      const m = await owner.get(message.id);
      return m?.status === 'delivered' ? m : undefined;
    });
    assert.ok(delivered.deliveredAt);
  } finally {
    await owner.stop();
  }
});

test('a send whose accept script was in flight when Redis dropped is refused saying it may be queued, and under which id', async () => {
  const fake = fakeSessions();
  const node = await ctx.nodes.node(fake.sessions);
  try {
    const refused = await droppedMidCommand('eval', () =>
      node.enqueue({ sessionId: 'doubt', to, content: text('hello') }).then(
        () => assert.fail('accepted'),
        (err: unknown) => err,
      ),
    );
    assert.ok(refused instanceof HashsendError);
    assert.equal(refused.code, 'store_unavailable');
    assert.equal(refused.status, 503);
    const id = refused.details?.messageId as string;
    assert.match(refused.message, new RegExp(`may have been queued as message ${id}`));
    // Dropped before Redis ran it: not queued, which a look at the id tells.
    assert.equal(await node.get(id), undefined);
  } finally {
    await node.stop();
  }
});

test('a send while Redis is down is refused within seconds, not held until Redis is back; sends are accepted again after', async () => {
  const fake = fakeSessions();
  fake.setState('down', 'connected');
  const node = await ctx.nodes.node(fake.sessions);
  try {
    await node.own('down');
    await node.enqueue({ sessionId: 'down', to, content: text('before') });
    await ctx.redis.halt();
    try {
      const answer = await Promise.race([
        node.enqueue({ sessionId: 'down', to, content: text('while down') }).then(
          () => 'accepted',
          (err: unknown) => (err instanceof HashsendError ? `${err.status} ${err.code}` : String(err)),
        ),
        delay(10_000).then(() => 'no answer while Redis is down'),
      ]);
      assert.equal(answer, '503 store_unavailable');
    } finally {
      await ctx.redis.restart();
    }
    const after = await waitFor('a send accepted again', () =>
      node.enqueue({ sessionId: 'down', to, content: text('after') }).catch(() => undefined),
    );
    await fake.sends(2);
    assert.deepEqual(fake.sent.at(-1), after.id);
  } finally {
    await node.stop();
  }
});
