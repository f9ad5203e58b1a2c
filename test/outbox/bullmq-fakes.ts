import { after, before } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger } from '../../src/log.js';
import { createBullOutbox, type BullOutbox, type BullOutboxOptions } from '../../src/outbox/bullmq/index.js';
import { createStoreFactory, type StoreFactory } from '../../src/store/index.js';
import type { OutboxSessions } from '../../src/outbox/index.js';
import type { SessionState } from '../../src/whatsapp/driver.js';
import type { SessionEvent } from '../../src/whatsapp/sessions.js';
import { createClient } from '@redis/client';
import { startRedis, type RedisServer } from '../support/redis.js';

/**
 * A session manager with one session per id, whose state the test sets; its sends are counted, and `beforeAnswer`
 * (when set) runs inside each send before it is answered (to hold a send, or act while it is in flight).
 */
export const fakeSessions = () => {
  const states = new Map<string, SessionState>();
  const listeners = new Set<(event: SessionEvent) => void>();
  const sent: string[] = [];
  const waits = new Set<() => void>();
  const fake = {
    sent,
    beforeAnswer: undefined as ((messageId: string) => Promise<void> | void) | undefined,
    /** Receipts each send gets once answered, as a group's members' would come (one per member). */
    receipts: [] as ('delivered' | 'read')[],
    sessions: {
      list: () => [...states.keys()].map((id) => ({ id })),
      get: (id) => ({ state: states.get(id) ?? 'stopped' }),
      has: (id) => states.has(id),
      async send(sessionId, request) {
        sent.push(request.messageId);
        for (const check of waits) check();
        await fake.beforeAnswer?.(request.messageId);
        const receipts = fake.receipts.map((status) => ({ type: 'receipt' as const, sessionId, waMessageId: request.messageId, status }));
        setImmediate(() => receipts.forEach((receipt) => listeners.forEach((l) => l(receipt))));
        return { waMessageId: request.messageId };
      },
      subscribe(listener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    } satisfies OutboxSessions,
    /** A receipt from the platform, now. */
    receipt(sessionId: string, waMessageId: string, status: 'delivered' | 'read') {
      for (const l of listeners) l({ type: 'receipt', sessionId, waMessageId, status });
    },
    setState(id: string, state: SessionState) {
      states.set(id, state);
      const now = new Date().toISOString();
      for (const l of listeners) l({ type: 'state', session: { id, driver: 'fake', state, createdAt: now, updatedAt: now } });
    },
    /** Resolves once `n` sends have been made. */
    sends: (n: number) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (sent.length < n) return;
          waits.delete(check);
          resolve();
        };
        waits.add(check);
        check();
      }),
  };
  return fake;
};

/** Outboxes on one Redis standing for nodes: each its own store connection, queues and workers, as a process would have. */
export const bullNodes = async (redisUrl: string) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'hashsend-bullmq-'));
  const factories: StoreFactory[] = [];
  return {
    async node(sessions: OutboxSessions, options: Partial<BullOutboxOptions> = {}): Promise<BullOutbox> {
      const factory = await createStoreFactory({ dataDir: dir, redisUrl });
      factories.push(factory);
      return createBullOutbox({
        store: factory.namespace('outbox'),
        sessions,
        log: createLogger('silent'),
        maxAgeMs: 60_000,
        retryBaseMs: 10,
        maxAttempts: 3,
        redisUrl,
        ...options,
      });
    },
    async close() {
      await Promise.all(factories.map((f) => f.close()));
      await rm(dir, { recursive: true, force: true });
    },
  };
};

export const text = (t: string) => ({ type: 'text' as const, text: t });

/**
 * For one file's tests: a redis-server of its own, outboxes on it standing for nodes (`nodes.node(…)`), and a client
 * of the test's own (`look`) to look at what they keep there, or to hold and drop their connections.
 */
export const outboxesOnRedis = () => {
  const ctx = {} as { redis: RedisServer; nodes: Awaited<ReturnType<typeof bullNodes>>; look: ReturnType<typeof createClient> };
  before(async () => {
    ctx.redis = await startRedis();
    ctx.nodes = await bullNodes(ctx.redis.url);
    ctx.look = createClient({ url: ctx.redis.url });
    // A test may halt Redis: this client then reconnects, as the outboxes' do.
    ctx.look.on('error', () => undefined);
    await ctx.look.connect();
  });
  after(async () => {
    await ctx.look?.close();
    await ctx.nodes?.close();
    await ctx.redis?.stop();
  });
  return ctx;
};
