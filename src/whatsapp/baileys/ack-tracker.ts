import type { EventEmitter } from 'node:events';
import type { BinaryNode } from '@whiskeysockets/baileys';

/** The server's answer to one relayed message: no `error` means WhatsApp took it. */
export interface ServerAck {
  error?: string;
}

/** Thrown when no ack came in time: the socket may look open while nothing goes through. */
export class AckTimeoutError extends Error {
  constructor(
    readonly messageId: string,
    timeoutMs: number,
  ) {
    super(`no server ack for ${messageId} within ${timeoutMs} ms`);
    this.name = 'AckTimeoutError';
  }
}

interface Waiter {
  resolve(ack: ServerAck): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * Waits for WhatsApp's `<ack class="message" id=…>` to each relayed message. `relayMessage` resolves once
 * the frame is written, which a dead connection accepts too; the ack is what proves the message arrived.
 * One listener per socket, whatever the number of sends in flight.
 */
export class AckTracker {
  private readonly waiters = new Map<string, Waiter>();

  constructor(ws: EventEmitter) {
    ws.on('CB:ack,class:message', (node: BinaryNode) => {
      const waiter = this.waiters.get(node.attrs.id);
      if (!waiter) return;
      this.waiters.delete(node.attrs.id);
      clearTimeout(waiter.timer);
      waiter.resolve(node.attrs.error ? { error: node.attrs.error } : {});
    });
  }

  /** Call before relaying, so an ack that comes back at once is not missed. */
  expect(messageId: string, timeoutMs: number): Promise<ServerAck> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(messageId);
        reject(new AckTimeoutError(messageId, timeoutMs));
      }, timeoutMs);
      this.waiters.set(messageId, { resolve, reject, timer });
    });
  }

  /** Stops waiting for `messageId` (the relay itself failed). */
  forget(messageId: string) {
    const waiter = this.waiters.get(messageId);
    if (!waiter) return;
    clearTimeout(waiter.timer);
    this.waiters.delete(messageId);
  }

  /** Fails every wait: the socket is gone and no ack can come on it any more. */
  close(error: Error) {
    for (const waiter of this.waiters.values()) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
    this.waiters.clear();
  }
}
