import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Keyv from 'keyv';
import { loadConfig } from '../../../src/config.ts';
import { isHashsendError } from '../../../src/errors.ts';
import { createLogger } from '../../../src/log.ts';
import { createBlobStore } from '../../../src/media/blobs.ts';
import { createCloudDriver, type CloudDriverOptions, type CloudOptions } from '../../../src/whatsapp/cloud/index.ts';
import type { Driver, DriverEvent, DriverSession, InboundHttpRequest } from '../../../src/whatsapp/driver.ts';
import { startFakeGraph, type FakeGraph, type FakeGraphOptions } from '../../support/fake-graph/index.ts';
import { startInterposer, type Interposer } from './interposer.ts';

export const PHONE_NUMBER_ID = '106540352242922';
export const ACCESS_TOKEN = 'EAAGm0PX4ZCpsBO-test-token-0123456789';
export const APP_SECRET = 'app-secret-9f8e7d6c5b4a';
export const VERIFY_TOKEN = 'verify-me-please';
export const CUSTOMER = '4915123456789';
export const CUSTOMER_JID = `${CUSTOMER}@s.whatsapp.net`;
export const SESSION_ID = 'biz';

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export interface HarnessOptions {
  graph?: FakeGraphOptions;
  options?: Partial<CloudOptions>;
  driver?: Partial<CloudDriverOptions>;
  /** Start the session at once. @default true */
  start?: boolean;
}

export interface Harness {
  graph: FakeGraph;
  hop: Interposer;
  driver: Driver<CloudOptions>;
  session: DriverSession;
  events: DriverEvent[];
  /** Calls `listener` with every later event; returns a function that stops it. */
  listen(listener: (e: DriverEvent) => void): () => void;
  /** Resolves with the first event (already seen or still to come) the predicate picks. */
  nextEvent<T extends DriverEvent>(pick: (e: DriverEvent) => e is T): Promise<T>;
  nextEvent(pick: (e: DriverEvent) => boolean): Promise<DriverEvent>;
  /** Stores bytes as a blob, as the media core would; answers their sha256. */
  blob(bytes: Buffer): Promise<string>;
  blobs: ReturnType<typeof createBlobStore>;
  store: Keyv;
  /** Where the fake posts this session's webhooks (an http front like /hooks/<id>). */
  hookUrl: string;
  /** A POST to the hook as Meta would sign it (or as given). */
  postHook(body: string, signature?: string | null): Promise<{ status: number; body: string }>;
  close(): Promise<void>;
}

/**
 * The driver against the fake Graph API through an interposer, with a real blob store and a loopback HTTP front
 * for `handleHttp` that the fake posts its signed webhooks to, as Meta would to /hooks/<id>.
 */
export const startHarness = async ({
  graph: graphOptions,
  options = {},
  driver: driverOptions = {},
  start = true,
}: HarnessOptions = {}) => {
  const graph = await startFakeGraph(graphOptions);
  graph.addNumber({
    phoneNumberId: PHONE_NUMBER_ID,
    accessToken: ACCESS_TOKEN,
    appSecret: APP_SECRET,
    displayPhoneNumber: '+1 555-010-0199',
    verifiedName: 'Hashsend Test Shop',
  });
  const hop = await startInterposer(graph.url);
  const root = await mkdtemp(path.join(tmpdir(), 'hashsend-cloud-'));
  const log = createLogger('silent');
  const blobs = createBlobStore({ dir: path.join(root, 'blobs'), log });
  const store = new Keyv();
  const driver = createCloudDriver({
    log,
    store,
    graphUrl: hop.url,
    apiVersion: 'v23.0',
    publicMedia: false,
    limits: loadConfig({}).media.maxBytes,
    timeoutMs: 10_000,
    backoff: { baseMs: 1, maxMs: 5 },
    ...driverOptions,
  });
  const events: DriverEvent[] = [];
  const waiters = new Set<() => void>();
  const listeners = new Set<(e: DriverEvent) => void>();
  const session = driver.open({
    sessionId: SESSION_ID,
    options: driver.options!.schema.parse({
      phoneNumberId: PHONE_NUMBER_ID,
      accessToken: ACCESS_TOKEN,
      appSecret: APP_SECRET,
      verifyToken: VERIFY_TOKEN,
      ...options,
    }),
    dir: path.join(root, 'session'),
    log,
    blobs,
    onEvent: (e) => {
      events.push(e);
      for (const w of [...waiters]) w();
      for (const l of [...listeners]) l(e);
    },
  });

  const front = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const request: InboundHttpRequest = {
        method: req.method === 'GET' ? 'GET' : 'POST',
        query: Object.fromEntries(url.searchParams),
        headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v[0] : v])),
        body: Buffer.concat(chunks),
      };
      session.handleHttp!(request).then(
        (answer) => res.writeHead(answer.status, { 'content-type': answer.contentType ?? 'text/plain' }).end(answer.body ?? ''),
        (err: unknown) => {
          const status = isHashsendError(err) ? err.status : 500;
          const code = isHashsendError(err) ? err.code : 'internal';
          res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code } }));
        },
      );
    });
  });
  front.listen(0, '127.0.0.1');
  await once(front, 'listening');
  const hookUrl = `http://127.0.0.1:${(front.address() as AddressInfo).port}/hooks/${SESSION_ID}`;
  graph.setCallback(PHONE_NUMBER_ID, hookUrl);

  const nextEvent = (pick: (e: DriverEvent) => boolean) =>
    new Promise<DriverEvent>((resolve) => {
      const check = () => {
        const found = events.find(pick);
        if (!found) return;
        waiters.delete(check);
        resolve(found);
      };
      waiters.add(check);
      check();
    });

  const harness: Harness = {
    graph,
    hop,
    driver,
    session,
    events,
    listen(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    nextEvent: nextEvent as Harness['nextEvent'],
    blobs,
    store,
    hookUrl,
    async blob(bytes) {
      const sha = sha256(bytes);
      await blobs.write(bytes, sha);
      return sha;
    },
    async postHook(body, signature) {
      const { signature: sign } = await import('../../support/fake-graph/index.ts');
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      const sig = signature === undefined ? sign(APP_SECRET, body) : signature;
      if (sig !== null) headers['x-hub-signature-256'] = sig;
      const res = await fetch(hookUrl, { method: 'POST', body, headers });
      return { status: res.status, body: await res.text() };
    },
    async close() {
      await session.stop();
      front.closeAllConnections();
      await new Promise<void>((r) => front.close(() => r()));
      await hop.close();
      await graph.close();
      await rm(root, { recursive: true, force: true });
    },
  };
  if (start) await session.start();
  return harness;
};

/** Meta's webhook envelope around one change value for the test number. */
export const notification = (value: Record<string, unknown>, phoneNumberId = PHONE_NUMBER_ID) =>
  JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [
      {
        id: '102290129340398',
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550100199', phone_number_id: phoneNumberId },
              ...value,
            },
          },
        ],
      },
    ],
  });

export const textTo = (text: string, to = CUSTOMER_JID) => ({ messageId: `m-${text}`, to, content: { type: 'text' as const, text } });
