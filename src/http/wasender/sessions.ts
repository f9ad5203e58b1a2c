import { Router, type Request, type RequestHandler } from 'express';
import QRCode from 'qrcode';
import type { WasenderAccounts, WasenderSession } from '../../wasender/accounts.js';
import { jsonBody } from '../json-body.js';
import { wasenderLocals } from './auth.js';
import { parseWasender, WasenderError } from './errors.js';
import { connectBody, createSessionBody, updateSessionBody } from './schemas.js';

/** A path id that is not a positive integer names no session: 404 like an unknown one. */
const idOf = (req: Request) => {
  const raw = String(req.params.id);
  const id = /^\d{1,15}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(id) || id < 1)
    throw new WasenderError(404, 'wasender_session_not_found', `no WhatsApp session with id ${raw.slice(0, 64)}`);
  return id;
};

const qrImage = (qr: string) => QRCode.toDataURL(qr, { type: 'image/png', width: 320, margin: 2 });

/**
 * `/whatsapp-sessions`: the account's sessions, behind a personal access token. Answers as WASenderApi does:
 * `{ success: true, data }`, except the new key (`{ success: true, api_key }`), which its SDKs read unwrapped.
 */
export const wasenderSessionRoutes = ({
  accounts,
  requireAccessToken,
}: {
  accounts: WasenderAccounts;
  requireAccessToken: RequestHandler;
}) => {
  const regenerate: RequestHandler = async (req, res) => {
    res.json({ success: true, api_key: await accounts.regenerateKey(idOf(req)) });
  };
  const update: RequestHandler = async (req, res) => {
    const id = idOf(req);
    // An unknown session is 404 before its body is judged.
    await accounts.byId(id);
    res.json({ success: true, data: await accounts.update(id, parseWasender(updateSessionBody, req.body)) });
  };
  const qr: RequestHandler = async (req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json({ success: true, data: { qrCode: (await accounts.qr(idOf(req))).qr } });
  };
  return (
    Router()
      .use('/whatsapp-sessions', requireAccessToken, jsonBody())
      .get('/whatsapp-sessions', async (_req, res) => {
        res.json({ success: true, data: await accounts.list() });
      })
      .post('/whatsapp-sessions', async (req, res) => {
        const input = parseWasender(createSessionBody, req.body);
        res.status(201).json({ success: true, data: await accounts.create(input) });
      })
      .get('/whatsapp-sessions/:id', async (req, res) => {
        res.json({ success: true, data: await accounts.byId(idOf(req)) });
      })
      .put('/whatsapp-sessions/:id', update)
      .patch('/whatsapp-sessions/:id', update)
      .delete('/whatsapp-sessions/:id', async (req, res) => {
        await accounts.remove(idOf(req));
        res.json({ success: true, data: null });
      })
      .post('/whatsapp-sessions/:id/connect', async (req, res) => {
        const id = idOf(req);
        const { qr_as_image: asImage } = parseWasender(connectBody, req.body);
        const { session, qr: code } = await accounts.connect(id);
        res.setHeader('Cache-Control', 'no-store');
        if (!code) {
          res.json({ success: true, data: { status: session.status, message: connectedMessage(session) } });
          return;
        }
        res.json({ success: true, data: { status: 'need_scan', qrCode: asImage ? await qrImage(code.qr) : code.qr } });
      })
      .get('/whatsapp-sessions/:id/qrcode', qr)
      .get('/whatsapp-sessions/:id/qr-code', qr)
      .post('/whatsapp-sessions/:id/disconnect', async (req, res) => {
        const session = await accounts.disconnect(idOf(req));
        res.json({ success: true, data: { status: session.status, message: 'WhatsApp session disconnected successfully' } });
      })
      .post('/whatsapp-sessions/:id/regenerate-key', regenerate)
      .post('/whatsapp-sessions/:id/regenerate-api-key', regenerate)
      // As WASenderApi's own documentation spells it (a typo a script may have copied).
      .post('/whatsapp-sessionsv/:id/regenerate-key', requireAccessToken, regenerate)
      .get('/whatsapp-sessions/:id/status', async (req, res) => {
        res.json({ status: (await accounts.byId(idOf(req))).status });
      })
  );
};

const connectedMessage = (session: WasenderSession) =>
  session.status === 'connected' ? 'Session is already connected' : `Session is ${session.status}; no QR code is needed now`;

/** The status of the session a session key belongs to, unwrapped (`{ status }`) as WASenderApi answers it. */
export const wasenderStatusRoutes = ({ requireSessionKey }: { requireSessionKey: RequestHandler }) => {
  const status: RequestHandler = (req, res) => {
    const { account } = wasenderLocals(res);
    if (req.params.id !== undefined && idOf(req) !== account.id)
      throw new WasenderError(403, 'forbidden', 'This session API key belongs to another session.');
    res.json({ status: account.status });
  };
  return Router().get('/status', requireSessionKey, status).get('/sessions/:id/status', requireSessionKey, status);
};
