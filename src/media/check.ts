import { rm } from 'node:fs/promises';
import type { Config } from '../config.js';
import { isHashsendError } from '../errors.js';
import type { Logger } from '../log.js';
import type { BlobStore } from './blobs.js';
import { createFetcher, type Fetcher } from './fetcher.js';
import { inspectFile, maxBytesFor } from './inspect.js';
import { normaliseSha256 } from './sha256.js';
import type { FetchAttempt, MediaKind, MediaSource } from './types.js';

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'info';

export interface CheckItem {
  check: string;
  status: CheckStatus;
  detail: string;
}

export interface CheckReport {
  url: string;
  /** True when hashsend would send this URL's media now: fresh, verified, within its kind's limit. */
  wouldSend: boolean;
  items: CheckItem[];
  sha256?: string;
  mimetype?: string;
  declaredMimetype?: string;
  kind?: MediaKind;
  size?: number;
  limit?: number;
  error?: { code: string; message: string };
  attempts: FetchAttempt[];
}

export interface MediaChecker {
  check(url: string, options?: { sha256?: string }): Promise<CheckReport>;
  format(report: CheckReport): string;
}

export interface CheckerDeps {
  config: Config;
  log: Logger;
  /** The server's own; the CLI makes one. */
  fetcher?: Fetcher;
  /** Where temp files go; the CLI uses the OS temp dir. */
  tempPath?: BlobStore['tempPath'];
}

/** A version in the query string is one that caches keyed on the path alone ignore. */
const QUERY_VERSION = /[?&](v|ver|version|rev|hash|t|ts|cb|_)=/i;
const PATH_VERSION = /[./_-][0-9a-f]{8,64}[./_-]|\/v\d+\//i;

