import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { startServer, type StartedServer } from '../support/server.js';

let server: StartedServer;
let key: string;
before(async () => {
  // An empty API_KEY is unset: the server makes its own.
  server = await startServer({ API_KEY: '' });
});
after(async () => {
  await server?.close();
});

const get = (route: string, headers: Record<string, string> = {}) => fetch(`${server.url}${route}`, { headers });
const occurrences = (text: string, needle: string) => text.split(needle).length - 1;

test('first start without API_KEY: a key is generated, printed once, kept in DATA_DIR/api-key with mode 0600', async () => {
  const printed = /generated an API key \(kept in (.+), mode 0600\):\n\n {2}(\S+)\n/.exec(server.output());
  assert.ok(printed, `no key printed in:\n${server.output().slice(0, 2000)}`);
  key = printed[2];
  assert.ok(key.length >= 32, 'long enough not to be guessed');
  const file = path.join(server.dataDir, 'api-key');
  assert.equal(printed[1], file);
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  assert.equal((await readFile(file, 'utf8')).trim(), key);

  assert.equal((await get('/api/sessions')).status, 401);
  assert.equal((await get('/api/sessions', { authorization: `Bearer ${key}` })).status, 200);
  assert.equal((await get('/api/sessions', { 'x-api-key': key })).status, 200);
  assert.equal((await get('/api/sessions', { authorization: `Bearer ${key}x` })).status, 403);
});

test('second start: no key printed, the same key accepted', async () => {
  await server.kill();
  const before = server.output().length;
  await server.restart();
  const second = server.output().slice(before);
  assert.doesNotMatch(second, /generated an API key/);
  assert.equal(occurrences(second, key), 0);
  assert.equal((await get('/api/sessions', { authorization: `Bearer ${key}` })).status, 200);
  assert.equal((await get('/api/sessions', { authorization: 'Bearer test-key-0123456789' })).status, 403);
  assert.equal((await readFile(path.join(server.dataDir, 'api-key'), 'utf8')).trim(), key, 'the stored key is kept');
});

test('the key never reaches the log: it appears once in all output, in the print', async () => {
  // Requests that carry the key, or a wrong one that contains it, in each header a client might put it in.
  await get('/api/sessions', { authorization: `Bearer ${key}` });
  await get('/api/nope', { 'x-api-key': key });
  await get('/api/sessions', { authorization: `Bearer ${key}-old` });
  await get('/api/sessions', { 'x-api-key': `${key}-old`, cookie: `key=${key}` });
  const out = server.output();
  const logLines = out.split('\n').filter((l) => l.startsWith('{'));
  assert.ok(
    logLines.some((l) => l.includes('/api/nope')),
    'the requests were logged',
  );
  assert.deepEqual(
    logLines.filter((l) => l.includes(key)),
    [],
    'no JSON log line holds the key',
  );
  assert.equal(occurrences(out, key), 1, 'printed once, at the first start, and nowhere else');
});
