/**
 * hashsend (a child process, Baileys driver) wired to the WhatsApp protocol simulator: the simulator's Noise
 * root trusted through the test preload, its media CA through WHATSAPP_MEDIA_CA_FILE, short keep-alive and
 * timeouts so faults show within seconds. Everything goes through hashsend's HTTP API, as a user's would.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';
import { startServer, waitFor, type StartedServer } from '../../support/server.js';
import { openEventStream } from '../../support/sse.js';
import { startWaSimulator, type Delivery, type WaSimulator, type WaSimulatorOptions } from '../../support/wa-simulator/index.js';

export const TRUST_PRELOAD = './test/support/wa-simulator/trust.ts';

/** Settings that make faults visible quickly; `keepAliveMs + 5 s` is when a silent socket counts as lost. */
export const FAST_WHATSAPP = {
  WHATSAPP_KEEPALIVE_MS: '1000',
  WHATSAPP_CONNECT_TIMEOUT_MS: '3000',
  WHATSAPP_ACK_TIMEOUT_MS: '2000',
  WHATSAPP_UPLOAD_TIMEOUT_MS: '2000',
  WHATSAPP_RECONNECT_BASE_MS: '100',
  WHATSAPP_RECONNECT_MAX_MS: '400',
  QUEUE_RETRY_BASE_MS: '100',
};

/** Statuses of a message the outbox is done with, WhatsApp having taken it. */
export const SENT = ['sent', 'delivered', 'read'];

export const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

export interface MessageView {
  id: string;
  status: string;
  waMessageId?: string;
  attempts: number;
  deliveredAt: string | null;
  readAt: string | null;
  error?: { code: string; message: string };
  media?: { sha256: string; sentSha256?: string };
}

export interface SessionView {
  id: string;
  state: string;
  me?: { id: string; phone: string };
  lastError?: { message: string; code?: number };
}

export interface StateWatch {
  /** Every state so far, in order. */
  readonly states: string[];
  /** From now on: `next` looks only at states reported after this call. */
  mark(): void;
  /** The first `state` after the mark (or the last match), waiting for it if need be. */
  next(state: string, timeoutMs?: number): Promise<SessionView>;
  close(): Promise<void>;
}

export interface Harness {
  sim: WaSimulator;
  server: StartedServer;
  /** Creates a Baileys session and links it by QR through the API; resolves once it is connected. */
  link(sessionId: string, phone: string): Promise<SessionView>;
  session(sessionId: string): Promise<SessionView>;
  waitForState(sessionId: string, state: string, timeoutMs?: number): Promise<SessionView>;
  /** The session's states as its event stream reports them, none missed however brief. */
  watchStates(sessionId: string): Promise<StateWatch>;
  /** POSTs a message; returns the 202's id (throws on any other answer, with its body). */
  send(sessionId: string, body: unknown): Promise<string>;
  message(id: string): Promise<MessageView>;
  waitForStatus(id: string, statuses: string[], timeoutMs?: number): Promise<MessageView>;
  /**
   * Waits for message `id` to be sent (the outbox is done with it) and shown on the phone of `to` (bare
   * number), then checks it was relayed there exactly once, a duplicate under the same id included; returns
   * what the phone shows.
   */
  arrivedOnce(id: string, to: string): Promise<Delivery>;
  close(): Promise<void>;
}

export const startHarness = async ({
  env = {},
  sim: simOptions = {},
}: { env?: Record<string, string>; sim?: WaSimulatorOptions } = {}): Promise<Harness> => {
  const sim = await startWaSimulator(simOptions);
  const caDir = await mkdtemp(path.join(tmpdir(), 'hashsend-wa-ca-'));
  const caFile = path.join(caDir, 'media-ca.pem');
  await writeFile(caFile, sim.mediaCa);
  let server: StartedServer;
  try {
    server = await startServer(
      {
        DEFAULT_DRIVER: 'baileys',
        MEDIA_ALLOW_HOSTS: '127.0.0.1',
        WHATSAPP_WS_URL: sim.wsUrl,
        WHATSAPP_MEDIA_CA_FILE: caFile,
        LOG_LEVEL: 'warn',
        ...FAST_WHATSAPP,
        ...env,
      },
      { imports: [TRUST_PRELOAD] },
    );
  } catch (err) {
    await sim.stop();
    await rm(caDir, { recursive: true, force: true });
    throw err;
  }

  const session = async (id: string) => (await (await server.api(`/api/sessions/${id}`)).json()) as SessionView;
  const waitForState = (id: string, state: string, timeoutMs = 15_000) =>
    waitFor(
      `session ${id} ${state}`,
      async () => {
        const s = await session(id);
        return s.state === state ? s : undefined;
      },
      timeoutMs,
    );
  const message = async (id: string) => (await (await server.api(`/api/messages/${id}`)).json()) as MessageView;
  const waitForStatus = (id: string, statuses: string[], timeoutMs = 15_000) =>
    waitFor(
      `message ${id} ${statuses.join(' or ')}`,
      async () => {
        const m = await message(id);
        return statuses.includes(m.status) ? m : undefined;
      },
      timeoutMs,
    );

  return {
    sim,
    server,
    session,
    waitForState,
    message,
    async link(id, phone) {
      const created = await server.api('/api/sessions', { method: 'POST', json: { id, driver: 'baileys' } });
      if (created.status !== 201) throw new Error(`creating ${id}: ${created.status} ${await created.text()}`);
      const qr = await server.api(`/api/sessions/${id}/qr`, { headers: { accept: 'application/json' } });
      if (qr.status !== 200) throw new Error(`QR of ${id}: ${qr.status} ${await qr.text()}`);
      await sim.scanQr(((await qr.json()) as { qr: string }).qr, phone);
      return waitForState(id, 'connected');
    },
    async watchStates(id) {
      const stream = await openEventStream(`${server.url}/api/sessions/${id}/events`, { authorization: `Bearer ${server.apiKey}` });
      const isState = (e: { event: string }) => e.event === 'state';
      let cursor = 0;
      return {
        get states() {
          return stream.events.filter(isState).map((e) => (e.data as SessionView).state);
        },
        mark() {
          cursor = stream.events.length;
        },
        async next(state, timeoutMs = 15_000) {
          const found = await stream.next(
            (e) => stream.events.indexOf(e) >= cursor && isState(e) && (e.data as SessionView).state === state,
            timeoutMs,
          );
          cursor = stream.events.indexOf(found) + 1;
          return found.data as SessionView;
        },
        close: () => stream.close(),
      };
    },
    async send(id, body) {
      const res = await server.api(`/api/sessions/${id}/messages`, { method: 'POST', json: body });
      const text = await res.text();
      if (res.status !== 202) throw new Error(`send answered ${res.status}: ${text}`);
      return (JSON.parse(text) as { id: string }).id;
    },
    waitForStatus,
    async arrivedOnce(id, to) {
      await waitForStatus(id, SENT);
      const shown = await waitFor(`message ${id} on the phone of ${to}`, async () => sim.received(to).find((d) => d.id === id));
      assert.equal(sim.relayCounts(to)[id], 1, `message ${id} relayed to ${to} once`);
      return shown;
    },
    async close() {
      await server.close();
      await sim.stop();
      await rm(caDir, { recursive: true, force: true });
    },
  };
};
