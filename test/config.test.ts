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
