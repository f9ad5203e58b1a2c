import { randomBytes } from 'node:crypto';
import { HashsendError, isHashsendError } from '../errors.js';
import type { Store } from '../store/index.js';
import type { SessionManager } from '../whatsapp/sessions.js';
import { wasenderStatus, type WasenderStatus } from './status.js';
import { createWasenderStore, OPTION_FLAGS, type OptionFlag, type WasenderRecord } from './store.js';

/** The fields a caller sets on create and update (WASenderApi's names). */
export interface WasenderSessionInput extends Partial<Record<OptionFlag, boolean>> {
  name: string;
  phone_number: string;
  account_protection: boolean;
  log_messages: boolean;
  webhook_url?: string | null;
  webhook_enabled?: boolean;
  webhook_events?: string[] | null;
}

/** A session as WASenderApi shows it, with the hashsend session it maps to beside. */
export type WasenderSession = Omit<WasenderRecord, 'sessionId' | 'disconnected'> & {
  status: WasenderStatus;
  hashsend_session_id: string;
};

export interface WasenderAccountsOptions {
  store: Store;
  sessions: SessionManager;
  /** WASenderApi names the account owning a session; a hashsend install has one. @default 1 */
  userId?: number;
}

const newApiKey = () => randomBytes(32).toString('hex');
const newWebhookSecret = () => randomBytes(16).toString('hex');
const notFound = (id: number) => new HashsendError('wasender_session_not_found', 404, `no WhatsApp session with id ${id}`);
const isCode = (code: string) => (err: unknown) => isHashsendError(err) && err.code === code;

/**
 * WASenderApi's sessions on top of hashsend's: each record has an integer id, its own API key and the settings
 * WASenderApi keeps, and maps to one hashsend session (`ws-<id>`) whose state gives its status.
 */
export const createWasenderAccounts = ({ store, sessions, userId = 1 }: WasenderAccountsOptions) => {
  const records = createWasenderStore(store);

  const view = ({ sessionId, disconnected, ...record }: WasenderRecord): WasenderSession => {
    const session = sessions.has(sessionId) ? sessions.get(sessionId) : undefined;
    return {
      ...record,
      // The linked account's number is the truth once there is one; until then, what the caller gave.
      phone_number: session?.me ? `+${session.me.phone}` : record.phone_number,
      status: session ? wasenderStatus(session.state, disconnected) : 'disconnected',
      hashsend_session_id: sessionId,
    };
  };
  const recordOf = async (id: number) => {
    const record = Number.isSafeInteger(id) ? await records.get(id) : undefined;
    if (!record) throw notFound(id);
    return record;
  };
  const change = async (id: number, edit: (r: WasenderRecord) => Partial<WasenderRecord>) => {
    const now = new Date().toISOString();
    const record = await records.update(id, (r) => ({ ...r, ...edit(r), updated_at: now }));
    if (!record) throw notFound(id);
    return record;
  };
  /** The hashsend session behind `record`, made again if it was deleted through our own API. */
  const ensureSession = async (record: WasenderRecord) => {
    if (!sessions.has(record.sessionId)) await sessions.create({ id: record.sessionId });
    return record.sessionId;
  };
  const openSession = async (id: number) => {
    const preferred = `ws-${id}`;
    try {
      return (await sessions.create({ id: preferred })).id;
    } catch (err) {
      // Someone named a session of ours like this through hashsend's API: this one gets a name beside it.
      if (!isCode('session_exists')(err)) throw err;
      return (await sessions.create({ id: `${preferred}-${randomBytes(3).toString('hex')}` })).id;
    }
  };

  return {
    async list() {
      return (await records.list()).map(view);
    },
    async byId(id: number) {
      return view(await recordOf(id));
    },
    /** The session a session API key belongs to, if any. */
    async bySessionKey(apiKey: string) {
      const record = await records.byKey(apiKey);
      return record && view(record);
    },
    async create(input: WasenderSessionInput) {
      const record = await records.insert(async (id) => {
        const now = new Date().toISOString();
        return {
          id,
          sessionId: await openSession(id),
          ...input,
          ...(Object.fromEntries(OPTION_FLAGS.map((flag) => [flag, input[flag] ?? false])) as Record<OptionFlag, boolean>),
          webhook_url: input.webhook_url ?? null,
          webhook_enabled: input.webhook_enabled ?? false,
          webhook_events: input.webhook_events ?? null,
          webhook_secret: newWebhookSecret(),
          api_key: newApiKey(),
          user_id: userId,
          session_data: null,
          last_active_at: null,
          created_at: now,
          updated_at: now,
          // WASenderApi's first status: nothing is linked until `connect` is called.
          disconnected: true,
        };
      });
      return view(record);
    },
    async update(id: number, patch: Partial<WasenderSessionInput>) {
      return view(await change(id, () => patch));
    },
    async remove(id: number) {
      const record = await recordOf(id);
      await sessions.remove(record.sessionId).catch((err: unknown) => {
        if (!isCode('session_not_found')(err)) throw err;
      });
      await records.remove(record);
    },
    /** A new session API key; the old one is refused from the moment this resolves. */
    async regenerateKey(id: number) {
      return (await change(id, () => ({ api_key: newApiKey() }))).api_key;
    },
    /** Starts linking: the QR to scan while one is needed, nothing once linked. */
    async connect(id: number): Promise<{ session: WasenderSession; qr?: { qr: string; expiresAt: string } }> {
      const sessionId = await ensureSession(await recordOf(id));
      const record = await change(id, () => ({ disconnected: false }));
      if (sessions.get(sessionId).state === 'connected') return { session: view(record) };
      try {
        const qr = await sessions.qr(sessionId);
        return { session: view(record), qr };
      } catch (err) {
        // Linked while we waited, or settled where no QR comes (the status says which).
        if (isCode('not_awaiting_qr')(err)) return { session: view(record) };
        throw err;
      }
    },
    /** The QR showing now (waiting for one if the session is starting); `409 not_awaiting_qr` once linked. */
    async qr(id: number) {
      return sessions.qr(await ensureSession(await recordOf(id)));
    },
    /** Unlinks the number and keeps the record: `connect` links it again. */
    async disconnect(id: number) {
      const record = await recordOf(id);
      if (sessions.has(record.sessionId)) await sessions.logout(record.sessionId);
      return view(await change(id, () => ({ disconnected: true })));
    },
    /** Notes a call made with the session's key (WASenderApi's `last_active_at`). */
    async touch(id: number) {
      await records.update(id, (r) => ({ ...r, last_active_at: new Date().toISOString() }));
    },
  };
};
export type WasenderAccounts = ReturnType<typeof createWasenderAccounts>;
