import { Router, type Response } from 'express';
import { z } from 'zod';
import type { SendPacer, PaceDecision } from '../../wasender/send-pacing.js';
import type { WasenderMessages } from '../../wasender/messages.js';
import type { SessionTools } from '../../whatsapp/session-tools.js';
import { MAX_PRESENCE_HOLD_MS } from '../../whatsapp/session-tools.js';
import { jsonBody } from '../json-body.js';
import { httpUrlSchema, sha256Schema } from '../media-schemas.js';
import { parseWasender, wasenderLocals, WasenderError, type WasenderSurface } from './index.js';

const mediaUrl = httpUrlSchema.optional();

/** The SDKs send coordinates as numbers or numeric strings. */
const coordinate = z.preprocess((v) => (typeof v === 'string' && v.trim() !== '' ? Number(v) : v), z.number('must be a number'));

/** Unknown fields (the SDKs' `messageType`) are dropped, as Laravel's validated input drops them. */
export const sendMessageBody = z.object({
  to: z.string('is required').trim().min(1, 'is required').max(128, 'may not be greater than 128 characters'),
  text: z.string('must be a string').max(65_536, 'may not be greater than 65536 characters').optional(),
  imageUrl: mediaUrl,
  videoUrl: mediaUrl,
  documentUrl: mediaUrl,
  audioUrl: mediaUrl,
  stickerUrl: mediaUrl,
  fileName: z.string('must be a string').min(1).max(255, 'may not be greater than 255 characters').optional(),
  contact: z
    .object(
      {
        name: z.string('is required').trim().min(1, 'is required').max(255),
        phone: z.string('is required').regex(/^\+?[\d\s().-]{7,24}$/, 'must be a phone number in international format'),
      },
      'must be an object with name and phone',
    )
    .optional(),
  location: z
    .object(
      {
        latitude: coordinate.pipe(z.number().min(-90).max(90)),
        longitude: coordinate.pipe(z.number().min(-180).max(180)),
        name: z.string().max(255).optional(),
        address: z.string().max(1024).optional(),
      },
      'must be an object with latitude and longitude',
    )
    .optional(),
  poll: z.unknown().optional(),
  viewOnce: z.boolean('must be true or false').optional(),
  mentions: z.array(z.string().min(1).max(128)).max(1024).optional(),
  replyTo: z.union([z.int().positive().max(Number.MAX_SAFE_INTEGER), z.string().min(1).max(128)], 'must be a message id').optional(),
  sha256: sha256Schema.optional(),
});

const PRESENCES = ['composing', 'recording', 'available', 'unavailable', 'paused'] as const;
export const presenceBody = z.object({
  jid: z.string('is required').trim().min(1, 'is required').max(128),
  type: z.enum(PRESENCES, `must be one of: ${PRESENCES.join(', ')}`),
  delayMs: z.int('must be a whole number').min(0).max(MAX_PRESENCE_HOLD_MS).optional(),
});

const msgIdParam = z.object({
  msgId: z
    .string()
    .regex(/^[1-9]\d{0,15}$/, 'must be a positive integer')
    .transform(Number),
});

/** WASenderApi's rate headers: the limit, what is left of it, and when it resets (Unix seconds). */
const setRateHeaders = (res: Response, decision: PaceDecision) => {
  res.setHeader('X-RateLimit-Limit', String(decision.limit));
  res.setHeader('X-RateLimit-Remaining', String(decision.remaining));
  res.setHeader('X-RateLimit-Reset', String(Math.ceil(decision.resetAt / 1000)));
};

export interface WasenderMessageRouteDeps {
  messages: WasenderMessages;
  tools: SessionTools;
  pacer: SendPacer;
  /** PUBLIC_URL, if set: a media URL there is this server's as much as one at the request's own origin. */
  publicUrl?: string;
}

/** The origin a request reached this server at, as the client wrote it. */
export const requestOrigin = (req: { protocol: string; get(name: string): string | undefined }) => `${req.protocol}://${req.get('host')}`;

/**
 * `POST /send-message`, `GET /messages/{msgId}/info`, `GET /on-whatsapp/{phone}`, `POST /send-presence-update`:
 * each parses, calls the service below and shapes WASenderApi's answer.
 */
export const wasenderMessageRoutes =
  ({ messages, tools, pacer, publicUrl }: WasenderMessageRouteDeps) =>
  ({ requireSessionKey }: WasenderSurface) =>
    Router()
      .post('/send-message', requireSessionKey, jsonBody(), async (req, res) => {
        const { account, sessionId } = wasenderLocals(res);
        const body = parseWasender(sendMessageBody, req.body);
        const slot = account.account_protection ? pacer.take(sessionId) : undefined;
        if (slot) {
          setRateHeaders(res, slot.decision);
          if (!slot.decision.allowed) {
            const wait = slot.decision.retryAfterS;
            throw new WasenderError(
              429,
              'rate_limited',
              `Account protection allows one message every few seconds; retry in ${wait} s.`,
              undefined,
              {
                retry_after: wait,
              },
            );
          }
        }
        const origins = [requestOrigin(req), ...(publicUrl ? [publicUrl] : [])];
        const data = await messages.send(sessionId, body, { origins }).catch((err: unknown) => {
          // Refused before it was queued: the slot was not used.
          slot?.release();
          throw err;
        });
        res.json({ success: true, data });
      })
      .get('/messages/:msgId/info', requireSessionKey, async (req, res) => {
        const { msgId } = parseWasender(msgIdParam, req.params);
        res.json({ success: true, data: await messages.info(wasenderLocals(res).sessionId, msgId) });
      })
      .get('/on-whatsapp/:phone', requireSessionKey, async (req, res) => {
        const { exists, jid } = await tools.onWhatsApp(wasenderLocals(res).sessionId, String(req.params.phone));
        res.json({ success: true, data: { exists, ...(jid ? { jid } : {}) } });
      })
      .post('/send-presence-update', requireSessionKey, jsonBody(), async (req, res) => {
        const { jid, type, delayMs } = parseWasender(presenceBody, req.body);
        const shown = await tools.sendPresence(wasenderLocals(res).sessionId, jid, type, delayMs ? { holdMs: delayMs } : undefined);
        res.json({
          success: true,
          message: 'Presence update sent successfully',
          data: { jid: shown.jid, type, ...(delayMs ? { delayMs } : {}) },
        });
      });
