import { HashsendError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { MediaLimits } from '../../media/inspect.js';
import { mediaUrl } from '../../media/content-urls.js';
import { backoffDelay, type BackoffOptions } from '../../lib/backoff.js';
import { unsupportedByDriver } from '../capabilities.js';
import type {
  DriverEvent,
  DriverSession,
  DriverSessionOptions,
  InboundHttpRequest,
  SendRequest,
  SentRef,
  SessionState,
} from '../driver.js';
import { GraphError, createGraphClient, type GraphClient, type GraphFault } from './graph-client.js';
import { inboundOf, InboundSkipped, messagesOf } from './inbound.js';
import type { MediaIdCache, MediaIdEntry } from './media-ids.js';
import { uploadBlob } from './media-upload.js';
import { TOKEN_EXPIRED, mapGraphFault } from './meta-errors.js';
import type { CloudOptions } from './options.js';
import { messageBody, type ResolveMedia } from './payload.js';
import { ReceiptGate } from './receipt-gate.js';
import { answerHandshake, changesFor, receiptsOf, verifiedNotification } from './webhook.js';

export interface CloudSettings {
  graphUrl: string;
  apiVersion: string;
  timeoutMs: number;
  limits: MediaLimits;
  mediaIds: MediaIdCache;
  /** hashsend's public address, for `link` mode's `/m/<sha256>.<ext>` URLs. */
  publicUrl?: string;
  publicMedia: boolean;
  backoff?: BackoffOptions;
}

/** Why link mode cannot work with this server's settings, or undefined when it can. */
export const linkModeProblem = ({ publicUrl, publicMedia }: Pick<CloudSettings, 'publicUrl' | 'publicMedia'>) =>
  !publicMedia || !publicUrl
    ? `mediaMode "link" needs PUBLIC_MEDIA=true and PUBLIC_URL (the address Meta fetches /m/<sha256>.<ext> from); this server has ${[
        !publicMedia && 'PUBLIC_MEDIA off',
        !publicUrl && 'no PUBLIC_URL',
      ]
        .filter(Boolean)
        .join(' and ')}`
    : undefined;

/** A send refused because a media id Meta no longer knows was in it (an upload past its 30 days, or deleted). */
const mediaIdRefused = (fault: GraphFault) => fault.code === 131053 || (fault.code === 100 && fault.subcode === 33);
/** Worth trying the token check again later: Meta did not answer, or answered that it is busy. */
const transient = (fault: GraphFault) => fault.network || fault.httpStatus >= 500 || [4, 80007, 130429].includes(fault.code);
/** Sends whose media ids are remembered, so a later `failed` status for an expired id drops it from the cache. */
const RECENT_MEDIA_SENDS = 1000;

/** One business phone number on Meta's Cloud API: a token check for a connection, sends over the Graph API, Meta's webhooks. */
export class CloudSession implements DriverSession {
  private state: SessionState = 'stopped';
  private wanted = false;
  private attempt = 0;
  private retryTimer?: NodeJS.Timeout;
  private readonly graph: GraphClient;
  private readonly options: CloudOptions;
  private readonly log: Logger;
  private readonly gate: ReceiptGate<DriverEvent>;
  private readonly sentMedia = new Map<string, MediaIdEntry[]>();
  private inbound: Promise<void> = Promise.resolve();

  constructor(
    private readonly session: DriverSessionOptions<CloudOptions>,
    private readonly settings: CloudSettings,
  ) {
    if (!session.options) throw new Error('a cloud session needs its options');
    this.options = session.options;
    this.log = session.log;
    this.graph = createGraphClient({ ...settings, accessToken: this.options.accessToken });
    this.gate = new ReceiptGate((event) => this.emit(event));
  }

  async start(): Promise<void> {
    if (this.retryTimer || this.state === 'connected') return;
    this.wanted = true;
    this.attempt = 0;
    this.setState('starting');
    const problem = this.options.mediaMode === 'link' ? linkModeProblem(this.settings) : undefined;
    if (problem) this.log.warn(`media sends will be refused: ${problem}`);
    await this.checkToken();
  }

  async send(request: SendRequest): Promise<SentRef> {
    if (this.state !== 'connected') {
      throw new HashsendError('session_not_connected', 503, `the session is ${this.state}, not connected`, { state: this.state });
    }
    const done = this.gate.begin();
    try {
      const ref = await this.post(request, true);
      done(ref.waMessageId);
      return ref;
    } catch (err) {
      done();
      throw err;
    }
  }

  async requestPairingCode(): Promise<string> {
    throw unsupportedByDriver('cloud', 'link by pairing code: a Cloud API session is linked by its options');
  }

  /** Nothing to undo on Meta's side: the number stays registered, and the token is the operator's to revoke. */
  async logout(): Promise<void> {
    await this.stop();
  }

  async stop(): Promise<void> {
    this.wanted = false;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.state = 'stopped';
  }

  async handleHttp(request: InboundHttpRequest) {
    if (request.method === 'GET') return answerHandshake(request, this.options.verifyToken);
    const notification = verifiedNotification(request, this.options.appSecret);
    for (const value of changesFor(notification, this.options.phoneNumberId)) {
      for (const receipt of receiptsOf(value, this.session.sessionId)) {
        if (receipt.status === 'failed' && receipt.error?.code === 'media_upload_failed') await this.forgetMediaOf(receipt.waMessageId);
        this.gate.pass(receipt.waMessageId, receipt);
      }
      // Read after the answer, one after another: Meta wants its 200 at once, and the order of messages is kept.
      for (const m of messagesOf(value)) this.inbound = this.inbound.then(() => this.readInbound(value, m));
    }
    return { status: 200 };
  }

  private async readInbound(value: Record<string, unknown>, m: Record<string, unknown>) {
    try {
      const message = await inboundOf(
        {
          graph: this.graph,
          blobs: this.session.blobs,
          phoneNumberId: this.options.phoneNumberId,
          maxBytes: this.settings.limits.document,
        },
        value,
        m,
      );
      if (message) this.emit({ type: 'inbound', message });
    } catch (err) {
      const reason = err instanceof GraphError ? mapGraphFault(err.fault, this.session.sessionId).message : (err as Error).message;
      // As for Baileys: nothing is stored or reported for media that is not what Meta declared, or did not arrive.
      this.log.warn({ waMessageId: m.id, skipped: err instanceof InboundSkipped, reason }, 'inbound message dropped');
    }
  }

  /** One send; a media id Meta refuses that came from the cache is forgotten, uploaded again, and the send tried once more. */
  private async post(request: SendRequest, mayRetry: boolean): Promise<SentRef> {
    const reused: MediaIdEntry[] = [];
    const used: MediaIdEntry[] = [];
    const { body, sha256 } = await messageBody(request, this.resolver(used, reused)).catch((err: unknown) => this.fail(err));
    try {
      const answer = await this.graph.post<{ messages?: { id?: unknown }[] }>(`${this.options.phoneNumberId}/messages`, body);
      const waMessageId = answer.messages?.[0]?.id;
      if (typeof waMessageId !== 'string')
        throw new GraphError({ code: 0, message: 'Meta answered no message id', httpStatus: 200, network: false });
      this.rememberMedia(waMessageId, used);
      return { waMessageId, ...(sha256 ? { sentSha256: sha256 } : {}) };
    } catch (err) {
      if (mayRetry && reused.length && err instanceof GraphError && mediaIdRefused(err.fault)) {
        this.log.info(
          { messageId: request.messageId, mediaIds: reused.map((e) => e.mediaId) },
          'Meta refused a cached media id; uploading again',
        );
        await Promise.all(reused.map((e) => this.settings.mediaIds.invalidate(this.options.phoneNumberId, e.sha256, e.mediaId)));
        return this.post(request, false);
      }
      return this.fail(err);
    }
  }

  private resolver(used: MediaIdEntry[], reused: MediaIdEntry[]): ResolveMedia {
    const { phoneNumberId, mediaMode } = this.options;
    return async (media) => {
      if (mediaMode === 'link') {
        const problem = linkModeProblem(this.settings);
        if (problem) throw new HashsendError('public_media_required', 422, problem);
        return { ref: { link: mediaUrl(this.settings.publicUrl as string, media.sha256, media.mimetype, true) }, sha256: media.sha256 };
      }
      const { entry, reused: fromCache } = await this.settings.mediaIds.get(phoneNumberId, media.sha256, () =>
        uploadBlob({ graph: this.graph, blobs: this.session.blobs, limits: this.settings.limits, phoneNumberId }, media),
      );
      used.push(entry);
      if (fromCache) reused.push(entry);
      return { ref: { id: entry.mediaId }, sha256: entry.sha256 };
    };
  }

  private rememberMedia(waMessageId: string, used: MediaIdEntry[]) {
    if (!used.length) return;
    this.sentMedia.set(waMessageId, used);
    if (this.sentMedia.size > RECENT_MEDIA_SENDS) this.sentMedia.delete(this.sentMedia.keys().next().value as string);
  }

  /** Meta accepted a message, then could not use its media: the id is not trusted for the next send (forgotten before the receipt is seen). */
  private async forgetMediaOf(waMessageId: string) {
    const entries = this.sentMedia.get(waMessageId) ?? [];
    await Promise.all(entries.map((e) => this.settings.mediaIds.invalidate(this.options.phoneNumberId, e.sha256, e.mediaId))).catch(
      (err: unknown) => this.log.error({ err }, 'a refused media id could not be forgotten'),
    );
  }

  /** A GraphError as the caller's error; an expired token also takes the session to needs_relink. */
  private fail(err: unknown): never {
    if (!(err instanceof GraphError)) throw err;
    if (err.fault.code === 190) this.needsRelink(err.fault);
    throw mapGraphFault(err.fault, this.session.sessionId);
  }

  private async checkToken() {
    try {
      const me = await this.graph.get<{ display_phone_number?: unknown; verified_name?: unknown }>(
        `${this.options.phoneNumberId}?fields=display_phone_number,verified_name`,
      );
      if (!this.wanted) return;
      this.attempt = 0;
      const digits = typeof me.display_phone_number === 'string' ? me.display_phone_number.replace(/\D/g, '') : '';
      const name = typeof me.verified_name === 'string' ? me.verified_name : undefined;
      if (digits) this.emit({ type: 'me', id: `${digits}@s.whatsapp.net`, ...(name ? { name } : {}) });
      this.setState('connected');
    } catch (err) {
      if (!(err instanceof GraphError)) throw err;
      if (!this.wanted) return;
      if (transient(err.fault)) return this.retryLater(err.fault);
      if (err.fault.code === 190) return this.needsRelink(err.fault);
      this.wanted = false;
      this.setState('needs_relink', {
        reason: `Meta refused phone number id ${this.options.phoneNumberId} with this token: check phoneNumberId and the token's permissions, then PATCH /api/sessions/${this.session.sessionId} (Meta: ${err.fault.message})`,
        code: err.fault.code,
      });
    }
  }

  private retryLater(fault: GraphFault) {
    this.attempt += 1;
    const delayMs = backoffDelay(this.attempt, this.settings.backoff);
    this.log.warn({ attempt: this.attempt, delayMs, reason: fault.message }, 'the Graph API did not answer the token check; retrying');
    this.setState('reconnecting', { reason: fault.message, ...(fault.code ? { code: fault.code } : {}) });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.wanted) void this.checkToken().catch((err: unknown) => this.log.error({ err }, 'the token check failed'));
    }, delayMs);
  }

  private needsRelink(fault: GraphFault) {
    this.wanted = false;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.setState('needs_relink', {
      reason: `${TOKEN_EXPIRED.say.replace('<id>', this.session.sessionId)} (Meta: ${fault.message})`,
      code: 190,
    });
  }

  private setState(state: SessionState, extra: { reason?: string; code?: number } = {}) {
    this.state = state;
    this.emit({ type: 'state', state, ...extra });
  }

  private emit(event: DriverEvent) {
    try {
      this.session.onEvent(event);
    } catch (err) {
      this.log.error({ err, event: event.type }, 'a session event listener threw');
    }
  }
}
