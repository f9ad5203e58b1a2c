import { Router, type RequestHandler } from 'express';
import { WasenderError } from './errors.js';

/**
 * WASenderApi routes hashsend does not offer (yet): each answers `501 { success: false, message }` naming itself,
 * after the session key is checked, so a script learns at once what it cannot do here. Listed in the README.
 */
export const UNSUPPORTED_ROUTES: readonly { method: 'get' | 'post' | 'put' | 'delete'; path: string; what: string }[] = [
  { method: 'get', path: '/user', what: 'account details' },
  { method: 'post', path: '/decrypt-media', what: 'decrypting media' },
  { method: 'put', path: '/messages/:msgId', what: 'editing a message' },
  { method: 'delete', path: '/messages/:msgId', what: 'deleting a message' },
  { method: 'get', path: '/contacts', what: 'contacts' },
  { method: 'get', path: '/contacts/:phone', what: 'contacts' },
  { method: 'get', path: '/contacts/:phone/picture', what: 'contacts' },
  { method: 'post', path: '/contacts/:phone/block', what: 'blocking a contact' },
  { method: 'post', path: '/contacts/:phone/unblock', what: 'unblocking a contact' },
  { method: 'get', path: '/groups', what: 'groups' },
  { method: 'post', path: '/groups', what: 'groups' },
  { method: 'get', path: '/groups/invite/:code', what: 'groups' },
  { method: 'post', path: '/groups/invite/accept', what: 'groups' },
  { method: 'get', path: '/groups/:jid/metadata', what: 'groups' },
  { method: 'get', path: '/groups/:jid/participants', what: 'groups' },
  { method: 'post', path: '/groups/:jid/participants/add', what: 'groups' },
  { method: 'post', path: '/groups/:jid/participants/remove', what: 'groups' },
  { method: 'post', path: '/groups/:jid/participants/update', what: 'groups' },
  { method: 'put', path: '/groups/:jid/settings', what: 'groups' },
  { method: 'post', path: '/groups/:jid/leave', what: 'groups' },
  { method: 'get', path: '/groups/:jid/invite-link', what: 'groups' },
  { method: 'get', path: '/groups/:jid/picture', what: 'groups' },
  { method: 'get', path: '/channels', what: 'channels' },
  { method: 'post', path: '/channels', what: 'channels' },
  { method: 'get', path: '/channels/:jid', what: 'channels' },
];

const notImplemented =
  (method: string, path: string, what: string): RequestHandler =>
  (_req, _res, next) =>
    next(new WasenderError(501, 'not_implemented', `${method.toUpperCase()} ${path} (${what}) is not available on hashsend yet.`));

export const unsupportedRoutes = (requireSessionKey: RequestHandler) => {
  const router = Router();
  for (const { method, path, what } of UNSUPPORTED_ROUTES) router[method](path, requireSessionKey, notImplemented(method, path, what));
  return router;
};
