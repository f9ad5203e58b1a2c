import { Router, type RequestHandler } from 'express';
import type { WasenderAccounts } from '../../wasender/accounts.js';
import { createFailureLimiter, type FailureLimiter } from '../../lib/failure-limiter.js';
import { createWasenderAuth } from './auth.js';
import { wasenderErrorHandler, wasenderNotFound } from './errors.js';
import { wasenderSessionRoutes, wasenderStatusRoutes } from './sessions.js';
import { unsupportedRoutes } from './unsupported.js';

export { wasenderLocals, type WasenderLocals } from './auth.js';
export { WasenderError, wasenderError, sendWasender, parseWasender, toWasenderError } from './errors.js';

/** What a router added to this surface gets: the two auth checks and the sessions. */
export interface WasenderSurface {
  accounts: WasenderAccounts;
  /** Bearer session API key: sets `res.locals.wasender` ({@link WasenderLocals}), else 401/403/429. */
  requireSessionKey: RequestHandler;
  /** Bearer personal access token, else 401/403/429. */
  requireAccessToken: RequestHandler;
}

export interface WasenderRoutesOptions {
  accounts: WasenderAccounts;
  auth: { accessTokens: string[]; maxFailures: number; failureWindowMs: number; limiter?: FailureLimiter };
  /** Runs first: the graceful shutdown's guard (and the store's), so work starting here is refused (503) while the server drains. */
  guard?: RequestHandler;
  /**
   * More routes (messages, upload, …), mounted after the session routes and before the 501 table, so a route
   * built here takes over its 501. Each parses its own body (`jsonBody()` from ../json-body.js); every error it
   * throws or passes on is answered in WASenderApi's shape.
   */
  routers?: ((surface: WasenderSurface) => Router)[];
}

export const WASENDER_BASE = '/wasender/api';

/**
 * The WASenderApi-compatible surface at `/wasender/api`, with its own auth and error shape: mounted among the
 * open routers, outside hashsend's `/api` key check.
 */
export const wasenderRoutes = ({ accounts, auth, guard, routers = [] }: WasenderRoutesOptions) => {
  const { requireAccessToken, requireSessionKey } = createWasenderAuth({
    accounts,
    accessTokens: auth.accessTokens,
    limiter: auth.limiter ?? createFailureLimiter(auth),
  });
  const surface: WasenderSurface = { accounts, requireAccessToken, requireSessionKey };
  const api = Router();
  if (guard) api.use(guard);
  api.use(wasenderSessionRoutes({ accounts, requireAccessToken })).use(wasenderStatusRoutes({ requireSessionKey }));
  for (const router of routers) api.use(router(surface));
  api.use(unsupportedRoutes(requireSessionKey)).use(wasenderNotFound).use(wasenderErrorHandler);
  return Router().use(WASENDER_BASE, api);
};