/** The seed article's troubleshooting checklist, run against a URL: what `hashsend check` prints. */
export const createChecker = ({
  config,
  log,
  fetcher = createFetcher({ media: config.media, proxy: config.proxy, log }),
  tempPath,
}: CheckerDeps): MediaChecker => {
  const limits = config.media.maxBytes;
  const newTemp =
    tempPath ??
    (() => `${process.env.TMPDIR ?? '/tmp'}/hashsend-check-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`);

  /** One fetch, reporting failure as data rather than throwing: a refused URL is a finding, not a crash. */
  const attempt = async (url: string, expectedSha256?: string) => {
    const tmpPath = newTemp();
    try {
      const result = await fetcher.fetchFresh(url, {
        expectedSha256,
        tmpPath,
        maxBytesFor: (head, declared) => maxBytesFor(head, declared, limits),
      });
      return { result, tmpPath };
    } catch (err) {
      if (!isHashsendError(err)) throw err;
      return { error: err, tmpPath, attempts: (err.details?.attempts as FetchAttempt[] | undefined) ?? [] };
    }
  };

  return {
    async check(url, { sha256 } = {}) {
      const pinned = sha256 === undefined ? undefined : normaliseSha256(sha256);
      const items: CheckItem[] = [];
      const add = (check: string, status: CheckStatus, detail: string) => items.push({ check, status, detail });
      const report: CheckReport = { url, wouldSend: false, items, attempts: [] };
      const first = await attempt(url, pinned);
      try {
        if (first.error) {
          report.error = { code: first.error.code, message: first.error.message };
          report.attempts = first.attempts ?? [];
          add('fetch', 'fail', `${first.error.code}: ${first.error.message}`);
        } else {
          const { result } = first;
          report.attempts = result.source.attempts;
          Object.assign(report, { sha256: result.sha256, size: result.size, declaredMimetype: result.declaredMimetype });
          const requests = result.source.attempts.length;
          const kept = result.source.attempts.find((a) => a.strategy === result.source.obtainedBy);
          add('fetch', 'ok', `HTTP ${kept?.status} after ${requests} request${requests === 1 ? '' : 's'}`);
          try {
            const found = await inspectFile(first.tmpPath, { declaredMimetype: result.declaredMimetype, limits });
            const limit = found.kind === 'sticker' && found.animated ? limits.animatedSticker : limits[found.kind];
            Object.assign(report, { mimetype: found.mimetype, kind: found.kind, limit });
            const declared = result.declaredMimetype?.split(';')[0].trim();
            add(
              'content type',
              declared === found.mimetype ? 'ok' : 'warn',
              declared === found.mimetype
                ? found.mimetype
                : `declared ${declared ?? '(none)'}, the bytes are ${found.mimetype}: hashsend goes by the bytes; clients that trust the header may refuse it`,
            );
            add(
              'size',
              'ok',
              `${humanBytes(result.size)}${result.size >= 1024 ? ` (${result.size} bytes)` : ''}, within the ${found.kind} limit of ${humanBytes(limit)}`,
            );
            if (found.needsConversion) add('format', 'info', `${found.mimetype} is converted to JPEG before sending`);
          } catch (err) {
            if (!isHashsendError(err)) throw err;
            report.error = { code: err.code, message: err.message };
            add(err.code === 'too_large' ? 'size' : 'content type', 'fail', `${err.code}: ${err.message}`);
          }
          add('freshness', ...describeFreshness(result.source));
          if (pinned) add('sha256', 'ok', `matches the pinned ${pinned}`);
        }
        const plain = report.attempts[0];
        if (plain) {
          add(
            'cache-control',
            plain.cacheControl ? 'info' : 'warn',
            plain.cacheControl ?? 'none sent: caches decide for themselves how long to keep the file',
          );
          add('cache signals', plain.cacheVerdict === 'hit' ? 'warn' : 'ok', describeSignals(plain));
          add('validators', ...describeValidators(plain));
          add(
            'ranges',
            plain.acceptRanges === 'bytes' ? 'ok' : 'warn',
            plain.acceptRanges === 'bytes' ? 'Accept-Ranges: bytes' : 'no Accept-Ranges: bytes; large files cannot be resumed',
          );
        }
        const busted =
          report.attempts.find((a) => a.strategy === 'cache-busted') ?? (await probeBusted(url, config.media.cacheBustParam, attempt));
        if (busted) add('cache busting', ...describeBusting(busted));
        if (QUERY_VERSION.test(url))
          add('versioning', 'warn', 'the version is in the query string, which some CDNs ignore; put it in the path (banner.3f9a1c2e.jpg)');
        else if (PATH_VERSION.test(new URL(url).pathname)) add('versioning', 'ok', 'the path carries a version');
        else add('versioning', 'info', 'the path has no version: a replaced file keeps its URL, so caches may serve the old one');
        if (report.sha256) add('sha256', 'info', report.sha256);
        report.wouldSend = !items.some((i) => i.status === 'fail');
        return report;
      } finally {
        await rm(first.tmpPath, { force: true });
      }
    },
    format,
  };
};

/** Asks for the URL made unique, only to see whether such a request reaches the origin. */
const probeBusted = async (
  url: string,
  cacheBustParam: string,
  attempt: (url: string) => Promise<{ result?: { source: { attempts: FetchAttempt[] } }; attempts?: FetchAttempt[]; tmpPath: string }>,
): Promise<FetchAttempt | undefined> => {
  let busted: URL;
  try {
    busted = new URL(url);
  } catch {
    return undefined;
  }
  busted.searchParams.set(cacheBustParam, `check${Date.now().toString(36)}`);
  const probe = await attempt(busted.href);
  await rm(probe.tmpPath, { force: true });
  return (probe.result?.source.attempts ?? probe.attempts ?? [])[0];
};

type Finding = [CheckStatus, string];

/** What `source.freshness` means for this URL, and whether it is worth a warning. */
const describeFreshness = (source: MediaSource): Finding => {
  const why = source.reason ? `: ${source.reason}` : '';
  if (source.freshness === 'unverified') {
    return [
      'warn',
      `unverified${why}. A cache that says nothing and ignores query strings would go unseen: pin a sha256 or version the path`,
    ];
  }
  if (source.obtainedBy !== 'plain') return ['warn', `a cache held an older copy; fresh bytes were reached ${source.obtainedBy}${why}`];
  return ['ok', `${source.freshness}${why}`];
};

