import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../src/config.ts';

test('cluster settings: a 10 s lease and a generated node id by default; both can be set', () => {
  assert.deepEqual(loadConfig({}).cluster, { leaseTtlMs: 10_000, nodeId: undefined });
  assert.deepEqual(loadConfig({ CLUSTER_LEASE_TTL_MS: '3000', CLUSTER_NODE_ID: ' node-a ' }).cluster, {
    leaseTtlMs: 3000,
    nodeId: 'node-a',
  });
});

test('a lease shorter than a second is refused at start with the setting named', () => {
  assert.throws(
    () => loadConfig({ CLUSTER_LEASE_TTL_MS: '200' }),
    (err: unknown) => err instanceof ConfigError && err.problems.some((p) => p.startsWith('CLUSTER_LEASE_TTL_MS must be at least 1000')),
  );
});
