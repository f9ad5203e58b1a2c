import { isIP } from 'node:net';
import { HashsendError, invalidRequest } from '../errors.js';
import type { SsrfGuard } from '../media/ssrf.js';

const refused = (url: string, message: string, details: Record<string, unknown> = {}) =>
  new HashsendError('webhook_url_refused', 400, message, { url, ...details });

/**
 * A webhook URL as the endpoint is created or changed: http(s), no credentials (they would be shown back in every
 * answer), and a host that resolves to addresses the SSRF guard lets through (private, loopback and link-local
 * only when listed in WEBHOOK_ALLOW_HOSTS). Each delivery checks the resolved address again when it connects.
 */
export const checkWebhookUrl = async (
  guard: SsrfGuard,
  url: string,
  /** A name that does not resolve now is taken (a surface that stores what it is given); a blocked address never. */
  { allowUnresolved = false }: { allowUnresolved?: boolean } = {},
): Promise<string> => {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalidRequest(`not a URL: ${JSON.stringify(url.slice(0, 200))}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw invalidRequest(`a webhook URL is http or https, got ${parsed.protocol}`);
  }
  if (parsed.username || parsed.password) {
    throw invalidRequest('a webhook URL may not carry a user name or password: verify the signature instead');
  }
  try {
    await guard.resolve(parsed.hostname);
  } catch (err) {
    if (err instanceof HashsendError && err.code === 'blocked_url') throw refused(parsed.href, err.message, err.details);
    if (allowUnresolved) return parsed.href;
    const host = parsed.hostname;
    throw refused(parsed.href, `${host} cannot be resolved${isIP(host) ? '' : ' (DNS)'}: no delivery could reach it`, { host });
  }
  return parsed.href;
};
