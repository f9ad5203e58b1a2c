import {
  makeWASocket,
  type ConnectionState,
  type SocketConfig,
  type WABrowserDescription,
  type WAMessageKey,
  type WASocket,
} from '@whiskeysockets/baileys';
import { HashsendError, invalidRequest } from '../../errors.js';
import type { Logger } from '../../log.js';
import type {
  DriverEvent,
  DriverSession,
  DriverSessionOptions,
  OnWhatsAppResult,
  Presence,
  SendRequest,
  SentRef,
  SessionState,
} from '../driver.js';
import { AckTracker } from './ack-tracker.js';
import type { InboundMediaSettings } from './inbound-media.js';
import { readInboundFrom } from './inbound-reader.js';
import { openAuthStore, type AuthStore } from './auth-store.js';
import { fileRecords } from '../credentials/file-records.js';
import type { CredentialStore, SessionRecords } from '../credentials/records.js';
import { baileysLogger } from './baileys-logger.js';
import { NeedsRelinkError } from './needs-relink-error.js';
import type { BackoffOptions } from '../../lib/backoff.js';
import { decideReconnect } from './reconnect-policy.js';
import { ConnectionDeadError, sendOnSocket } from './sender.js';
import { UploadCache } from './upload-cache.js';

export interface BaileysSessionSettings {
  browser: WABrowserDescription;
  uploadCacheTtlMs: number;
  mediaUploadTimeoutMs: number;
  ackTimeoutMs: number;
  socketOptions: Partial<SocketConfig>;
  backoff?: BackoffOptions;
  inboundMedia: InboundMediaSettings;
  /** Where credentials are kept (`CREDENTIALS_STORE`); absent: files in the session's folder. */
  credentials?: CredentialStore;
}

/** Baileys' own QR lifetimes (`lib/Socket/socket.js`): the first code lives 60 s, each later one 20 s. */
const FIRST_QR_MS = 60_000;
const NEXT_QR_MS = 20_000;
const LOGOUT_TIMEOUT_MS = 10_000;
const CONNECTION_LOST = 408;

const statusOf = (error: unknown) => {
  const code = (error as { output?: { statusCode?: unknown } } | undefined)?.output?.statusCode;
  return typeof code === 'number' ? code : undefined;
};

const notConnected = (state: SessionState) =>
  new HashsendError('session_not_connected', 503, `the session is ${state}, not connected`, { state });

/**
 * One WhatsApp number on Baileys: owns the socket, its credentials and the reconnect loop. Every socket
 * gets a fresh AckTracker; events of a socket that is no longer current are ignored.
 */
export class BaileysSession implements DriverSession {
  private state: SessionState = 'stopped';
  private store?: AuthStore;
  private sock?: WASocket;
  private acks?: AckTracker;
  private retryTimer?: NodeJS.Timeout;
  /** Failed connects since the last good one. */
  private attempt = 0;
  private qrCount = 0;
  /** False once stop() or logout() was asked: a closing socket must then not reconnect. */
  private wanted = false;
  /** Set when we end a socket ourselves, since our own end carries no Baileys status code. */
  private endCode?: number;
  private readonly uploads: UploadCache;
  private readonly log: Logger;
  private readonly baileysLog: Logger;

  constructor(
    private readonly options: DriverSessionOptions,
    private readonly settings: BaileysSessionSettings,
  ) {
    this.log = options.log;
    this.baileysLog = baileysLogger(options.log);
    this.uploads = new UploadCache({ ttlMs: settings.uploadCacheTtlMs });
  }

  async start(): Promise<void> {
    if (this.sock || this.retryTimer) return;
    this.wanted = true;
    this.attempt = 0;
    this.setState('starting');
    await this.store?.flush();
    this.store = undefined;
    try {
      this.store = await openAuthStore({ records: this.records(), log: this.baileysLog, onFenced: (error) => this.fencedOff(error) });
    } catch (error) {
      if (!(error instanceof NeedsRelinkError)) throw error;
      this.wanted = false;
      this.log.error(
        { reason: error.reason, record: error.file },
        `credentials unusable, the number must be linked again: ${error.message}`,
      );
      this.setState('needs_relink', { reason: error.message });
      return;
    }
    this.connect();
  }

