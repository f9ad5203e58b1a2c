import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startWaSimulator, type WaSimulator } from '../support/wa-simulator/index.js';
import { waitFor } from '../support/server.js';
import { createBroadcast, report, untilStatus } from '../broadcasts/helpers.js';
import { FAST_WHATSAPP, TRUST_PRELOAD } from '../whatsapp/e2e/harness.js';
import { adopted, explained, twoNodes, untilState } from './two-nodes.js';

const PHONE = '15550610001';
const SESSION = 'wa';
let sim: WaSimulator;
let caDir: string;

const { ctx, ownerOf } = twoNodes(
  async () => {
    sim = await startWaSimulator();
    caDir = await mkdtemp(path.join(tmpdir(), 'hashsend-wa-ca-'));
    const caFile = path.join(caDir, 'media-ca.pem');
    await writeFile(caFile, sim.mediaCa);
    return {
      DEFAULT_DRIVER: 'baileys',
      MEDIA_ALLOW_HOSTS: '127.0.0.1',
      WHATSAPP_WS_URL: sim.wsUrl,
      WHATSAPP_MEDIA_CA_FILE: caFile,
      ...FAST_WHATSAPP,
      CLUSTER_LEASE_TTL_MS: '2000',
    };
  },
  { imports: [TRUST_PRELOAD] },
);
after(async () => {
  await sim?.stop();
  if (caDir) await rm(caDir, { recursive: true, force: true });
});

test('Baileys against the simulator: linked through the non-owner, the owner killed in the middle of a broadcast, the other node logs in with the same credentials and finishes; never two sockets of one credential at once', async () => {
  const { owner, other } = ownerOf(SESSION);
  assert.equal((await other.api('/api/sessions', { method: 'POST', json: { id: SESSION, driver: 'baileys' } })).status, 201);
  // The QR the owner's socket shows, asked of the other node.
  const qr = await other.api(`/api/sessions/${SESSION}/qr`, { headers: { accept: 'application/json' } });
  assert.equal(qr.status, 200);
  await sim.scanQr(((await qr.json()) as { qr: string }).qr, PHONE);
  await untilState(owner, SESSION, 'connected');
  await untilState(other, SESSION, 'connected');

  const phones = Array.from({ length: 30 }, (_, i) => `1555779${String(i).padStart(4, '0')}`);
  const created = await createBroadcast(other, SESSION, {
    name: 'takeover',
    recipients: phones.map((p, i) => ({ to: `+${p}`, vars: { n: String(i) } })),
    message: { text: 'Hello {{n}}' },
    // 5 a second: a few seconds in all.
    pace: { perMinute: 300 },
  });
  const shown = () => phones.filter((p) => sim.received(p).length > 0).length;
  await waitFor('a few on the phones', async () => (shown() >= 5 ? true : undefined), 30_000);
  await owner.kill('SIGKILL');
  assert.ok(shown() < phones.length, 'killed before the end');

  await explained(ctx.nodes, untilStatus(other, created.id, 'completed', 90_000));
  assert.equal(adopted(other, SESSION), 1);
  // Every phone shows its own text once; only a message in flight at the kill may have been relayed twice (same id).
  const relayed = phones.map((p) => Object.values(sim.relayCounts(p)));
  phones.forEach((p, i) => {
    assert.deepEqual(
      sim.received(p).map((d) => d.text),
      [`Hello ${i}`],
      p,
    );
  });
  assert.ok(relayed.every((counts) => counts.length === 1));
  assert.ok(relayed.filter(([n]) => n !== 1).length <= 1, JSON.stringify(relayed));
  const rows = await report(other, created.id);
  assert.deepEqual(
    rows.filter((r) => !['sent', 'delivered', 'read'].includes(r.status)),
    [],
  );
  assert.deepEqual(
    rows.map((r) => r.messageId),
    phones.map((p) => sim.received(p)[0]!.id),
  );
  // The new owner logged in after the dead one's socket had closed: WhatsApp never saw both at once.
  assert.equal(sim.replacedLogins, 0);

  // The node back: the session is its share again, handed back (closed there first) and opened here.
  await owner.restart();
  await waitFor('the session adopted again by the node back', async () => (adopted(owner, SESSION) === 2 ? true : undefined), 30_000);
  await untilState(owner, SESSION, 'connected');
  const res = await other.api(`/api/sessions/${SESSION}/messages`, {
    method: 'POST',
    json: { to: `+${phones[0]}`, text: 'after the hand back' },
  });
  assert.equal(res.status, 202);
  const { id } = (await res.json()) as { id: string };
  await waitFor('the message after the hand back on the phone', async () => sim.received(phones[0]!).find((d) => d.id === id));
  assert.equal(sim.replacedLogins, 0);
});