const VERDICTS = { hit: 'answered by a cache', miss: 'from the origin', unknown: 'no cache signal' } as const;

const describeSignals = (a: FetchAttempt) => {
  const describe = (verdict: FetchAttempt['cacheVerdict'], cacheSignals: Record<string, string>) => {
    const signals = Object.entries(cacheSignals).map(([k, v]) => `${k}: ${v}`);
    return signals.length ? `${VERDICTS[verdict]} (${signals.join('; ')})` : VERDICTS[verdict];
  };
  if (!a.hops) return describe(a.cacheVerdict, a.cacheSignals);
  // A redirect chain: each hop's own verdict, since a cached redirect leads to an old target.
  return a.hops.map((h) => `${h.status} ${describe(h.cacheVerdict, h.cacheSignals)}`).join(' → ');
};

/** Only a strong ETag lets an interrupted download resume; without one it starts again from zero. */
const describeValidators = (a: FetchAttempt): Finding => {
  const both = `ETag ${a.etag ?? '-'}, Last-Modified ${a.lastModified ?? '-'}`;
  if (a.etag && !a.etag.startsWith('W/')) return ['ok', both];
  if (a.etag || a.lastModified) return ['info', `${both}: no strong ETag, so an interrupted download starts again from zero`];
  return [
    'warn',
    'no ETag or Last-Modified: an unchanged file cannot be confirmed with a bodiless 304, and an interrupted download starts again from zero',
  ];
};

const describeBusting = (busted: FetchAttempt): Finding => {
  if (busted.cacheVerdict === 'hit') {
    return [
      'fail',
      'a request with a unique query string was still answered from a cache: it keys on the path alone; version the path instead',
    ];
  }
  if (busted.error) {
    return [
      'warn',
      `a request with a unique query string was refused (${busted.status ?? busted.error}), as signed links do: whether a cache holds an old copy cannot be checked`,
    ];
  }
  return ['ok', 'a request with a unique query string reaches the origin'];
};

/** 5242880 → `5 MB`: limits and sizes as a person reads them (powers of 1024, as the limits are set). */
const humanBytes = (n: number): string => {
  const units = ['bytes', 'KB', 'MB', 'GB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} bytes` : `${Number(value.toFixed(value < 10 ? 1 : 0))} ${units[unit]}`;
};

const MARK: Record<CheckStatus, string> = { ok: 'ok', warn: 'WARN', fail: 'FAIL', info: 'info' };
/** Wide enough for a URL and a sentence, narrow enough for a terminal beside an editor. */
const LINE_WIDTH = 100;

/** Word-wraps `text` into lines of at most `width` (a word longer than that, like a URL, keeps its line). */
const wrap = (text: string, width: number): string[] => {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line];
};

/** The report as a table: one row per check, its mark first so a failure stands out; the verdict last. */
const format = (report: CheckReport): string => {
  const width = Math.max(...report.items.map((i) => i.check.length));
  const indent = 4 + 2 + width + 2;
  const rows = report.items.map((i) => {
    const [first, ...rest] = wrap(i.detail, Math.max(40, LINE_WIDTH - indent));
    return [`${MARK[i.status].padEnd(4)}  ${i.check.padEnd(width)}  ${first}`, ...rest.map((l) => `${' '.repeat(indent)}${l}`)].join('\n');
  });
  const warnings = report.items.filter((i) => i.status === 'warn').length;
  const what = report.mimetype && report.size !== undefined ? `: ${report.kind} (${report.mimetype}, ${humanBytes(report.size)})` : '';
  const verdict = report.wouldSend
    ? `would send${what}${warnings ? `, with ${warnings} warning${warnings === 1 ? '' : 's'} above` : ''}`
    : `would NOT send${report.error ? `: ${report.error.code}` : ''}`;
  return `${report.url}\n\n${rows.join('\n')}\n\n${verdict}\n`;
};
