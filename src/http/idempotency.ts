import { createHash } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { HashsendError } from '../errors.js';
import type { Store } from '../store/index.js';

interface Saved {
  fingerprint: string;
  status: number;
  body: unknown;
}

/**
 * JSON with sorted keys: the same body written in another key order is the same request. Walked with a stack of
 * its own, not by recursion, so no nesting depth can overflow the call stack.
 */
const canonical = (root: unknown): string => {
  const out: string[] = [];
  // Last in, first out: a `text` is written as is, a `value` is expanded into more work.
  const todo: ({ text: string } | { value: unknown })[] = [{ value: root }];
  const later = (items: ({ text: string } | { value: unknown })[]) => {
    for (let i = items.length - 1; i >= 0; i--) todo.push(items[i]);
  };
  while (todo.length > 0) {
    const work = todo.pop()!;
    if ('text' in work) {
      out.push(work.text);
      continue;
    }
    const value = work.value;
    if (Array.isArray(value)) {
      later([{ text: '[' }, ...value.flatMap((v, i) => [...(i ? [{ text: ',' }] : []), { value: v }]), { text: ']' }]);
    } else if (value && typeof value === 'object') {
      const record = value as Record<string, unknown>;
      const entries = Object.keys(record)
        .sort()
        .flatMap((k, i) => [{ text: `${i ? ',' : ''}${JSON.stringify(k)}:` }, { value: record[k] }]);
      later([{ text: '{' }, ...entries, { text: '}' }]);
    } else {
      out.push(JSON.stringify(value ?? null));
    }
  }
  return out.join('');
};

export interface IdempotencyOptions {
  store: Store;
  /** How long a key is remembered. @default 86_400_000 (24 h) */
  ttlMs?: number;
}

/**
 * `Idempotency-Key`: the first successful answer to a key is stored and replayed for a repeat of the same request,
 * so a retried POST sends nothing more; the same key on a different request is `409 idempotency_conflict`.
 * Error answers are not stored: a retry after a refusal (a stale file, a session not found) is tried afresh.
 * Requests with one key run one at a time, so a retry racing its original waits for the original's answer.
 */
export const idempotency = ({ store, ttlMs = 86_400_000 }: IdempotencyOptions): RequestHandler => {
  const inFlight = new Map<string, Promise<void>>();
  // Not async itself: a request without the header (most) passes on without a promise made for it.
  return function idempotency(req, res, next) {
    const key = req.get('idempotency-key');
    if (key === undefined) return next();
    return keyed(req, res, next, key);
  };
  async function keyed(req: Request, res: Response, next: NextFunction, key: string) {
    if (!/^[\x21-\x7e]{1,255}$/.test(key)) {
      return next(new HashsendError('invalid_request', 400, 'Idempotency-Key must be 1-255 visible ASCII characters'));
    }
    const storeKey = `idem:${key}`;
    const fingerprint = createHash('sha256')
      .update(`${req.method} ${req.baseUrl}${req.path}\n${canonical(req.body)}`)
      .digest('hex');

    while (inFlight.has(storeKey)) await inFlight.get(storeKey);
    // Claimed before the first await below, so a concurrent repeat waits for this request's answer.
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    inFlight.set(storeKey, mine);
    let finished = false;
    // The key is free again once this request's answer is decided and stored; never merely because the client
    // went away, since the handler may still be about to send.
    const finish = () => {
      if (finished) return;
      finished = true;
      if (inFlight.get(storeKey) === mine) inFlight.delete(storeKey);
      release();
    };

    let saved: Saved | undefined;
    try {
      saved = (await store.get(storeKey)) as Saved | undefined;
    } catch (err) {
      finish();
      throw err;
    }
    if (saved) {
      finish();
      if (saved.fingerprint !== fingerprint) {
        return next(new HashsendError('idempotency_conflict', 409, 'this Idempotency-Key was used for a different request'));
      }
      res.setHeader('Idempotent-Replayed', 'true');
      return res.status(saved.status).json(saved.body);
    }
    res.once('finish', finish);
    const send = res.json.bind(res);
    res.json = (body: unknown) => {
      if (res.statusCode < 200 || res.statusCode >= 300) {
        finish();
        return send(body);
      }
      // Stored before it is sent: a client that saw the answer can count on a retry finding it.
      store
        .set(storeKey, { fingerprint, status: res.statusCode, body } satisfies Saved, ttlMs)
        .catch((err: unknown) => req.log.error({ err }, 'the answer to an Idempotency-Key could not be stored'))
        .finally(() => {
          finish();
          send(body);
        });
      return res;
    };
    next();
  }
};
