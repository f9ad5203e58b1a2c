/**
 * Broadcast benchmark, all on loopback in one run, through the WhatsApp protocol simulator:
 * - hashsend (a child process, Baileys driver, linked by QR through its API) sends one image, named by its
 *   origin URL, to 200 recipients: 200 POSTs with `{ media: { url, sha256 } }` (as an integrator's loop would send
 *   them) and then 200 more with the URL alone (no pinned hash, so each one must check the origin for a change).
 * - the baseline is what a per-recipient gateway does: raw Baileys `sendMessage(jid, { image: { url } })` per
 *   recipient, which fetches the URL and uploads the file each time.
 * Counted: requests to the origin (and full-body fetches), uploads to WhatsApp's media host, every recipient's
 * decrypted hash; timed: from the first request to the last recipient's delivery, per recipient.
 * Goal: 1 origin fetch and 1 upload for the broadcast. Printed, not asserted; the last line is `RESULT {json}`.
 */
import '../test/support/wa-simulator/trust.js';
import { once } from 'node:events';
import { startOrigin, type Origin } from '../test/support/origin.js';
import { makeJpeg } from '../test/support/media-fixtures.js';
import type { Delivery, WaSimulator } from '../test/support/wa-simulator/index.js';
import { connectTestClient, makeAuthDir, removeAuthDir } from '../test/support/wa-simulator/test-client.js';
import { sha256, startHarness, type Harness } from '../test/whatsapp/e2e/harness.js';
import { printResult, type Figure } from './result.js';

const RECIPIENTS = 200;
const IN_FLIGHT = 8;

const recipients = (prefix: string) => Array.from({ length: RECIPIENTS }, (_, i) => `${prefix}${String(i).padStart(4, '0')}`);

/** Resolves once every one of `phones` decrypted a message; rejects after `timeoutMs`. */
const allDelivered = async (sim: WaSimulator, phones: string[], timeoutMs = 120_000) => {
  const wanted = new Set(phones);
  const got = new Map<string, Delivery>();
  const note = (d: Delivery) => {
    const phone = d.to.split('@')[0];
    if (wanted.has(phone) && !got.has(phone)) got.set(phone, d);
  };
  for (const d of sim.received()) note(d);
  const deadline = Date.now() + timeoutMs;
  while (got.size < wanted.size) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`${got.size} of ${wanted.size} recipients got the message`);
    const [d] = (await once(sim, 'delivery', { signal: AbortSignal.timeout(left) })) as [Delivery];
    note(d);
  }
  return [...got.values()];
};

interface RunFigures {
  originRequests: number;
  originBodies: number;
  uploads: number;
  msPerRecipient: number;
  acceptMsPerRequest?: number;
  hashesOk: boolean;
}

interface Content {
  file: string;
  bytes: Buffer;
  sha256: string;
  url: string;
}

/** A fresh image on the origin for each run, so no run profits from another's upload. */
const publish = async (origin: Origin, file: string, seed: number): Promise<Content> => {
  const bytes = await makeJpeg({ width: 640, height: 640, seed });
  origin.put(file, bytes, { contentType: 'image/jpeg', cacheControl: 'public, max-age=60' });
  return { file, bytes, sha256: sha256(bytes), url: `${origin.url}/${file}` };
};

const measure = async (sim: WaSimulator, origin: Origin, content: Content, phones: string[], send: () => Promise<number | undefined>) => {
  const requestsOf = () => origin.requests.filter((r) => r.url.startsWith(`/${content.file}`)).length;
  const requestsBefore = requestsOf();
  const bytesBefore = origin.bytesServed(content.file);
  const uploadsBefore = sim.uploads;
  const started = performance.now();
  const acceptMs = await send();
  const delivered = await allDelivered(sim, phones);
  const elapsed = performance.now() - started;
  return {
    originRequests: requestsOf() - requestsBefore,
    originBodies: Math.round((origin.bytesServed(content.file) - bytesBefore) / content.bytes.length),
    uploads: sim.uploads - uploadsBefore,
    msPerRecipient: elapsed / phones.length,
    ...(acceptMs !== undefined ? { acceptMsPerRequest: acceptMs / phones.length } : {}),
    hashesOk: delivered.every((d) => d.sha256 === content.sha256 && !d.error),
  } satisfies RunFigures;
};

/** POSTs one message per phone, `inFlight` at a time; returns the time until every one was accepted (202). */
const postAll = async (h: Harness, phones: string[], media: Record<string, string>, inFlight: number) => {
  const started = performance.now();
  const queue = [...phones];
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      for (let phone = queue.shift(); phone; phone = queue.shift())
        await h.send('bench', { to: `+${phone}`, media, caption: 'This week only' });
    }),
  );
  return performance.now() - started;
};

