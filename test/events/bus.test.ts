import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createEventBus } from '../../src/events/bus.js';
import { createLogger } from '../../src/log.js';

type Ping = { type: 'ping'; n: number };

const capture = () => {
  const lines: { msg: string; event?: string; err?: { message: string } }[] = [];
  const log = createLogger('error', { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { log, lines };
};

test('a listener that throws, rejects or never settles stops neither the others nor the publisher', async () => {
  const { log, lines } = capture();
  const bus = createEventBus<Ping>({ log });
  const got: number[] = [];
  bus.subscribe(() => {
    throw new Error('sync failure');
  });
  bus.subscribe(async () => {
    throw new Error('async failure');
  });
  bus.subscribe(() => new Promise(() => undefined));
  bus.subscribe((e) => void got.push(e.n));

  bus.publish({ type: 'ping', n: 1 });
  bus.publish({ type: 'ping', n: 2 });
  assert.deepEqual(got, [1, 2], 'every event reached the healthy listener, in order, before publish returned');
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(
    lines.map((l) => [l.msg, l.event, l.err?.message]),
    [
      ['an event listener failed', 'ping', 'sync failure'],
      ['an event listener failed', 'ping', 'sync failure'],
      ['an event listener failed', 'ping', 'async failure'],
      ['an event listener failed', 'ping', 'async failure'],
    ],
  );
});

test('an unsubscribed listener hears nothing more', () => {
  const bus = createEventBus<Ping>({ log: capture().log });
  const got: number[] = [];
  const off = bus.subscribe((e) => void got.push(e.n));
  bus.publish({ type: 'ping', n: 1 });
  off();
  bus.publish({ type: 'ping', n: 2 });
  assert.deepEqual(got, [1]);
});
