import { rm } from 'node:fs/promises';
import { Router, type Request, type Response } from 'express';
import busboy from 'busboy';
import { z } from 'zod';
import { HashsendError, isHashsendError } from '../../errors.js';
import type { Config } from '../../config.js';
import type { BlobStore } from '../../media/blobs.js';
import type { MediaResolver } from '../../media/resolver.js';
import type { MediaChecker } from '../../media/check.js';
import { maxBytesFor } from '../../media/inspect.js';
import { normaliseSha256, SHA256_PATTERN } from '../../media/sha256.js';
import { writeHashed } from '../../media/write-hashed.js';
import type { UploadedFile } from '../../media/types.js';
import { byteRange } from '../byte-range.js';
import { parse } from '../validate.js';
import { checkReportSchema, MEDIA_RESOLUTION_ERRORS, mediaRecordSchema, mediaUrlRequestSchema } from '../media-schemas.js';
import { authErrors, errors, json, type DescribeRoutes } from '../openapi.js';

export interface MediaRouteDeps {
  resolver: MediaResolver;
  blobs: BlobStore;
  checker: MediaChecker;
  limits: Config['media']['maxBytes'];
}

/** The client went away mid-upload: nobody reads the answer, and it is no server fault worth an error log. */
const uploadAborted = () => new HashsendError('request_aborted', 400, 'the client closed the connection before the upload ended');

/** Streams the request (raw body or the first file of a multipart form) into a blob temp file, hashed. */
export const receiveUpload = async (
  req: Request,
  { blobs, limits }: MediaRouteDeps,
): Promise<UploadedFile & { expectedSha256?: string }> => {
  const headerSha = req.get('x-content-sha256');
  const tmpPath = blobs.tempPath();
  const cap = (head: Uint8Array, declared?: string) => maxBytesFor(head, declared, limits);
  if (!req.is('multipart/form-data')) {
    const declaredMimetype = req.get('content-type') || undefined;
    const written = await writeHashed(req, { tmpPath, declaredMimetype, maxBytesFor: cap }).catch((err: unknown) => {
      // A refusal of ours (too large) also leaves the body unread; only a broken stream is the client leaving.
      throw isHashsendError(err) || req.complete ? err : uploadAborted();
    });
    return { path: tmpPath, ...written, declaredMimetype, expectedSha256: headerSha };
  }
  let form: busboy.Busboy;
  try {
    form = busboy({ headers: req.headers, limits: { files: 1, fields: 10 } });
  } catch (err) {
    // busboy throws at once on a Content-Type it cannot read (no boundary, an empty one): the client's mistake.
    throw new HashsendError('invalid_request', 400, `malformed multipart Content-Type: ${(err as Error).message}`);
  }
  return new Promise((resolve, reject) => {
    const fields: Record<string, string> = {};
    let upload: Promise<UploadedFile> | undefined;
    let file: (NodeJS.ReadableStream & { destroy(error?: Error): void }) | undefined;
    // busboy is not told when the request is cut off: end the file stream, so the write fails and its temp file goes.
    req.once('close', () => {
      if (req.complete) return;
      req.unpipe(form);
      file?.destroy(uploadAborted());
      reject(uploadAborted());
    });
    form.on('field', (name, value) => (fields[name] = value));
    form.on('file', (_name, stream, info) => {
      file = stream;
      // Destroyed with an error when the client leaves, possibly before the write below reads it: that error is
      // answered through the write, never left unhandled.
      stream.once('error', () => undefined);
      const declaredMimetype = info.mimeType === 'application/octet-stream' ? undefined : info.mimeType;
      upload = writeHashed(stream, { tmpPath, declaredMimetype, maxBytesFor: cap }).then((written) => ({
        path: tmpPath,
        ...written,
        declaredMimetype,
        filename: info.filename,
      }));
      // A refused file (too large) ends the request now. Its stream was destroyed by the refusal, so busboy
      // would wait on it forever; the unread rest of the body is dropped with the connection.
      upload.catch((err: unknown) => {
        req.unpipe(form);
        reject(err);
      });
    });
    form.on('error', (err) => reject(new HashsendError('invalid_request', 400, `malformed multipart body: ${(err as Error).message}`)));
    form.on('close', () => {
      if (!upload) return reject(new HashsendError('invalid_request', 400, 'multipart body has no file part'));
      upload.then((file) => resolve({ ...file, expectedSha256: headerSha ?? fields.sha256 }), reject);
    });
    req.pipe(form);
  });
};

