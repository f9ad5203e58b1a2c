import { randomBytes } from 'node:crypto';
import type { WebhookError } from './errors.ts';
import type { FakeGraphMessage, FakeNumber, MessageStatus } from './state.ts';

/** Meta's webhook envelope for the `messages` field of a WhatsApp Business Account. */
export const envelope = (n: FakeNumber, value: Record<string, unknown>) => ({
  object: 'whatsapp_business_account',
  entry: [
    {
      id: n.wabaId,
      changes: [
        {
          value: {
            messaging_product: 'whatsapp',
            metadata: { display_phone_number: n.displayPhoneNumber.replace(/\D/g, ''), phone_number_id: n.phoneNumberId },
            ...value,
          },
          field: 'messages',
        },
      ],
    },
  ],
});

const seconds = (ms: number) => String(Math.floor(ms / 1000));

/** Template sends are billed as utility here, everything else as a free-form service message. */
const category = (m: FakeGraphMessage) => (m.type === 'template' ? 'utility' : 'service');

/** One entry of `statuses[]`: failed ones carry `errors` and no billing, the others a conversation and pricing. */
export const statusValue = (
  m: FakeGraphMessage,
  status: MessageStatus,
  nowMs: number,
  conversationId: string,
  errors?: WebhookError[],
) => ({
  statuses: [
    {
      id: m.id,
      status,
      timestamp: seconds(nowMs),
      recipient_id: m.to,
      ...(typeof m.body.biz_opaque_callback_data === 'string' ? { biz_opaque_callback_data: m.body.biz_opaque_callback_data } : {}),
      ...(status === 'failed'
        ? { errors }
        : {
            conversation: {
              id: conversationId,
              ...(status === 'sent' ? { expiration_timestamp: seconds(nowMs + 24 * 3600 * 1000) } : {}),
              origin: { type: category(m) },
            },
            pricing: { billable: true, pricing_model: 'PMP', type: 'regular', category: category(m) },
          }),
    },
  ],
});

export interface InboundMedia {
  type: string;
  id: string;
  mimeType: string;
  /** Base64 sha256, as Meta puts it in inbound media objects. */
  sha256Base64: string;
  caption?: string;
  filename?: string;
}

/** A customer's message as Meta posts it: contacts (with profile name) and one `messages[]` entry. */
export const inboundValue = (p: { from: string; name: string; id: string; nowMs: number; text?: string; media?: InboundMedia }) => ({
  contacts: [{ profile: { name: p.name }, wa_id: p.from }],
  messages: [
    {
      from: p.from,
      id: p.id,
      timestamp: seconds(p.nowMs),
      ...(p.media
        ? {
            type: p.media.type,
            [p.media.type]: {
              ...(p.media.caption === undefined ? {} : { caption: p.media.caption }),
              ...(p.media.filename === undefined ? {} : { filename: p.media.filename }),
              mime_type: p.media.mimeType,
              sha256: p.media.sha256Base64,
              id: p.media.id,
            },
          }
        : { type: 'text', text: { body: p.text ?? '' } }),
    },
  ],
});

/** A message id in Meta's shape: `wamid.` and base64 (which may hold `+`, `/` and `=`: escape it in URLs). */
export const wamid = (to: string) =>
  `wamid.${Buffer.concat([Buffer.from(`\x18\x0b${to}\x15\x02\x00\x11\x18\x12`), randomBytes(18)]).toString('base64')}`;
