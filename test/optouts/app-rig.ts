import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createEventBus } from '../../src/events/bus.js';
import type { HashsendEvent, InboundMessage } from '../../src/events/types.js';
import { createLogger } from '../../src/log.js';
import type { InboundContent } from '../../src/whatsapp/driver.js';
import type { SandboxSession } from '../../src/whatsapp/sandbox/driver.js';
import { freePort } from '../support/free-port.js';

export interface Rig {
  app: App;
  url: string;
  api(route: string, init?: { method?: string; json?: unknown }): Promise<Response>;
  /** The next event on the app's bus that `match` accepts. */
  next<E extends HashsendEvent>(match: (e: HashsendEvent) => e is E): Promise<E>;
  /** Every event published since the rig started. */
  seen: HashsendEvent[];
  /** A sandbox session, linked unless `linked` is false. */
  session(id: string, opts?: { linked?: boolean }): Promise<SandboxSession>;
  /** A message arriving as a driver reports it; resolves once the inbox stored it and published `received`. */
  inbound(sessionId: string, from: string, content: InboundContent | string, opts?: { chat?: string }): Promise<InboundMessage>;
  close(): Promise<void>;
}

/**
 * hashsend in this process, on a free port, the sandbox driver, with the app's event bus in the test's hands: a
 * message "arrives" as the driver's `inbound` event on that bus, from any sender and chat (groups included).
 */
export const startRig = async (env: Record<string, string> = {}): Promise<Rig> => {
  const dir = await mkdtemp(path.join(tmpdir(), 'hashsend-optouts-'));
  const apiKey = 'test-key-0123456789abcdef';
  const config = loadConfig({
    PORT: String(await freePort()),
    HOST: '127.0.0.1',
    DATA_DIR: path.join(dir, 'data'),
    SESSIONS_DIR: path.join(dir, 'sessions'),
    API_KEY: apiKey,
    DEFAULT_DRIVER: 'sandbox',
    LOG_LEVEL: 'silent',
    QUEUE_RETRY_BASE_MS: '50',
    ...env,
  });
  const log = createLogger('silent');
  const events = createEventBus<HashsendEvent>({ log });
  const seen: HashsendEvent[] = [];
  events.subscribe((e) => void seen.push(e));
  const app = await createApp({ config, log, events });
  const server = await app.start();
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    app,
    url,
    seen,
    api: (route, { method = 'GET', json } = {}) =>
      fetch(`${url}${route}`, {
        method,
        headers: { authorization: `Bearer ${apiKey}`, ...(json !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
      }),
    next: (match) =>
      new Promise((resolve) => {
        const off = events.subscribe((e) => {
          if (match(e)) {
            off();
            resolve(e);
          }
        });
      }),
    async session(id, { linked = true } = {}) {
      await app.sessions.create({ id, driver: 'sandbox' });
      const sandbox = app.sessions.driverSession(id) as SandboxSession;
      if (linked) await sandbox.link('+4915100000001');
      return sandbox;
    },
    async inbound(sessionId, from, content, { chat = from } = {}) {
      const waMessageId = `3A${randomBytes(9).toString('hex').toUpperCase()}`;
      const received = new Promise<InboundMessage>((resolve) => {
        const off = events.subscribe((e) => {
          if (e.type === 'received' && e.message.sessionId === sessionId && e.message.waMessageId === waMessageId) {
            off();
            resolve(e.message);
          }
        });
      });
      events.publish({
        type: 'inbound',
        sessionId,
        message: {
          waMessageId,
          chat,
          from,
          timestamp: new Date().toISOString(),
          content: typeof content === 'string' ? { type: 'text', text: content } : content,
        },
      });
      return received;
    },
    async close() {
      await app.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
};

export const isOptOut = (e: HashsendEvent): e is Extract<HashsendEvent, { type: 'optout' }> => e.type === 'optout';
