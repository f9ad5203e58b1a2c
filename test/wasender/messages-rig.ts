import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { waitFor, type StartedServer } from '../support/server.js';
import { SESSION_INPUT, wasenderClient } from './support.js';

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
export const wasender = (server: StartedServer) => {
  const { call } = wasenderClient(server);
  return (token: string, route: string, init: RequestInit & { json?: unknown } = {}) => call(route, { ...init, token });
};

export const answer = async (res: Response) => (await res.json()) as Answer;

/** A WASender session made through its own API, connected and "scanned" on the sandbox: ready to send. */
export const linkedSession = async (server: StartedServer, { accountProtection = false } = {}): Promise<LinkedSession> => {
  const client = wasenderClient(server);
  const created = await client.create({ ...SESSION_INPUT, account_protection: accountProtection });
  assert.equal((await client.call(`/whatsapp-sessions/${created.id}/connect`, { method: 'POST', json: {} })).status, 200);
  await client.link(created);
  return { id: created.id, apiKey: created.api_key, hashsendId: created.hashsend_session_id };
};

interface Delivery {
  messageId: string;
  sha256?: string;
  text?: string;
  mentions?: string[];
  caption?: string;
  filename?: string;
  as?: string;
  viewOnce?: boolean;
  contact?: { name: string; phone: string };
  location?: { latitude: number; longitude: number; name?: string; address?: string };
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
