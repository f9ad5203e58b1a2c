import type { CredentialStore } from './credentials/records.js';
import type { EventBus, SubscribeOptions } from '../events/bus.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/index.js';
import type { SessionIds } from './session-ids.js';
import type {
  Driver,
  DriverBlobs,
  DriverCapabilities,
  DriverSession,
  InboundDriverMessage,
  InboundHttpRequest,
  InboundHttpResponse,
  ReceiptStatus,
  SendRequest,
  SentRef,
  SessionState,
} from './driver.js';

export interface SessionInfo {
  id: string;
  driver: string;
  state: SessionState;
  /** The linked account: its JID, phone number and push name, once linked. */
  me?: { id: string; phone: string; name?: string };
  lastError?: { message: string; code?: number; at: string };
  /** The driver's options as given at creation, secrets left out (drivers that take options). */
  options?: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

export type SessionEvent =
  | { type: 'state'; session: SessionInfo }
  | { type: 'qr'; sessionId: string; qr: string; expiresAt: string }
  | {
      type: 'receipt';
      sessionId: string;
      waMessageId: string;
      status: ReceiptStatus;
      participant?: string;
      error?: { code: string; message: string };
    }
  /** As the driver read it, not stored yet: the inbox stores it and publishes `received`. */
  | { type: 'inbound'; sessionId: string; message: InboundDriverMessage }
  | { type: 'deleted'; sessionId: string };

const SESSION_EVENTS: ReadonlySet<string> = new Set<SessionEvent['type']>(['state', 'qr', 'receipt', 'inbound', 'deleted']);
export const isSessionEvent = (event: { type: string }): event is SessionEvent => SESSION_EVENTS.has(event.type);

/**
 * What the session manager offers every caller (routes, the outbox, broadcasts), as any implementation would: the
 * embedded one owns its sessions in this process; one for several nodes is to stand beside it.
 */
export interface SessionManager {
  /** Registers every stored session as `starting` and opens them all in the background. */
  restore(): Promise<void>;
  /** `options` as the driver's schema takes them (`400 invalid_request` otherwise); stored owner-only. */
  create(request?: { id?: string; driver?: string; options?: unknown }): Promise<SessionInfo>;
  /** Replaces the session's driver options (a new access token) and opens it again with them. */
  configure(id: string, options: unknown): Promise<SessionInfo>;
  list(): SessionInfo[];
  /** The session's driver and what it can do; `404 session_not_found` for an unknown id. */
  capabilities(id: string): { name: string; capabilities: DriverCapabilities };
  /** `404 session_not_found` for an unknown id. */
  get(id: string): SessionInfo;
  has(id: string): boolean;
  /** Waits for the session's QR; `409 not_awaiting_qr` once linked. */
  qr(id: string): Promise<{ qr: string; expiresAt: string }>;
  pairingCode(id: string, phone: string): Promise<string>;
  logout(id: string): Promise<SessionInfo>;
  /** Unlinks the session and removes its credentials. */
  remove(id: string): Promise<void>;
  /** The QR showing now, if the session is waiting for a scan. */
  currentQr(id: string): { qr: string; expiresAt: string } | undefined;
  /** The driver session itself, for driver-specific controls (the sandbox's link and deliveries). */
  driverSession(id: string): DriverSession | undefined;
  /** A platform's call to `/hooks/<id>`: `404 not_found` unless the session's driver takes such calls. */
  handleHttp(id: string, request: InboundHttpRequest): Promise<InboundHttpResponse>;
  /** `503 session_not_connected` unless connected. */
  send(id: string, request: SendRequest): Promise<SentRef>;
  /** Calls `listener` with every session event (this node's, unless `from` says otherwise) until the returned function is called. */
  subscribe(listener: (event: SessionEvent) => void, options?: SubscribeOptions): () => void;
  /** Stops every session, keeping its credentials: the next start restores them. */
  stop(): Promise<void>;
}

/** What the cluster's manager needs of the one on this node besides the common interface. */
export interface LocalSessionManager extends SessionManager {
  /** Opens the session (known from the store if this node has not seen it); resolves once it is opening. */
  adopt(id: string): Promise<void>;
  /** Closes the session here, keeping its credentials. */
  release(id: string): Promise<void>;
  /** Makes a session created elsewhere known here without opening it; false when the store has no such session. */
  register(id: string): Promise<boolean>;
  /** Drops a session deleted elsewhere from this node's memory, touching nothing stored. */
  forget(id: string): void;
}

export interface SessionManagerOptions {
  sessionsDir: string;
  store: Store;
  drivers: Record<string, Driver>;
  defaultDriver: string;
  blobs: DriverBlobs;
  log: Logger;
  /** Where session events are published; other publishers' events on it are passed over. @default a bus of its own */
  events?: EventBus<{ type: string }>;
  /** How long `qr()` and `pairingCode()` wait for a session to show its first QR. @default 15_000 */
  linkWaitMs?: number;
  /**
   * Several nodes (src/whatsapp/cluster-sessions.ts): sessions open only when `adopt`ed under their lease, which
   * stands in for the folder's pid lock; `restore` and `create` register without opening. @default false
   */
  leased?: boolean;
  /** Where the ids of every session are kept. @default a list in `store` */
  ids?: SessionIds;
  /** Where drivers' options are kept (`CREDENTIALS_STORE`). @default files in `sessionsDir` */
  credentials?: CredentialStore;
}
