import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { waitFor, type StartedServer } from '../support/server.js';

/** What the WASender surface answers, success or not. */
export interface Answer {
  success: boolean;
  message?: string;
  errors?: Record<string, string[]>;
  retry_after?: number;
  data?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface LinkedSession {
  id: number;
  apiKey: string;
  hashsendId: string;
}

export const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Requests to `/wasender/api` with a bearer token (a session key, or the API key as a personal access token). */
export const wasender =
  (server: StartedServer) =>
  (token: string, route: string, { json, headers, ...init }: RequestInit & { json?: unknown } = {}) =>
    fetch(`${server.url}/wasender/api${route}`, {
      ...init,
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'application/json',
        ...(json !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(headers as Record<string, string> | undefined),
      },
      ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
    });

export const answer = async (res: Response) => (await res.json()) as Answer;

/** A WASender session made through its own API, connected and "scanned" on the sandbox: ready to send. */
export const linkedSession = async (server: StartedServer, { accountProtection = false } = {}): Promise<LinkedSession> => {
  const call = wasender(server);
  const created = await call(server.apiKey, '/whatsapp-sessions', {
    method: 'POST',
    json: { name: 'Shop', phone_number: '+4915100000001', account_protection: accountProtection, log_messages: true },
  });
  assert.equal(created.status, 201);
  const data = (await answer(created)).data as { id: number; api_key: string; hashsend_session_id: string };
  assert.equal((await call(server.apiKey, `/whatsapp-sessions/${data.id}/connect`, { method: 'POST', json: {} })).status, 200);
  const link = await server.api(`/api/sessions/${data.hashsend_session_id}/sandbox/link`, { method: 'POST', json: {} });
  assert.equal(link.status, 200);
  return { id: data.id, apiKey: data.api_key, hashsendId: data.hashsend_session_id };
};

interface Delivery {
  messageId: string;
  sha256?: string;
  text?: string;
  caption?: string;
  filename?: string;
  as?: string;
}

/** What the recipient got for a WASender msgId: its info names our message id, the sandbox keeps what arrived. */
export const deliveryOf = async (server: StartedServer, session: LinkedSession, msgId: number): Promise<Delivery> => {
  const call = wasender(server);
  const info = (await answer(await call(session.apiKey, `/messages/${msgId}/info`))).data as { hashsend: { id: string } };
  return waitFor(`delivery of msgId ${msgId}`, async () => {
    const res = await server.api(`/api/sessions/${session.hashsendId}/sandbox/deliveries`);
    return ((await res.json()) as { items: Delivery[] }).items.find((d) => d.messageId === info.hashsend.id);
  });
};
