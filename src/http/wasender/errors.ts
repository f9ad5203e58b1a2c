import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { z } from 'zod';
import { isHashsendError } from '../../errors.js';

/**
 * WASenderApi's error body: `{ success: false, message, errors? }`, `errors` keyed by field as Laravel shapes a
 * validation failure. hashsend's stable `code` rides beside it, so a script can tell failures apart.
 */
export interface WasenderErrorBody {
  success: false;
  message: string;
  code: string;
  errors?: Record<string, string[]>;
  retry_after?: number;
}

/** An error this surface answers as it is: status, message, and optional field errors and extra body fields. */
export class WasenderError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly errors?: Record<string, string[]>,
    readonly extra?: { retry_after?: number },
  ) {
    super(message);
    this.name = 'WasenderError';
  }
}

export const wasenderError = (status: number, code: string, message: string, errors?: Record<string, string[]>) =>
  new WasenderError(status, code, message, errors);

export const sendWasender = (res: Response, err: WasenderError) => {
  const body: WasenderErrorBody = {
    success: false,
    message: err.message,
    code: err.code,
    ...(err.errors ? { errors: err.errors } : {}),
    ...err.extra,
  };
  res.status(err.status).json(body);
};

/** A zod failure as Laravel answers one: 422, the first problem as the message, every problem under its field. */
export const fromZod = (err: z.ZodError): WasenderError => {
  const errors: Record<string, string[]> = {};
  for (const issue of err.issues) {
    const field = issue.path.join('.') || 'body';
    (errors[field] ??= []).push(`The ${field} field ${issue.message.replace(/^./, (c) => c.toLowerCase())}.`.replace(/\.\.$/, '.'));
  }
  const messages = Object.values(errors).flat();
  const more = messages.length - 1;
  return new WasenderError(
    422,
    'validation_failed',
    more > 0 ? `${messages[0]} (and ${more} more error${more > 1 ? 's' : ''})` : messages[0],
    errors,
  );
};

/** Parses a request part; a failure is Laravel's 422 with errors keyed by field. */
export const parseWasender = <T extends z.ZodType>(schema: T, value: unknown): z.output<T> => {
  const result = schema.safeParse(value ?? {});
  if (!result.success) throw fromZod(result.error);
  return result.data;
};

interface HttpError extends Error {
  status?: number;
  statusCode?: number;
  type?: string;
  expose?: boolean;
}

/** Any error on this surface in WASenderApi's shape: never hashsend's envelope, never HTML. */
export const toWasenderError = (err: unknown): WasenderError | undefined => {
  if (err instanceof WasenderError) return err;
  if (err instanceof z.ZodError) return fromZod(err);
  if (isHashsendError(err)) {
    const issues = (err.details?.issues as { path: string; message: string }[] | undefined) ?? undefined;
    const errors = issues && Object.fromEntries(issues.map((i) => [i.path || 'body', [i.message]]));
    // A field-by-field validation failure is Laravel's 422; every other service error keeps its status.
    return new WasenderError(errors && err.status === 400 ? 422 : err.status, err.code, err.message, errors);
  }
  const http = err as HttpError;
  const status = http?.status ?? http?.statusCode;
  if (!status || status >= 500) return undefined;
  if (http.type === 'entity.parse.failed')
    return new WasenderError(400, 'invalid_json', `The request body is not valid JSON: ${http.message}`);
  if (http.type === 'entity.too.large') return new WasenderError(413, 'too_large', 'The request body is too large.');
  return new WasenderError(status, status === 404 ? 'not_found' : 'invalid_request', http.expose ? http.message : 'Bad request.');
};

export const wasenderErrorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  const known = toWasenderError(err);
  if (!known) req.log.error({ err }, 'unhandled error on the WASender surface');
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (known?.status === 429 && !res.getHeader('Retry-After') && known.extra?.retry_after)
    res.setHeader('Retry-After', String(known.extra.retry_after));
  sendWasender(res, known ?? new WasenderError(500, 'internal', 'Internal server error; the log has the details.'));
};

export const wasenderNotFound: RequestHandler = (req, _res, next) =>
  next(new WasenderError(404, 'not_found', `The route ${req.method} ${req.baseUrl}${req.path} could not be found.`));
