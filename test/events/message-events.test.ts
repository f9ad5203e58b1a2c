import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import type { HashsendEvent, MessageEvent } from '../../src/events/types.js';
import { createLogger } from '../../src/log.js';
import { freePort } from '../support/free-port.js';
import type { SandboxSession } from '../../src/whatsapp/sandbox/driver.js';

test('a send publishes its message events in order, queued to delivered, with the session events beside them', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'hashsend-events-'));
  const config = loadConfig({
    PORT: String(await freePort()),
    HOST: '127.0.0.1',
    DATA_DIR: path.join(dir, 'data'),
    SESSIONS_DIR: path.join(dir, 'sessions'),
    API_KEY: 'test-key-0123456789abcdef',
    DEFAULT_DRIVER: 'sandbox',
    LOG_LEVEL: 'silent',
  });
  const app = await createApp({ config, log: createLogger('silent') });
  const seen: HashsendEvent[] = [];
  app.events.subscribe((e) => void seen.push(e));
  const server = await app.start();
  try {
    await app.sessions.create({ id: 'shop', driver: 'sandbox' });
    await (app.sessions.driverSession('shop') as SandboxSession).link('+4915100000001');
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/api/sessions/shop/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${config.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ to: '+4915100000002', text: 'hello' }),
    });
    assert.equal(res.status, 202);
    const { id } = (await res.json()) as { id: string };
    const ofIt = () => seen.filter((e): e is MessageEvent => e.type === 'message' && e.message.id === id);
    await new Promise<void>((resolve) => {
      const off = app.events.subscribe(() => {
        if (ofIt().some((e) => e.message.status === 'delivered')) resolve(off());
      });
    });
    assert.deepEqual(
      ofIt().map((e) => [e.previousStatus, e.message.status]),
      [
        [undefined, 'queued'],
        ['queued', 'sending'],
        ['sending', 'sent'],
        ['sent', 'delivered'],
      ],
    );
    assert.ok(seen.some((e) => e.type === 'state' && e.session.id === 'shop' && e.session.state === 'connected'));
  } finally {
    await app.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
