import { createHash, randomBytes } from 'node:crypto';
import { HashsendError } from '../../errors.js';
import type { Driver, DriverSession, DriverSessionOptions, InboundDriverMessage, Presence, SendRequest, SentRef } from '../driver.js';
import { WHATSAPP_WEB_CAPABILITIES, unsupportedByDriver } from '../capabilities.js';
import { inboundMessage, type SandboxInbound } from './inbound.js';
import {
  openJournal,
  type SandboxDelivery,
  type SandboxEvent,
  type SandboxFailure,
  type SandboxJournal,
  type SandboxState,
} from './state-file.js';

export interface SandboxDriverOptions {
  /** Delay before a delivered receipt, and again before read. @default 50 */
  receiptDelayMs?: number;
  /** How long each QR is valid. @default 60_000 */
  qrTtlMs?: number;
  /** QR codes shown before the session stops and waits for the operator to ask again. @default 5 */
  qrCount?: number;
}

/** The controls a test (or an integrator's test run) has over a sandbox session, beyond the Driver contract. */
export interface SandboxSession extends DriverSession {
  /** "Scans" the current QR (or enters the pairing code): the session becomes connected as `phone`. */
  link(phone?: string, name?: string): Promise<{ id: string; name: string }>;
  deliveries(): SandboxDelivery[];
  /** The next `count` sends fail as described; returns how many injected failures are now pending. */
  injectFailures(count: number, failure: SandboxFailure): Promise<number>;
  /** A customer's message arrives: emitted as `inbound`, as a phone's would be; returns what was emitted. */
  receive(message: SandboxInbound): Promise<InboundDriverMessage>;
  /** Presence updates shown since the session opened, oldest first (kept in memory only). */
  presences(): SandboxPresence[];
}

export interface SandboxPresence {
  presence: Presence;
  jid?: string;
  at: string;
}

const sandboxSessions = new WeakSet<DriverSession>();
export const isSandboxSession = (session: DriverSession): session is SandboxSession => sandboxSessions.has(session);

const PAIRING_ALPHABET = '123456789ABCDEFGHJKLMNPQRSTVWXYZ';
const pairingCode = () => Array.from(randomBytes(8), (b) => PAIRING_ALPHABET[b % PAIRING_ALPHABET.length]).join('');
const fakeQr = () =>
  [
    '2@' + randomBytes(24).toString('base64'),
    randomBytes(32).toString('base64'),
    randomBytes(32).toString('base64'),
    randomBytes(32).toString('base64'),
  ].join(',');

const notConnected = () => new HashsendError('session_not_connected', 503, 'the sandbox session is not linked');

/**
 * A driver with no phone behind it. It behaves like a linked WhatsApp number where the API can see: QR codes that
 * expire, a link step, per-message receipts, failures on demand, and a record of every delivery with the sha256 of
 * the bytes it read from the blob store. Like a phone, it shows a message id once however often it is sent.
 */
export const createSandboxDriver = ({ receiptDelayMs = 50, qrTtlMs = 60_000, qrCount = 5 }: SandboxDriverOptions = {}): Driver => ({
  name: 'sandbox',
  capabilities: WHATSAPP_WEB_CAPABILITIES,
  open(options) {
    const session = openSandboxSession(options, { receiptDelayMs, qrTtlMs, qrCount });
    sandboxSessions.add(session);
    return session;
  },
});

