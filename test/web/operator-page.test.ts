import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { request } from 'undici';
import { launchBrowser, type TestBrowser } from '../support/browser.js';
import { makeJpeg } from '../support/media-fixtures.js';
import { startServer, waitFor, type StartedServer } from '../support/server.js';

describe('operator page', () => {
  let server: StartedServer;
  let browser: TestBrowser;

  const api = async (method: string, route: string, json?: unknown) => {
    const res = await server.api(route, { method, json });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };

  const signIn = async (page: Page, key: string) => {
    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Continue' }).click();
  };

  before(async () => {
    [server, browser] = await Promise.all([startServer({ DEFAULT_DRIVER: 'sandbox' }), launchBrowser()]);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('is served without the key, under a strict policy, with assets pinned by their hash', async () => {
    const res = await fetch(`${server.url}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /frame-ancestors 'none'/);
    const html = await res.text();
    const script = html.match(/src="(\/app\.js\?v=[0-9a-f]+)" integrity="sha256-([^"]+)"/);
    assert.ok(script, 'index.html names app.js by version with its integrity');
    const js = await fetch(`${server.url}${script[1]}`);
    assert.equal(js.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal(
      createHash('sha256')
        .update(Buffer.from(await js.arrayBuffer()))
        .digest('base64'),
      script[2],
    );
    // A browser's revalidation; fetch() would add Cache-Control: no-cache to a conditional request.
    const again = await request(`${server.url}/`, { headers: { 'If-None-Match': res.headers.get('etag') ?? '' } });
    await again.body.dump();
    assert.equal(again.statusCode, 304);
  });

  it('links a sandbox session live, without a reload, and lists a message sent through the API', async (t) => {
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(`${server.url}/`);
    // Survives only as long as the document does: a reload would lose it.
    await page.evaluate(() => Object.assign(window, { loadedOnce: true }));

    // A wrong key is refused readably, and the right one opens the console.
    await signIn(page, 'not-the-key');
    await page.getByText('That key was not accepted').waitFor();
    await signIn(page, server.apiKey);
    // The server made its `default` session at first start.
    await page.locator('.session-item[data-session-id="default"]').waitFor();

    // The API's own error, readable, for an id it refuses.
    await page.getByLabel('Session id').fill('no spaces!');
    await page.getByRole('button', { name: 'Create session' }).click();
    const createError = page.locator('#create-error:not([hidden])');
    await createError.waitFor();
    assert.match(await createError.innerText(), /\S.*\([a-z_]+\)$/, 'the message and its stable code');

    await page.getByLabel('Session id').fill('desk');
    await page.getByLabel('Driver').selectOption('sandbox');
    await page.getByRole('button', { name: 'Create session' }).click();
    await page.locator('.session-item[data-session-id="desk"]').waitFor();

    const qr = page.getByRole('img', { name: 'QR code to link session desk' });
    await qr.waitFor();
    await page.waitForFunction(() => {
      const img = document.querySelector<HTMLImageElement>('#qr-image');
      return Boolean(img?.complete && img.naturalWidth > 0);
    });
    await page.locator('.session-state [data-state="qr"]').waitFor();

    // A pairing code, for linking by typing instead of scanning.
    await page.getByLabel('Phone number').fill('+49 151 2345678');
    await page.getByRole('button', { name: 'Get code' }).click();
    assert.match(await page.locator('#pairing-code').innerText(), /^[A-Z0-9]{4}-[A-Z0-9]{4}$/);

    const linked = await api('POST', '/api/sessions/desk/sandbox/link', {});
    assert.ok(linked.status < 300, `sandbox link answered ${linked.status} ${JSON.stringify(linked.body)}`);
    await page.locator('.session-state [data-state="connected"]').waitFor();
    await page.locator('.session-item[data-session-id="desk"] [data-state="connected"]').waitFor();
    assert.equal(await qr.count(), 0, 'the QR is gone once connected');

    const sent = await api('POST', '/api/sessions/desk/messages', { to: '4915123456789', text: 'Hello from the API' });
    assert.equal(sent.status, 202);
    const row = page.locator(`tr[data-message-id="${sent.body.id}"]`);
    await row.waitFor();
    assert.match(await row.innerText(), /\+4915123456789/);

    // The page ends up showing the status the API reports, as it moves on without a reload.
    const shown = await waitFor('the page to show the status the API reports', async () => {
      const [onPage, fromApi] = await Promise.all([
        row.locator('[data-status]').getAttribute('data-status'),
        api('GET', `/api/messages/${sent.body.id}`),
      ]);
      return onPage && onPage === fromApi.body?.status && ['sent', 'delivered', 'read'].includes(onPage) ? onPage : undefined;
    });
    assert.equal(await row.locator('[data-status]').innerText(), { sent: 'Sent', delivered: 'Delivered', read: 'Read' }[shown]);

    // A media send shows the sha256 of what went out, verified against the blob it was queued with.
    const photo = await makeJpeg({ seed: 31, width: 48, height: 32 });
    const stored = await fetch(`${server.url}/api/media`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.apiKey}`, 'content-type': 'image/jpeg' },
      body: new Uint8Array(photo),
    });
    assert.equal(stored.status, 201);
    const { sha256 } = (await stored.json()) as { sha256: string };
    const sentMedia = await api('POST', '/api/sessions/desk/messages', { to: '4915123456789', media: { sha256 }, caption: 'Menu' });
    assert.equal(sentMedia.status, 202);
    const mediaRow = page.locator(`tr[data-message-id="${sentMedia.body.id}"]`);
    await mediaRow.locator(`[data-sha256="${sha256}"]`).waitFor();
    await mediaRow.getByText('✓ verified').waitFor();

    const screenshot = join(tmpdir(), 'hashsend-operator-page.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    t.diagnostic(`screenshot: ${screenshot}`);

    await page.getByRole('button', { name: 'Log out' }).click();
    await page.locator('.session-state [data-state="logged_out"]').waitFor();
    assert.equal((await api('GET', '/api/sessions/desk')).body.state, 'logged_out');

    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Delete session' }).click();
    await page.getByText('Select a session').waitFor();
    assert.equal(await page.locator('.session-item[data-session-id="desk"]').count(), 0);
    assert.equal((await api('GET', '/api/sessions/desk')).status, 404);
    assert.equal(await page.evaluate(() => 'loadedOnce' in window), true, 'everything happened without a reload');
    assert.deepEqual(pageErrors, []);
    await page.close();
  });
});
