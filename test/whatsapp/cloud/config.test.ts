import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../../src/config.ts';

test("Cloud API settings: Meta's Graph API, v23.0, ids reused 29 days, 30 s per call by default", () => {
  assert.deepEqual(loadConfig({}).whatsapp.cloud, {
    graphUrl: 'https://graph.facebook.com',
    apiVersion: 'v23.0',
    mediaIdTtlMs: 29 * 24 * 3600_000,
    timeoutMs: 30_000,
  });
  const set = loadConfig({
    CLOUD_GRAPH_URL: 'http://127.0.0.1:9999',
    CLOUD_API_VERSION: 'v22.0',
    CLOUD_MEDIA_ID_TTL_MS: '1000',
    CLOUD_TIMEOUT_MS: '5',
  });
  assert.deepEqual(set.whatsapp.cloud, { graphUrl: 'http://127.0.0.1:9999', apiVersion: 'v22.0', mediaIdTtlMs: 1000, timeoutMs: 5 });
  assert.throws(
    () => loadConfig({ CLOUD_API_VERSION: '23' }),
    (err: ConfigError) => /CLOUD_API_VERSION must be a Graph API version/.test(err.message),
  );
  assert.throws(
    () => loadConfig({ CLOUD_GRAPH_URL: 'ftp://x' }),
    (err: ConfigError) => /CLOUD_GRAPH_URL must be an http\(s\) URL/.test(err.message),
  );
});
