import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { deliveries, jidOf, linkedSession, numbers } from '../broadcasts/helpers.js';
import { launchBrowser, type TestBrowser } from '../support/browser.js';
import { pageShots, type PageShots } from '../support/page-shots.js';
import { makeJpeg, makePng } from '../support/media-fixtures.js';
import { startOrigin, type Origin } from '../support/origin.js';
import { startServer, type StartedServer } from '../support/server.js';
import { sha } from '../support/media-api.js';

/** The rows of the report CSV (no field of ours holds a comma or a quote), as objects by header. */
const csvRows = (text: string) => {
  const [header, ...lines] = text.trim().split(/\r\n/);
  const names = header.split(',');
  return lines.map((line) => Object.fromEntries(line.split(',').map((v, i) => [names[i], v])));
};

describe('operator page: send form and broadcasts', () => {
  let server: StartedServer;
  let origin: Origin;
  let browser: TestBrowser;
  let shots: PageShots;
  let page: Page;
  const pageErrors: string[] = [];

  const shoot = (t: TestContext, name: string) => shots.shoot(t, page, name);

  before(async () => {
    [server, origin, browser, shots] = await Promise.all([
      // The media URL is on loopback, which the fetcher refuses unless allowed.
      startServer({ MEDIA_ALLOW_HOSTS: '127.0.0.1' }),
      startOrigin(),
      launchBrowser(),
      pageShots(),
    ]);
    await linkedSession(server, 'shop');
    page = await browser.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(`${server.url}/#session=shop`);
    // Survives only as long as the document does: a reload would lose it.
    await page.evaluate(() => Object.assign(window, { loadedOnce: true }));
    await page.getByLabel('API key').fill(server.apiKey);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.locator('.session-state [data-state="connected"]').waitFor();
  });

  after(async () => {
    await browser?.close();
    await Promise.all([server?.close(), origin?.close()]);
    await shots?.close();
  });

  it('sends a text, media by URL and an uploaded file, each showing the sha256 the phone got, verified', async (t) => {
    const form = page.getByRole('region', { name: 'Send a message' });
    const result = form.locator('#send-result');
    const send = async () => {
      const before = await result.getAttribute('data-message-id');
      await form.getByRole('button', { name: 'Send', exact: true }).click();
      await page.waitForFunction((id) => {
        const el = document.querySelector<HTMLElement>('#send-result');
        return el && !el.hidden && el.getAttribute('data-message-id') !== id;
      }, before);
      return (await result.getAttribute('data-message-id'))!;
    };

    await form.getByLabel('To', { exact: true }).fill('+49 151 2345 6789');
    await form.getByLabel('Message', { exact: true }).fill('Your order has shipped');
    await send();
    await result.locator('[data-status="delivered"], [data-status="read"]').waitFor();
    assert.equal(await result.locator('[data-sha256]').count(), 0, 'a text has no hash');
    const sentText = (await deliveries(server, 'shop')).find((d) => d.text === 'Your order has shipped');
    assert.equal(sentText?.to, jidOf('+4915123456789'));

    const photo = await makeJpeg({ seed: 71, width: 64, height: 48 });
    origin.put('menu.jpg', photo, { contentType: 'image/jpeg' });
    await form.getByLabel('Media by URL').check();
    await form.getByLabel('Media URL').fill(`${origin.url}/menu.jpg`);
    await form.getByLabel('Caption').fill('Our menu');
    await send();
    await result.getByText('✓ verified').waitFor();
    assert.equal(await result.locator('.hash-value').innerText(), sha(photo), 'all 64 digits of the hash sent');
    const byUrl = (await deliveries(server, 'shop')).find((d) => d.caption === 'Our menu');
    assert.equal(byUrl?.sha256, sha(photo), 'the sha256 shown is the one the phone got');

    const upload = await makePng({ seed: 72, width: 40, height: 40 });
    await form.getByLabel('Upload a file').check();
    await form.getByLabel('File', { exact: true }).setInputFiles({ name: 'card.png', mimeType: 'image/png', buffer: upload });
    await form.getByLabel('Caption').fill('Your card');
    await send();
    await result.getByText('✓ verified').waitFor();
    const uploaded = (await deliveries(server, 'shop')).find((d) => d.caption === 'Your card');
    assert.ok(uploaded?.sha256, 'the uploaded file was delivered');
    assert.equal(await result.locator('.hash-value').innerText(), uploaded.sha256);
    // The PNG is stored as it came (no conversion): the hash is the file's own.
    assert.equal(uploaded.sha256, sha(upload));
    await shoot(t, 'send-upload');

    // The API's error, readable, for a number it refuses.
    await form.getByLabel('Text', { exact: true }).check();
    await form.getByLabel('To', { exact: true }).fill('12');
    await form.getByLabel('Message', { exact: true }).fill('x');
    await form.getByRole('button', { name: 'Send', exact: true }).click();
    assert.match(await page.locator('.send-card .form-error:not([hidden])').innerText(), /\((invalid_request|invalid_recipient)\)$/);

    await shoot(t, 'send-form');
  });

  it('creates a broadcast from a CSV with a preview, follows it live to 100 % and downloads its report', async (t) => {
    const panel = page.getByRole('region', { name: 'Broadcasts' });
    const phones = numbers(5, 100);
    const names = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara'];

    // A row without a value for a placeholder: the preview warns, and the server's refusal is shown as it is.
    const gap = `to,name\n${phones[0]},Ada\n${phones[1]},\n`;
    await panel.getByLabel('Recipients (CSV)').setInputFiles({ name: 'gap.csv', mimeType: 'text/csv', buffer: Buffer.from(gap) });
    await panel.getByLabel('Message text').fill('Hello {{name}}, the sale starts today');
    await panel.getByText('has no value for {{name}}').waitFor();
    await panel.getByLabel('No pacing').check();
    await panel.getByRole('button', { name: 'Create broadcast' }).click();
    const error = panel.locator('.bc-form .form-error:not([hidden])');
    await error.waitFor();
    assert.match(await error.innerText(), /\{\{name\}\}.*\(missing_variable\)$/);

    const csv = ['to,name', ...phones.map((p, i) => `${p},${names[i]}`)].join('\r\n');
    await panel.getByLabel('Recipients (CSV)').setInputFiles({ name: 'spring.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await panel.getByText('5 recipients').waitFor();
    assert.equal(await panel.getByLabel('Broadcast name').inputValue(), 'spring', 'named after the file');
    const samples = panel.getByRole('list', { name: 'First messages' }).getByRole('listitem');
    assert.deepEqual(await samples.locator('.bc-sample-to').allInnerTexts(), phones.slice(0, 3));
    assert.deepEqual(
      await samples.locator('.bc-sample-text').allInnerTexts(),
      names.slice(0, 3).map((n) => `Hello ${n}, the sale starts today`),
    );
    await shoot(t, 'broadcast-preview');

    // From here on, progress comes from the event stream only: the page asks nothing about broadcasts.
    const asked: string[] = [];
    page.on('request', (r) => {
      if (r.method() === 'GET' && /\/broadcasts/.test(r.url())) asked.push(r.url());
    });
    await panel.getByRole('button', { name: 'Create broadcast' }).click();
    const item = panel.locator('.bc-item', { hasText: 'spring' });
    await item.waitFor();
    await item.locator('[data-status="completed"]').waitFor();
    assert.equal(await item.getByRole('progressbar', { name: 'Progress of spring' }).evaluate((el: HTMLProgressElement) => el.value), 100);
    assert.match(await item.locator('.bc-figures').innerText(), /^5 of 5 · 100%/);
    assert.deepEqual(asked, [], 'no polling: the progress came as broadcast events');
    assert.equal(await panel.getByRole('region', { name: 'Preview' }).isHidden(), true, 'the form is cleared for the next one');

    const got = await deliveries(server, 'shop');
    const texts = new Map(got.map((d) => [d.to, d.text]));
    assert.deepEqual(
      phones.map((p) => texts.get(jidOf(p))),
      names.map((n) => `Hello ${n}, the sale starts today`),
    );

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      item.getByRole('button', { name: 'Download report (CSV)' }).click(),
    ]);
    assert.equal(download.suggestedFilename(), 'spring-report.csv');
    const rows = csvRows(await readFile((await download.path())!, 'utf8'));
    assert.deepEqual(
      rows.map((r) => r.to),
      phones.map(jidOf),
    );
    const byTo = new Map(got.map((d) => [d.to, d.messageId]));
    for (const row of rows) {
      assert.ok(['sent', 'delivered', 'read'].includes(row.status), `${row.to} is ${row.status}`);
      assert.ok(row.sentAt, 'a send time');
      assert.ok(byTo.has(row.to) && row.messageId, 'the report names a message the phone got');
    }

    await item.getByRole('button', { name: 'Show report' }).click();
    await item.locator('.bc-report tbody tr').nth(4).waitFor();
    await shoot(t, 'broadcast-completed');
  });

  it('pauses, resumes and cancels a paced broadcast', async (t) => {
    const panel = page.getByRole('region', { name: 'Broadcasts' });
    const csv = ['to', ...numbers(4, 200)].join('\n');
    await panel.getByLabel('Recipients (CSV)').setInputFiles({ name: 'paced.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await panel.getByLabel('Message text').fill('A slow one');
    await panel.getByLabel('No pacing').uncheck();
    assert.equal(await panel.getByLabel('Messages a minute').inputValue(), '6', "the server's default pace is shown");
    await panel.getByRole('button', { name: 'Create broadcast' }).click();
    const item: Locator = panel.locator('.bc-item', { hasText: 'paced' });
    await item.locator('[data-status="running"]').waitFor();
    const id = (await item.getAttribute('data-broadcast-id'))!;
    const status = async () => ((await (await server.api(`/api/broadcasts/${id}`)).json()) as { status: string }).status;

    await item.getByRole('button', { name: 'Pause' }).click();
    await item.locator('[data-status="paused"]').waitFor();
    assert.equal(await status(), 'paused');
    assert.equal(await item.getByRole('button', { name: 'Pause' }).isHidden(), true);

    await item.getByRole('button', { name: 'Resume' }).click();
    await item.locator('[data-status="running"]').waitFor();
    assert.equal(await status(), 'running');
    await shoot(t, 'broadcast-paced');
    await page.emulateMedia({ colorScheme: 'dark' });
    await shoot(t, 'broadcast-paced-dark');
    await page.emulateMedia({ colorScheme: 'light' });

    page.once('dialog', (dialog) => void dialog.accept());
    await item.getByRole('button', { name: 'Cancel' }).click();
    await item.locator('[data-status="cancelled"]').waitFor();
    assert.equal(await status(), 'cancelled');
    assert.match(await item.locator('[data-count="skipped"]').innerText(), /skipped\s+[1-4]/);
    assert.equal(await page.evaluate(() => 'loadedOnce' in window), true, 'everything happened without a reload');
    assert.deepEqual(pageErrors, []);
  });
});
