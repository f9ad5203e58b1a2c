import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from './free-port.js';

export interface RunningCache {
  /** For reverse caches: the URL to fetch through (`http://127.0.0.1:<port>`). */
  url: string;
  /** Stops the program and removes its temp dir. */
  stop(): Promise<void>;
}

export interface RunningProxy {
  /** For forward proxies: the value of HTTP_PROXY. */
  proxyUrl: string;
  /** The proxy's access log, one request a line (squid's native format). */
  accessLog(): Promise<string>;
  stop(): Promise<void>;
}

const YEAR = '365d';

/** Starts a program that listens on `port`, with its output in `dir`; resolves once the port answers. */
const run = async (dir: string, port: number, command: string, args: string[]) => {
  const child = spawn(command, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  try {
    await waitForPort(port, { alive: () => !exited() });
  } catch (err) {
    await stopChild(child);
    await rm(dir, { recursive: true, force: true });
    throw new Error(`${command} did not start: ${(err as Error).message}\n${output}`);
  }
  return async () => {
    await stopChild(child);
    await rm(dir, { recursive: true, force: true });
  };
};

const stopChild = async (child: ChildProcess) => {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exit = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exit;
  clearTimeout(timer);
};

export interface NginxOptions {
  /**
   * false: stock nginx, which says nothing of its cache (no `X-Cache-Status`, no `Age`).
   * @default true
   */
  signals?: boolean;
  /** Also keep 302 redirects a year, as a CDN holding an old `/latest → /v1` does. @default false */
  cacheRedirects?: boolean;
}

/**
 * nginx as a caching reverse proxy. `key: 'path'` keys the cache on `$host$uri` (a query string cannot bust
 * it, like CDNs set to ignore query strings); `key: 'uri'` on `$host$request_uri`. Either way 200s are kept a
 * year whatever the origin or the client says, and `X-Cache-Status` reports what happened unless `signals`
 * is false.
 */
export const startNginx = async (
  origin: string,
  key: 'path' | 'uri',
  { signals = true, cacheRedirects = false }: NginxOptions = {},
): Promise<RunningCache> => {
  const dir = await mkdtemp(join(tmpdir(), `hashsend-nginx-${key}-`));
  const port = await freePort();
  const conf = `
daemon off;
user root;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy_temp;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  proxy_cache_path ${dir}/cache levels=1:2 keys_zone=media:1m max_size=512m inactive=${YEAR} use_temp_path=off;
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass ${origin};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache media;
      proxy_cache_key $host${key === 'path' ? '$uri' : '$request_uri'};
      proxy_cache_valid 200 ${cacheRedirects ? '302 ' : ''}${YEAR};
      proxy_ignore_headers Cache-Control Expires Set-Cookie Vary X-Accel-Expires;
      ${signals ? 'add_header X-Cache-Status $upstream_cache_status always;' : ''}
    }
  }
}
`;
  await writeFile(join(dir, 'nginx.conf'), conf);
  const stop = await run(dir, port, 'nginx', ['-p', `${dir}/`, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')]);
  return { url: `http://127.0.0.1:${port}`, stop };
};

/**
 * Varnish in front of the origin. Varnish ignores a client's Cache-Control already; the VCL makes every 200
 * and every redirect (which Varnish keeps only with an explicit lifetime) cacheable for a year whatever the
 * origin says, as a CDN holding an old `302 /latest → /v1` does. `-j none` lets it run as root in a temp dir
 * of its own.
 */
export const startVarnish = async (origin: string): Promise<RunningCache> => {
  const dir = await mkdtemp(join(tmpdir(), 'hashsend-varnish-'));
  const port = await freePort();
  const backend = new URL(origin);
  const vcl = `vcl 4.1;
backend origin { .host = "${backend.hostname}"; .port = "${backend.port}"; }
sub vcl_backend_response {
  if (beresp.status == 200 || beresp.status == 301 || beresp.status == 302 || beresp.status == 307 || beresp.status == 308) {
    set beresp.ttl = ${YEAR};
    set beresp.grace = 0s;
    unset beresp.http.Cache-Control;
    return (deliver);
  }
}
`;
  await writeFile(join(dir, 'default.vcl'), vcl);
  const stop = await run(dir, port, 'varnishd', [
    '-F',
    '-j',
    'none',
    '-a',
    `127.0.0.1:${port}`,
    '-f',
    join(dir, 'default.vcl'),
    '-n',
    join(dir, 'work'),
    '-s',
    'malloc,16m',
    '-T',
    'none',
  ]);
  return { url: `http://127.0.0.1:${port}`, stop };
};

/**
 * Squid as a forward proxy that holds copies through a client's reload (`ignore-reload`), the way a
 * misconfigured office or ISP proxy does. Memory cache only. Squid drops root for `cache_effective_user`,
 * so its temp dir is writable by that user.
 */
export const startSquid = async (): Promise<RunningProxy> => {
  const dir = await mkdtemp(join(tmpdir(), 'hashsend-squid-'));
  await chmod(dir, 0o777);
  const port = await freePort();
  const conf = `
http_port 127.0.0.1:${port}
visible_hostname hashsend-test-squid
cache_effective_user proxy
pid_filename ${dir}/squid.pid
access_log stdio:${dir}/access.log squid
cache_log ${dir}/cache.log
cache_store_log none
coredump_dir ${dir}
netdb_filename none
cache_mem 64 MB
maximum_object_size_in_memory 32 MB
maximum_object_size 32 MB
shutdown_lifetime 0 seconds
dns_v4_first on
acl loopback src 127.0.0.1/32
acl CONNECT method CONNECT
http_access allow loopback
http_access deny all
refresh_pattern . 1440 100% 10080 ignore-reload override-expire ignore-no-store ignore-private
`;
  await writeFile(join(dir, 'squid.conf'), conf);
  const stop = await run(dir, port, 'squid', ['-N', '-f', join(dir, 'squid.conf')]);
  return {
    proxyUrl: `http://127.0.0.1:${port}`,
    accessLog: () => readFile(join(dir, 'access.log'), 'utf8').catch(() => ''),
    stop,
  };
};
