import http from 'node:http';

export interface RawRequest {
  method: string;
  /** Sent exactly as given: no URL normalisation, so `..` and `%00` reach the server. */
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

export interface RawAnswer {
  /** The HTTP status, or 0 when the connection ended without an answer (`error` says how). */
  status: number;
  contentType?: string;
  body: string;
  error?: string;
}

/**
 * One request on its own connection through node:http, read to the end; an event stream is cut once its headers
 * are in. Never rejects: a reset or a timeout is an answer with status 0.
 */
export const sendRaw = (base: string, { method, path, headers, body }: RawRequest, timeoutMs = 10_000): Promise<RawAnswer> =>
  new Promise((resolve) => {
    const url = new URL(base);
    let settled = false;
    const done = (answer: RawAnswer) => {
      if (settled) return;
      settled = true;
      req.destroy();
      resolve(answer);
    };
    // Declared, since node sends a DELETE's body with neither Content-Length nor chunking: the server reads no body.
    const length = body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) };
    const req = http.request(
      { host: url.hostname, port: url.port, method, path, headers: { ...length, ...headers }, agent: false, timeout: timeoutMs },
      (res) => {
        const contentType = res.headers['content-type'];
        const base = { status: res.statusCode ?? 0, contentType };
        if (contentType?.startsWith('text/event-stream')) return done({ ...base, body: '' });
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => done({ ...base, body: Buffer.concat(chunks).toString() }));
        res.on('error', (err) => done({ ...base, body: Buffer.concat(chunks).toString(), error: err.message }));
      },
    );
    req.on('timeout', () => done({ status: 0, body: '', error: `no answer in ${timeoutMs} ms` }));
    req.on('error', (err) => done({ status: 0, body: '', error: err.message }));
    req.end(body);
  });

/** Runs `work` over `items` with at most `limit` at once, keeping the order of results. */
export const mapLimit = async <T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> => {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
};
