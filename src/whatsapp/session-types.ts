import type {
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
  capabilities(id: string): { driver: string; capabilities: DriverCapabilities };
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
  /** Calls `listener` with every session event until the returned function is called. */
  subscribe(listener: (event: SessionEvent) => void): () => void;
  /** Stops every session, keeping its credentials: the next start restores them. */
  stop(): Promise<void>;
}
