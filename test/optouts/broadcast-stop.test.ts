import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BroadcastEvent } from '../../src/events/types.js';
import { isOptOut, startRig, type Rig } from './app-rig.js';
import { jidOf, numbers, type BroadcastBody, type ReportRow } from '../broadcasts/helpers.js';

let rig: Rig;
before(async () => {
  rig = await startRig();
});
after(() => rig.close());

test('a STOP that arrives while a broadcast runs holds back every later send to that number; the rest are delivered', async () => {
  // Not linked yet: the first recipient's message waits in the outbox, and with a pace nothing more is handed over
  // until it goes. The STOP arrives in that pause, after the list was checked at creation.
  const sandbox = await rig.session('shop', { linked: false });
  const phones = numbers(5, 300);
  const quitter = phones[2];
  const res = await rig.api('/api/sessions/shop/broadcasts', {
    method: 'POST',
    json: { name: 'sale', recipients: phones.map((to) => ({ to })), message: { text: 'Sale!' }, pace: { perMinute: 6000 } },
  });
  const created = (await res.json()) as BroadcastBody;
  assert.equal(res.status, 202);
  assert.equal(created.counts.skipped, 0, 'nobody had opted out when it was created');

  const added = rig.next(isOptOut);
  await rig.inbound('shop', jidOf(quitter), 'STOP');
  assert.equal((await added).optOut.phone, quitter.slice(1));

  const completed = rig.next(
    (e): e is BroadcastEvent => e.type === 'broadcast' && e.broadcast.id === created.id && e.broadcast.status === 'completed',
  );
  await sandbox.link('+4915100000001');
  const { broadcast } = await completed;
  assert.deepEqual([broadcast.counts.skipped, broadcast.counts.pending, broadcast.counts.queued], [1, 0, 0]);
  assert.equal(broadcast.progress.done, 5);

  const report = (await (await rig.api(`/api/broadcasts/${created.id}/report`)).json()) as {
    items: (ReportRow & { error: string | null })[];
  };
  const row = report.items[2];
  assert.deepEqual([row.to, row.status, row.errorCode, row.messageId], [jidOf(quitter), 'skipped', 'opted_out', null]);
  assert.match(row.error!, /opted out \(by keyword/);
  assert.deepEqual(
    sandbox.deliveries().map((d) => d.to),
    phones.filter((p) => p !== quitter).map(jidOf),
    'the others got the broadcast; the quitter got nothing, no confirmation either (OPTOUT_CONFIRMATION unset)',
  );
});
