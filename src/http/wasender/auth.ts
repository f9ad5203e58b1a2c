import type { RequestHandler, Response } from 'express';
import { bearerToken, keyDigests, keyMatches } from '../auth.js';
import type { FailureLimiter } from '../../lib/failure-limiter.js';
import type { WasenderAccounts, WasenderSession } from '../../wasender/accounts.js';
import { WasenderError } from './errors.js';

/** What `requireSessionKey` leaves for the routes after it. */
export interface WasenderLocals {
  /** The session the key belongs to, as it was when the request came in. */
  account: WasenderSession;
  /** The hashsend session behind it: the id every hashsend service takes. */
  sessionId: string;
}

export const wasenderLocals = (res: Response): WasenderLocals => res.locals.wasender as WasenderLocals;

export interface WasenderAuthOptions {
  accounts: WasenderAccounts;
  /** Personal access tokens: hashsend's API key and WASENDER_ACCESS_TOKENS. */
  accessTokens: string[];
  /** Shared by both kinds of key: guessing one kind does not buy more tries at the other. */
  limiter: FailureLimiter;
}

/**
 * WASenderApi's two kinds of bearer token: personal access tokens for `/whatsapp-sessions`, a session's API key
 * for everything else (it also says which session). A missing or unknown token is 401, a token of the other kind
 * 403; each failure counts toward the address's allowance, past which every failure is 429.
 */
export const createWasenderAuth = ({ accounts, accessTokens, limiter }: WasenderAuthOptions) => {
  const tokens = keyDigests(accessTokens.filter(Boolean));
  const isAccessToken = (token: string) => keyMatches(token, tokens);

  const refuse = async (client: string, err: WasenderError) => {
    const blockedMs = await limiter.fail(client);
    if (blockedMs <= 0) return err;
    const retryAfter = Math.ceil(blockedMs / 1000);
    return new WasenderError(429, 'rate_limited', 'Too many failed authentication attempts; try again later.', undefined, {
      retry_after: retryAfter,
    });
  };

  const requireAccessToken: RequestHandler = async (req, _res, next) => {
    const token = bearerToken(req.headers.authorization);
    if (token && isAccessToken(token)) return next();
    const client = req.ip ?? 'unknown';
    if (!token)
      return next(
        await refuse(
          client,
          new WasenderError(401, 'unauthorized', 'Unauthenticated. Send Authorization: Bearer <personal access token>.'),
        ),
      );
    if (await accounts.bySessionKey(token))
      return next(
        await refuse(
          client,
          new WasenderError(403, 'wrong_token_kind', 'This route takes a personal access token, not a session API key.'),
        ),
      );
    return next(await refuse(client, new WasenderError(401, 'unauthorized', 'Invalid personal access token.')));
  };

  const requireSessionKey: RequestHandler = async (req, res, next) => {
    const token = bearerToken(req.headers.authorization);
    const account = token ? await accounts.bySessionKey(token) : undefined;
    if (account) {
      res.locals.wasender = { account, sessionId: account.hashsend_session_id } satisfies WasenderLocals;
      return next();
    }
    const client = req.ip ?? 'unknown';
    if (!token)
      return next(
        await refuse(client, new WasenderError(401, 'unauthorized', 'API key is required. Send Authorization: Bearer <session API key>.')),
      );
    if (isAccessToken(token))
      return next(
        await refuse(
          client,
          new WasenderError(403, 'wrong_token_kind', "This route takes a session's API key, not a personal access token."),
        ),
      );
    return next(await refuse(client, new WasenderError(401, 'unauthorized', 'Invalid API key.')));
  };

  return { requireAccessToken, requireSessionKey };
};
export type WasenderAuth = ReturnType<typeof createWasenderAuth>;
