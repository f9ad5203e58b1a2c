import { rootCertificates } from 'node:tls';
import { Agent, ProxyAgent, type Dispatcher } from 'undici';
import type { Config } from '../config.js';
import type { SsrfGuard } from './ssrf.js';

/** Where one request goes: straight to the origin, or through the configured forward proxy. */
export interface Route {
  dispatcher: Dispatcher;
  /** `direct`, or the proxy's URL (credentials removed), as FetchAttempt.via reports it. */
  via: string;
}

export interface Router {
  route(url: URL, opts?: { bypassProxy?: boolean }): Route;
  close(): Promise<void>;
}

export interface RouterOptions {
  proxy: Config['proxy'];
  guard: SsrfGuard;
  connectTimeoutMs: number;
  /** Extra trusted CA certificates for https origins (a private CA); the system's are used besides. */
  ca?: string | Buffer;
}

/**
 * Direct requests go through an Agent whose connector is the SSRF guard, so the address that is dialled is
 * the one that was checked. Proxied requests are checked before they leave (the proxy resolves the name).
 * For http:// targets the proxy gets absolute-form requests (`GET http://host/path`), which is how a forward
 * proxy's cache is met; undici's default CONNECT tunnel would pass that cache by unseen. https:// targets
 * can only go through a CONNECT tunnel.
 */
export const createRouter = ({ proxy, guard, connectTimeoutMs, ca }: RouterOptions): Router => {
  const tls = ca === undefined ? {} : { ca: [...rootCertificates, ca] };
  const direct = new Agent({ connect: guard.connector({ timeout: connectTimeoutMs, ...tls }) });
  const proxies = new Map<string, ProxyAgent>();
  const proxyAgent = (uri: string) => {
    let agent = proxies.get(uri);
    if (!agent) {
      agent = new ProxyAgent({
        uri,
        proxyTunnel: false,
        proxyTls: { timeout: connectTimeoutMs },
        requestTls: { timeout: connectTimeoutMs, ...tls },
      });
      proxies.set(uri, agent);
    }
    return agent;
  };
  const noProxy = parseNoProxy(proxy.noProxy);

  const route = (url: URL, { bypassProxy = false } = {}): Route => {
    const uri = url.protocol === 'https:' ? (proxy.https ?? proxy.http) : proxy.http;
    if (bypassProxy || !uri || noProxy(url)) return { dispatcher: direct, via: 'direct' };
    return { dispatcher: proxyAgent(uri), via: redact(uri) };
  };

  // Idempotent: the composition root and a test may both close it.
  let closing: Promise<void> | undefined;
  const close = () => (closing ??= Promise.all([direct.close(), ...[...proxies.values()].map((a) => a.close())]).then(() => undefined));

  return { route, close };
};

const redact = (uri: string) => {
  const u = new URL(uri);
  u.username = '';
  u.password = '';
  return u.href.replace(/\/$/, '');
};

/**
 * NO_PROXY as curl reads it: `*` for every host; otherwise names (matching the name and its subdomains, a
 * leading dot or `*.` allowed), IP addresses, each with an optional `:port`.
 */
export const parseNoProxy = (value: string | undefined): ((url: URL) => boolean) => {
  const entries = (value ?? '')
    .split(/[\s,]+/)
    .map((e) => e.trim().toLowerCase())
    .filter(Boolean);
  if (entries.includes('*')) return () => true;
  const rules = entries.map((entry) => {
    const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(entry);
    const host = (m?.[1] ?? entry).replace(/^\*?\./, '').replace(/^\[|\]$/g, '');
    return { host, port: m?.[2] };
  });
  return (url) => {
    const hostname = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
    const port = url.port || (url.protocol === 'https:' ? '443' : '80');
    return rules.some((r) => (r.port === undefined || r.port === port) && (hostname === r.host || hostname.endsWith(`.${r.host}`)));
  };
};
