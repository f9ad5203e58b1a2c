import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import express, { type Response } from 'express';
import { HashsendError } from '../../src/errors.js';
import { errorHandler } from '../../src/http/errors.js';
import { sessionRoutes } from '../../src/http/routes/sessions.js';
import type { SessionEvent, SessionInfo, SessionManager } from '../../src/whatsapp/sessions.js';
import { openEventStream, type StreamEvent } from '../support/sse.js';

/**
 * The events route over a session manager that is only its event source, so a test can emit thousands of
 * events at once and look at what the server holds for a client that does not read.
 */
const listeners = new Set<(e: SessionEvent) => void>();
let current: SessionInfo = { id: 'slow', driver: 'sandbox', state: 'qr', createdAt: 'then', updatedAt: 'then' };
const source = {
  get(id: string) {
    if (id !== 'slow') throw new HashsendError('session_not_found', 404, `no session "${id}"`);
    return current;
  },
  currentQr: () => undefined,
  subscribe(listener: (e: SessionEvent) => void) {
    listeners.add(listener);
    return () => void listeners.delete(listener);
  },
};
/** A state change whose frame is `size` bytes or so, numbered `n` in its lastError. */
const emitState = (n: number, size: number) => {
  current = { ...current, state: 'reconnecting', lastError: { message: `${n} ${'x'.repeat(size)}`, at: String(n) } };
  for (const l of listeners) l({ type: 'state', session: current });
};
const numberOf = (e: StreamEvent) => Number((e.data as SessionInfo).lastError?.at ?? 0);

let server: Server;
let url: string;
const responses: Response[] = [];
before(async () => {
  const app = express()
    .use((_req, res, next) => {
      responses.push(res);
      next();
    })
    .use('/api', sessionRoutes({ sessions: source as unknown as SessionManager }))
    .use(errorHandler);
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}/api/sessions/slow/events`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

const open = (headers: Record<string, string> = {}) => openEventStream(url, headers);
/** What the server holds in memory for the newest stream: bytes written but not yet taken by the kernel. */
const bufferedForLast = () => responses.at(-1)!.writableLength;
const MB = 1024 * 1024;

describe('session event stream', () => {
  test('every event has an id; ids increase', async () => {
    const stream = await open();
    try {
      await stream.next(() => true);
      for (let n = 1; n <= 3; n++) emitState(n, 10);
      await stream.next((e) => numberOf(e) === 3);
      const ids = stream.events.map((e) => e.id);
      assert.ok(
        ids.every((id) => typeof id === 'string' && /^\w+-\d+$/.test(id)),
        JSON.stringify(ids),
      );
      const positions = ids.map((id) => Number(id!.split('-')[1]));
      assert.deepEqual(
        positions,
        [...positions].sort((a, b) => a - b),
      );
      assert.equal(new Set(positions).size, positions.length);
    } finally {
      await stream.close();
    }
  });

  test('a reader that stops reading costs the server a socket buffer, not the backlog; it resumes with the current state', async () => {
    const stream = await open();
    try {
      await stream.next(() => true);
      stream.pause();
      // 5,000 events of 10 KB: 50 MB, far beyond what the kernel holds for one connection.
      for (let n = 1; n <= 5000; n++) emitState(n, 10_000);
      assert.ok(bufferedForLast() < 1 * MB, `${bufferedForLast()} bytes held for a client that does not read`);
      stream.resume();
      const last = await stream.next((e) => numberOf(e) === 5000, 20_000);
      assert.equal((last.data as SessionInfo).state, 'reconnecting');
      // Far fewer frames than events: the ones it could not take were dropped, not queued.
      assert.ok(stream.events.length < 2500, `${stream.events.length} frames`);
      const numbers = stream.events.slice(1).map(numberOf);
      assert.deepEqual(
        numbers,
        [...numbers].sort((a, b) => a - b),
        'frames in order',
      );
    } finally {
      await stream.close();
    }
  });

  test('a reader briefly behind gets every missed event, in order, from the log once its socket drains', async () => {
    const stream = await open();
    try {
      const first = await stream.next(() => true);
      stream.pause();
      // 100 events (what the log keeps) of 200 KB: 20 MB, more than the kernel takes, so the server stops writing.
      const from = numberOf(first) + 1;
      for (let n = from; n < from + 100; n++) emitState(n, 200_000);
      const held = bufferedForLast();
      assert.ok(held > 0 && held < 1 * MB, `${held} bytes held`);
      stream.resume();
      await stream.next((e) => numberOf(e) === from + 99, 20_000);
      assert.deepEqual(
        stream.events.slice(1).map(numberOf),
        Array.from({ length: 100 }, (_, i) => from + i),
      );
    } finally {
      await stream.close();
    }
  });

  test('Last-Event-ID: the events missed since, not a snapshot; an unknown id gets the current state', async () => {
    const first = await open();
    const seen = await first.next(() => true);
    await first.close();
    const base = numberOf(seen);
    for (let n = base + 1; n <= base + 3; n++) emitState(n, 10);

    const resumed = await open({ 'last-event-id': seen.id! });
    await resumed.next((e) => numberOf(e) === base + 3);
    assert.deepEqual(resumed.events.map(numberOf), [base + 1, base + 2, base + 3]);
    await resumed.close();

    let n = base + 3;
    for (const id of ['nonsense', '00000000-1', `${seen.id!.split('-')[0]}-999999999`]) {
      const fresh = await open({ 'last-event-id': id });
      await fresh.next(() => true);
      emitState(++n, 10);
      await fresh.next((e) => numberOf(e) === n);
      // The current state first (a snapshot), then what happened after: nothing older replayed.
      assert.deepEqual(fresh.events.map(numberOf), [n - 1, n], id);
      await fresh.close();
    }
  });
});
