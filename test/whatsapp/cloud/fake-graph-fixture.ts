import { createHash } from 'node:crypto';
import { startFakeGraph, type FakeGraph, type FakeGraphOptions } from '../../support/fake-graph/index.ts';
import { startMetaCallback, type MetaCallback } from '../../support/fake-graph/meta-callback.ts';

export const PNID = '1055551234';
export const TOKEN = 'tok-shop';
export const SECRET = 'sec-shop';
export const CUSTOMER = '15550001111';

export const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** What the fake answers, loosely: Graph errors, media info, message receipts, phone-number fields. */
export interface GraphAnswer {
  status: number;
  body: {
    error?: { message: string; type: string; code: number; error_subcode?: number; error_data?: { details: string }; fbtrace_id: string };
    id?: string;
    url?: string;
    sha256?: string;
    file_size?: number;
    mime_type?: string;
    messaging_product?: string;
    contacts?: { input: string; wa_id: string }[];
    messages?: { id: string; message_status?: string }[];
    verified_name?: string;
    display_phone_number?: string;
    quality_rating?: string;
    success?: boolean;
  };
}

export interface Fixture {
  graph: FakeGraph;
  callback: MetaCallback;
  /** fetch against the fake under a version prefix, with the shop's token unless `token` says otherwise. */
  call(path: string, init?: RequestInit & { token?: string | null }): Promise<GraphAnswer>;
  send(message: Record<string, unknown>, token?: string): Promise<GraphAnswer>;
  upload(bytes: Buffer, type: string, fields?: Record<string, string | undefined>): Promise<GraphAnswer>;
}

/** A fake graph with one number whose webhooks go to a local callback; both closed after `run`. */
export const withGraph = async (run: (f: Fixture) => Promise<void>, opts: FakeGraphOptions = {}) => {
  const graph = await startFakeGraph(opts);
  const callback = await startMetaCallback();
  graph.addNumber({
    phoneNumberId: PNID,
    accessToken: TOKEN,
    appSecret: SECRET,
    displayPhoneNumber: '+1 555-0100',
    verifiedName: 'Shop',
    callbackUrl: callback.url,
  });
  const call: Fixture['call'] = async (path, { token = TOKEN, ...init } = {}) => {
    const headers = new Headers(init.headers);
    if (token !== null) headers.set('authorization', `Bearer ${token}`);
    const res = await fetch(`${graph.url}/v23.0${path}`, { ...init, headers });
    return { status: res.status, body: (await res.json()) as GraphAnswer['body'] };
  };
  const fixture: Fixture = {
    graph,
    callback,
    call,
    send: (message, token = TOKEN) =>
      call(`/${PNID}/messages`, {
        method: 'POST',
        token,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ messaging_product: 'whatsapp', to: CUSTOMER, ...message }),
      }),
    upload: (bytes, type, fields = {}) => {
      const form = new FormData();
      const all: Record<string, string | undefined> = { messaging_product: 'whatsapp', type, ...fields };
      for (const [k, v] of Object.entries(all)) if (v !== undefined) form.set(k, v);
      form.set('file', new Blob([new Uint8Array(bytes)], { type }), 'file.bin');
      return call(`/${PNID}/media`, { method: 'POST', body: form });
    },
  };
  try {
    await run(fixture);
  } finally {
    await graph.close();
    await callback.close();
  }
};
