#!/usr/bin/env node
// Runs before the test suite: the tests use real caches, Redis and a browser, never stand-ins. Missing programs
// are installed with apt-get when we are root; otherwise the run stops and says exactly what to install.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const needs = [
  { pkg: 'squid', bins: ['/usr/sbin/squid'] },
  { pkg: 'varnish', bins: ['/usr/sbin/varnishd'] },
  { pkg: 'nginx-light', bins: ['/usr/sbin/nginx'] },
  { pkg: 'redis-server', bins: ['/usr/bin/redis-server'] },
  { pkg: 'chromium', bins: ['/usr/bin/chromium'] },
  { pkg: 'curl', bins: ['/usr/bin/curl'] },
  { pkg: 'openssl', bins: ['/usr/bin/openssl'] },
];

const missing = needs.filter(({ bins }) => !bins.some((b) => existsSync(b))).map(({ pkg }) => pkg);
if (missing.length === 0) process.exit(0);

const isRoot = process.getuid?.() === 0;
if (!isRoot) {
  console.error(`hashsend tests need these Debian packages: ${missing.join(' ')}\n  install them with: sudo apt-get install -y ${missing.join(' ')}`);
  process.exit(1);
}
console.error(`installing test dependencies with apt-get: ${missing.join(' ')}`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
const result = spawnSync('apt-get', ['install', '-y', '-qq', ...missing], { stdio: 'inherit', env });
if (result.status !== 0) {
  console.error(`apt-get could not install: ${missing.join(' ')}`);
  process.exit(1);
}
// Debian starts the services it installs; the tests start their own on loopback ports, so stop these.
for (const service of ['squid', 'varnish', 'nginx', 'redis-server']) spawnSync('service', [service, 'stop'], { stdio: 'ignore' });
