import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type StartedServer } from '../support/server.js';
import { deliveries, json, linkedSession, untilStatus, type BroadcastBody } from './helpers.js';

let server: StartedServer;
before(async () => {
  server = await startServer();
  await linkedSession(server, 'csv');
});
after(() => server.close());

const CSV = [
  'to,name,city',
  '+49 152 0000001,Ada,Berlin',
  '"+491520000002","Grace ""G""",Paris',
  '+491520000001,Dup,Rome',
  'not-a-number,X,Y',
  '',
].join('\r\n');

test('a text/csv upload: columns become variables; duplicates and invalid numbers are listed with their lines, not sent', async () => {
  const res = await server.api(`/api/sessions/csv/broadcasts?name=csv&text=${encodeURIComponent('Hi {{name}} in {{city}}')}&perMinute=0`, {
    method: 'POST',
    headers: { 'content-type': 'text/csv' },
    body: CSV,
  });
  const created = await json<BroadcastBody>(res);
  assert.equal(res.status, 202, JSON.stringify(created));
  assert.deepEqual(
    [created.total, created.duplicates.map((d) => [d.line, d.firstRow]), created.invalid.map((d) => [d.line, d.to])],
    [2, [[4, 1]], [[5, 'not-a-number']]],
  );
  await untilStatus(server, created.id, 'completed');
  assert.deepEqual(
    (await deliveries(server, 'csv')).map((d) => d.text),
    ['Hi Ada in Berlin', 'Hi Grace "G" in Paris'],
  );
  const csv = await server.api(`/api/broadcasts/${created.id}/report`, { headers: { accept: 'text/csv' } });
  assert.match(csv.headers.get('content-type') ?? '', /^text\/csv/);
  const lines = (await csv.text()).trim().split('\r\n');
  assert.equal(lines[0], 'index,to,status,messageId,sha256,errorCode,error,queuedAt,sentAt,deliveredAt,readAt');
  assert.equal(lines.length, 3);
  assert.match(lines[1], /^0,491520000001@s\.whatsapp\.net,(sent|delivered|read),3EB0/);
});

test('a multipart upload, and a missing variable: 400 missing_variable naming the row, before anything is stored or sent', async () => {
  await linkedSession(server, 'strict');
  const form = new FormData();
  form.append('broadcast', JSON.stringify({ name: 'strict', message: { text: 'Hi {{name}}' }, pace: { perMinute: 0 } }));
  form.append('recipients', new Blob(['to,name\n+491520000011,Ada\n+491520000012,\n'], { type: 'text/csv' }), 'list.csv');
  const res = await server.api('/api/sessions/strict/broadcasts', { method: 'POST', body: form });
  const body = await json<{ error: { code: string; message: string; details: Record<string, unknown> } }>(res);
  assert.equal(res.status, 400);
  assert.equal(body.error.code, 'missing_variable');
  assert.deepEqual(body.error.details, { row: 2, line: 3, to: '+491520000012', variable: 'name' });
  assert.match(body.error.message, /line 3.*\{\{name\}\}/);
  assert.deepEqual((await json<{ items: unknown[] }>(await server.api('/api/sessions/strict/broadcasts'))).items, []);
  assert.deepEqual(await deliveries(server, 'strict'), []);

  const ok = new FormData();
  ok.append('broadcast', JSON.stringify({ name: 'strict', message: { text: 'Hi {{name}}' }, pace: { perMinute: 0 } }));
  ok.append('recipients', new Blob(['TO,name\n+491520000011,Ada\n'], { type: 'text/csv' }), 'list.csv');
  const created = await json<BroadcastBody>(await server.api('/api/sessions/strict/broadcasts', { method: 'POST', body: ok }));
  await untilStatus(server, created.id, 'completed');
  assert.deepEqual(
    (await deliveries(server, 'strict')).map((d) => d.text),
    ['Hi Ada'],
  );
});

test('bad lists are clear 400s: no "to" column, nothing valid, too many', async () => {
  const post = (query: string, body: string) =>
    server.api(`/api/sessions/csv/broadcasts?name=x&text=hi${query}`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body });
  const codes = [];
  for (const [query, body] of [
    ['', 'phone\n+491520000001\n'],
    ['', 'to\nnope\n'],
    ['', `to\n${Array.from({ length: 10_001 }, (_, i) => `+49153${String(i).padStart(7, '0')}`).join('\n')}\n`],
    ['', 'to\n"+491520000001\n'],
    ['&timezone=Mars/Base&quietStart=22:00&quietEnd=07:00', 'to\n+491520000001\n'],
  ]) {
    const res = await post(query, body);
    codes.push([res.status, ((await res.json()) as { error: { code: string } }).error.code]);
  }
  assert.deepEqual(codes, [
    [400, 'invalid_csv'],
    [400, 'no_recipients'],
    [400, 'too_many_recipients'],
    [400, 'invalid_csv'],
    [400, 'invalid_request'],
  ]);
});
