import { randomBytes } from 'node:crypto';
import { HashsendError, isHashsendError } from '../errors.js';
import type { Store } from '../store/index.js';
import type { SessionManager } from '../whatsapp/sessions.js';
import { wasenderStatus, type WasenderStatus } from './status.js';
import { createWasenderStore, OPTION_FLAGS, type OptionFlag, type WasenderRecord } from './store.js';
import type { WasenderWebhooks } from './webhooks.js';

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
  /** Keeps each session's webhook endpoint in step with its webhook fields. @default none (no deliveries) */
  webhooks?: WasenderWebhooks;
}

const newApiKey = () => randomBytes(32).toString('hex');
const newWebhookSecret = () => randomBytes(16).toString('hex');
const notFound = (id: number) => new HashsendError('wasender_session_not_found', 404, `no WhatsApp session with id ${id}`);
const isCode = (code: string) => (err: unknown) => isHashsendError(err) && err.code === code;

/**
 * WASenderApi's sessions on top of hashsend's: each record has an integer id, its own API key and the settings
 * WASenderApi keeps, and maps to one hashsend session (`ws-<id>`) whose state gives its status.
 */
/** Fields its webhook endpoint is made from (the name is in its description). */
const WEBHOOK_FIELDS = ['webhook_url', 'webhook_enabled', 'webhook_events', 'name'] as const;

export const createWasenderAccounts = ({ store, sessions, userId = 1, webhooks }: WasenderAccountsOptions) => {
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
  /**
   * The name of the hashsend session behind `id`: `ws-<id>`, or a name beside it when someone named a session of
   * ours so through hashsend's API. Chosen before the session opens, so its webhook can be there first.
   */
  const sessionNameFor = (id: number) => {
    const preferred = `ws-${id}`;
    return sessions.has(preferred) ? `${preferred}-${randomBytes(3).toString('hex')}` : preferred;
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
      await webhooks?.check(input.webhook_url);
      const record = await records.insert(async (id) => {
        const now = new Date().toISOString();
        const record: WasenderRecord = {
          id,
          sessionId: sessionNameFor(id),
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
        // The webhook first: the session's first state and QR, published as it opens, reach it.
        await webhooks?.sync(view(record));
        try {
          await sessions.create({ id: record.sessionId });
        } catch (err) {
          await webhooks?.drop(id);
          throw err;
        }
        return record;
      });
      return view(record);
    },
    async update(id: number, patch: Partial<WasenderSessionInput>) {
      const before = await recordOf(id);
      // The URL deliveries would go to is checked before anything is stored: the one given, or the one kept.
      if (patch.webhook_url !== undefined || patch.webhook_enabled) await webhooks?.check(patch.webhook_url ?? before.webhook_url);
      const session = view(await change(id, () => patch));
      if (WEBHOOK_FIELDS.some((field) => patch[field] !== undefined)) await webhooks?.sync(session);
      return session;
    },
    /**
     * Brings every session's webhook endpoint in step (at start: a change cut short by a crash is completed).
     * Resolves with the sessions whose endpoint could not be made (a URL refused since), each with why.
     */
    async syncWebhooks() {
      const all = await records.list();
      const results = await Promise.allSettled(all.map((r) => webhooks?.sync(view(r), { enable: false })));
      return results.flatMap((r, i) => (r.status === 'rejected' ? [{ id: all[i].id, err: r.reason as unknown }] : []));
    },
    async remove(id: number) {
      const record = await recordOf(id);
      await sessions.remove(record.sessionId).catch((err: unknown) => {
        if (!isCode('session_not_found')(err)) throw err;
      });
      await records.remove(record);
      await webhooks?.drop(id);
    },
    /** A new session API key; the old one is refused from the moment this resolves. */
    async regenerateKey(id: number) {
      const record = await change(id, () => ({ api_key: newApiKey() }));
      // The bodies carry the key as `sessionId`: those made from now on carry the new one.
      await webhooks?.sync(view(record));
      return record.api_key;
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
