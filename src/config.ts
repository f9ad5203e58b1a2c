import path from 'node:path';
import { z } from 'zod';
import { config as loadDotenv } from 'dotenv';
import { DEFAULT_OPTOUT_KEYWORDS } from './optouts/keywords.js';
import { SealingKey } from './lib/sealed-value.js';

/** One setting: how it is parsed, what it expects in words (for the start-up error) and its default. */
const int = (def: number) =>
  z
    .string()
    .regex(/^\d+$/, 'a positive integer')
    .transform(Number)
    .refine((n) => n > 0, 'a positive integer')
    .default(def);
const bool = (def: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], 'true or false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes')
    .default(def);
const list = (def: string[] = []) =>
  z
    .string()
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .default(def);
const optional = () =>
  z
    .string()
    .transform((v) => v.trim() || undefined)
    .optional();

const MB = 1024 * 1024;

/** Every setting hashsend reads, by its environment name. `.env.example` documents each one. */
export const settingsSchema = z.object({
  PORT: int(3000).refine((n) => n < 65536, 'a port number below 65536'),
  HOST: z.string().default('0.0.0.0'),
  PUBLIC_URL: optional(),
  TRUST_PROXY: z.string().default('loopback'),
  API_KEY: optional(),
  DATA_DIR: z.string().default('./data'),
  BLOBS_DIR: optional(),
  SESSIONS_DIR: z.string().default('./sessions'),
  REDIS_URL: optional(),
  CLUSTER_LEASE_TTL_MS: int(10_000).refine((n) => n >= 1000, 'at least 1000 (milliseconds)'),
  CLUSTER_NODE_ID: optional(),
  CREDENTIALS_STORE: z.enum(['files', 'redis'], 'files or redis').default('files'),
  CREDENTIALS_KEY: optional().refine((v) => v === undefined || SealingKey.parse(v) !== undefined, '32 bytes as 64 hex digits or base64'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'a pino level (fatal, error, warn, info, debug, trace, silent)')
    .default('info'),
  SHUTDOWN_TIMEOUT_MS: int(10_000),
  HTTP_PROXY: optional(),
  HTTPS_PROXY: optional(),
  NO_PROXY: optional(),
  MEDIA_ALLOW_HOSTS: list(),
  MEDIA_MAX_IMAGE_BYTES: int(5 * MB),
  MEDIA_MAX_VIDEO_BYTES: int(16 * MB),
  MEDIA_MAX_AUDIO_BYTES: int(16 * MB),
  MEDIA_MAX_STICKER_BYTES: int(100 * 1024),
  MEDIA_MAX_ANIMATED_STICKER_BYTES: int(500 * 1024),
  MEDIA_MAX_DOCUMENT_BYTES: int(100 * MB),
  MEDIA_CONNECT_TIMEOUT_MS: int(10_000),
  MEDIA_HEADERS_TIMEOUT_MS: int(15_000),
  MEDIA_BODY_TIMEOUT_MS: int(30_000),
  MEDIA_FETCH_DEADLINE_MS: int(120_000),
  MEDIA_REQUIRE_VERIFIED: bool(false),
  MEDIA_MAX_REDIRECTS: z.string().regex(/^\d+$/, 'a whole number').transform(Number).default(5),
  MEDIA_CACHE_BUST_PARAM: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'a query parameter name')
    .default('_hsfresh'),
  MEDIA_BYPASS_PROXY: bool(true),
  PUBLIC_MEDIA: bool(false),
  DEFAULT_DRIVER: z.enum(['baileys', 'sandbox'], 'baileys or sandbox').default('baileys'),
  QUEUE_MAX_AGE_MS: int(24 * 60 * 60 * 1000),
  QUEUE_RETRY_BASE_MS: int(1000),
  QUEUE_MAX_ATTEMPTS: int(8),
  UPLOAD_CACHE_TTL_MS: int(6 * 60 * 60 * 1000),
  WHATSAPP_WS_URL: optional(),
  WHATSAPP_MEDIA_CA_FILE: optional(),
  WHATSAPP_KEEPALIVE_MS: int(30_000),
  WHATSAPP_CONNECT_TIMEOUT_MS: int(20_000),
  WHATSAPP_ACK_TIMEOUT_MS: int(30_000),
  WHATSAPP_UPLOAD_TIMEOUT_MS: int(120_000),
  WHATSAPP_RECONNECT_BASE_MS: int(1000),
  WHATSAPP_RECONNECT_MAX_MS: int(60_000),
  CLOUD_GRAPH_URL: z.url({ protocol: /^https?$/, error: 'an http(s) URL' }).default('https://graph.facebook.com'),
  CLOUD_API_VERSION: z
    .string()
    .regex(/^v\d+\.\d+$/, 'a Graph API version such as v23.0')
    .default('v23.0'),
  CLOUD_MEDIA_ID_TTL_MS: int(29 * 24 * 60 * 60 * 1000),
  CLOUD_TIMEOUT_MS: int(30_000),
  AUTH_MAX_FAILURES: int(20),
  AUTH_FAILURE_WINDOW_MS: int(60_000),
  WASENDER_ACCESS_TOKENS: list(),
  OPTOUT_KEYWORDS: list(DEFAULT_OPTOUT_KEYWORDS),
  OPTOUT_CONFIRMATION: optional(),
  WEBHOOK_ALLOW_HOSTS: list(),
  WEBHOOK_CONCURRENCY: int(8),
  WEBHOOK_TIMEOUT_MS: int(10_000),
  WEBHOOK_RETRY_BASE_MS: int(1000),
  WEBHOOK_RETRY_MAX_MS: int(60 * 60 * 1000),
  WEBHOOK_RETRY_PERIOD_MS: int(24 * 60 * 60 * 1000),
  WEBHOOK_DISABLE_AFTER_MS: int(3 * 24 * 60 * 60 * 1000),
  WEBHOOK_SECRET_GRACE_MS: int(24 * 60 * 60 * 1000),
  WEBHOOK_KEEP_DELIVERED_MS: int(7 * 24 * 60 * 60 * 1000),
});

