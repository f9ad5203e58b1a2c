import type { ErrorRequestHandler, RequestHandler } from 'express';
import { z } from 'zod';
import { HashsendError, fromZodError, isHashsendError } from '../errors.js';

export { fromZodError };

/** Body-parser and other http-errors carry `status` and `type`; these are the caller's fault, never a 500. */
interface HttpError extends Error {
  status?: number;
  statusCode?: number;
  type?: string;
  expose?: boolean;
}

const fromHttpError = (err: HttpError): HashsendError | undefined => {
  const status = err.status ?? err.statusCode;
  if (!status || status >= 500) return undefined;
  if (err.type === 'entity.parse.failed') return new HashsendError('invalid_request', 400, `malformed JSON body: ${err.message}`);
  if (err.type === 'entity.too.large') return new HashsendError('too_large', 413, 'request body is too large');
  if (err.type === 'encoding.unsupported' || err.type === 'charset.unsupported')
    return new HashsendError('invalid_request', 415, err.message);
  return new HashsendError(status === 404 ? 'not_found' : 'invalid_request', status, err.expose ? err.message : 'bad request');
};

export const toErrorBody = (err: HashsendError) => ({
  error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) },
});

/** The single place an error becomes an HTTP answer: a stable code, never a stack trace. */
export const errorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  const known = isHashsendError(err) ? err : err instanceof z.ZodError ? fromZodError(err) : fromHttpError(err as HttpError);
  if (!known) req.log.error({ err }, 'unhandled error');
  const answer = known ?? new HashsendError('internal', 500, 'internal error; the log has the details');
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.status(answer.status).json(toErrorBody(answer));
};

export const notFoundHandler: RequestHandler = (req, _res, next) =>
  next(new HashsendError('not_found', 404, `no route ${req.method} ${req.path}`));
