import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CUSTOMER, PHONE_NUMBER_ID, startHarness, textTo } from './harness.ts';

/** Meta's code → hashsend's code and HTTP status, as the driver's table promises them. */
const TABLE: [number, string, number, RegExp][] = [
  [131030, 'recipient_not_allowed', 422, /add the number to the test numbers of your Meta app, or use a production number/],
  [131009, 'invalid_parameter', 422, /Meta refused a parameter/],
  [100, 'invalid_parameter', 422, /Meta refused a parameter/],
  [131052, 'media_download_failed', 502, /could not download the media/],
  [131053, 'media_upload_failed', 502, /could not take the media/],
  [131047, 'outside_service_window', 422, /more than 24 hours since the customer last wrote: send a template/],
  [130429, 'rate_limited', 429, /rate-limiting/],
  [131056, 'rate_limited', 429, /rate-limiting/],
  [131000, 'cloud_api_error', 502, /Meta's Cloud API refused the call/],
];

test("each of Meta's refusals of a send is a stable hashsend code with what to do, and Meta's details beside it", async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  for (const [metaCode, code, status, says] of TABLE) {
    h.graph.failNext(PHONE_NUMBER_ID, { code: metaCode, details: `details of ${metaCode}` });
    await assert.rejects(
      h.session.send(textTo(`try ${metaCode}`)),
      (err: { code: string; status: number; message: string; details: Record<string, unknown> }) => {
        assert.equal(err.code, code, `Meta ${metaCode}`);
        assert.equal(err.status, status, `Meta ${metaCode}`);
        assert.match(err.message, says);
        assert.match(err.message, new RegExp(`details of ${metaCode}`));
        assert.equal(err.details.metaCode, metaCode);
        assert.equal(err.details.metaDetails, `details of ${metaCode}`);
        return true;
      },
    );
  }
  assert.equal(h.graph.messages().length, 0);
  assert.equal((h.events.filter((e) => e.type === 'state').at(-1) as { state: string }).state, 'connected', 'only 190 unlinks');
});

test("the same codes in a failed status webhook become the receipt's error", async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  for (const [metaCode, code, , says] of TABLE) {
    h.graph.failNext(PHONE_NUMBER_ID, { code: metaCode, async: true, details: `async ${metaCode}` });
    const { waMessageId } = await h.session.send(textTo(`async ${metaCode}`));
    const receipt = await h.nextEvent((e) => e.type === 'receipt' && e.waMessageId === waMessageId);
    assert.equal(receipt.type === 'receipt' && receipt.status, 'failed');
    const error = receipt.type === 'receipt' ? receipt.error : undefined;
    assert.equal(error?.code, code, `Meta ${metaCode}`);
    assert.match(error?.message ?? '', says);
    assert.match(error?.message ?? '', new RegExp(`async ${metaCode}.*\\[Meta code ${metaCode}\\]`));
  }
});

test('a customer silent for 24 hours: the message is accepted, then fails as outside_service_window', async (t) => {
  const h = await startHarness();
  t.after(() => h.close());
  h.graph.enforceServiceWindow(PHONE_NUMBER_ID, true);
  const { waMessageId } = await h.session.send(textTo('late'));
  const receipt = await h.nextEvent((e) => e.type === 'receipt' && e.waMessageId === waMessageId);
  assert.deepEqual(receipt.type === 'receipt' && [receipt.status, receipt.error?.code], ['failed', 'outside_service_window']);
  // Once the customer writes, the window is open again.
  await h.graph.receive(PHONE_NUMBER_ID, { from: CUSTOMER, text: 'hi' });
  const ok = await h.session.send(textTo('now'));
  const delivered = await h.nextEvent((e) => e.type === 'receipt' && e.waMessageId === ok.waMessageId && e.status === 'delivered');
  assert.ok(delivered);
});
