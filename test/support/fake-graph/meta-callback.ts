import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StatusEntry {
  id: string;
  status: string;
  timestamp: string;
  recipient_id: string;
  biz_opaque_callback_data?: string;
  conversation?: { id: string; origin: { type: string } };
  pricing?: { billable: boolean; pricing_model: string; category: string };
  errors?: { code: number; title: string; message: string; error_data: { details: string }; href: string }[];
}

export interface InboundEntry {
  from: string;
  id: string;
  timestamp: string;
  type: string;
  text?: { body: string };
  [media: string]: unknown;
}

export interface ChangeValue {
  messaging_product: 'whatsapp';
  metadata: { display_phone_number: string; phone_number_id: string };
  statuses?: StatusEntry[];
  contacts?: { profile: { name: string }; wa_id: string }[];
  messages?: InboundEntry[];
}

export interface CallbackPost {
  headers: IncomingHttpHeaders;
  /** The body exactly as it arrived, what X-Hub-Signature-256 signs. */
  raw: string;
  body: { object: string; entry: { id: string; changes: { field: string; value: ChangeValue }[] }[] };
  answered: number;
}

/** The one change a fake-graph webhook carries. */
export const changeOf = (post: CallbackPost): ChangeValue => post.body.entry[0].changes[0].value;

export interface MetaCallback {
  url: string;
  posts: CallbackPost[];
  /** How the nth POST (from 1) is answered: a status, or `hang` (never). @default 200 */
  answer: (n: number) => number | 'hang';
  /** How the GET handshake is answered: echo the challenge, or send something else. @default 'echo' */
  handshake: 'echo' | 'wrong';
  /** Resolves once at least `count` POSTs have arrived (answered or not). */
  received(count: number): Promise<void>;
  close(): Promise<void>;
}

/** A stand-in for the app's webhook endpoint: answers Meta's GET handshake and records every POST. */
export const startMetaCallback = async (): Promise<MetaCallback> => {
  const hanging = new Set<ServerResponse>();
  const waiters: { count: number; resolve: () => void }[] = [];
  const wake = () => {
    for (const w of [...waiters]) {
      if (cb.posts.length < w.count) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  };
  const cb: MetaCallback = {
    url: '',
    posts: [],
    answer: () => 200,
    handshake: 'echo',
    received: (count) =>
      new Promise<void>((resolve) => {
        waiters.push({ count, resolve });
        wake();
      }),
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method === 'GET') {
      const challenge = url.searchParams.get('hub.challenge') ?? '';
      const ok = url.searchParams.get('hub.mode') === 'subscribe' && cb.handshake === 'echo';
      res.writeHead(ok ? 200 : 403, { 'content-type': 'text/plain' }).end(ok ? challenge : 'no');
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const status = cb.answer(cb.posts.length + 1);
      cb.posts.push({ headers: req.headers, raw, body: JSON.parse(raw), answered: status === 'hang' ? 0 : status });
      if (status === 'hang') hanging.add(res);
      else res.writeHead(status).end();
      wake();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  cb.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/meta`;
  return cb;
};
