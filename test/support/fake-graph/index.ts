import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { receive, type Inbound } from './inbound.ts';
import { LinkCache } from './link-cache.ts';
import { createGraphServer } from './server.ts';
import {
  GraphState,
  type FakeGraphMessage,
  type FakeNumber,
  type NumberOptions,
  type PlannedFailure,
  type RequestRecord,
  type StatusName,
  type StoredMedia,
  type UploadRecord,
  type WebhookPost,
} from './state.ts';
import { WebhookSender } from './webhooks.ts';

export type { FakeGraphMessage, NumberOptions, PlannedFailure, RequestRecord, StatusName, UploadRecord, WebhookPost } from './state.ts';
export type { Inbound } from './inbound.ts';
export { signature } from './webhooks.ts';
export { ERROR_CODES_HREF, httpStatusFor, titleFor } from './errors.ts';

export interface FakeGraphOptions {
  /** Status webhooks sent, in order, for each accepted message (unless it fails). @default ['sent', 'delivered', 'read'] */
  statuses?: StatusName[];
  /** Tries per webhook post when the callback refuses (non-2xx) or cannot be reached. @default 3 */
  webhookAttempts?: number;
  /** A message naming an unknown/expired media id: a 400 answer (131053), or accepted then `failed` (131053). @default 'sync' */
  mediaIdErrors?: 'sync' | 'async';
  /** The clock (ms), for the 24-hour service window and timestamps. @default Date.now */
  now?: () => number;
}

export interface FakeGraph {
  /** `http://127.0.0.1:PORT`, without a version path (any `/vNN.N/` prefix is accepted). */
  url: string;
  addNumber(opts: NumberOptions): void;
  setCallback(phoneNumberId: string, callbackUrl: string | undefined): void;
  /** Meta's GET hub.mode=subscribe handshake against the callback; ok when the challenge comes back with a 200. */
  verifyCallback(phoneNumberId: string, verifyToken: string): Promise<{ ok: boolean; status: number; body: string }>;
  /** Later calls with this token answer 401, code 190, subcode 463. */
  expireToken(accessToken: string): void;
  /** The media id is gone, as after Meta's 30 days. */
  expireMedia(mediaId: string): void;
  failNext(phoneNumberId: string, failure: PlannedFailure): void;
  /** Like a dev app's test-number list; `undefined` lifts it. Others get 131030. */
  allowRecipients(phoneNumberId: string, recipients: string[] | undefined): void;
  /** Non-template messages to customers silent for 24 h are accepted, then fail with 131047. */
  enforceServiceWindow(phoneNumberId: string, on: boolean): void;
  /** Which status webhooks this number's accepted messages get, in order. */
  setStatuses(phoneNumberId: string, statuses: StatusName[]): void;
  messages(): FakeGraphMessage[];
  uploads(): UploadRecord[];
  requests(): RequestRecord[];
  /** Every webhook post attempt, with the callback's answer. */
  webhookPosts(): WebhookPost[];
  /** A stored media item (uploaded or inbound), with its bytes, gone or not. */
  media(mediaId: string): StoredMedia | undefined;
  /** URLs the fake downloaded from their origin for `link` sends (cache misses), in order. */
  linkFetches(): string[];
  /** Forget the cached bytes of one link, or of all links. */
  clearLinkCache(url?: string): void;
  receive(phoneNumberId: string, message: Inbound): Promise<{ id: string; mediaId?: string }>;
  /** Resolves with the predicate's first truthy value, checked now and after every change of the fake's state. */
  waitFor<T>(predicate: (graph: FakeGraph) => T | undefined | null | false): Promise<T>;
  /** Resolves once every webhook queued so far has been posted (and retried). */
  settled(): Promise<void>;
  close(): Promise<void>;
}

const ALL_STATUSES: StatusName[] = ['sent', 'delivered', 'read'];

/** A local stand-in for Meta's WhatsApp Cloud API (Graph API) on 127.0.0.1, for tests. */
export const startFakeGraph = async ({
  statuses = ALL_STATUSES,
  webhookAttempts = 3,
  mediaIdErrors = 'sync',
  now = Date.now,
}: FakeGraphOptions = {}): Promise<FakeGraph> => {
  const state = new GraphState();
  const stop = new AbortController();
  const agent = new Agent({ connections: 8 });
  const links = new LinkCache(agent, stop.signal, now);
  const webhooks = new WebhookSender(state, agent, stop.signal, webhookAttempts);
  let base = '';
  const server = createGraphServer({ state, links, webhooks, now, mediaIdErrors, base: () => base });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const number = (id: string): FakeNumber => {
    const n = state.numbers.get(id);
    if (!n) throw new Error(`fake graph: no number ${id} (addNumber first)`);
    return n;
  };

  const graph: FakeGraph = {
    url: base,
    addNumber: (o) => {
      state.numbers.set(o.phoneNumberId, {
        ...o,
        wabaId: o.wabaId ?? `10${o.phoneNumberId.replace(/\D/g, '').padStart(13, '0')}`.slice(0, 15),
        qualityRating: o.qualityRating ?? 'GREEN',
        serviceWindow: false,
        statuses: [...statuses],
        failures: [],
      });
      state.changed();
    },
    setCallback: (id, url) => void (number(id).callbackUrl = url),
    verifyCallback: (id, token) => webhooks.verify(number(id), token),
    expireToken: (token) => void state.expiredTokens.add(token),
    expireMedia: (id) => {
      const media = state.media.get(id);
      if (!media) throw new Error(`fake graph: no media ${id}`);
      media.gone = true;
      state.changed();
    },
    failNext: (id, f) => void number(id).failures.push({ code: f.code, left: f.times ?? 1, async: f.async ?? false, details: f.details }),
    allowRecipients: (id, list) => void (number(id).allowed = list && new Set(list.map((r) => r.replace(/\D/g, '')))),
    enforceServiceWindow: (id, on) => void (number(id).serviceWindow = on),
    setStatuses: (id, list) => void (number(id).statuses = [...list]),
    messages: () => [...state.messages],
    uploads: () => [...state.uploads],
    requests: () => [...state.requests],
    webhookPosts: () => [...state.webhookPosts],
    media: (id) => state.media.get(id),
    linkFetches: () => [...links.fetched],
    clearLinkCache: (url) => links.clear(url),
    receive: (id, message) => receive({ state, webhooks, now }, number(id), message),
    waitFor: (predicate) =>
      new Promise((resolve, reject) => {
        if (closing) {
          reject(new Error('fake graph closed while waiting'));
          return;
        }
        const cleanup = () => {
          state.off('change', check);
          state.off('close', closed);
        };
        const closed = () => {
          cleanup();
          reject(new Error('fake graph closed while waiting'));
        };
        function check() {
          try {
            const value = predicate(graph);
            if (!value) return;
            cleanup();
            resolve(value);
          } catch (err) {
            cleanup();
            reject(err);
          }
        }
        state.on('change', check);
        state.once('close', closed);
        check();
      }),
    settled: () => webhooks.settled(),
    close: () => (closing ??= shutdown()),
  };
  let closing: Promise<void> | undefined;
  const shutdown = async () => {
    stop.abort();
    state.emit('close');
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await webhooks.settled();
    await agent.close();
  };
  return graph;
};
