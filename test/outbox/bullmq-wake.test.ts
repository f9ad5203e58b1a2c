import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import type { MessageRecord } from '../../src/outbox/index.js';
import { waitFor } from '../support/server.js';
import { fakeSessions, outboxesOnRedis, text } from './bullmq-fakes.js';

const ctx = outboxesOnRedis();

const keys = (session: string) => ({ wake: `hs:outbox:{${session}}:wake`, cursor: `hs:outbox:{${session}}:cursor` });
const to = 'x@s.whatsapp.net';
/** The session's wake flag cleared and its cursor at `position`: its owner has caught up and stopped looking. */
const caughtUp = (session: string, position: number) =>
  waitFor(`${session} caught up at ${position}`, async () => {
    const [wake, cursor] = await Promise.all([ctx.look.get(keys(session).wake), ctx.look.get(keys(session).cursor)]);
    return wake === null && cursor === String(position) ? true : undefined;
  });

test('a send accepted while the owner sends the last one is not stranded: the wake-up in hand covers it, and the next after the flag clears wakes it again', async () => {
  const fake = fakeSessions();
  fake.setState('drain', 'connected');
  const [owner, other] = [await ctx.nodes.node(fake.sessions), await ctx.nodes.node(fake.sessions)];
  try {
    await owner.own('drain');
    let release!: () => void;
    fake.beforeAnswer = () => new Promise<void>((resolve) => (release = resolve));
    const first = await other.enqueue({ sessionId: 'drain', to, content: text('first') });
    await fake.sends(1);
    assert.equal(await ctx.look.get(keys('drain').wake), `wake-${first.id}`);
    // Accepted while the first is in the owner's hands: the flag is set, so no wake-up of its own is queued.
    const second = await other.enqueue({ sessionId: 'drain', to, content: text('second') });
    assert.equal(await ctx.look.get(keys('drain').wake), `wake-${first.id}`);
    fake.beforeAnswer = undefined;
    release();
    await fake.sends(2);
    await caughtUp('drain', 2);
    const third = await other.enqueue({ sessionId: 'drain', to, content: text('third') });
    await fake.sends(3);
    assert.deepEqual(fake.sent, [first.id, second.id, third.id]);
    await caughtUp('drain', 3);
  } finally {
    await owner.stop();
    await other.stop();
  }
});

test('sends accepted the moment the one before is sent, 300 times, with no linger: every one sent once, in order', async () => {
  const fake = fakeSessions();
  fake.setState('edge', 'connected');
  const [owner, other] = [await ctx.nodes.node(fake.sessions, { lingerMs: 0 }), await ctx.nodes.node(fake.sessions)];
  const accepted: string[] = [];
  try {
    await owner.own('edge');
    // Each next send is accepted while the last is answered, as the owner finishes it and reads its order again.
    fake.beforeAnswer = () => {
      if (accepted.length < 300)
        void other.enqueue({ sessionId: 'edge', to, content: text(`e${accepted.length}`) }).then((m) => accepted.push(m.id));
    };
    accepted.push((await other.enqueue({ sessionId: 'edge', to, content: text('start') })).id);
    await waitFor('300 sends', async () => (fake.sent.length >= 300 ? true : undefined), 60_000);
    await caughtUp('edge', 300);
    assert.deepEqual(fake.sent, accepted);
  } finally {
    fake.beforeAnswer = undefined;
    await owner.stop();
    await other.stop();
  }
});

test('a new owner resumes from the cursor a crash left behind: finished messages are passed over, the one being sent goes again under its id, and later sends through another node wake it', async () => {
  const oldNode = fakeSessions();
  const newNode = fakeSessions();
  oldNode.setState('moved', 'connected');
  newNode.setState('moved', 'connected');
  const [a, b] = [await ctx.nodes.node(oldNode.sessions), await ctx.nodes.node(newNode.sessions)];
  try {
    await a.own('moved');
    const queued: MessageRecord[] = [];
    for (const t of ['m0', 'm1', 'm2']) queued.push(await b.enqueue({ sessionId: 'moved', to, content: text(t) }));
    await oldNode.sends(3);
    await caughtUp('moved', 3);
    oldNode.setState('moved', 'reconnecting');
    for (const t of ['m3', 'm4']) queued.push(await b.enqueue({ sessionId: 'moved', to, content: text(t) }));
    await a.disown('moved');
    // What a kill -9 mid-send leaves: a cursor that lags (stored every hundred messages), m3 stored as `sending`.
    await ctx.look.set(keys('moved').cursor, '0');
    const m3 = (await a.get(queued[3].id))!;
    await ctx.look.set(`hs:outbox:msg:${m3.id}`, JSON.stringify({ ...m3, status: 'sending', attempts: 1 }));

    await b.own('moved');
    await newNode.sends(2);
    assert.deepEqual(newNode.sent, [queued[3].id, queued[4].id]);
    await caughtUp('moved', 5);
    const again = (await b.get(m3.id))!;
    assert.deepEqual([again.status, again.attempts, again.waMessageId], ['sent', 2, m3.id]);

    // The old owner, now a node like any other, accepts a send: the new owner is woken for it.
    const later = await a.enqueue({ sessionId: 'moved', to, content: text('m5') });
    await newNode.sends(3);
    assert.equal(newNode.sent[2], later.id);
    assert.deepEqual(
      oldNode.sent,
      queued.slice(0, 3).map((m) => m.id),
    );
    await caughtUp('moved', 6);
  } finally {
    await a.stop();
    await b.stop();
  }
});

