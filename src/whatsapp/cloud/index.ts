import { HashsendError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { MediaLimits } from '../../media/inspect.js';
import type { Store } from '../../store/index.js';
import type { BackoffOptions } from '../../lib/backoff.js';
import type { Driver, DriverCapabilities } from '../driver.js';
import { MediaIdCache } from './media-ids.js';
import { cloudOptionsSpec, type CloudOptions } from './options.js';
import { CloudSession, linkModeProblem } from './session.js';

export type { CloudOptions } from './options.js';

/** What Meta's Cloud API offers a business number: no linking (the options are the link), templates, Meta's own ids. */
export const CLOUD_CAPABILITIES: DriverCapabilities = {
  linking: [],
  content: ['text', 'media', 'contact', 'location', 'template'],
  mediaAs: ['image', 'video', 'audio', 'voice', 'document', 'sticker'],
  mentions: false,
  viewOnce: false,
  quoting: true,
  ownMessageIds: true,
  inboundHttp: true,
  onWhatsApp: false,
  presence: false,
};

export interface CloudDriverOptions {
  log: Logger;
  /** Where `phoneNumberId:sha256 → media id` is kept (a Keyv namespace). */
  store: Store;
  /** @default 'https://graph.facebook.com' */
  graphUrl?: string;
  /** @default 'v23.0' */
  apiVersion?: string;
  /** hashsend's public address, which Meta fetches `link` mode media from. */
  publicUrl?: string;
  /** Whether `/m/<sha256>.<ext>` is served without a key (PUBLIC_MEDIA). */
  publicMedia: boolean;
  /** Meta's size limits per kind, checked before an upload (the media core's table). */
  limits: MediaLimits;
  /** How long an uploaded media id is used (Meta keeps uploads 30 days). @default 29 days */
  mediaIdTtlMs?: number;
  /** Every Graph API call, its body included. @default 30000 */
  timeoutMs?: number;
  /** Token-check retries while Meta cannot be reached. */
  backoff?: BackoffOptions;
}

/** The `cloud` driver: business numbers on Meta's WhatsApp Cloud API, media uploaded once per content and sent by id. */
export const createCloudDriver = ({
  log,
  store,
  graphUrl = 'https://graph.facebook.com',
  apiVersion = 'v23.0',
  publicUrl,
  publicMedia,
  limits,
  mediaIdTtlMs = 29 * 24 * 3600_000,
  timeoutMs = 30_000,
  backoff,
}: CloudDriverOptions): Driver<CloudOptions> => {
  const mediaIds = new MediaIdCache({ store, ttlMs: mediaIdTtlMs });
  const settings = { graphUrl, apiVersion, timeoutMs, limits, mediaIds, publicUrl, publicMedia, backoff };
  return {
    name: 'cloud',
    capabilities: CLOUD_CAPABILITIES,
    // Link mode is refused when a session is created or changed, not first when a message fails.
    options: cloudOptionsSpec((options) => {
      const problem = options.mediaMode === 'link' ? linkModeProblem(settings) : undefined;
      if (problem) throw new HashsendError('public_media_required', 422, problem, { mediaMode: 'link' });
    }),
    open(options) {
      log.debug({ sessionId: options.sessionId }, 'opening a Cloud API session');
      return new CloudSession(options, settings);
    },
  };
};
