import { createHash } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { HashsendError } from '../errors.js';
import type { IdempotencyRef } from '../outbox/index.js';

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

/** The key and fingerprint of a request that carried `Idempotency-Key`, for the handler to hand to the outbox. */
export const idempotencyOf = (res: Response): IdempotencyRef | undefined => res.locals.idempotency as IdempotencyRef | undefined;

/**
 * `Idempotency-Key`: checks the key, fingerprints the request (method, path and body, key order ignored) and puts
 * both where the handler finds them (`idempotencyOf`). What a key stands for is kept below HTTP, by the outbox, in
 * the same store and order as the message: a repeat of the same request gets the first message, the same key on a
 * different request is `409 idempotency_conflict`. Refusals keep nothing: a retry after one is tried afresh.
 * Requests with one key run one at a time here, so a retry racing its original waits for the original's answer.
 */
export const idempotency = (): RequestHandler => {
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
    const fingerprint = createHash('sha256')
      .update(`${req.method} ${req.baseUrl}${req.path}\n${canonical(req.body)}`)
      .digest('hex');

    while (inFlight.has(key)) await inFlight.get(key);
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    inFlight.set(key, mine);
    let finished = false;
    // The key is free again once this request's answer is decided; never merely because the client went away,
    // since the handler may still be about to queue the message.
    const finish = () => {
      if (finished) return;
      finished = true;
      if (inFlight.get(key) === mine) inFlight.delete(key);
      release();
    };
    res.once('finish', finish);
    const send = res.json.bind(res);
    res.json = (body: unknown) => {
      finish();
      return send(body);
    };
    res.locals.idempotency = { key, fingerprint } satisfies IdempotencyRef;
    next();
  }
};