  async send(request: SendRequest): Promise<SentRef> {
    const { sock, acks } = this;
    if (this.state !== 'connected' || !sock || !acks) throw notConnected(this.state);
    try {
      return await sendOnSocket(
        {
          sock,
          acks,
          uploads: this.uploads,
          blobs: this.options.blobs,
          baileysLog: this.baileysLog,
          mediaUploadTimeoutMs: this.settings.mediaUploadTimeoutMs,
          ackTimeoutMs: this.settings.ackTimeoutMs,
        },
        request,
      );
    } catch (error) {
      if (!(error instanceof ConnectionDeadError)) throw error;
      // The relay may have reached WhatsApp and only its ack is missing: the outbox waits for the reconnect and
      // tries again under the same messageId, which recipients' apps show once (see relay() in sender.ts).
      this.log.warn({ messageId: request.messageId, err: error.message }, 'connection dead under a send; reconnecting');
      this.endSocket(sock, CONNECTION_LOST);
      throw new HashsendError('session_not_connected', 503, 'the connection stopped answering; the session is reconnecting', {
        state: this.state,
      });
    }
  }

  async requestPairingCode(phone: string): Promise<string> {
    if (!/^\d{7,15}$/.test(phone)) {
      throw invalidRequest('phone must be the number in international form, digits only (no +, spaces or dashes)', { phone });
    }
    if (this.state !== 'qr' || !this.sock) {
      throw new HashsendError('not_awaiting_qr', 409, `the session is ${this.state}, not waiting to be linked`, { state: this.state });
    }
    return this.sock.requestPairingCode(phone);
  }

  async logout(): Promise<void> {
    this.wanted = false;
    this.clearRetry();
    const sock = this.sock;
    if (sock && this.state === 'connected') {
      await Promise.race([sock.logout(), new Promise((resolve) => setTimeout(resolve, LOGOUT_TIMEOUT_MS).unref())]).catch(
        (error: unknown) => this.log.warn({ err: error }, 'logout on WhatsApp failed; removing the credentials anyway'),
      );
    }
    await this.sock?.end(undefined);
    const store = this.store;
    this.store = undefined;
    await (store ?? this.records()).wipe();
    this.setState('logged_out', { reason: 'logged out by the operator' });
  }

  private records(): SessionRecords {
    return this.settings.credentials?.session(this.options.sessionId) ?? fileRecords(this.options.dir);
  }

  async onWhatsApp(phones: string[]): Promise<OnWhatsAppResult[]> {
    const sock = this.connectedSocket();
    // WhatsApp lists only the numbers that have an account; a number it leaves out has none.
    const found = (await sock.onWhatsApp(...phones.map((p) => `${p}@s.whatsapp.net`))) ?? [];
    return phones.map((phone) => {
      const hit = found.find((r) => r.exists && r.jid.split('@')[0].split(':')[0] === phone);
      return { phone, exists: !!hit, ...(hit ? { jid: hit.jid } : {}) };
    });
  }

  async sendPresence(presence: Presence, jid?: string): Promise<void> {
    await this.connectedSocket().sendPresenceUpdate(presence, jid);
  }

  private connectedSocket(): WASocket {
    if (this.state !== 'connected' || !this.sock) throw notConnected(this.state);
    return this.sock;
  }

  async stop(): Promise<void> {
    this.wanted = false;
    this.clearRetry();
    await this.sock?.end(undefined);
    await this.store?.flush();
    this.setState('stopped');
  }

  private connect() {
    const store = this.store;
    if (!store) return;
    const sock = makeWASocket({
      browser: this.settings.browser,
      markOnlineOnConnect: false,
      syncFullHistory: false,
      shouldSyncHistoryMessage: () => false,
      ...this.settings.socketOptions,
      auth: store.state,
      logger: this.baileysLog,
    });
    this.sock = sock;
    this.acks = new AckTracker(sock.ws);
    this.endCode = undefined;
    this.qrCount = 0;

    sock.ev.on('creds.update', (update) => {
      store.saveCreds().catch((error: unknown) => this.log.error({ err: error }, 'saving credentials failed'));
      if (update.me && sock === this.sock && this.state === 'connected') this.emitMe(sock);
    });
    sock.ev.on('connection.update', (update) => this.onConnectionUpdate(sock, update));
    sock.ev.on('messages.update', (updates) => {
      for (const { key, update } of updates) this.onStatus(key, update.status);
    });
    // A receipt that lands while Baileys still buffers the upsert of our own message is folded into that
    // upsert's status, and no messages.update follows: statuses come from both events.
    sock.ev.on('messages.upsert', ({ messages }) => {
      for (const message of messages) this.onStatus(message.key, message.status);
    });
    readInboundFrom(sock, { blobs: this.options.blobs, log: this.log, media: this.settings.inboundMedia, emit: (e) => this.emit(e) });
  }

