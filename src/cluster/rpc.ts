import { randomBytes } from 'node:crypto';
import { HashsendError, isHashsendError } from '../errors.js';
import type { Logger } from '../log.js';
import type { BridgeRedis } from './event-bridge.js';

/** A call's arguments and answer travel as JSON: Buffers as `{ base64 }` (see `toWire`/`fromWire`). */
export type Handler = (...args: unknown[]) => Promise<unknown>;

interface Request {
  id: string;
  from: string;
  method: string;
  args: unknown[];
}

type Reply =
  | { id: string; ok: true; value: unknown }
  | { id: string; ok: false; error: { code: string; status: number; message: string; details?: Record<string, unknown> } };

const requestChannel = (nodeId: string) => `hs:rpc:${nodeId}`;
const replyChannel = (nodeId: string) => `hs:rpc-reply:${nodeId}`;

const BUFFER_TAG = '__buffer_base64';
const replacer = function (this: Record<string, unknown>, key: string, value: unknown) {
  const raw = this[key];
  return Buffer.isBuffer(raw) ? { [BUFFER_TAG]: raw.toString('base64') } : value;
};
const reviver = (_key: string, value: unknown) =>
  value && typeof value === 'object' && BUFFER_TAG in value
    ? Buffer.from(String((value as Record<string, unknown>)[BUFFER_TAG]), 'base64')
    : value;
const encode = (value: unknown) => JSON.stringify(value, replacer);
const decode = <T>(text: string) => JSON.parse(text, reviver) as T;

export interface RpcOptions {
  publisher: Pick<BridgeRedis, 'publish'>;
  subscriber: Pick<BridgeRedis, 'subscribe' | 'unsubscribe'>;
  nodeId: string;
  /** What other nodes may call here, by name. */
  handlers: Record<string, Handler>;
  log: Logger;
  /** How long a caller waits for the other node's answer. @default 15_000 */
  timeoutMs?: number;
}

/**
 * Calls to another node over Redis pub/sub, for what only a session's owner can do (ask its socket for a pairing
 * code, answer Meta's webhook with its app secret). An error the handler throws reaches the caller as the same
 * HashsendError (code, status, details), so an API answer is the same whichever node took the request; a node that
 * does not answer in time is `503 owner_unreachable`.
 */
export const createRpc = async ({ publisher, subscriber, nodeId, handlers, log, timeoutMs = 15_000 }: RpcOptions) => {
  const waiting = new Map<string, { resolve(value: unknown): void; reject(err: Error): void; timer: NodeJS.Timeout }>();

  const answer = async (request: Request): Promise<Reply> => {
    const handler = Object.hasOwn(handlers, request.method) ? handlers[request.method] : undefined;
    if (!handler) return { id: request.id, ok: false, error: { code: 'internal', status: 500, message: `no call "${request.method}"` } };
    try {
      return { id: request.id, ok: true, value: await handler(...request.args) };
    } catch (err) {
      if (isHashsendError(err))
        return { id: request.id, ok: false, error: { code: err.code, status: err.status, message: err.message, details: err.details } };
      log.error({ err, method: request.method }, 'a call from another node failed');
      return {
        id: request.id,
        ok: false,
        error: { code: 'owner_failed', status: 502, message: 'the node owning the session failed to do it; its log has the details' },
      };
    }
  };

  /** A message nobody of ours wrote (another program on the channel) is passed over, never a crash. */
  const read = <T>(message: string): T | undefined => {
    try {
      return decode<T>(message);
    } catch (err) {
      log.warn({ err }, 'an unreadable message on a cluster call channel was passed over');
      return undefined;
    }
  };

  await subscriber.subscribe(requestChannel(nodeId), (message) => {
    const request = read<Request>(message);
    if (!request) return;
    void answer(request)
      .then((reply) => publisher.publish(replyChannel(request.from), encode(reply)))
      .catch((err: unknown) => log.warn({ err, method: request.method }, 'an answer to another node could not be sent'));
  });
  await subscriber.subscribe(replyChannel(nodeId), (message) => {
    const reply = read<Reply>(message);
    const call = reply && waiting.get(reply.id);
    if (!reply || !call) return;
    waiting.delete(reply.id);
    clearTimeout(call.timer);
    if (reply.ok) call.resolve(reply.value);
    else call.reject(new HashsendError(reply.error.code, reply.error.status, reply.error.message, reply.error.details));
  });

  const callWithin = <T>(within: number, node: string, method: string, ...args: unknown[]): Promise<T> => {
    const id = randomBytes(9).toString('base64url');
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(
          new HashsendError('owner_unreachable', 503, `node ${node}, which owns the session, did not answer in time; retry`, { node }),
        );
      }, within);
      waiting.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
      publisher.publish(requestChannel(node), encode({ id, from: nodeId, method, args } satisfies Request)).catch((err: unknown) => {
        waiting.delete(id);
        clearTimeout(timer);
        reject(
          new HashsendError('store_unavailable', 503, 'Redis could not carry the call to the owning node; retry', undefined, {
            cause: err,
          }),
        );
      });
    });
  };

  return {
    /** Runs `method` on `node` and resolves with its answer. */
    call<T>(node: string, method: string, ...args: unknown[]): Promise<T> {
      return callWithin<T>(timeoutMs, node, method, ...args);
    },
    /** `call`, waiting `within` ms for the answer instead of the default. */
    callWithin,
    async close() {
      for (const [, call] of waiting) {
        clearTimeout(call.timer);
        call.reject(new HashsendError('shutting_down', 503, 'the server is stopping'));
      }
      waiting.clear();
      await subscriber.unsubscribe(requestChannel(nodeId));
      await subscriber.unsubscribe(replyChannel(nodeId));
    },
  };
};

export type Rpc = Awaited<ReturnType<typeof createRpc>>;
