import { Agent, request } from 'undici';
import type { SsrfGuard } from '../media/ssrf.js';

/** What one attempt came to, as `hashsend_webhook_attempts_total{outcome}` counts it. */
export type AttemptOutcome = 'delivered' | 'failed_status' | 'timeout' | 'connection_error' | 'refused_ssrf';

export interface AttemptResult {
  outcome: AttemptOutcome;
  /** The receiver's HTTP status, when it answered. */
  status?: number;
  message: string;
}

export interface WebhookTransport {
  /** POSTs the body; undefined when `signal` aborted it (a shutdown), which counts as no attempt at all. */
  post(url: string, body: string, headers: Record<string, string>, signal: AbortSignal): Promise<AttemptResult | undefined>;
  close(): Promise<void>;
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);
/** Enough of a refusal's body to say why in `lastError`, however much the receiver sends. */
const ERROR_BODY_BYTES = 256;

const causes = (err: unknown): { code?: unknown; message?: unknown }[] => {
  const chain: { code?: unknown; message?: unknown }[] = [];
  for (let e = err; e && typeof e === 'object' && chain.length < 5; e = (e as { cause?: unknown }).cause) chain.push(e as never);
  return chain;
};

const readSome = async (body: AsyncIterable<Buffer> & { destroy(): void }) => {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= ERROR_BODY_BYTES) break;
  }
  body.destroy();
  return Buffer.concat(chunks).toString('utf8', 0, ERROR_BODY_BYTES);
};

/**
 * Deliveries go through an Agent whose connector is the SSRF guard (WEBHOOK_ALLOW_HOSTS), so the address dialled
 * is the one checked at each attempt, after DNS; no proxy, no redirects (a 3xx is a failed attempt).
 */
export const createWebhookTransport = ({ guard, timeoutMs }: { guard: SsrfGuard; timeoutMs: number }): WebhookTransport => {
  const agent = new Agent({ connect: guard.connector({ timeout: timeoutMs }), headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  return {
    async post(url, body, headers, signal) {
      const deadline = AbortSignal.timeout(timeoutMs);
      try {
        const res = await request(url, {
          method: 'POST',
          dispatcher: agent,
          headers,
          body,
          signal: AbortSignal.any([signal, deadline]),
        });
        if (res.statusCode >= 200 && res.statusCode < 300) {
          await res.body.dump();
          return { outcome: 'delivered', status: res.statusCode, message: `HTTP ${res.statusCode}` };
        }
        const text = await readSome(res.body).catch(() => '');
        return { outcome: 'failed_status', status: res.statusCode, message: `HTTP ${res.statusCode}${text ? `: ${text}` : ''}` };
      } catch (err) {
        if (signal.aborted) return undefined;
        const chain = causes(err);
        if (chain.some((e) => e.code === 'blocked_url')) {
          const refusal = chain.find((e) => e.code === 'blocked_url');
          return { outcome: 'refused_ssrf', message: String(refusal?.message ?? 'refused by the SSRF guard') };
        }
        if (deadline.aborted || chain.some((e) => TIMEOUT_CODES.has(String(e.code)))) {
          return { outcome: 'timeout', message: `no answer within ${timeoutMs} ms` };
        }
        const detail = chain.map((e) => e.code ?? e.message).find((x) => x) ?? 'failed';
        return { outcome: 'connection_error', message: `connection failed: ${String(detail)}` };
      }
    },
    close: () => agent.close(),
  };
};