  private onStatus(key: WAMessageKey, status: number | null | undefined) {
    if (!key.fromMe || !key.id || typeof status !== 'number') return;
    // proto.WebMessageInfo.Status: 3 delivered, 4 read, 5 played.
    if (status === 3) this.emit({ type: 'receipt', waMessageId: key.id, status: 'delivered' });
    else if (status >= 4) this.emit({ type: 'receipt', waMessageId: key.id, status: 'read' });
  }

  private onConnectionUpdate(sock: WASocket, update: Partial<ConnectionState>) {
    if (sock !== this.sock) return;
    if (update.qr) {
      this.qrCount += 1;
      const lifetime = this.settings.socketOptions.qrTimeout ?? (this.qrCount === 1 ? FIRST_QR_MS : NEXT_QR_MS);
      if (this.state !== 'qr') this.setState('qr');
      this.emit({ type: 'qr', qr: update.qr, expiresAt: new Date(Date.now() + lifetime).toISOString() });
    }
    if (update.connection === 'open') {
      this.attempt = 0;
      this.setState('connected');
      this.emitMe(sock);
    }
    if (update.connection === 'close') {
      this.onClose(update.lastDisconnect?.error).catch((error: unknown) =>
        this.log.error({ err: error }, 'handling a closed connection failed'),
      );
    }
  }

  private async onClose(error: Error | undefined) {
    const statusCode = statusOf(error) ?? this.endCode;
    this.acks?.close(new Error('the connection closed'));
    this.sock = undefined;
    this.acks = undefined;
    const store = this.store;
    if (!this.wanted || !store) return;
    this.attempt += 1;
    const decision = decideReconnect(
      { statusCode, linked: store.isLinked(), qrShown: this.qrCount > 0, attempt: this.attempt },
      this.settings.backoff,
    );
    this.log.info({ statusCode, attempt: this.attempt, decision, err: error?.message }, 'connection closed');
    switch (decision.action) {
      case 'restart-now':
        this.setState('starting', { code: statusCode });
        this.connect();
        return;
      case 'retry':
        this.setState('reconnecting', { code: statusCode, reason: error?.message });
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          if (this.wanted) this.connect();
        }, decision.delayMs);
        return;
      case 'stop':
        this.wanted = false;
        if (decision.wipe) await store.wipe();
        this.setState(decision.state, { code: statusCode, reason: decision.reason });
        return;
      case 'wait-for-operator':
        this.wanted = false;
        this.setState('stopped', { code: statusCode, reason: 'no QR code was scanned in time; ask for a new one' });
        return;
    }
  }

  /**
   * Another node holds the session's lease now (this process was paused past it): its credentials are the ones that
   * count, so this socket closes without reconnecting, and the ownership loop releases the session here.
   */
  private fencedOff(error: Error) {
    if (!this.wanted) return;
    this.log.error({ err: error.message }, 'credentials write refused: another node owns this session now; closing this socket');
    this.wanted = false;
    this.clearRetry();
    void this.sock?.end(undefined);
    this.setState('stopped', { reason: 'another node owns this session now' });
  }

  /** Ends a socket that looks open but is not: its close then runs the reconnect policy as for `code`. */
  private endSocket(sock: WASocket, code: number) {
    if (sock !== this.sock) return;
    this.endCode = code;
    this.setState('reconnecting', { code, reason: 'the connection stopped answering' });
    void sock.end(new Error('the connection stopped answering'));
  }

  private emitMe(sock: WASocket) {
    const me = sock.user;
    if (me?.id) this.emit({ type: 'me', id: me.id, ...(me.name ? { name: me.name } : {}) });
  }

  private clearRetry() {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private setState(state: SessionState, extra: { reason?: string; code?: number } = {}) {
    this.state = state;
    this.emit({ type: 'state', state, ...(extra.reason ? { reason: extra.reason } : {}), ...(extra.code ? { code: extra.code } : {}) });
  }

  private emit(event: DriverEvent) {
    try {
      this.options.onEvent(event);
    } catch (error) {
      this.log.error({ err: error, event: event.type }, 'a session event listener threw');
    }
  }
}
