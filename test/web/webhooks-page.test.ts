import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { Page } from 'playwright-core';
import { verifyWebhookSignature } from '../../src/webhooks/index.js';
import { WEBHOOK_EVENT_TYPES } from '../../src/webhooks/types.js';
import { linkedSession } from '../broadcasts/helpers.js';
import { launchBrowser, type TestBrowser } from '../support/browser.js';
import { pageShots, type PageShots } from '../support/page-shots.js';
import { startServer, type StartedServer } from '../support/server.js';
import { startWebhookReceiver, type ReceivedDelivery, type WebhookReceiver } from '../support/webhook-receiver.js';

const MESSAGE_EVENTS = ['message.queued', 'message.sent', 'message.delivered', 'message.read'];

describe('operator page: webhooks', () => {
  let server: StartedServer;
  let healthy: WebhookReceiver;
  let refusing: WebhookReceiver;
  let browser: TestBrowser;
  let shots: PageShots;
  let page: Page;
  const pageErrors: string[] = [];

  const shoot = (t: TestContext, name: string) => shots.shoot(t, page, name);

  const view = () => page.locator('#webhooks-view');
  const form = () => page.getByRole('form', { name: 'New webhook endpoint' });
  const rows = () => view().getByRole('table', { name: 'Deliveries' }).locator('tbody tr');
  const detail = () => view().getByRole('region', { name: 'Webhook endpoint', exact: true });
  const listItem = (url: string) => view().getByRole('list', { name: 'Webhook endpoints' }).getByRole('button', { name: url });
  /** Waits until the selected endpoint's table shows `count` rows with `status`. */
  const untilRows = (status: string, count: number) =>
    page.waitForFunction(
      ([s, n]) => document.querySelectorAll(`table[aria-label="Deliveries"] tbody tr[data-status="${s}"]`).length === n,
      [status, count] as const,
    );
  /** What the table shows, row by row. */
  const table = async () =>
    rows().evaluateAll((trs) =>
      trs.map((tr) => {
        const cells = [...tr.querySelectorAll('td')].map((td) => (td as HTMLElement).innerText.trim());
        return {
          id: tr.querySelector('code')!.textContent!,
          type: cells[1].split('\n')[0],
          status: cells[2].split('\n')[0],
          attempts: cells[3],
          detail: cells[4],
        };
      }),
    );

  /** Fills the form and adds the endpoint; returns the secret the page shows. */
  const addEndpoint = async ({ url, events, session }: { url: string; events: string[]; session?: string }) => {
    await form().getByLabel('URL', { exact: true }).fill(url);
    for (const e of events) await form().getByLabel(e, { exact: true }).check();
    if (session) await form().getByRole('combobox', { name: 'Session' }).selectOption(session);
    await form().getByRole('button', { name: 'Add endpoint' }).click();
    const shown = view().getByRole('region', { name: 'Signing secret' });
    await shown.waitFor();
    return shown.locator('.wh-secret-value').innerText();
  };

  const sendText = async (text: string) => {
    const res = await server.api('/api/sessions/shop/messages', { method: 'POST', json: { to: '+49 151 2345 6789', text } });
    assert.equal(res.status, 202);
    return ((await res.json()) as { id: string }).id;
  };
  const ofMessage = (received: ReceivedDelivery[], id: string) => received.filter((r) => (r.body.data as { id?: string }).id === id);

  before(async () => {
    [server, healthy, refusing, browser, shots] = await Promise.all([
      // The receivers are on loopback; retries run out within a moment, so a refused delivery goes dead in the test.
      startServer({
        WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
        WEBHOOK_RETRY_BASE_MS: '20',
        WEBHOOK_RETRY_MAX_MS: '50',
        WEBHOOK_RETRY_PERIOD_MS: '400',
      }),
      startWebhookReceiver(),
      startWebhookReceiver(() => 503),
      launchBrowser(),
      pageShots(),
    ]);
    await linkedSession(server, 'shop');
    page = await browser.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('dialog', (dialog) => void dialog.accept());
    await page.goto(`${server.url}/#webhooks`);
    await page.getByLabel('API key').fill(server.apiKey);
    await page.getByRole('button', { name: 'Continue' }).click();
    await view().waitFor();
  });

  after(async () => {
    await browser?.close();
    await Promise.all([server?.close(), healthy?.close(), refusing?.close()]);
    await shots?.close();
  });

  it('opens on the webhooks view, offers every event type the API knows, and shows the API refusing a URL', async () => {
    assert.equal(await page.getByRole('button', { name: 'Webhooks' }).getAttribute('aria-current'), 'page');
    assert.equal(await page.locator('#console').isHidden(), true, 'the sessions view is hidden');
    assert.equal(await view().getByText('No webhook endpoints yet').isVisible(), true);
    const offered = await form()
      .locator('input[name=wh-event]')
      .evaluateAll((boxes) => boxes.map((b) => (b as HTMLInputElement).value).filter((v) => v !== '*'));
    assert.deepEqual(offered.sort(), [...WEBHOOK_EVENT_TYPES].sort());
    const sessions = ((await (await server.api('/api/sessions')).json()) as { items: { id: string }[] }).items.map((x) => x.id);
    assert.ok(sessions.includes('shop'));
    const choices = await form().getByRole('combobox', { name: 'Session' }).locator('option').allInnerTexts();
    assert.deepEqual(choices, ['Every session (global)', ...sessions.sort()], 'global, or one of the sessions there are');

    // A private address is not a loopback one WEBHOOK_ALLOW_HOSTS lets through.
    await form().getByLabel('URL', { exact: true }).fill('http://10.20.30.40/hook');
    await form().getByLabel('All events').check();
    assert.equal(await form().getByLabel('message.sent', { exact: true }).isDisabled(), true, 'all events leaves no choice');
    await form().getByRole('button', { name: 'Add endpoint' }).click();
    const error = form().locator('.form-error:not([hidden])');
    await error.waitFor();
    assert.match(await error.innerText(), /\(webhook_url_refused\)$/);
    await form().getByLabel('All events').uncheck();
  });

  it('adds an endpoint, shows its secret once, lists its deliveries as delivered, and rotates the secret', async (t) => {
    const secret = await addEndpoint({ url: healthy.url, events: MESSAGE_EVENTS, session: 'shop' });
    assert.match(secret, /^whsec_/);
    const shown = view().getByRole('region', { name: 'Signing secret' });
    assert.match(await shown.innerText(), /Shown only now/);
    assert.match(await listItem(healthy.url).innerText(), /Session shop · 4 event types/);
    assert.equal(await listItem(healthy.url).locator('[data-enabled]').innerText(), 'Enabled');
    assert.equal(await form().getByLabel('URL', { exact: true }).inputValue(), '', 'the form is cleared for the next one');
    const [stored] = (
      (await (await server.api('/api/webhooks')).json()) as { items: { url: string; sessionId: string; events: string[] }[] }
    ).items;
    assert.deepEqual([stored.url, stored.sessionId, stored.events], [healthy.url, 'shop', MESSAGE_EVENTS]);

    const id = await sendText('Your order has shipped');
    await untilRows('delivered', 4);
    const seen = await table();
    assert.deepEqual(seen.map((r) => r.type).sort(), [...MESSAGE_EVENTS].sort());
    assert.deepEqual(
      seen.map((r) => [r.status, r.attempts]),
      seen.map(() => ['Delivered', '1']),
    );
    const received = ofMessage(healthy.accepted(), id);
    assert.deepEqual(received.map((r) => r.body.id).sort(), seen.map((r) => r.id).sort(), 'the events listed are the ones that arrived');
    for (const r of received) {
      const check = verifyWebhookSignature({ payload: r.raw, header: r.headers['x-hashsend-signature'] as string, secret });
      assert.equal(check.ok, true, `${r.body.type} is signed with the secret the page showed`);
    }
    // The endpoint's counts come with the endpoint list, polled apart from the deliveries table: they catch up.
    await page.waitForFunction(() =>
      /delivered\s+4/.test((document.querySelector('[data-count="delivered"]') as HTMLElement | null)?.innerText ?? ''),
    );
    await shoot(t, 'webhook-added');

    await shown.getByRole('button', { name: 'I have stored it' }).click();
    assert.equal(await shown.count(), 0);
    await listItem(healthy.url).click();
    assert.equal((await page.content()).includes(secret), false, 'the secret is nowhere on the page any more');

    await detail().getByRole('button', { name: 'Rotate secret' }).click();
    const rotated = view().getByRole('region', { name: 'Signing secret' });
    await rotated.waitFor();
    const fresh = await rotated.locator('.wh-secret-value').innerText();
    assert.match(fresh, /^whsec_/);
    assert.notEqual(fresh, secret);
    assert.match(await rotated.innerText(), /Shown only now.*old secret too/s);
    const next = await sendText('And it arrived');
    await untilRows('delivered', 8);
    for (const r of ofMessage(healthy.accepted(), next)) {
      const header = r.headers['x-hashsend-signature'] as string;
      assert.equal(verifyWebhookSignature({ payload: r.raw, header, secret: fresh }).ok, true, 'signed with the new secret');
      assert.equal(verifyWebhookSignature({ payload: r.raw, header, secret }).ok, true, 'and the old one, in its grace period');
    }
  });

  it('shows a refused delivery dead with its error; Replay, then Replay all dead, deliver each once', async (t) => {
    await addEndpoint({ url: refusing.url, events: MESSAGE_EVENTS });
    await view().getByRole('button', { name: 'I have stored it' }).click();
    assert.match(await listItem(refusing.url).innerText(), /Every session · 4 event types/);

    const id = await sendText('Nobody is listening');
    // One message's events go one at a time: each is dead before the next one is tried.
    await untilRows('dead', 4);
    const dead = await table();
    for (const r of dead) {
      assert.equal(r.status, 'Dead');
      assert.ok(Number(r.attempts) >= 2, `${r.type} was retried (${r.attempts} attempts)`);
      assert.match(r.detail, /^HTTP 503: not now \(failed_status\)$/);
    }
    await page.waitForFunction(() => /4 dead/.test(document.querySelector('[aria-label="Webhook endpoints"]')?.textContent ?? ''));
    await shoot(t, 'webhook-dead');

    refusing.answer = () => 200;
    const first = dead.find((r) => r.type === 'message.queued')!;
    await rows()
      .filter({ has: page.locator(`code:text-is("${first.id}")`) })
      .getByRole('button', { name: 'Replay' })
      .click();
    await untilRows('delivered', 1);
    assert.equal((await table()).find((r) => r.id === first.id)?.status, 'Delivered');
    assert.equal((await table()).filter((r) => r.status === 'Dead').length, 3, 'the others wait for their own replay');

    await view().getByRole('button', { name: 'Replay all dead' }).click();
    await page.getByText('3 dead deliveries queued again').waitFor();
    await untilRows('delivered', 4);
    const accepted = ofMessage(refusing.accepted(), id).map((r) => r.body.id);
    assert.deepEqual(accepted.sort(), dead.map((r) => r.id).sort(), 'every event arrived once, with the id it was listed under');
    assert.ok(ofMessage(refusing.requests, id).length > 4, 'after refused attempts');
    await page.waitForFunction(() => !/dead/.test(document.querySelector('[aria-label="Webhook endpoints"]')?.textContent ?? ''));
    assert.equal(await view().getByRole('button', { name: 'Replay all dead' }).isDisabled(), true, 'nothing dead is left');
    await shoot(t, 'webhook-replayed');
  });

  it('shows an endpoint disabled for failing with its reason, enables it again, disables it and deletes it', async (t) => {
    // Failing for a moment is enough to be disabled: the second failed attempt does it.
    await server.restart({ WEBHOOK_DISABLE_AFTER_MS: '1' });
    refusing.answer = () => 503;
    await listItem(refusing.url).click();
    await sendText('Still nobody');
    const badge = detail().locator('.session-state [data-enabled]');
    await detail().locator('.session-state [data-enabled="false"]').waitFor();
    assert.equal(await badge.innerText(), 'Disabled');
    assert.match(await detail().locator('.notice-error').innerText(), /^every delivery has failed since .*HTTP 503.* \(failing, /);
    assert.equal(await listItem(refusing.url).locator('[data-enabled]').innerText(), 'Disabled');
    await shoot(t, 'webhook-disabled');

    refusing.answer = () => 200;
    await detail().getByRole('button', { name: 'Enable' }).click();
    await detail().locator('.session-state [data-enabled="true"]').waitFor();
    assert.equal(await detail().locator('.notice-error').isHidden(), true, 'the reason is gone with the enable');
    // What waited while it was disabled goes now.
    await page.waitForFunction(() => !document.querySelector('table[aria-label="Deliveries"] tbody tr[data-status="pending"]'));

    await detail().getByRole('button', { name: 'Disable' }).click();
    await detail().locator('.session-state [data-enabled="false"]').waitFor();
    assert.equal(await detail().locator('.notice-error').isHidden(), true, 'disabled by the operator: no reason to show');
    const endpointId = (await detail().locator('section[data-endpoint-id]').getAttribute('data-endpoint-id'))!;
    assert.equal(((await (await server.api(`/api/webhooks/${endpointId}`)).json()) as { enabled: boolean }).enabled, false);

    await detail().getByRole('button', { name: 'Delete endpoint' }).click();
    await page.getByText('Select an endpoint').waitFor();
    assert.equal(await listItem(refusing.url).count(), 0);
    assert.equal((await server.api(`/api/webhooks/${endpointId}`)).status, 404);
    assert.deepEqual(pageErrors, []);
  });
});
