/**
 * Cloud API benchmark, all on loopback in one run: hashsend as a child process with a `cloud` session against the
 * fake Graph API (test/support/fake-graph/, in this process, status webhooks signed back to /hooks/<id>), media
 * from a local origin.
 * - an image broadcast to RECIPIENTS (pace off, header of a template, fetched once by URL): msg/s from the POST to
 *   Meta's last accepted message, and uploads to `/{phone-number-id}/media` (goal: 1 for the whole broadcast);
 * - baseline, same run, same session: the same broadcast as a text template (nothing to upload), so the figure says
 *   what sending media by hash costs over sending none; and the uploads a gateway that uploads per message makes
 *   (one per recipient).
 * Printed, not asserted; the last line is `RESULT {json}`. BENCH_CLOUD_RECIPIENTS to change the size.
 */
import { createHash } from 'node:crypto';
import { startFakeGraph } from '../test/support/fake-graph/index.js';
import { startOrigin } from '../test/support/origin.js';
import { makeJpeg } from '../test/support/media-fixtures.js';
import { startHashsend } from './hashsend.js';
import { printResult } from './result.js';

const RECIPIENTS = Number(process.env.BENCH_CLOUD_RECIPIENTS ?? 500);
const PNID = '106540352242922';
const TOKEN = 'EAAG-bench-token-0123456789';
const SECRET = 'bench-app-secret';
const TIMEOUT_MS = 180_000;

const graph = await startFakeGraph({ statuses: ['sent'] });
const origin = await startOrigin();
graph.addNumber({ phoneNumberId: PNID, accessToken: TOKEN, appSecret: SECRET, displayPhoneNumber: '+1 555-0100', verifiedName: 'Bench' });
const server = await startHashsend({ env: { CLOUD_GRAPH_URL: graph.url, MEDIA_ALLOW_HOSTS: '127.0.0.1' } });

try {
  const created = await server.api('/api/sessions', {
    method: 'POST',
    json: {
      id: 'cloud',
      driver: 'cloud',
      options: { phoneNumberId: PNID, accessToken: TOKEN, appSecret: SECRET, verifyToken: 'bench-verify' },
    },
  });
  if (created.status !== 201) throw new Error(`session: ${created.status} ${await created.text()}`);
  graph.setCallback(PNID, `${server.url}/hooks/cloud`);
  for (;;) {
    const { state } = (await (await server.api('/api/sessions/cloud')).json()) as { state: string };
    if (state === 'connected') break;
    if (state === 'needs_relink') throw new Error('the fake Graph API refused the token');
    await new Promise((r) => setTimeout(r, 20));
  }

  const banner = await makeJpeg({ seed: 7, width: 800, height: 600 });
  origin.put('banner.jpg', banner, { contentType: 'image/jpeg' });
  const sha256 = createHash('sha256').update(banner).digest('hex');

  /** One broadcast of `components`; resolves with msg/s until Meta accepted its last message. */
  const broadcast = async (prefix: string, components: unknown[]) => {
    const recipients = Array.from({ length: RECIPIENTS }, (_, i) => ({ to: `+1${prefix}${String(i).padStart(6, '0')}` }));
    const before = graph.messages().length;
    const started = performance.now();
    const res = await server.api('/api/sessions/cloud/broadcasts', {
      method: 'POST',
      json: { name: prefix, pace: { perMinute: 0 }, recipients, message: { template: { name: 'bench', language: 'en_US', components } } },
    });
    if (res.status !== 202) throw new Error(`broadcast: ${res.status} ${await res.text()}`);
    await Promise.race([
      graph.waitFor((g) => g.messages().length - before >= RECIPIENTS),
      new Promise((_, reject) => setTimeout(() => reject(new Error('broadcast did not finish')), TIMEOUT_MS).unref()),
    ]);
    return RECIPIENTS / ((performance.now() - started) / 1000);
  };

  const body = [{ type: 'body', parameters: [{ type: 'text', text: 'Spring sale' }] }];
  await broadcast('555100', body); // warm-up: JIT, connections
  const textRate = await broadcast('555200', body);
  const imageRate = await broadcast('555300', [
    { type: 'header', parameters: [{ type: 'image', image: { url: `${origin.url}/banner.jpg` } }] },
    ...body,
  ]);
  const uploads = graph.uploads().filter((u) => u.sha256 === sha256).length;
  const fresh = graph.messages().filter((m) => m.to.startsWith('1555300') && m.media?.sha256 === sha256).length;

  console.log(`image template broadcast: ${imageRate.toFixed(0)} msg/s (text template ${textRate.toFixed(0)} msg/s)`);
  console.log(`uploads for ${RECIPIENTS} recipients: ${uploads}; recipients with the banner's sha256: ${fresh}/${RECIPIENTS}`);
  printResult('cloud', [
    {
      name: `image template broadcast (${RECIPIENTS}), media by id`,
      value: Math.round(imageRate),
      unit: 'msg/s',
      baseline: 'the same broadcast as a text template',
      baselineValue: Math.round(textRate),
    },
    {
      name: 'uploads for the broadcast',
      value: uploads,
      unit: 'uploads',
      baseline: 'a gateway uploading per message',
      baselineValue: RECIPIENTS,
      goal: '1',
    },
  ]);
} finally {
  await server.stop();
  await Promise.all([graph.close(), origin.close()]);
}
