import type { SessionState } from '../whatsapp/driver.js';

/** The statuses WASenderApi reports for a session, as its SDKs type them. */
export const WASENDER_STATUSES = ['connected', 'disconnected', 'need_scan', 'connecting', 'logged_out', 'expired'] as const;
export type WasenderStatus = (typeof WASENDER_STATUSES)[number];

/**
 * hashsend's session state in WASenderApi's words. A session its owner disconnected reads `disconnected` while it
 * stays down (hashsend logs it out, which it would otherwise report as the phone's doing, `logged_out`).
 * `needs_relink` (credentials refused) asks for a new scan; `conflict` and `stopped` are down until reconnected.
 */
export const wasenderStatus = (state: SessionState, disconnected = false): WasenderStatus => {
  switch (state) {
    case 'connected':
      return 'connected';
    case 'qr':
    case 'needs_relink':
      return 'need_scan';
    case 'starting':
    case 'reconnecting':
      return 'connecting';
    case 'logged_out':
      return disconnected ? 'disconnected' : 'logged_out';
    case 'conflict':
    case 'stopped':
      return 'disconnected';
  }
};
