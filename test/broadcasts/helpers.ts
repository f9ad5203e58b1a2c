import assert from 'node:assert/strict';
import { waitFor, type StartedServer } from '../support/server.js';

export interface BroadcastBody {
  id: string;
  status: string;
  total: number;
  counts: Record<string, number>;
  progress: { done: number; total: number; percent: number };
  expectedEndAt: string | null;
  pausedReason?: { code: string; message: string };
  media?: { sha256: string };
  duplicates: { row: number; to: string; firstRow: number; line?: number }[];
  invalid: { row: number; to: string; message: string; line?: number }[];
}
export interface ReportRow {
  index: number;
  to: string;
  status: string;
  messageId: string | null;
  sha256: string | null;
  errorCode: string | null;
  queuedAt: string | null;
  sentAt: string | null;
}
export interface Delivery {
  messageId: string;
  to: string;
  text?: string;
  caption?: string;
  sha256?: string;
  sendAttempts: number;
}

export const json = async <T>(res: Response) => (await res.json()) as T;

/** A sandbox session, linked. */
export const linkedSession = async (server: StartedServer, id: string) => {
  assert.equal((await server.api('/api/sessions', { method: 'POST', json: { id, driver: 'sandbox' } })).status, 201);
  assert.equal((await server.api(`/api/sessions/${id}/sandbox/link`, { method: 'POST', json: { phone: '+4915100000001' } })).status, 200);
};

/** `count` distinct German mobile numbers from `start`, as given in an API request. */
export const numbers = (count: number, start = 0) => Array.from({ length: count }, (_, i) => `+49152${String(start + i).padStart(7, '0')}`);
export const jidOf = (phone: string) => `${phone.slice(1)}@s.whatsapp.net`;

export const createBroadcast = async (server: StartedServer, session: string, body: unknown) => {
  const res = await server.api(`/api/sessions/${session}/broadcasts`, { method: 'POST', json: body });
  const answer = await json<BroadcastBody & { error?: { code: string; message: string } }>(res);
  assert.equal(res.status, 202, JSON.stringify(answer.error));
  return answer;
};

export const broadcast = async (server: StartedServer, id: string) => json<BroadcastBody>(await server.api(`/api/broadcasts/${id}`));

export const untilStatus = (server: StartedServer, id: string, status: string, timeoutMs = 60_000) =>
  waitFor(
    `broadcast ${id} ${status}`,
    async () => {
      const b = await broadcast(server, id);
      return b.status === status ? b : undefined;
    },
    timeoutMs,
  );

/** What the sandbox delivered; undefined while the session is not open. */
export const deliveries = async (server: StartedServer, session: string) =>
  (await json<{ items?: Delivery[] }>(await server.api(`/api/sessions/${session}/sandbox/deliveries`))).items!;

/** The whole report, page by page. */
export const report = async (server: StartedServer, id: string) => {
  const rows: ReportRow[] = [];
  for (let from: number | null = 0; from !== null;) {
    const page: { items: ReportRow[]; next: number | null } = await json(
      await server.api(`/api/broadcasts/${id}/report?from=${from}&limit=1000`),
    );
    rows.push(...page.items);
    from = page.next;
  }
  return rows;
};

/**
 * After a crash in the middle of an `Offer {{n}}` broadcast to `phones`, now completed: every recipient got its own
 * text once, and the report and counts agree. A second send of one id is the transport's retry of the message in
 * flight at the crash (WhatsApp shows it once), never a second message.
 */
export const assertEachOnceAfterCrash = async (server: StartedServer, session: string, broadcastId: string, phones: string[]) => {
  const done = await untilStatus(server, broadcastId, 'completed', 120_000);
  assert.equal(done.total, phones.length);
  const got = await deliveries(server, session);
  assert.equal(got.length, phones.length);
  assert.deepEqual(new Set(got.map((d) => d.to)), new Set(phones.map(jidOf)));
  const byTo = new Map(got.map((d) => [d.to, d]));
  phones.forEach((p, i) => assert.equal(byTo.get(jidOf(p))?.text, `Offer ${i}`));
  const resent = got.filter((d) => d.sendAttempts !== 1);
  assert.ok(resent.length <= 1 && resent.every((d) => d.sendAttempts === 2), JSON.stringify(resent));

  const rows = await report(server, broadcastId);
  assert.equal(rows.length, phones.length);
  for (const r of rows) {
    assert.ok(['sent', 'delivered', 'read'].includes(r.status), `${r.index} is ${r.status}`);
    assert.equal(r.messageId, byTo.get(r.to)?.messageId);
  }
  const counts = (await broadcast(server, broadcastId)).counts;
  assert.equal(counts.sent + counts.delivered + counts.read, phones.length);
};
