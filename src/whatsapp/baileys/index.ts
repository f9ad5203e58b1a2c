import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { rootCertificates } from 'node:tls';
import type { SocketConfig, WABrowserDescription } from '@whiskeysockets/baileys';
import { Agent as DownloadAgent } from 'undici';
import type { Logger } from '../../log.js';
import { WHATSAPP_WEB_CAPABILITIES } from '../capabilities.js';
import type { Driver } from '../driver.js';
import type { CredentialStore } from '../credentials/records.js';
import type { BackoffOptions } from '../../lib/backoff.js';
import { BaileysSession } from './session.js';

export interface BaileysDriverOptions {
  log: Logger;
  /** How long one upload serves further sends of the same content (`UPLOAD_CACHE_TTL_MS`). */
  uploadCacheTtlMs: number;
  /** Baileys has no upload timeout unless given one. @default 120000 */
  mediaUploadTimeoutMs?: number;
  /** How long a relayed message may wait for WhatsApp's ack before the connection counts as dead. @default 30000 */
  ackTimeoutMs?: number;
  /** WhatsApp Web's WebSocket URL instead of Baileys' default (a protocol simulator, a test deployment). */
  wsUrl?: string;
  /** PEM file of an extra CA trusted for media uploads (beside the system's roots). */
  mediaCaFile?: string;
  /** Ping interval; Baileys drops a connection silent for this plus 5 s. @default 30000 */
  keepAliveIntervalMs?: number;
  /** @default 20000 */
  connectTimeoutMs?: number;
  /**
   * Passed to `makeWASocket` over our defaults: tests point it at the protocol simulator (`waWebSocketUrl`,
   * `fetchAgent` trusting the test CA, shorter `keepAliveIntervalMs`). Production leaves it unset.
   */
  socketOptions?: Partial<SocketConfig>;
  backoff?: BackoffOptions;
  /** Inbound attachments larger than this are refused, not downloaded. @default 104857600 (100 MiB) */
  inboundMediaMaxBytes?: number;
  /** How long an inbound attachment's download may wait for its headers, or between two chunks. @default 60000 */
  mediaDownloadTimeoutMs?: number;
  /** Where sessions' credentials are kept (`CREDENTIALS_STORE`). @default files in each session's folder */
  credentials?: CredentialStore;
}

const packageVersion = () => {
  const pkg: unknown = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));
  const version = (pkg as { version?: unknown }).version;
  return typeof version === 'string' ? version : '0';
};

/** Shown on the phone under "Linked devices" as "Chrome (hashsend)". */
const browser = (): WABrowserDescription => ['hashsend', 'Chrome', packageVersion()];

/**
 * Where the sockets connect and which media host certificates they trust. Baileys uploads with
 * `https.request` and the `fetchAgent` as its agent, so an https.Agent is what carries the extra CA.
 */
const endpointOptions = (wsUrl: string | undefined, ca: string[] | undefined): Partial<SocketConfig> => ({
  ...(wsUrl ? { waWebSocketUrl: wsUrl } : {}),
  ...(ca ? { fetchAgent: new Agent({ ca }) } : {}),
});

/**
 * Baileys downloads inbound media with the global `fetch`, which takes an undici dispatcher, not the
 * https.Agent it uploads with: the download timeouts and the extra CA go here.
 */
const downloadDispatcher = (ca: string[] | undefined, timeoutMs: number) =>
  new DownloadAgent({ headersTimeout: timeoutMs, bodyTimeout: timeoutMs, ...(ca ? { connect: { ca } } : {}) });

/** The real WhatsApp driver, on Baileys 7. */
export const createBaileysDriver = ({
  log,
  uploadCacheTtlMs,
  mediaUploadTimeoutMs = 120_000,
  ackTimeoutMs = 30_000,
  wsUrl,
  mediaCaFile,
  keepAliveIntervalMs = 30_000,
  connectTimeoutMs = 20_000,
  socketOptions = {},
  backoff,
  inboundMediaMaxBytes = 100 * 1024 * 1024,
  mediaDownloadTimeoutMs = 60_000,
  credentials,
}: BaileysDriverOptions): Driver => {
  const ca = mediaCaFile ? [...rootCertificates, readFileSync(mediaCaFile, 'utf8')] : undefined;
  const settings = {
    browser: browser(),
    uploadCacheTtlMs,
    mediaUploadTimeoutMs,
    ackTimeoutMs,
    socketOptions: { keepAliveIntervalMs, connectTimeoutMs, ...endpointOptions(wsUrl, ca), ...socketOptions },
    backoff,
    inboundMedia: { maxBytes: inboundMediaMaxBytes, dispatcher: downloadDispatcher(ca, mediaDownloadTimeoutMs) },
    credentials,
  };
  return {
    name: 'baileys',
    capabilities: WHATSAPP_WEB_CAPABILITIES,
    open(options) {
      log.debug({ sessionId: options.sessionId }, 'opening a Baileys session');
      return new BaileysSession(options, settings);
    },
  };
};