export type Settings = z.infer<typeof settingsSchema>;

/** The typed, frozen configuration every module receives from the composition root. */
export interface Config {
  port: number;
  host: string;
  publicUrl?: string;
  /** Express's `trust proxy`: which hops' X-Forwarded-For to believe for the client address (auth's rate limit). */
  trustProxy: boolean | number | string;
  apiKey?: string;
  dataDir: string;
  /** Content-addressed media blobs: DATA_DIR/blobs unless set; one volume every node mounts when there are several. */
  blobsDir: string;
  sessionsDir: string;
  redisUrl?: string;
  /** Several nodes on `redisUrl`: how long a session's lease outlives its owner, and this node's id in the cluster. */
  cluster: { leaseTtlMs: number; nodeId?: string };
  /**
   * Where sessions' credentials (and drivers' options) are kept: files in `sessionsDir` (a volume every node mounts,
   * for several nodes), or Redis, each value sealed with `key`, which JSON and logs show only by its id.
   */
  credentials: { store: Settings['CREDENTIALS_STORE']; key?: SealingKey };
  logLevel: Settings['LOG_LEVEL'];
  /** How long a SIGTERM/SIGINT may take to drain before the process exits anyway (the outbox survives a cut). */
  shutdownTimeoutMs: number;
  proxy: { http?: string; https?: string; noProxy?: string; bypassOnStale: boolean };
  media: {
    allowHosts: string[];
    maxBytes: {
      image: number;
      video: number;
      audio: number;
      sticker: number;
      animatedSticker: number;
      document: number;
    };
    connectTimeoutMs: number;
    headersTimeoutMs: number;
    bodyTimeoutMs: number;
    /** The most one fetch may take, all its requests together (a trickling origin never trips the idle timeouts). */
    fetchDeadlineMs: number;
    /** Refuse (`409 stale_media`) a copy that nothing could confirm current instead of taking it `unverified`. */
    requireVerified: boolean;
    maxRedirects: number;
    cacheBustParam: string;
    publicMedia: boolean;
  };
  whatsapp: {
    defaultDriver: Settings['DEFAULT_DRIVER'];
    queueMaxAgeMs: number;
    /** First delay before retrying a send that failed transiently; doubles per attempt. */
    queueRetryBaseMs: number;
    queueMaxAttempts: number;
    uploadCacheTtlMs: number;
    /** The Baileys driver's connection settings; production leaves the endpoint ones unset. */
    baileys: {
      /** WhatsApp Web's WebSocket URL instead of Baileys' own: a protocol simulator or a test deployment. */
      wsUrl?: string;
      /** PEM file of an extra CA trusted for media uploads and downloads (beside the system's roots). */
      mediaCaFile?: string;
      /** Ping interval; a socket silent for this plus Baileys' fixed 5 s counts as lost. */
      keepAliveIntervalMs: number;
      connectTimeoutMs: number;
      /** How long a relayed message may wait for WhatsApp's ack before the connection counts as dead. */
      ackTimeoutMs: number;
      mediaUploadTimeoutMs: number;
      backoff: { baseMs: number; maxMs: number };
    };
    /** The Cloud API driver (Meta's WhatsApp Business Platform). */
    cloud: {
      /** The Graph API's address; a test points it at a fake. */
      graphUrl: string;
      apiVersion: string;
      /** How long an uploaded media id is sent by before the content is uploaded again (Meta keeps uploads 30 days). */
      mediaIdTtlMs: number;
      /** Every Graph API call, its body included. */
      timeoutMs: number;
    };
  };
  auth: { maxFailures: number; failureWindowMs: number };
  /** Personal access tokens for `/wasender/api/whatsapp-sessions`, besides the API key. */
  wasender: { accessTokens: string[] };
  optOuts: {
    /** A direct message that is one of these, alone (case, accents, punctuation around it ignored), opts its sender out. */
    keywords: string[];
    /** The answer to a customer just opted out by keyword; absent: none. */
    confirmation?: string;
  };
  webhooks: {
    /** Private hosts, addresses and CIDRs webhook URLs may reach (loopback for a receiver on this machine). */
    allowHosts: string[];
    /** Attempts in flight per endpoint, at most. */
    concurrency: number;
    /** How long one attempt may take, connecting included. */
    timeoutMs: number;
    /** The first retry's ceiling (full jitter below it), doubling per attempt up to `retryMaxMs`. */
    retryBaseMs: number;
    retryMaxMs: number;
    /** How long after its first attempt a delivery is retried before it is dead. */
    retryPeriodMs: number;
    /** An endpoint whose every attempt failed for this long is disabled. */
    disableAfterMs: number;
    /** How long the secret before a rotation still signs beside the new one. */
    secretGraceMs: number;
    /** How long a delivered delivery is kept (listed, replayable) before it is removed. */
    keepDeliveredMs: number;
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}

/** Settings whose value a start-up error must not repeat. */
const SECRET_SETTINGS = new Set(['CREDENTIALS_KEY']);

/** Problems between settings, each fine alone. */
const combinationProblems = (s: Settings): string[] => [
  ...(s.CREDENTIALS_STORE === 'redis' && !s.REDIS_URL ? ['CREDENTIALS_STORE=redis needs REDIS_URL'] : []),
  ...(s.CREDENTIALS_STORE === 'redis' && !s.CREDENTIALS_KEY
    ? ['CREDENTIALS_STORE=redis needs CREDENTIALS_KEY (32 bytes as 64 hex digits or base64, e.g. from `openssl rand -hex 32`)']
    : []),
];

/** Parses settings (process.env after `.env` by default); throws ConfigError listing every bad one. */
export const loadConfig = (env: Record<string, string | undefined> = readEnv()): Config => {
  const parsed = settingsSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const key = String(issue.path[0]);
        const got = SECRET_SETTINGS.has(key) ? `a value of ${env[key]?.length ?? 0} characters (not shown)` : JSON.stringify(env[key]);
        return `${key} must be ${issue.message}, got ${got}`;
      }),
    );
  }
  const s = parsed.data;
  const problems = combinationProblems(s);
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({
    port: s.PORT,
    host: s.HOST,
    publicUrl: s.PUBLIC_URL,
    trustProxy:
      s.TRUST_PROXY === 'true'
        ? true
        : s.TRUST_PROXY === 'false'
          ? false
          : /^\d+$/.test(s.TRUST_PROXY)
            ? Number(s.TRUST_PROXY)
            : s.TRUST_PROXY,
    apiKey: s.API_KEY,
    dataDir: s.DATA_DIR,
    blobsDir: s.BLOBS_DIR ?? path.join(s.DATA_DIR, 'blobs'),
    sessionsDir: s.SESSIONS_DIR,
    redisUrl: s.REDIS_URL,
    cluster: { leaseTtlMs: s.CLUSTER_LEASE_TTL_MS, nodeId: s.CLUSTER_NODE_ID },
    credentials: { store: s.CREDENTIALS_STORE, key: s.CREDENTIALS_KEY ? SealingKey.parse(s.CREDENTIALS_KEY) : undefined },
    logLevel: s.LOG_LEVEL,
    shutdownTimeoutMs: s.SHUTDOWN_TIMEOUT_MS,
    proxy: { http: s.HTTP_PROXY, https: s.HTTPS_PROXY, noProxy: s.NO_PROXY, bypassOnStale: s.MEDIA_BYPASS_PROXY },
    media: {
      allowHosts: s.MEDIA_ALLOW_HOSTS,
      maxBytes: {
        image: s.MEDIA_MAX_IMAGE_BYTES,
        video: s.MEDIA_MAX_VIDEO_BYTES,
        audio: s.MEDIA_MAX_AUDIO_BYTES,
        sticker: s.MEDIA_MAX_STICKER_BYTES,
        animatedSticker: s.MEDIA_MAX_ANIMATED_STICKER_BYTES,
        document: s.MEDIA_MAX_DOCUMENT_BYTES,
      },
      connectTimeoutMs: s.MEDIA_CONNECT_TIMEOUT_MS,
      headersTimeoutMs: s.MEDIA_HEADERS_TIMEOUT_MS,
      bodyTimeoutMs: s.MEDIA_BODY_TIMEOUT_MS,
      fetchDeadlineMs: s.MEDIA_FETCH_DEADLINE_MS,
      requireVerified: s.MEDIA_REQUIRE_VERIFIED,
      maxRedirects: s.MEDIA_MAX_REDIRECTS,
      cacheBustParam: s.MEDIA_CACHE_BUST_PARAM,
      publicMedia: s.PUBLIC_MEDIA,
    },
    whatsapp: {
      defaultDriver: s.DEFAULT_DRIVER,
      queueMaxAgeMs: s.QUEUE_MAX_AGE_MS,
      queueRetryBaseMs: s.QUEUE_RETRY_BASE_MS,
      queueMaxAttempts: s.QUEUE_MAX_ATTEMPTS,
      uploadCacheTtlMs: s.UPLOAD_CACHE_TTL_MS,
      baileys: {
        wsUrl: s.WHATSAPP_WS_URL,
        mediaCaFile: s.WHATSAPP_MEDIA_CA_FILE,
        keepAliveIntervalMs: s.WHATSAPP_KEEPALIVE_MS,
        connectTimeoutMs: s.WHATSAPP_CONNECT_TIMEOUT_MS,
        ackTimeoutMs: s.WHATSAPP_ACK_TIMEOUT_MS,
        mediaUploadTimeoutMs: s.WHATSAPP_UPLOAD_TIMEOUT_MS,
        backoff: { baseMs: s.WHATSAPP_RECONNECT_BASE_MS, maxMs: s.WHATSAPP_RECONNECT_MAX_MS },
      },
      cloud: {
        graphUrl: s.CLOUD_GRAPH_URL,
        apiVersion: s.CLOUD_API_VERSION,
        mediaIdTtlMs: s.CLOUD_MEDIA_ID_TTL_MS,
        timeoutMs: s.CLOUD_TIMEOUT_MS,
      },
    },
    auth: { maxFailures: s.AUTH_MAX_FAILURES, failureWindowMs: s.AUTH_FAILURE_WINDOW_MS },
    wasender: { accessTokens: s.WASENDER_ACCESS_TOKENS },
    optOuts: { keywords: s.OPTOUT_KEYWORDS, confirmation: s.OPTOUT_CONFIRMATION },
    webhooks: {
      allowHosts: s.WEBHOOK_ALLOW_HOSTS,
      concurrency: s.WEBHOOK_CONCURRENCY,
      timeoutMs: s.WEBHOOK_TIMEOUT_MS,
      retryBaseMs: s.WEBHOOK_RETRY_BASE_MS,
      retryMaxMs: s.WEBHOOK_RETRY_MAX_MS,
      retryPeriodMs: s.WEBHOOK_RETRY_PERIOD_MS,
      disableAfterMs: s.WEBHOOK_DISABLE_AFTER_MS,
      secretGraceMs: s.WEBHOOK_SECRET_GRACE_MS,
      keepDeliveredMs: s.WEBHOOK_KEEP_DELIVERED_MS,
    },
  });
};

const readEnv = () => {
  loadDotenv({ quiet: true });
  // Lower-case proxy variables are what curl and most tools honour; accept them too.
  return {
    ...process.env,
    HTTP_PROXY: process.env.HTTP_PROXY ?? process.env.http_proxy,
    HTTPS_PROXY: process.env.HTTPS_PROXY ?? process.env.https_proxy,
    NO_PROXY: process.env.NO_PROXY ?? process.env.no_proxy,
  };
};
