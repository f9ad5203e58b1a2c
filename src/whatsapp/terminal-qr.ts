import QRCode from 'qrcode';
import type { SessionEvent } from './sessions.js';

export interface TerminalQrOptions {
  sessionId: string;
  /** The operator page, where the QR refreshes by itself. */
  pageUrl: string;
  subscribe(listener: (event: SessionEvent) => void): () => void;
  write(text: string): void;
}

/**
 * Prints each QR of one session to the terminal until it is linked, for a first `npm start` with no browser at hand.
 * Returns a function that stops printing.
 */
export const printQrsToTerminal = ({ sessionId, pageUrl, subscribe, write }: TerminalQrOptions) => {
  const unsubscribe = subscribe((event) => {
    if (event.type === 'qr' && event.sessionId === sessionId) {
      QRCode.toString(event.qr, { type: 'terminal', small: true }).then(
        (art) =>
          write(
            `\nScan with WhatsApp (Settings → Linked devices → Link a device) to link session "${sessionId}":\n\n${art}\n` +
              `or open the operator page: ${pageUrl}\n`,
          ),
        () => undefined,
      );
    }
    if (event.type === 'state' && event.session.id === sessionId && event.session.state === 'connected') {
      write(`\nSession "${sessionId}" is linked${event.session.me ? ` as +${event.session.me.phone}` : ''}.\n`);
      unsubscribe();
    }
    if (event.type === 'deleted' && event.sessionId === sessionId) unsubscribe();
  });
  return unsubscribe;
};
