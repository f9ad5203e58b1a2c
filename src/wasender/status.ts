import type { SessionState } from '../whatsapp/driver.js';

/** The statuses WASenderApi reports for a session, as its SDKs type them. */
export const WASENDER_STATUSES = ['connected', 'disconnected', 'need_scan', 'connecting', 'logged_out', 'expired'] as const;
export type WasenderStatus = (typeof WASENDER_STATUSES)[number];

/**
 * hashsend's session state in WASenderApi's words. `idle` is a session nobody asked to link yet (new) or that its
 * owner disconnected: WASenderApi shows `disconnected` until `connect`, though hashsend's session may already
 * show a QR (a link made from the operator page still reads `connected`). `needs_relink` (credentials refused)
 * asks for a new scan; `conflict` and `stopped` are down until reconnected.
 */
export const wasenderStatus = (state: SessionState, idle = false): WasenderStatus => {
  if (state === 'connected') return 'connected';
  if (idle) return 'disconnected';
  switch (state) {
    case 'qr':
    case 'needs_relink':
      return 'need_scan';
    case 'starting':
    case 'reconnecting':
      return 'connecting';
    case 'logged_out':
      return 'logged_out';
    case 'conflict':
    case 'stopped':
      return 'disconnected';
  }
};