export const mediaRoutes = (deps: MediaRouteDeps) => {
  const { resolver, checker } = deps;
  const router = Router();

  router.post('/media', async (req, res) => {
    let resolved;
    if (req.is('application/json')) {
      const { url, sha256 } = parse(mediaUrlRequestSchema, req.body);
      resolved = await resolver.resolve({ url, sha256 });
    } else {
      const upload = await receiveUpload(req, deps).catch((err: unknown) => {
        // An upload refused mid-body (too large) leaves the rest unread on the socket: a client that reused the
        // connection would send its next request into that leftover and wait for a reset. Close it instead.
        if (!req.complete) res.setHeader('Connection', 'close');
        throw err;
      });
      try {
        if (upload.expectedSha256 !== undefined) {
          const expected = normaliseSha256(upload.expectedSha256);
          if (expected !== upload.sha256) {
            throw new HashsendError('hash_mismatch', 422, 'the uploaded bytes do not hash to the sha256 you gave', {
              expected,
              received: upload.sha256,
            });
          }
        }
      } catch (err) {
        // A malformed or wrong hash refuses the upload: its temp file goes with it.
        await rm(upload.path, { force: true });
        throw err;
      }
      resolved = await resolver.resolve({ upload });
    }
    res.status(resolved.created ? 201 : 200).json(resolved.record);
  });

  router.post('/media/check', async (req, res) => {
    const { url, sha256 } = parse(mediaUrlRequestSchema, req.body);
    res.json(await checker.check(url, { sha256 }));
  });

  router.get('/media/:sha256', async (req, res) => {
    const record = await resolver.get(req.params.sha256);
    if (!record) throw new HashsendError('media_not_found', 404, `no media with sha256 ${req.params.sha256}`);
    res.json(record);
  });

  router.get('/media/:sha256/content', async (req, res) => {
    await sendContent(req, res, req.params.sha256, deps);
  });

  router.delete('/media/:sha256', async (req, res) => {
    if (!(await resolver.remove(req.params.sha256)))
      throw new HashsendError('media_not_found', 404, `no media with sha256 ${req.params.sha256}`);
    res.status(204).end();
  });

  return router;
};

/** `/m/<sha256>.<ext>`: a content-addressed URL no cache can ever make stale, served without a key when enabled. */
export const publicMediaRoutes = (deps: MediaRouteDeps) =>
  Router().get('/m/:file', async (req, res) => {
    const sha256 = req.params.file.split('.')[0].toLowerCase();
    if (!SHA256_PATTERN.test(sha256)) throw new HashsendError('not_found', 404, 'no such media');
    await sendContent(req, res, sha256, deps);
  });

/** Types a browser would render as a document that runs script. */
const SCRIPTABLE = /html|xml|svg|javascript|ecmascript/i;

/**
 * The stored bytes of exactly `sha256` (never another blob under its name), verified as they stream. `Range` is
 * read per RFC 9110 (src/http/byte-range.ts), and only while `If-Range` names this content.
 */
export const sendContent = async (req: Request, res: Response, sha256: string, { resolver, blobs }: MediaRouteDeps) => {
  const record = await resolver.get(sha256);
  if (!record) throw new HashsendError('media_not_found', 404, `no media with sha256 ${sha256}`);
  const etag = `"${record.sha256}"`;
  const ifRange = req.get('if-range');
  const range = ifRange === undefined || ifRange === etag ? byteRange(req.get('range'), record.size) : { kind: 'full' as const };
  if (range.kind === 'unsatisfiable') {
    res.setHeader('Content-Range', `bytes */${record.size}`);
    throw new HashsendError('range_not_satisfiable', 416, `range is outside the ${record.size}-byte file`);
  }
  res.setHeader('ETag', etag);
  res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
  res.setHeader('Accept-Ranges', 'bytes');
  // Stored bytes are anyone's: served from the operator page's origin they must never run as a page there.
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Content-Security-Policy', "default-src 'none'; sandbox");
  if (record.kind === 'document') {
    res.setHeader('Content-Disposition', 'attachment');
    res.setHeader('Content-Type', SCRIPTABLE.test(record.mimetype) ? 'application/octet-stream' : record.mimetype);
  } else {
    res.setHeader('Content-Type', record.mimetype);
  }
  if (req.get('if-none-match') === etag) {
    res.status(304).end();
    return;
  }
  const part = range.kind === 'partial' ? { start: range.start, end: range.end } : undefined;
  if (part) {
    res.status(206).setHeader('Content-Range', `bytes ${part.start}-${part.end}/${record.size}`);
    res.setHeader('Content-Length', String(part.end - part.start + 1));
  } else {
    res.setHeader('Content-Length', String(record.size));
  }
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  // A blob that no longer matches its name errors mid-stream and is evicted: the connection is cut, not completed.
  // One small enough to fail before its first byte went out gets a proper error answer instead.
  const stream = blobs.createReadStream(record.sha256, part);
  await new Promise<void>((resolve, reject) => {
    res.on('close', () => {
      stream.destroy();
      resolve();
    });
    stream.on('error', (err) => {
      req.log.error({ err, sha256: record.sha256 }, 'blob failed verification while streaming; evicted');
      if (res.headersSent) return res.destroy(err);
      for (const header of ['ETag', 'Cache-Control', 'Accept-Ranges', 'Content-Type', 'Content-Length', 'Content-Range'])
        res.removeHeader(header);
      reject(err);
    });
    stream.pipe(res);
  });
};

