import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import Keyv from 'keyv';
import { createEventBus } from '../../src/events/bus.js';
import type { HashsendEvent, InboundMessage, ReceivedEvent } from '../../src/events/types.js';
import { createLogger } from '../../src/log.js';
import { createInbox, type Inbox, type InboxDeps } from '../../src/messages/inbox.js';
import { createStoreFactory, type Store, type StoreFactory } from '../../src/store/index.js';
import type { InboundDriverMessage } from '../../src/whatsapp/driver.js';
import { startRedis, type RedisServer } from '../support/redis.js';

const CUSTOMER = '4915100000002@s.whatsapp.net';
const text = (n: number, over: Partial<InboundDriverMessage> = {}): InboundDriverMessage => ({
  waMessageId: `3A${String(n).padStart(18, '0')}`,
  chat: CUSTOMER,
  from: CUSTOMER,
  timestamp: new Date(1_700_000_000_000 + n * 1000).toISOString(),
  content: { type: 'text', text: `message ${n}` },
  ...over,
});

interface Setup {
  inbox: Inbox;
  bus: ReturnType<typeof createEventBus<HashsendEvent>>;
  received: InboundMessage[];
  logs: () => Array<{ msg: string; err?: { message: string } }>;
  /** Delivers messages as a session's driver does, and waits for the inbox to store them. */
  arrive(sessionId: string, ...messages: InboundDriverMessage[]): Promise<void>;
  /** A second inbox on the same store: what a restarted process has. */
  reopen(): Inbox;
}

const noMedia = { adopt: () => Promise.reject(new Error('no media here')) };

const setup = (store: Store, media: InboxDeps['media'] = noMedia): Setup => {
  let lines = '';
  const log = createLogger(
    'info',
    new Writable({
      write(chunk: Buffer, _enc, done) {
        lines += chunk.toString();
        done();
      },
    }),
  );
  const bus = createEventBus<HashsendEvent>({ log });
  const received: InboundMessage[] = [];
  bus.subscribe((e) => e.type === 'received' && received.push(e.message));
  const open = () => createInbox({ store, events: bus, media, log });
  let inbox = open();
  return {
    get inbox() {
      return inbox;
    },
    bus,
    received,
    logs: () =>
      lines
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { msg: string }),
    async arrive(sessionId, ...messages) {
      for (const message of messages) bus.publish({ type: 'inbound', sessionId, message });
      // stop() waits for what arrived; a fresh inbox listens from here on.
      await inbox.stop();
      inbox = open();
    },
    reopen: () => (inbox = open()),
  };
};

const backends: Array<[string, () => Promise<{ factory: StoreFactory; cleanup(): Promise<void> }>]> = [
  [
    'SQLite',
    async () => {
      const dir = await mkdtemp(path.join(tmpdir(), 'hashsend-inbox-'));
      const factory = await createStoreFactory({ dataDir: dir });
      return { factory, cleanup: () => rm(dir, { recursive: true, force: true }) };
    },
  ],
  [
    'Redis',
    async () => {
      const redis: RedisServer = await startRedis();
      const factory = await createStoreFactory({ dataDir: '/nonexistent', redisUrl: redis.url });
      return { factory, cleanup: () => redis.stop() };
    },
  ],
];

