import { readFileSync } from 'node:fs';
import type { SocketConfig, WABrowserDescription } from '@whiskeysockets/baileys';
import type { Logger } from '../../log.js';
import type { Driver } from '../driver.js';
import type { BackoffOptions } from './reconnect-policy.js';
import { BaileysSession } from './session.js';

export interface BaileysDriverOptions {
  log: Logger;
  /** How long one upload serves further sends of the same content (`UPLOAD_CACHE_TTL_MS`). */
  uploadCacheTtlMs: number;
  /** Baileys has no upload timeout unless given one. @default 120000 */
  mediaUploadTimeoutMs?: number;
  /** How long a relayed message may wait for WhatsApp's ack before the connection counts as dead. @default 30000 */
  ackTimeoutMs?: number;
  /**
   * Passed to `makeWASocket` over our defaults: tests point it at the protocol simulator (`waWebSocketUrl`,
   * `fetchAgent` trusting the test CA, shorter `keepAliveIntervalMs`). Production leaves it unset.
   */
  socketOptions?: Partial<SocketConfig>;
  backoff?: BackoffOptions;
}

const packageVersion = () => {
  const pkg: unknown = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));
  const version = (pkg as { version?: unknown }).version;
  return typeof version === 'string' ? version : '0';
};

/** Shown on the phone under "Linked devices" as "Chrome (hashsend)". */
const browser = (): WABrowserDescription => ['hashsend', 'Chrome', packageVersion()];

/** The real WhatsApp driver, on Baileys 7. */
export const createBaileysDriver = ({
  log,
  uploadCacheTtlMs,
  mediaUploadTimeoutMs = 120_000,
  ackTimeoutMs = 30_000,
  socketOptions = {},
  backoff,
}: BaileysDriverOptions): Driver => {
  const settings = { browser: browser(), uploadCacheTtlMs, mediaUploadTimeoutMs, ackTimeoutMs, socketOptions, backoff };
  return {
    name: 'baileys',
    open(options) {
      log.debug({ sessionId: options.sessionId }, 'opening a Baileys session');
      return new BaileysSession(options, settings);
    },
  };
};
