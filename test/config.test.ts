import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { ConfigError, loadConfig, settingsSchema } from '../src/config.ts';

test('defaults make a working configuration with no settings at all', () => {
  const config = loadConfig({});
  assert.equal(config.port, 3000);
  assert.equal(config.dataDir, './data');
  assert.equal(config.media.maxBytes.image, 5 * 1024 * 1024);
  assert.equal(config.media.maxRedirects, 5);
  assert.deepEqual(config.media.allowHosts, []);
  assert.equal(config.media.publicMedia, false);
  assert.ok(Object.isFrozen(config));
});

test('a bad value names the setting, what it expected and what it got; every bad one is reported', () => {
  assert.throws(
    () => loadConfig({ MEDIA_MAX_IMAGE_BYTES: '5MB', PUBLIC_MEDIA: 'maybe', PORT: '70000' }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.ok(err.problems.includes('MEDIA_MAX_IMAGE_BYTES must be a positive integer, got "5MB"'), err.message);
      assert.ok(err.problems.includes('PUBLIC_MEDIA must be true or false, got "maybe"'), err.message);
      assert.ok(
        err.problems.some((p) => p.startsWith('PORT must be a port number')),
        err.message,
      );
      return true;
    },
  );
});

test('lists are split on commas', () => {
  assert.deepEqual(loadConfig({ MEDIA_ALLOW_HOSTS: ' files.internal, 10.0.0.0/8 ,' }).media.allowHosts, ['files.internal', '10.0.0.0/8']);
});

test('.env.example documents every setting', async () => {
  const example = await readFile(new URL('../.env.example', import.meta.url), 'utf8');
  for (const key of Object.keys(settingsSchema.shape)) {
    assert.match(example, new RegExp(`^#? ?${key}=`, 'm'), `${key} is missing from .env.example`);
  }
});

test('credentials are files by default; redis needs REDIS_URL and a well-formed CREDENTIALS_KEY, which no error repeats', () => {
  assert.equal(loadConfig({}).credentials.store, 'files');
  assert.equal(loadConfig({}).credentials.key, undefined);
  const hex = 'ab'.repeat(32);
  const config = loadConfig({ CREDENTIALS_STORE: 'redis', REDIS_URL: 'redis://127.0.0.1:6379', CREDENTIALS_KEY: hex });
  assert.equal(config.credentials.store, 'redis');
  assert.equal(config.credentials.key?.id, loadConfig({ CREDENTIALS_KEY: Buffer.from(hex, 'hex').toString('base64') }).credentials.key?.id);
  assert.ok(!JSON.stringify(config).includes(hex), 'the key is not in the config as JSON shows it');

  const problems = (env: Record<string, string>) => {
    try {
      loadConfig(env);
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.problems;
    }
    return [];
  };
  assert.deepEqual(problems({ CREDENTIALS_STORE: 'redis', CREDENTIALS_KEY: hex }), ['CREDENTIALS_STORE=redis needs REDIS_URL']);
  assert.match(problems({ CREDENTIALS_STORE: 'redis', REDIS_URL: 'redis://h' }).join(), /^CREDENTIALS_STORE=redis needs CREDENTIALS_KEY/);
  assert.deepEqual(problems({ CREDENTIALS_STORE: 'vault' }), ['CREDENTIALS_STORE must be files or redis, got "vault"']);
  const leaked = 'this is not a key but a secret!';
  const malformed = problems({ CREDENTIALS_STORE: 'redis', REDIS_URL: 'redis://h', CREDENTIALS_KEY: leaked });
  assert.deepEqual(malformed, [
    `CREDENTIALS_KEY must be 32 bytes as 64 hex digits or base64, got a value of ${leaked.length} characters (not shown)`,
  ]);
  assert.equal(problems({ CREDENTIALS_KEY: hex.slice(1) }).length, 1, 'a key a digit short is refused');
});
