import type { z } from 'zod';

/**
 * Every error a caller can see is a HashsendError: a stable `code` that scripts rely on, the HTTP status it
 * maps to, and optional `details`. The one error middleware (src/http/errors.ts) turns it into
 * `{ error: { code, message, details } }`; anything else becomes a logged 500 `internal`.
 */
export class HashsendError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'HashsendError';
  }
}

export const invalidRequest = (message: string, details?: Record<string, unknown>) =>
  new HashsendError('invalid_request', 400, message, details);
/** A zod failure on a request (or a driver's options) becomes `invalid_request` with each problem's path and message. */
export const fromZodError = (err: z.ZodError, where = 'body', prefix: (string | number)[] = []): HashsendError => {
  const issues = err.issues.map((i) => ({ path: [...prefix, ...i.path].map(String).join('.'), message: i.message }));
  return new HashsendError('invalid_request', 400, `invalid ${where}: ${issues.map((i) => `${i.path || where} ${i.message}`).join('; ')}`, {
    issues,
  });
};

export const notFound = (what: string) => new HashsendError('not_found', 404, `${what} not found`);

export const isHashsendError = (e: unknown): e is HashsendError => e instanceof HashsendError;