const main = async () => {
  const [h, origin] = await Promise.all([startHarness({ env: { QUEUE_MAX_ATTEMPTS: '3' } }), startOrigin()]);
  const authDir = await makeAuthDir();
  let client: Awaited<ReturnType<typeof connectTestClient>> | undefined;
  try {
    await h.link('bench', '15558880000');
    const runs: [string, RunFigures][] = [];
    const hashsendRun = async (name: string, seed: number, pinned: boolean, inFlight: number) => {
      const content = await publish(origin, `promo-${seed}.jpg`, seed);
      const phones = recipients(`1666${seed}`);
      const media: Record<string, string> = pinned ? { url: content.url, sha256: content.sha256 } : { url: content.url };
      runs.push([name, await measure(h.sim, origin, content, phones, () => postAll(h, phones, media, inFlight))]);
    };
    await hashsendRun('hashsend, URL + sha256, POSTs one at a time', 101, true, 1);
    await hashsendRun(`hashsend, URL + sha256, ${IN_FLIGHT} POSTs in flight`, 102, true, IN_FLIGHT);
    await hashsendRun('hashsend, URL only, one at a time', 103, false, 1);

    // The per-recipient gateway: raw Baileys on its own linked device, the URL handed to sendMessage each time.
    const pairing = await connectTestClient(h.sim, authDir);
    const { qr } = await pairing.waitForUpdate((u) => !!u.qr);
    await h.sim.scanQr(qr!, '15559990000');
    await pairing.waitForUpdate((u) => u.connection === 'close');
    await pairing.flushCreds();
    client = await connectTestClient(h.sim, authDir);
    await client.waitForUpdate((u) => u.connection === 'open');
    const sock = client.sock;
    const content = await publish(origin, 'promo-104.jpg', 104);
    const phones = recipients('1666104');
    const baseline = await measure(h.sim, origin, content, phones, async () => {
      for (const phone of phones)
        await sock.sendMessage(`${phone}@s.whatsapp.net`, { image: { url: content.url }, caption: 'This week only' });
      return undefined;
    });
    runs.push(['per-recipient gateway (raw Baileys, measured)', baseline]);

    const row = (name: string, f: RunFigures) =>
      `${name.padEnd(48)}${String(f.originRequests).padStart(8)}${String(f.originBodies).padStart(8)}${String(f.uploads).padStart(9)}` +
      `${f.msPerRecipient.toFixed(1).padStart(11)}${(f.acceptMsPerRequest?.toFixed(1) ?? '-').padStart(11)}   ${f.hashesOk ? 'all equal' : 'MISMATCH'}`;
    console.log(
      `broadcast-media: one ${(content.bytes.length / 1024).toFixed(0)} KB JPEG per run to ${RECIPIENTS} recipients, through the WhatsApp simulator`,
    );
    console.log(
      `${''.padEnd(48)}${'origin'.padStart(8)}${'bodies'.padStart(8)}${'uploads'.padStart(9)}${'ms/recip'.padStart(11)}${'ms/202'.padStart(11)}   recipients' sha256`,
    );
    for (const [name, f] of runs) console.log(row(name, f));
    console.log(
      `${'per-recipient gateway (by definition)'.padEnd(48)}${String(RECIPIENTS).padStart(8)}${String(RECIPIENTS).padStart(8)}${String(RECIPIENTS).padStart(9)}`,
    );
    console.log('goal: 1 origin fetch and 1 upload per broadcast. ms/recip: first request to last delivery, divided by recipients.');

    const [sequential, parallel, unpinned] = runs.map(([, f]) => f);
    const vs = { baseline: 'per-recipient gateway, measured' };
    const figures: Figure[] = [
      {
        name: 'origin fetches (URL + sha256, sequential)',
        value: sequential.originRequests,
        unit: 'requests',
        ...vs,
        baselineValue: baseline.originRequests,
        goal: '1',
      },
      {
        name: 'uploads (URL + sha256, sequential)',
        value: sequential.uploads,
        unit: 'uploads',
        ...vs,
        baselineValue: baseline.uploads,
        goal: '1',
      },
      {
        name: `origin fetches (URL + sha256, ${IN_FLIGHT} in flight)`,
        value: parallel.originRequests,
        unit: 'requests',
        ...vs,
        baselineValue: baseline.originRequests,
        goal: '1',
      },
      {
        name: `uploads (URL + sha256, ${IN_FLIGHT} in flight)`,
        value: parallel.uploads,
        unit: 'uploads',
        ...vs,
        baselineValue: baseline.uploads,
        goal: '1',
      },
      { name: 'origin bodies (URL only)', value: unpinned.originBodies, unit: 'bodies', ...vs, baselineValue: baseline.originBodies },
      { name: 'uploads (URL only)', value: unpinned.uploads, unit: 'uploads', ...vs, baselineValue: baseline.uploads, goal: '1' },
      {
        name: 'time per recipient (URL + sha256, sequential)',
        value: Number(sequential.msPerRecipient.toFixed(1)),
        unit: 'ms',
        ...vs,
        baselineValue: Number(baseline.msPerRecipient.toFixed(1)),
      },
    ];
    printResult('broadcast-media', figures);
  } finally {
    await client?.end();
    await Promise.all([h.close(), origin.close()]);
    await removeAuthDir(authDir);
  }
};

await main();
// Baileys leaves a prekey-upload and query timers running after its socket ends; nothing else is open.
process.exit(0);
