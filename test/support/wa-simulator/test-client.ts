import assert from 'node:assert/strict';
import { Agent } from 'node:https';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import makeWASocket, {
  makeCacheableSignalKeyStore,
  S_WHATSAPP_NET,
  useMultiFileAuthState,
  type ConnectionState,
  type UserFacingSocketConfig,
  type WASocket,
} from '@whiskeysockets/baileys';
import type { Boom } from '@hapi/boom';
import { pino } from 'pino';
import type { WaSimulator } from './simulator.js';

/**
 * Raw Baileys pointed at the simulator, with a plain file auth state in a temp dir: what the simulator's own
 * tests drive. The socket options here are the ones hashsend's driver must pass too (see README.md).
 */
export type TestClient = {
  sock: WASocket;
  updates: Partial<ConnectionState>[];
  /** Resolves with the first connection.update (already seen or future) that matches. */
  waitForUpdate(match: (u: Partial<ConnectionState>) => boolean, timeoutMs?: number): Promise<Partial<ConnectionState>>;
  /** Waits until every credential write so far is on disk. */
  flushCreds(): Promise<void>;
  end(): Promise<void>;
};

export const makeAuthDir = () => mkdtemp(join(tmpdir(), 'wa-sim-auth-'));
export const removeAuthDir = (dir: string) => rm(dir, { recursive: true, force: true });

export const simulatorSocketOptions = (sim: WaSimulator): Partial<UserFacingSocketConfig> => ({
  waWebSocketUrl: sim.wsUrl,
  fetchAgent: new Agent({ ca: sim.mediaCa }),
});

export const connectTestClient = async (
  sim: WaSimulator,
  authDir: string,
  extra: Partial<UserFacingSocketConfig> = {},
): Promise<TestClient> => {
  const { state, saveCreds } = await useMultiFileAuthState(authDir);
  const logger = pino({ level: process.env.WA_SIM_LOG ?? 'silent' });
  const sock = makeWASocket({
    auth: { creds: state.creds, keys: makeCacheableSignalKeyStore(state.keys, logger) },
    logger,
    browser: ['hashsend-test', 'Chrome', '1.0'],
    markOnlineOnConnect: false,
    syncFullHistory: false,
    // a gateway needs no chat history; without this Baileys holds events back for 20 s after the first login
    shouldSyncHistoryMessage: () => false,
    ...simulatorSocketOptions(sim),
    ...extra,
  });
  let writes = Promise.resolve();
  sock.ev.on('creds.update', () => {
    writes = writes.then(saveCreds);
  });
  const updates: Partial<ConnectionState>[] = [];
  const waiters = new Set<() => void>();
  sock.ev.on('connection.update', (u) => {
    updates.push(u);
    for (const w of waiters) w();
  });
  const waitForUpdate = (match: (u: Partial<ConnectionState>) => boolean, timeoutMs = 15_000) =>
    new Promise<Partial<ConnectionState>>((resolve, reject) => {
      const check = () => {
        const hit = updates.find(match);
        if (!hit) return false;
        clearTimeout(timer);
        waiters.delete(onUpdate);
        resolve(hit);
        return true;
      };
      const onUpdate = () => void check();
      const timer = setTimeout(() => {
        waiters.delete(onUpdate);
        reject(new Error(`no matching connection.update in ${timeoutMs} ms; saw ${JSON.stringify(updates.map((u) => Object.keys(u)))}`));
      }, timeoutMs);
      if (!check()) waiters.add(onUpdate);
    });
  return {
    sock,
    updates,
    waitForUpdate,
    flushCreds: () => writes,
    end: async () => {
      if (!updates.some((u) => u.connection === 'close')) {
        // Baileys drops the reply listeners of queries still in flight when it ends and leaves their
        // 60 s timers running; a ping answered in order means every earlier query got its answer
        await sock
          .query({ tag: 'iq', attrs: { to: S_WHATSAPP_NET, type: 'get', xmlns: 'w:p' }, content: [{ tag: 'ping', attrs: {} }] }, 5_000)
          .catch(() => undefined);
        sock.end(undefined);
        await waitForUpdate((u) => u.connection === 'close').catch(() => undefined);
      }
      await writes;
    },
  };
};

/** The status code Baileys closed with, from a `connection: 'close'` update. */
export const statusOf = (u: Partial<ConnectionState>) => (u.lastDisconnect?.error as Boom | undefined)?.output?.statusCode;

/**
 * What follows any pairing, by QR or by code: the first socket closes with 515, its credentials hold the
 * account, and a new socket on them logs in as the linked device with no QR. Returns that second client.
 */
export const expectPairedThenLogin = async (sim: WaSimulator, first: TestClient, linked: { jid: string; lid: string }, authDir: string) => {
  const closed = await first.waitForUpdate((u) => u.connection === 'close');
  assert.equal(statusOf(closed), 515);
  await first.flushCreds();
  assert.equal(first.sock.authState.creds.me?.id, linked.jid);
  assert.ok(first.sock.authState.creds.account, 'creds.account is set once paired');

  const second = await connectTestClient(sim, authDir);
  await second.waitForUpdate((u) => u.connection === 'open');
  assert.equal(second.sock.user?.lid, linked.lid);
  assert.ok(
    second.updates.every((u) => !u.qr),
    'no QR with saved credentials',
  );
  return second;
};
