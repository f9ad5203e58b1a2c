import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from '../support/browser.js';
import { startFakeGraph, type FakeGraph } from '../support/fake-graph/index.js';
import { pageShots, type PageShots } from '../support/page-shots.js';
import { startServer, type StartedServer } from '../support/server.js';

/**
 * The operator page with a Cloud API session: created through its form, shown with what Meta's dashboard needs
 * instead of a QR, and given a new access token when Meta refuses the old one. hashsend talks to the local fake
 * Graph API; the access tokens and the app secret must never be left anywhere but the requests that carry them.
 */
const PNID = '106540352242922';
const TOKEN = 'EAAG-page-token-first-0123456789';
const WRONG = 'EAAG-page-token-wrong-0123456789';
const FRESH = 'EAAG-page-token-fresh-0123456789';
const SECRET = 'app-secret-page-7d1e0b';
const SECRETS = [TOKEN, WRONG, FRESH, SECRET];
const NUMBER = { phoneNumberId: PNID, appSecret: SECRET, displayPhoneNumber: '+1 555-0100', verifiedName: 'Page shop' };

describe('operator page: a Cloud API session', () => {
  let server: StartedServer;
  let browser: TestBrowser;
  let graph: FakeGraph;
  let shots: PageShots;

  before(async () => {
    [graph, shots] = await Promise.all([startFakeGraph(), pageShots()]);
    graph.addNumber({ ...NUMBER, accessToken: TOKEN });
    [server, browser] = await Promise.all([startServer({ CLOUD_GRAPH_URL: graph.url, LOG_LEVEL: 'debug' }), launchBrowser()]);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    await graph?.close();
    await shots?.close();
  });

  /** Everything the page holds that a secret could hide in: its markup, every control's value, its storage and address. */
  const pageText = (page: Page) =>
    page.evaluate(() =>
      [
        document.documentElement.outerHTML,
        ...[...document.querySelectorAll('input, select, textarea')].map((c) => (c as HTMLInputElement).value),
        JSON.stringify({ ...localStorage }),
        JSON.stringify({ ...sessionStorage }),
        location.href,
      ].join('\n'),
    );
  const assertNoSecrets = async (page: Page, when: string) => {
    const text = await pageText(page);
    for (const secret of SECRETS) assert.ok(!text.includes(secret), `${when}: the page still holds ${secret.slice(0, 14)}…`);
  };
  const headState = (page: Page, state: string) => page.locator(`.session-state [data-state="${state}"]`).waitFor();

  it('creates it from the form, shows the callback URL and verify token instead of a QR, and takes a new token', async (t) => {
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(`${server.url}/`);
    await page.getByLabel('API key').fill(server.apiKey);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.locator('.session-item[data-session-id="default"]').waitFor();

    // The Cloud API fields are there only for that driver; the verify token comes prefilled with a random one.
    const cloudFields = page.locator('#new-cloud');
    assert.equal(await cloudFields.count(), 0);
    await page.getByLabel('Driver').selectOption('cloud');
    await cloudFields.waitFor();
    await shots.shoot(t, page, 'cloud-create-form');
    const form = page.locator('#create-form');
    const verify = await form.getByLabel('Verify token').inputValue();
    assert.match(verify, /^[\w-]{24}$/);
    assert.equal(await form.getByLabel('Access token').getAttribute('type'), 'password');
    assert.equal(await form.getByLabel('App secret').getAttribute('type'), 'password');

    // A phone number where Meta's id belongs: the server's message, next to that field.
    await page.getByLabel('Session id').fill('meta');
    await form.getByLabel('Phone number id').fill('+1 555 0100');
    await form.getByLabel('Access token').fill(TOKEN);
    await form.getByLabel('App secret').fill(SECRET);
    await page.getByRole('button', { name: 'Create session' }).click();
    const pnidError = form.locator('#new-cloud-pnid-error');
    await pnidError.waitFor();
    assert.match(await pnidError.innerText(), /digits only/);
    assert.equal(await form.getByLabel('Phone number id').getAttribute('aria-invalid'), 'true');
    assert.match(await page.locator('#create-error').innerText(), /marked field \(invalid_request\)$/);
    assert.equal(await page.locator('.session-item[data-session-id="meta"]').count(), 0);
    await assertNoSecrets(page, 'after a refused create');
    await shots.shoot(t, page, 'cloud-field-error');

    await form.getByLabel('Phone number id').fill(PNID);
    await form.getByLabel('Access token').fill(TOKEN);
    await form.getByLabel('App secret').fill(SECRET);
    await page.getByRole('button', { name: 'Create session' }).click();
    await page.locator('.session-item[data-session-id="meta"] [data-state="connected"]').waitFor();
    await headState(page, 'connected');
    assert.equal(await pnidError.count(), 0, 'the field error is gone once the field is right');
    assert.match(await page.locator('.session-item[data-session-id="meta"] .session-sub').innerText(), /^Cloud API · \+15550100$/);

    // What Meta's dashboard needs, and no QR or pairing code: a cloud session has none.
    const card = page.getByRole('region', { name: 'Cloud API' });
    await card.waitFor();
    const callback = await card.locator('#cloud-callback').innerText();
    assert.equal(callback, `${server.url}/hooks/meta`);
    assert.equal(await card.locator('#cloud-verify').innerText(), verify);
    assert.match(await card.innerText(), new RegExp(PNID));
    await card.getByRole('button', { name: 'Copy Callback URL' }).waitFor();
    assert.equal(await page.getByRole('heading', { name: 'Link a phone' }).count(), 0);
    assert.equal(await page.getByRole('button', { name: 'Link again' }).count(), 0);
    // Meta's own handshake against what the page shows succeeds.
    graph.setCallback(PNID, callback);
    assert.equal((await graph.verifyCallback(PNID, verify)).ok, true);
    await assertNoSecrets(page, 'after the create');
    await shots.shoot(t, page, 'cloud-connected');

    // Meta expires the token; a wrong one given in its place is refused by Meta, and the page says so.
    graph.expireToken(TOKEN);
    const replace = card.getByRole('form', { name: 'Replace access token' });
    await card.getByText('Replace access token', { exact: true }).click();
    await replace.getByLabel('Access token').fill(WRONG);
    await replace.getByLabel('App secret').fill(SECRET);
    assert.equal(await replace.getByLabel('Phone number id').isVisible(), false, 'the stored phone number id is kept, not asked again');
    await replace.getByRole('button', { name: 'Save and reconnect' }).click();
    await headState(page, 'needs_relink');
    const notice = page.locator('.session-head .notice-error');
    await notice.waitFor();
    assert.match(await notice.innerText(), /access token/i);
    assert.match(await notice.innerText(), /\(190\)$/);
    assert.equal(await replace.isVisible(), true, 'the form to fix it is open');
    await assertNoSecrets(page, 'after a refused token');
    await shots.shoot(t, page, 'cloud-needs-relink');

    // The right token brings it back, with the options it had.
    graph.addNumber({ ...NUMBER, accessToken: FRESH });
    await replace.getByLabel('Access token').fill(FRESH);
    await replace.getByLabel('App secret').fill(SECRET);
    await replace.getByRole('button', { name: 'Save and reconnect' }).click();
    await headState(page, 'connected');
    assert.equal(await page.locator('.session-head .notice-error').count(), 0);
    assert.equal(await card.locator('#cloud-verify').innerText(), verify);
    const session = (await (await server.api('/api/sessions/meta')).json()) as { state: string; options: Record<string, unknown> };
    assert.deepEqual(session.options, { phoneNumberId: PNID, mediaMode: 'upload', verifyToken: verify, webhookPath: '/hooks/meta' });
    await assertNoSecrets(page, 'after the new token');

    // Logging out forgets the token and the options with it: the card asks for all of them again.
    await page.getByRole('button', { name: 'Log out' }).click();
    await headState(page, 'logged_out');
    await card.getByText('No Cloud API options are stored').waitFor();
    assert.equal(await card.locator('#cloud-callback').count(), 0);
    assert.equal(await page.getByRole('button', { name: 'Link again' }).count(), 0, 'no QR to ask for');
    assert.equal(await replace.isVisible(), true);
    await replace.getByLabel('Phone number id').fill(PNID);
    await replace.getByLabel('Access token').fill(FRESH);
    await replace.getByLabel('App secret').fill(SECRET);
    const newVerify = await replace.getByLabel('Verify token').inputValue();
    await replace.getByRole('button', { name: 'Save and reconnect' }).click();
    await headState(page, 'connected');
    assert.equal(await card.locator('#cloud-verify').innerText(), newVerify);
    await assertNoSecrets(page, 'after giving the options again');

    const sends = graph.requests().filter((r) => r.method === 'GET' && r.path.includes(PNID));
    assert.ok(sends.length >= 4, 'the token was checked with Meta at create and after each replacement');
    for (const secret of SECRETS) assert.ok(!server.output().includes(secret), `the server log holds ${secret.slice(0, 14)}…`);
    assert.deepEqual(pageErrors, []);
    await page.close();
  });
});