const sha256Param = z.object({ sha256: z.string().meta({ description: 'sha256 of the media, 64 hex digits' }) });
const mediaNotFound = errors({ 404: ['media_not_found'] });

export const describeMediaRoutes: DescribeRoutes = (r) => {
  const tags = ['Media'];
  r.registerPath({
    method: 'post',
    path: '/api/media',
    tags,
    summary: 'Store media: fetch a URL fresh, or upload the bytes',
    description:
      'JSON `{ url, sha256? }` fetches the URL past caches and verifies a pinned hash; a pinned hash already held costs no request. ' +
      'Any other body is an upload: the raw bytes, or the first file of a multipart form (optional `X-Content-Sha256` header or `sha256` field is verified).',
    request: {
      body: {
        content: {
          'application/json': { schema: mediaUrlRequestSchema },
          'application/octet-stream': { schema: z.string().meta({ format: 'binary' }) },
          'multipart/form-data': { schema: z.object({ file: z.string().meta({ format: 'binary' }), sha256: z.string().optional() }) },
        },
      },
    },
    responses: {
      201: json(mediaRecordSchema, 'Stored now'),
      200: json(mediaRecordSchema, 'Already held: nothing was stored'),
      ...errors(MEDIA_RESOLUTION_ERRORS),
      ...authErrors,
    },
  });
  r.registerPath({
    method: 'post',
    path: '/api/media/check',
    tags,
    summary: 'Run the troubleshooting checklist on a URL',
    description:
      'Status, declared vs sniffed type, size against the kind limit, caching headers and signals, validators, ranges, cache busting, versioning, sha256. Stores nothing.',
    request: { body: { content: { 'application/json': { schema: mediaUrlRequestSchema } } } },
    responses: {
      200: json(checkReportSchema, 'The checklist; `wouldSend` says whether hashsend would send it now'),
      ...errors({ 400: ['invalid_request'] }),
      ...authErrors,
    },
  });
  r.registerPath({
    method: 'get',
    path: '/api/media/{sha256}',
    tags,
    summary: 'The media record',
    request: { params: sha256Param },
    responses: { 200: json(mediaRecordSchema, 'The record'), ...mediaNotFound, ...errors({ 400: ['invalid_request'] }), ...authErrors },
  });
  r.registerPath({
    method: 'get',
    path: '/api/media/{sha256}/content',
    tags,
    summary: 'The bytes, verified as they stream',
    description:
      '`ETag` is the hash and the answer is immutable: the bytes always hash to the sha256 in the path. One `bytes` range is honoured (a suffix longer than the file gives all of it); other units, malformed or several disjoint ranges get the full answer.',
    request: { params: sha256Param },
    responses: {
      200: { description: 'The bytes', content: { 'application/octet-stream': { schema: z.string().meta({ format: 'binary' }) } } },
      206: { description: 'The requested range' },
      ...mediaNotFound,
      ...errors({ 416: ['range_not_satisfiable'] }),
      ...authErrors,
    },
  });
  r.registerPath({
    method: 'delete',
    path: '/api/media/{sha256}',
    tags,
    summary: 'Forget the media and its blob',
    request: { params: sha256Param },
    responses: { 204: { description: 'Removed' }, ...mediaNotFound, ...authErrors },
  });
};