test('a session event while the owner reads its order, then a send slower than the linger: the owner goes on reading its order', async () => {
  const fake = fakeSessions();
  fake.setState('event', 'connected');
  const lingerMs = 200;
  const [owner, other] = [await ctx.nodes.node(fake.sessions, { lingerMs }), await ctx.nodes.node(fake.sessions)];
  try {
    const first = await other.enqueue({ sessionId: 'event', to, content: text('first') });
    fake.beforeAnswer = (id) => (id === first.id ? delay(lingerMs * 2) : undefined);
    // Redis holds the new owner's first read of its order (a script) while the session's state changes: the idle
    // worker says so (a linger starts), then the read hands it the message, and the linger ends during its send.
    await ctx.look.sendCommand(['CLIENT', 'PAUSE', '10000', 'WRITE']);
    try {
      await owner.own('event');
      fake.setState('event', 'connected');
      // The state event is handled in callbacks with no I/O: one turn of the event loop.
      await new Promise(setImmediate);
    } finally {
      await ctx.look.sendCommand(['CLIENT', 'UNPAUSE']);
    }
    await fake.sends(1);
    const second = await other.enqueue({ sessionId: 'event', to, content: text('second') });
    await waitFor('the second sent', async () => (fake.sent.length === 2 ? true : undefined));
    assert.deepEqual(fake.sent, [first.id, second.id]);
    await caughtUp('event', 2);
  } finally {
    fake.beforeAnswer = undefined;
    await owner.stop();
    await other.stop();
  }
});

test('a wake-up lost between accepting a send and queuing its job: the idle owner finds the message on its next look', async () => {
  const fake = fakeSessions();
  fake.setState('lost', 'connected');
  const owner = await ctx.nodes.node(fake.sessions, { lockMs: 500 });
  try {
    await owner.own('lost');
    const first = await owner.enqueue({ sessionId: 'lost', to, content: text('first') });
    await fake.sends(1);
    await caughtUp('lost', 1);
    // The flag as a node that died after the accept script and before queuing the job left it: set, no job.
    await ctx.look.set(keys('lost').wake, 'wake-3EB0DEAD');
    const second = await owner.enqueue({ sessionId: 'lost', to, content: text('found') });
    await waitFor('the message to be found', async () => (fake.sent.length === 2 ? true : undefined));
    assert.deepEqual(fake.sent, [first.id, second.id]);
    await caughtUp('lost', 2);
  } finally {
    await owner.stop();
  }
});

/** Every command Redis ran so far, as `INFO commandstats` counts them (scripts' inner commands included; INFO left out). */
const commandCount = async () => {
  let calls = 0;
  for (const m of (await ctx.look.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm))
    if (m[1] !== 'info') calls += Number(m[2]);
  return calls;
};

test('Redis commands: sends while the owner is awake cost one script of 3 commands each (no wake-up job), and sending them (recorded as sending, sent, delivered) 3 and a little each', async () => {
  const fake = fakeSessions();
  fake.setState('count', 'reconnecting');
  // Two members' receipts each: the second tells nothing new and is not written.
  fake.receipts = ['delivered', 'delivered'];
  // The other node hears none of the owner's receipts (they are the owner's driver's events).
  const [owner, other] = [await ctx.nodes.node(fake.sessions), await ctx.nodes.node(fakeSessions().sessions)];
  try {
    await owner.own('count');
    // The first send wakes the owner (whose BullMQ scripts are loaded then, once per connection); it waits for the
    // session with its wake-up in hand, so the 200 after it cost their script only.
    await other.enqueue({ sessionId: 'count', to, content: text('first') });
    await waitFor('the wake-up taken', async () => ((await ctx.look.lLen('hs:bull:hs-outbox-count:active')) === 1 ? true : undefined));
    const before = await commandCount();
    for (let i = 0; i < 200; i++) await other.enqueue({ sessionId: 'count', to, content: text(`c${i}`) });
    const accepted = await commandCount();
    fake.setState('count', 'connected');
    await waitFor('201 sends', async () => (fake.sent.length >= 201 ? true : undefined), 60_000);
    await caughtUp('count', 201);
    await waitFor('the receipts recorded', async () => ((await owner.get(fake.sent[200]))?.status === 'delivered' ? true : undefined));
    const sent = await commandCount();
    const perSend = (accepted - before) / 200;
    const perDelivery = (sent - accepted) / 200;
    assert.ok(perSend <= 4.2, `${perSend} commands per accepted send`);
    assert.ok(perDelivery <= 3.5, `${perDelivery} commands per message sent`);
  } finally {
    await owner.stop();
    await other.stop();
  }
});
