import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/** Paths that may hold a secret anywhere in a log line; pino replaces their values. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'apiKey',
  '*.apiKey',
  'creds',
  '*.creds',
  'token',
  '*.token',
  'password',
  '*.password',
  'secret',
  '*.secret',
  // A Cloud API session's options.
  'accessToken',
  '*.accessToken',
  '*.*.accessToken',
  'appSecret',
  '*.appSecret',
  '*.*.appSecret',
  '*.noiseKey',
  '*.signedIdentityKey',
  '*.privKey',
];

export const createLogger = (level: string, destination?: DestinationStream): Logger =>
  pino({ level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, destination);
