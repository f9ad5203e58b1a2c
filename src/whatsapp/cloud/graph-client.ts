import { fetch, FormData, type Response } from 'undici';
import { isObject } from '../../lib/json.js';

/** What Meta said when it refused a call, in Graph's `{ error: { … } }` shape; `network` when no answer came. */
export interface GraphFault {
  /** Meta's error code (190, 131030, …); 0 when the call never got an answer, or the answer was not Graph's. */
  code: number;
  subcode?: number;
  message: string;
  /** `error_data.details`: which parameter, which media id. */
  details?: string;
  httpStatus: number;
  fbtraceId?: string;
  network: boolean;
}

/** A Graph API call that failed: Meta's refusal, or no answer at all. Carries no token. */
export class GraphError extends Error {
  constructor(readonly fault: GraphFault) {
    super(fault.message);
    this.name = 'GraphError';
  }
}

export interface GraphClientOptions {
  /** `https://graph.facebook.com`, or a fake's address in tests. */
  graphUrl: string;
  /** `v23.0`. */
  apiVersion: string;
  accessToken: string;
  timeoutMs: number;
}

export interface GraphClient {
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body: unknown): Promise<T>;
  delete(path: string): Promise<void>;
  /** Multipart upload of one file to `/{phone-number-id}/media`; answers Meta's media id. */
  upload(phoneNumberId: string, file: { bytes: Buffer; mimetype: string; filename: string }): Promise<string>;
  /** Bytes behind a media URL Meta gave out (it wants the same bearer token), refused above `maxBytes`. */
  download(url: string, maxBytes: number): Promise<Buffer>;
}

/** Meta's words without the token, should an answer ever echo it. */
const scrub = (text: string, token: string) => (token ? text.split(token).join('[redacted]') : text);

const faultOf = (status: number, body: unknown, token: string): GraphFault => {
  const error = isObject(body) && isObject(body.error) ? body.error : undefined;
  if (!error)
    return { code: 0, message: `the Graph API answered HTTP ${status} without an error object`, httpStatus: status, network: false };
  const data = isObject(error.error_data) ? error.error_data : undefined;
  return {
    code: typeof error.code === 'number' ? error.code : 0,
    ...(typeof error.error_subcode === 'number' ? { subcode: error.error_subcode } : {}),
    message: scrub(typeof error.message === 'string' ? error.message : 'unknown error', token),
    ...(typeof data?.details === 'string' ? { details: scrub(data.details, token) } : {}),
    httpStatus: status,
    ...(typeof error.fbtrace_id === 'string' ? { fbtraceId: error.fbtrace_id } : {}),
    network: false,
  };
};

const unreachable = (err: unknown, token: string): GraphError => {
  const cause = (err as { cause?: { message?: string; code?: string } }).cause;
  const why =
    err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')
      ? 'timed out'
      : (cause?.code ?? cause?.message ?? String(err));
  return new GraphError({ code: 0, message: scrub(`the Graph API could not be reached: ${why}`, token), httpStatus: 0, network: true });
};

/**
 * The Graph API for one session's token: JSON in and out, Meta's refusals as GraphErrors, every call bounded by
 * `timeoutMs`. The token goes in the Authorization header only, never in a URL, an error or a log line.
 */
export const createGraphClient = ({ graphUrl, apiVersion, accessToken, timeoutMs }: GraphClientOptions): GraphClient => {
  const base = `${graphUrl.replace(/\/+$/, '')}/${apiVersion}`;
  const auth = { authorization: `Bearer ${accessToken}` };

  const call = async (
    url: string,
    init: { method: string; body?: string | FormData; headers?: Record<string, string> },
  ): Promise<Response> => {
    let res: Response;
    try {
      res = await fetch(url, { ...init, headers: { ...auth, ...init.headers }, signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw unreachable(err, accessToken);
    }
    if (res.ok) return res;
    const body: unknown = await res.json().catch(() => undefined);
    throw new GraphError(faultOf(res.status, body, accessToken));
  };
  const json = async <T>(res: Response): Promise<T> => {
    try {
      return (await res.json()) as T;
    } catch (err) {
      throw unreachable(err, accessToken);
    }
  };
  const path = (p: string) => `${base}/${p.replace(/^\/+/, '')}`;

  return {
    get: async (p) => json(await call(path(p), { method: 'GET' })),
    post: async (p, body) =>
      json(await call(path(p), { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })),
    async delete(p) {
      await (await call(path(p), { method: 'DELETE' })).arrayBuffer();
    },
    async upload(phoneNumberId, { bytes, mimetype, filename }) {
      const form = new FormData();
      form.append('messaging_product', 'whatsapp');
      form.append('type', mimetype);
      // A view, not a copy: media may be 100 MB.
      const view = new Uint8Array(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.length);
      form.append('file', new Blob([view], { type: mimetype }), filename);
      const answer = await json<{ id?: unknown }>(await call(path(`${phoneNumberId}/media`), { method: 'POST', body: form }));
      if (typeof answer.id !== 'string')
        throw new GraphError({ code: 0, message: 'the media upload answered no id', httpStatus: 200, network: false });
      return answer.id;
    },
    async download(url, maxBytes) {
      const res = await call(url, { method: 'GET' });
      const declared = Number(res.headers.get('content-length'));
      const tooLarge = () =>
        new GraphError({ code: 0, message: `the media is larger than ${maxBytes} bytes`, httpStatus: 413, network: false });
      if (declared > maxBytes) {
        await res.body?.cancel();
        throw tooLarge();
      }
      const chunks: Buffer[] = [];
      let size = 0;
      try {
        for await (const chunk of res.body ?? []) {
          size += chunk.length;
          if (size > maxBytes) throw tooLarge();
          chunks.push(Buffer.from(chunk));
        }
      } catch (err) {
        throw err instanceof GraphError ? err : unreachable(err, accessToken);
      }
      return Buffer.concat(chunks);
    },
  };
};
