/** What the media HTTP tests share: the record's shape, error checks, and the server log's 5xx lines. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { StartedServer } from './server.js';

export interface Attempt {
  url: string;
  strategy: string;
  status?: number;
  cacheVerdict: string;
  sha256?: string;
}

export interface MediaRecord {
  sha256: string;
  size: number;
  mimetype: string;
  declaredMimetype?: string;
  kind: string;
  thumbnail?: string;
  converted?: { fromSha256: string; fromMimetype: string };
  source?: {
    url: string;
    finalUrl: string;
    etag?: string;
    lastModified?: string;
    fetchedAt: string;
    freshness: string;
    obtainedBy: string;
    attempts: Attempt[];
  };
}

export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

export const sha = (b: Buffer | Uint8Array) => createHash('sha256').update(b).digest('hex');

export const record = async (res: Response) => (await res.json()) as MediaRecord;

/** Status and error code together, so that a failure shows both (and the message). */
export const failure = async (res: Response) => {
  const body = (await res.json()) as ErrorBody;
  return { status: res.status, code: body.error?.code, body };
};

export const expectError = async (res: Response, status: number, code: string) => {
  const got = await failure(res);
  assert.deepEqual([got.status, got.code], [status, code], got.body.error?.message);
  return got.body.error;
};

export const uploadTo = (server: StartedServer, body: Buffer, headers: Record<string, string>) =>
  server.api('/api/media', { method: 'POST', body: new Uint8Array(body), headers });

/** The server's JSON log lines from `from` (an offset into its output) on. */
export const logLines = (server: StartedServer, from = 0) =>
  server
    .output()
    .slice(from)
    .split('\n')
    .filter((l) => l.startsWith('{'));

/**
 * Log lines of server faults: a 500 answer, or an error nothing handled. (A 502 or 504 says an origin failed, which
 * is an answer, not a fault.)
 */
export const serverErrors = (server: StartedServer, from = 0) =>
  logLines(server, from).filter((l) => /"statusCode":500/.test(l) || /unhandled error/.test(l));