const openSandboxSession = (
  { sessionId, dir, log, blobs, onEvent }: DriverSessionOptions,
  { receiptDelayMs, qrTtlMs, qrCount }: Required<SandboxDriverOptions>,
): SandboxSession => {
  let state: SandboxState = { me: null, deliveries: new Map(), failures: [] };
  const presences: SandboxPresence[] = [];
  let journal: SandboxJournal | undefined;
  let connected = false;
  let awaitingLink = false;
  let qrTimer: NodeJS.Timeout | undefined;
  const timers = new Set<NodeJS.Timeout>();
  const hanging = new Set<(err: Error) => void>();
  // Each change is one journal line, serialized when it is made: the cost does not grow with the history.
  const persist = async (event: SandboxEvent) => {
    journal ??= (await openJournal(dir)).journal;
    return journal.record(event);
  };
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  const showQr = (left: number) => {
    if (left === 0) {
      awaitingLink = false;
      onEvent({ type: 'state', state: 'stopped', reason: 'qr_timeout' });
      return;
    }
    onEvent({ type: 'qr', qr: fakeQr(), expiresAt: new Date(Date.now() + qrTtlMs).toISOString() });
    qrTimer = setTimeout(() => showQr(left - 1), qrTtlMs);
  };

  const scheduleReceipts = (delivery: SandboxDelivery) => {
    if (delivery.readAt) return;
    const read = () => {
      delivery.readAt = new Date().toISOString();
      persist({ delivery }).then(
        () => onEvent({ type: 'receipt', waMessageId: delivery.messageId, status: 'read' }),
        (err: unknown) => log.error({ err, sessionId }, 'sandbox receipt could not be saved'),
      );
    };
    if (delivery.deliveredAt) return later(receiptDelayMs, read);
    later(receiptDelayMs, () => {
      delivery.deliveredAt = new Date().toISOString();
      persist({ delivery }).then(
        () => {
          onEvent({ type: 'receipt', waMessageId: delivery.messageId, status: 'delivered' });
          later(receiptDelayMs, read);
        },
        (err: unknown) => log.error({ err, sessionId }, 'sandbox receipt could not be saved'),
      );
    });
  };

  const becomeConnected = () => {
    connected = true;
    awaitingLink = false;
    clearTimeout(qrTimer);
    if (state.me) onEvent({ type: 'me', id: state.me.id, name: state.me.name });
    onEvent({ type: 'state', state: 'connected' });
    for (const d of state.deliveries.values()) if (d.acknowledgedAt) scheduleReceipts(d);
  };

  const hang = () =>
    new Promise<never>((_resolve, reject) => {
      hanging.add(reject);
    });

  const deliver = async ({ messageId, to, content }: SendRequest): Promise<SandboxDelivery> => {
    const now = new Date().toISOString();
    const received = { messageId, to, sendAttempts: 1, receivedAt: now };
    if (content.type === 'text')
      return { ...received, type: 'text', text: content.text, ...(content.mentions ? { mentions: content.mentions } : {}) };
    if (content.type === 'contact') return { ...received, type: 'contact', contact: { name: content.name, phone: content.phone } };
    if (content.type === 'location') {
      const { type, ...location } = content;
      return { ...received, type, location };
    }
    if (content.type === 'template') throw unsupportedByDriver('sandbox', 'send template messages');
    const bytes = await blobs.read(content.sha256);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    // The hash guard, as a real driver applies it to the prepared message.
    if (sha256 !== content.sha256) {
      throw new HashsendError('hash_mismatch', 422, `the bytes prepared for sending hash to ${sha256}, not ${content.sha256}`);
    }
    return {
      messageId,
      to,
      type: 'media',
      as: content.as,
      sha256,
      mimetype: content.mimetype,
      size: bytes.length,
      caption: content.caption,
      filename: content.filename,
      ...(content.viewOnce ? { viewOnce: true } : {}),
      sendAttempts: 1,
      receivedAt: now,
    };
  };

  return {
    async start() {
      const opened = await openJournal(dir);
      journal = opened.journal;
      state = journal.state;
      if (opened.corrupt) {
        const err = opened.corrupt;
        log.error({ err, sessionId }, 'sandbox state is corrupt; the session needs relinking');
        onEvent({ type: 'state', state: 'needs_relink', reason: err.message });
        return;
      }
      if (state.me) return becomeConnected();
      awaitingLink = true;
      onEvent({ type: 'state', state: 'qr' });
      showQr(qrCount);
    },

    async send(request) {
      if (!connected) throw notConnected();
      const failure = state.failures.shift();
      if (failure) {
        await persist({ failuresUsed: 1 });
        if (failure.mode === 'hang') return hang();
        if (failure.mode === 'error') throw new HashsendError(failure.code, failure.status, `sandbox: injected failure ${failure.code}`);
      }
      let delivery = state.deliveries.get(request.messageId);
      if (delivery) delivery.sendAttempts += 1;
      else {
        const fresh = await deliver(request);
        // A send of the same id may have arrived while this one read its blob: still one message.
        delivery = state.deliveries.get(request.messageId);
        if (delivery) delivery.sendAttempts += 1;
        else state.deliveries.set(request.messageId, (delivery = fresh));
      }
      // `hang_after_delivery`: the recipient has it but the answer is lost, like a crash between WhatsApp's ack
      // and our bookkeeping.
      const lost = failure?.mode === 'hang_after_delivery';
      const firstAck = !lost && !delivery.acknowledgedAt;
      if (firstAck) delivery.acknowledgedAt = new Date().toISOString();
      await persist({ delivery });
      if (lost) return hang();
      if (firstAck) scheduleReceipts(delivery);
      const ref: SentRef = { waMessageId: request.messageId };
      if (delivery.sha256) ref.sentSha256 = delivery.sha256;
      return ref;
    },

    async requestPairingCode() {
      if (connected) throw new HashsendError('already_linked', 409, 'the session is already linked');
      if (!awaitingLink) throw new HashsendError('not_awaiting_qr', 409, 'the session is not waiting to be linked');
      return pairingCode();
    },

    async link(phone, name) {
      if (connected) throw new HashsendError('already_linked', 409, 'the session is already linked');
      if (!awaitingLink) throw new HashsendError('not_awaiting_qr', 409, 'the session is not waiting to be linked');
      const number = phone?.replace(/\D/g, '') || `49${String(Date.now()).slice(-10)}`;
      state.me = { id: `${number}@s.whatsapp.net`, name: name ?? 'Sandbox' };
      await persist({ me: state.me });
      becomeConnected();
      return state.me;
    },

    deliveries: () => structuredClone([...state.deliveries.values()]),

    // Every number is on WhatsApp here: there is no directory to ask, and a test wants its recipients to exist.
    async onWhatsApp(phones) {
      if (!connected) throw notConnected();
      return phones.map((phone) => ({ phone, exists: true, jid: `${phone}@s.whatsapp.net` }));
    },

    async sendPresence(presence, jid) {
      if (!connected) throw notConnected();
      presences.push({ presence, ...(jid ? { jid } : {}), at: new Date().toISOString() });
    },

    presences: () => structuredClone(presences),

    async injectFailures(count, failure) {
      for (let i = 0; i < count; i++) state.failures.push({ ...failure });
      await persist({ failuresAdded: failure, count });
      return state.failures.length;
    },

    async receive(message) {
      if (!connected) throw notConnected();
      const inbound = await inboundMessage(message, blobs);
      onEvent({ type: 'inbound', message: inbound });
      return inbound;
    },

    async logout() {
      connected = false;
      awaitingLink = false;
      clearTimeout(qrTimer);
      state.me = null;
      await persist({ me: null });
    },

    async stop() {
      connected = false;
      awaitingLink = false;
      clearTimeout(qrTimer);
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const reject of hanging) reject(notConnected());
      hanging.clear();
      await journal?.close();
    },
  };
};
