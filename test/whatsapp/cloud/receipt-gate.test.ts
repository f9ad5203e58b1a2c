import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReceiptGate } from '../../../src/whatsapp/cloud/receipt-gate.ts';

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

test('statuses for an id no send has named yet wait for that send; a known id passes at once', async () => {
  const seen: string[] = [];
  const gate = new ReceiptGate<string>((e) => seen.push(e));
  gate.pass('old', 'old:read');
  assert.deepEqual(seen, ['old:read'], 'no send in flight: an older message');
  const first = gate.begin();
  gate.pass('A', 'A:sent');
  gate.pass('A', 'A:delivered');
  assert.deepEqual(seen, ['old:read']);
  first('A');
  assert.deepEqual(seen, ['old:read'], 'not before the send has returned');
  await turn();
  assert.deepEqual(seen, ['old:read', 'A:sent', 'A:delivered']);
  const second = gate.begin();
  gate.pass('A', 'A:read');
  assert.deepEqual(seen.at(-1), 'A:read', 'a known id is not held behind another send');
  second('B');
  await turn();
});

test('statuses no send names are let go once no send is in flight, even if another starts at once', async () => {
  const seen: string[] = [];
  const gate = new ReceiptGate<string>((e) => seen.push(e));
  const lost = gate.begin();
  gate.pass('X', 'X:sent');
  lost();
  const next = gate.begin();
  await turn();
  assert.deepEqual(seen, ['X:sent']);
  gate.pass('Y', 'Y:sent');
  assert.deepEqual(seen, ['X:sent'], 'while a send is in flight, an unknown id waits');
  next('Y');
  await turn();
  assert.deepEqual(seen, ['X:sent', 'Y:sent']);
});
