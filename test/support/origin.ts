import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FileOptions {
  /** @default 'application/octet-stream' */
  contentType?: string;
  /** @default 'public, max-age=3600' */
  cacheControl?: string;
  /** false: no ETag. @default a strong ETag from the content */
  etag?: string | false;
  /** false: no Last-Modified. @default a date that moves forward with each put */
  lastModified?: string | false;
  /** Send no Content-Length (chunked), as a generated body would. */
  chunked?: boolean;
  /** Answer every `Range: bytes=N-` with a 206, whatever `If-Range` says (a server that would splice versions). */
  ignoreIfRange?: boolean;
  /**
   * Answer 403 unless the query string is exactly this, as a signed S3 or GCS link refuses any extra
   * parameter (`X-Amz-Signature=…`).
   */
  signedQuery?: string;
}

interface File extends FileOptions {
  body: Buffer;
  etagValue?: string;
  lastModifiedValue?: string;
}

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** The status it was answered with, once the headers went out. */
  status?: number;
}

export interface Origin {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** Serves `body` at `/<name>` (any query string), replacing what was there. */
  put(name: string, body: Buffer, opts?: FileOptions): void;
  /** Requests for `/<name>` answer `status` with `Location: to`. */
  redirect(name: string, to: string, status?: number): void;
  /** From now on `/<name>` sends its headers and `bytes` of body, then nothing more. */
  stall(name: string, bytes?: number): void;
  /** The next response for `/<name>` closes the connection after `bytes` of body (once). */
  dropAfter(name: string, bytes: number, then?: () => void): void;
  /** From now on `/<name>` sends its body one byte every `everyMs`: never stalled, never done soon. */
  trickle(name: string, everyMs: number): void;
  requests: SeenRequest[];
  /** Body bytes accepted by the socket, for one file or all. */
  bytesServed(name?: string): number;
  close(): Promise<void>;
}

const CHUNK = 64 * 1024;

const drained = (res: ServerResponse) =>
  new Promise<void>((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });

/**
 * A conditional GET that the current version satisfies (RFC 9110 13.1.2-3): If-None-Match by weak comparison,
 * else If-Modified-Since against Last-Modified.
 */
const notModified = (headers: IncomingHttpHeaders, file: File) => {
  const weak = (tag: string) => tag.trim().replace(/^W\//, '');
  const inm = headers['if-none-match'];
  if (inm !== undefined) {
    if (!file.etagValue) return false;
    return inm.trim() === '*' || inm.split(',').some((tag) => weak(tag) === weak(file.etagValue!));
  }
  const ims = Date.parse(headers['if-modified-since'] ?? '');
  const lastModified = Date.parse(file.lastModifiedValue ?? '');
  return !Number.isNaN(ims) && !Number.isNaN(lastModified) && lastModified <= ims;
};

/** A loopback origin server whose files a test can replace under the same URL and make misbehave. */
export const startOrigin = async (): Promise<Origin> => {
  const files = new Map<string, File>();
  const redirects = new Map<string, { to: string; status: number }>();
  const stalls = new Map<string, number>();
  const drops = new Map<string, { bytes: number; then?: () => void }>();
  const trickles = new Map<string, number>();
  const served = new Map<string, number>();
  const requests: SeenRequest[] = [];
  let version = 0;

  const count = (name: string, n: number) => served.set(name, (served.get(name) ?? 0) + n);

  /** Writes with backpressure so that bytesServed tracks what the client actually took (plus socket buffers). */
  const send = async (res: ServerResponse, name: string, body: Buffer, limit: number) => {
    for (let at = 0; at < Math.min(body.length, limit) && !res.destroyed; at += CHUNK) {
      const chunk = body.subarray(at, Math.min(at + CHUNK, limit, body.length));
      count(name, chunk.length);
      if (!res.write(chunk)) await drained(res);
    }
  };

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://origin');
    const seen: SeenRequest = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers };
    requests.push(seen);
    res.on('close', () => (seen.status = res.statusCode));
    const name = decodeURIComponent(url.pathname.slice(1));
    const redirect = redirects.get(name);
    if (redirect) {
      res.writeHead(redirect.status, { location: redirect.to, 'content-length': 0 }).end();
      return;
    }
    const file = files.get(name);
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    if (file.signedQuery !== undefined && url.search.slice(1) !== file.signedQuery) {
      res.writeHead(403, { 'content-type': 'application/xml' }).end('<Error><Code>SignatureDoesNotMatch</Code></Error>');
      return;
    }
    const headers: Record<string, string | number> = {
      'content-type': file.contentType ?? 'application/octet-stream',
      'cache-control': file.cacheControl ?? 'public, max-age=3600',
      'accept-ranges': 'bytes',
    };
    if (file.etagValue) headers.etag = file.etagValue;
    if (file.lastModifiedValue) headers['last-modified'] = file.lastModifiedValue;
    if (notModified(req.headers, file)) {
      res.writeHead(304, headers).end();
      return;
    }

    let start = 0;
    let status = 200;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    const validatorHolds = file.ignoreIfRange || !ifRange || ifRange === file.etagValue || ifRange === file.lastModifiedValue;
    if (range && validatorHolds && Number(range[1]) < file.body.length) {
      start = Number(range[1]);
      status = 206;
      headers['content-range'] = `bytes ${start}-${file.body.length - 1}/${file.body.length}`;
    }
    const body = file.body.subarray(start);
    if (!file.chunked) headers['content-length'] = body.length;
    res.writeHead(status, headers);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }

    const every = trickles.get(name);
    if (every !== undefined) {
      for (let at = 0; at < body.length && !res.destroyed; at++) {
        count(name, 1);
        res.write(body.subarray(at, at + 1));
        await new Promise((r) => setTimeout(r, every));
      }
      res.end();
      return;
    }
    const stallAt = stalls.get(name);
    if (stallAt !== undefined) {
      await send(res, name, body, stallAt);
      return; // the response stays open, silent, until the client gives up or the server closes
    }
    const drop = drops.get(name);
    if (drop) {
      drops.delete(name);
      await send(res, name, body, drop.bytes);
      res.socket?.destroy();
      drop.then?.();
      return;
    }
    await send(res, name, body, body.length);
    res.end();
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    put(name, body, opts = {}) {
      version++;
      const strong = `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"`;
      files.set(name, {
        ...opts,
        body,
        etagValue: opts.etag === false ? undefined : (opts.etag ?? strong),
        lastModifiedValue:
          opts.lastModified === false ? undefined : (opts.lastModified ?? new Date(Date.UTC(2024, 0, 1) + version * 1000).toUTCString()),
      });
      stalls.delete(name);
      trickles.delete(name);
    },
    redirect(name, to, status = 302) {
      redirects.set(name, { to, status });
    },
    stall(name, bytes = 1024) {
      stalls.set(name, bytes);
    },
    dropAfter(name, bytes, then) {
      drops.set(name, { bytes, then });
    },
    trickle(name, everyMs) {
      trickles.set(name, everyMs);
    },
    requests,
    bytesServed: (name) => (name === undefined ? [...served.values()].reduce((a, b) => a + b, 0) : (served.get(name) ?? 0)),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
};