for (const [name, open] of backends) {
  describe(`inbox on ${name}`, () => {
    let factory: StoreFactory;
    let cleanup: () => Promise<void>;
    let n = 0;
    /** A store of its own per test: a namespace no other test wrote to. */
    const fresh = () => setup(factory.namespace(`inbox${n++}`));
    before(async () => ({ factory, cleanup } = await open()));
    after(async () => {
      await factory.close();
      await cleanup();
    });

    test('a message delivered twice, at once and again after a restart, is stored once and received once', async () => {
      const s = fresh();
      await s.arrive('shop', text(1), text(1), text(2));
      s.reopen();
      await s.arrive('shop', text(1));
      const { items } = await s.inbox.list('shop', { limit: 10 });
      assert.deepEqual(
        items.map((m) => m.waMessageId),
        [text(2).waMessageId, text(1).waMessageId],
      );
      assert.deepEqual(
        s.received.map((m) => m.waMessageId),
        [text(1).waMessageId, text(2).waMessageId],
      );
      assert.deepEqual(s.received[0], items[1]);
    });

    test('the same WhatsApp id from another sender, chat or session is another message', async () => {
      const s = fresh();
      const other = '4915100000003@s.whatsapp.net';
      const group = '120363000000000001@g.us';
      await s.arrive(
        'shop',
        text(1),
        text(1, { from: other, chat: other }),
        text(1, { chat: group }),
        text(1, { chat: group, from: other }),
      );
      await s.arrive('outlet', text(1));
      assert.equal((await s.inbox.list('shop', { limit: 10 })).items.length, 4);
      assert.equal((await s.inbox.list('outlet', { limit: 10 })).items.length, 1);
      assert.equal(s.received.length, 5);
      assert.equal(new Set(s.received.map((m) => m.id)).size, 5);
    });

    test('received is published once the message can be read back, by id and in the list', async () => {
      const s = fresh();
      const reads: Array<Promise<[InboundMessage | undefined, string[]]>> = [];
      s.bus.subscribe((e) => {
        if (e.type !== 'received') return;
        const { id, sessionId } = (e as ReceivedEvent).message;
        reads.push(Promise.all([s.inbox.get(sessionId, id), s.inbox.list(sessionId, { limit: 1 }).then((p) => p.items.map((m) => m.id))]));
      });
      await s.arrive('shop', text(1), text(2), text(3));
      const found = await Promise.all(reads);
      assert.equal(found.length, 3);
      found.forEach(([message, newest], i) => {
        assert.deepEqual(message, s.received[i]);
        assert.deepEqual(newest, [s.received[i].id]);
      });
    });

    test('stored fields: ours (id, session, receivedAt) beside what the driver read; get is per session', async () => {
      const s = fresh();
      const reply = text(2, { replyTo: text(1).waMessageId, pushName: 'Ada' });
      const reaction = text(3, { content: { type: 'reaction', messageId: '3EB0A1B2C3D4E5F60718', emoji: '👍' } });
      await s.arrive('shop', reply, reaction);
      const [r, q] = s.received;
      assert.match(r.id, /^in_[0-9a-f]{20}$/);
      assert.deepEqual(
        { ...r, id: undefined, receivedAt: undefined },
        { ...reply, id: undefined, sessionId: 'shop', receivedAt: undefined },
      );
      assert.ok(Date.parse(r.receivedAt) > 0);
      assert.deepEqual(q.content, reaction.content);
      assert.deepEqual(await s.inbox.get('shop', r.id), r);
      assert.equal(await s.inbox.get('outlet', r.id), undefined);
      assert.equal(await s.inbox.get('shop', 'in_00000000000000000000'), undefined);
    });

    test('230 messages page newest first with a cursor, across chunks', async () => {
      const s = fresh();
      await s.arrive('shop', ...Array.from({ length: 230 }, (_, i) => text(i)));
      const seen: string[] = [];
      let before: number | undefined;
      let pages = 0;
      for (;;) {
        const page = await s.inbox.list('shop', { limit: 50, ...(before !== undefined ? { before } : {}) });
        pages++;
        seen.push(...page.items.map((m) => m.content.type === 'text' && m.content.text).map(String));
        if (page.nextCursor === null) break;
        before = page.nextCursor;
      }
      assert.equal(pages, 5);
      assert.deepEqual(
        seen,
        Array.from({ length: 230 }, (_, i) => `message ${229 - i}`),
      );
    });
  });
}

test('a media message is listed once its media is recorded; one that arrived after it waits its turn', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'hashsend-inbox-'));
  const factory = await createStoreFactory({ dataDir: dir });
  let release!: () => void;
  let asked!: () => void;
  const adoptAsked = new Promise<void>((resolve) => (asked = resolve));
  const adopted: string[] = [];
  const media = {
    adopt: async (sha256: string) => {
      asked();
      await new Promise<void>((resolve) => (release = resolve));
      adopted.push(sha256);
      return undefined as never;
    },
  };
  try {
    const s = setup(factory.namespace('inbox'), media);
    const photo = text(1, { content: { type: 'media', as: 'image', sha256: 'ab'.repeat(32), mimetype: 'image/jpeg', size: 3 } });
    s.bus.publish({ type: 'inbound', sessionId: 'shop', message: photo });
    s.bus.publish({ type: 'inbound', sessionId: 'shop', message: text(2) });
    await adoptAsked;
    assert.deepEqual((await s.inbox.list('shop', { limit: 10 })).items, []);
    release();
    await s.arrive('shop');
    assert.deepEqual(adopted, ['ab'.repeat(32)]);
    assert.deepEqual(
      (await s.inbox.list('shop', { limit: 10 })).items.map((m) => m.waMessageId),
      [text(2).waMessageId, photo.waMessageId],
    );
  } finally {
    await factory.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a store that fails is logged, not a crash: nothing is received, and the next message is stored once it works', async () => {
  const store = new Keyv({ throwOnErrors: true });
  const set = store.set.bind(store);
  let broken = true;
  store.set = ((...args: Parameters<typeof set>) => (broken ? Promise.reject(new Error('disk full')) : set(...args))) as typeof store.set;
  const s = setup(store);
  await s.arrive('shop', text(1));
  assert.equal(s.received.length, 0);
  const failed = s.logs().filter((l) => l.msg === 'an inbound message could not be stored');
  assert.deepEqual(
    failed.map((l) => l.err?.message),
    ['disk full'],
  );
  broken = false;
  // A driver delivers it again: not marked seen, so it is stored now.
  await s.arrive('shop', text(1));
  assert.deepEqual(
    s.received.map((m) => m.waMessageId),
    [text(1).waMessageId],
  );
});
