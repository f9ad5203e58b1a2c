import assert from 'node:assert/strict';
import type { StartedServer } from '../support/server.js';
import type { WasenderSession } from '../../src/wasender/accounts.js';

/** A WASender session as the surface answers it. */
export type WaSession = WasenderSession;

export interface WaError {
  success: false;
  message: string;
  code: string;
  errors?: Record<string, string[]>;
  retry_after?: number;
}

export const SESSION_INPUT = { name: 'Shop', phone_number: '+4915123456789', account_protection: true, log_messages: true };

/** Plain HTTP against `/wasender/api` with a bearer token (the API key, as a personal access token, by default). */
export const wasenderClient = (server: StartedServer) => {
  const base = `${server.url}/wasender/api`;
  const call = (route: string, { token = server.apiKey, json, ...init }: RequestInit & { token?: string | null; json?: unknown } = {}) =>
    fetch(`${base}${route}`, {
      ...init,
      headers: {
        accept: 'application/json',
        ...(token !== null ? { authorization: `Bearer ${token}` } : {}),
        ...(json !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(init.headers as Record<string, string> | undefined),
      },
      ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
    });
  return {
    base,
    call,
    async create(input: Record<string, unknown> = SESSION_INPUT): Promise<WaSession> {
      const res = await call('/whatsapp-sessions', { method: 'POST', json: input });
      assert.equal(res.status, 201, await res.clone().text());
      return ((await res.json()) as { data: WaSession }).data;
    },
    async get(id: number): Promise<WaSession> {
      const res = await call(`/whatsapp-sessions/${id}`);
      assert.equal(res.status, 200);
      return ((await res.json()) as { data: WaSession }).data;
    },
    /** Scans the QR, as the sandbox does it, on the hashsend session behind `session`. */
    async link(session: Pick<WaSession, 'hashsend_session_id'>, phone = '+4915100000001') {
      const res = await server.api(`/api/sessions/${session.hashsend_session_id}/sandbox/link`, { method: 'POST', json: { phone } });
      assert.equal(res.status, 200);
    },
  };
};

/** Asserts WASenderApi's error shape, status and code, and returns the body. */
export const expectError = async (res: Response, status: number, code: string): Promise<WaError> => {
  const text = await res.text();
  assert.equal(res.status, status, text);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  const body = JSON.parse(text) as WaError;
  assert.equal(body.success, false);
  assert.equal(typeof body.message, 'string');
  assert.ok(body.message.length > 0);
  assert.equal(body.code, code, text);
  assert.equal('error' in body, false, 'never hashsend’s own envelope');
  return body;
};
