import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openJournal, type SandboxDelivery } from '../../../src/whatsapp/sandbox/state-file.ts';

const withDir = async (run: (dir: string) => Promise<void>) => {
  const root = await mkdtemp(path.join(tmpdir(), 'hashsend-journal-'));
  try {
    await run(path.join(root, 'session'));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
};

const delivery = (n: number, extra: Partial<SandboxDelivery> = {}): SandboxDelivery => ({
  messageId: `3EB0${String(n).padStart(16, '0')}`,
  to: '4915100000001@s.whatsapp.net',
  type: 'text',
  text: `message ${n}`,
  sendAttempts: 1,
  receivedAt: new Date(0).toISOString(),
  ...extra,
});

/** Records like the driver does: change the state in place, then journal the change. */
const deliver = async (journal: Awaited<ReturnType<typeof openJournal>>['journal'], d: SandboxDelivery) => {
  journal.state.deliveries.set(d.messageId, d);
  await journal.record({ delivery: d });
};

test('what is recorded is there after reopening, with the newest version of each delivery; files are owner-only', () =>
  withDir(async (dir) => {
    const { journal } = await openJournal(dir);
    journal.state.me = { id: '4915100000001@s.whatsapp.net', name: 'Shop' };
    await journal.record({ me: journal.state.me });
    await deliver(journal, delivery(1));
    await deliver(journal, delivery(1, { deliveredAt: new Date(1).toISOString() }));
    await deliver(journal, delivery(2));
    await journal.close();

    const again = await openJournal(dir);
    assert.equal(again.corrupt, undefined);
    assert.deepEqual(again.journal.state.me, { id: '4915100000001@s.whatsapp.net', name: 'Shop' });
    assert.deepEqual([...again.journal.state.deliveries.keys()], [delivery(1).messageId, delivery(2).messageId]);
    assert.equal(again.journal.state.deliveries.get(delivery(1).messageId)?.deliveredAt, new Date(1).toISOString());
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    assert.equal((await stat(path.join(dir, 'sandbox.json'))).mode & 0o777, 0o600);
    await again.journal.close();
  }));

test('appending does not rewrite the file; it is compacted into one snapshot when events pile up', () =>
  withDir(async (dir) => {
    const { journal } = await openJournal(dir);
    await deliver(journal, delivery(0));
    const lines = async () => (await readFile(path.join(dir, 'sandbox.json'), 'utf8')).trimEnd().split('\n').length;
    for (let i = 0; i < 5; i++) await deliver(journal, delivery(0, { sendAttempts: i + 2 }));
    assert.equal(await lines(), 6, 'a snapshot line and one line per event');
    for (let i = 0; i < 1100; i++) await deliver(journal, delivery(0, { sendAttempts: i + 7 }));
    assert.ok((await lines()) < 1000, 'rewritten as a snapshot once events outnumber the state');
    await journal.close();
    const again = await openJournal(dir);
    assert.equal(again.journal.state.deliveries.get(delivery(0).messageId)?.sendAttempts, 1106);
    await again.journal.close();
  }));

test('a torn last line (the process died writing it) is dropped; a bad line before the end is needs_relink', () =>
  withDir(async (dir) => {
    const { journal } = await openJournal(dir);
    await deliver(journal, delivery(1));
    await journal.close();
    const file = path.join(dir, 'sandbox.json');
    await appendFile(file, '{"delivery":{"messageId":"3EB0');

    const torn = await openJournal(dir);
    assert.equal(torn.corrupt, undefined);
    assert.deepEqual([...torn.journal.state.deliveries.keys()], [delivery(1).messageId]);
    await deliver(torn.journal, delivery(2));
    await torn.journal.close();
    const healed = await openJournal(dir);
    assert.equal(healed.journal.state.deliveries.size, 2, 'the next write did not append onto the torn line');
    await healed.journal.close();

    const good = await readFile(file, 'utf8');
    await writeFile(file, good.replace('\n', '\nnot json\n'));
    const damaged = await openJournal(dir);
    assert.ok(damaged.corrupt, 'damage in the middle is reported, never skipped');
    assert.match(damaged.corrupt.message, /line 2/);
    await damaged.journal.close();
  }));
