import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { badParam, GraphFailure, noSuchObject } from './errors.ts';
import { ATTACHMENTS_PATH, download, mediaInfo, uploadMedia, visibleMedia } from './media-routes.ts';
import { postMessage, type MessagesContext } from './messages-route.ts';
import type { FakeNumber } from './state.ts';

export interface ServerContext extends MessagesContext {
  /** `http://127.0.0.1:PORT`, known once listening. */
  base: () => string;
}

const JSON_LIMIT = 1024 * 1024;

const sendJson = (res: ServerResponse, status: number, body: unknown) => {
  const raw = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(raw) }).end(raw);
};

const readJson = async (req: IncomingMessage): Promise<unknown> => {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > JSON_LIMIT) throw badParam('Invalid parameter');
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw badParam('Invalid parameter');
  }
};

const bearer = (req: IncomingMessage, url: URL): string | undefined => {
  const header = req.headers.authorization;
  const match = header ? /^Bearer\s+(.+)$/i.exec(header.trim()) : null;
  return match?.[1] ?? url.searchParams.get('access_token') ?? undefined;
};

/** Graph's token check, before any object is looked at. */
const checkToken = (ctx: ServerContext, token: string | undefined): string => {
  if (!token) throw new GraphFailure(2500, { message: 'An active access token must be used to query information about the current user.' });
  if (ctx.state.expiredTokens.has(token)) {
    throw new GraphFailure(190, {
      subcode: 463,
      message: `Error validating access token: Session has expired on ${new Date(ctx.now() - 3600_000).toUTCString()}. The current time is ${new Date(ctx.now()).toUTCString()}.`,
    });
  }
  if (!ctx.state.tokenKnown(token)) throw new GraphFailure(190, { message: 'Invalid OAuth access token - Cannot parse access token' });
  return token;
};

const numberFor = (ctx: ServerContext, token: string, id: string, method: string): FakeNumber => {
  const n = ctx.state.numbers.get(id);
  if (!n) throw noSuchObject(id, method);
  if (!ctx.state.tokenMayUse(token, id)) throw new GraphFailure(10, { details: `The access token may not act for phone number ${id}.` });
  return n;
};

const route = async (
  ctx: ServerContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  responded: Promise<void>,
): Promise<unknown> => {
  const path = url.pathname.replace(/^\/v\d+\.\d+(?=\/)/, '');
  const method = req.method ?? 'GET';
  const token = checkToken(ctx, bearer(req, url));
  if (method === 'GET' && path === ATTACHMENTS_PATH) {
    const media = download(ctx.state, token, url, ctx.now());
    res.writeHead(200, { 'content-type': media.mimeType, 'content-length': media.size }).end(media.bytes);
    return undefined;
  }
  const [id, edge, ...rest] = path.split('/').filter(Boolean);
  if (!id || rest.length > 0) throw new GraphFailure(2500, { status: 400, message: `Unknown path components: ${path}` });
  if (edge === undefined && method === 'GET') {
    if (ctx.state.media.has(id)) {
      const media = visibleMedia(ctx.state, token, id, method);
      // Meta's optional guard: only answer when the media belongs to this phone number.
      const owner = url.searchParams.get('phone_number_id');
      if (owner && owner !== media.phoneNumberId) throw badParam(`Media ${id} does not belong to phone number ${owner}.`);
      return mediaInfo(ctx.base(), media, ctx.now());
    }
    const n = numberFor(ctx, token, id, method);
    return {
      verified_name: n.verifiedName,
      display_phone_number: n.displayPhoneNumber,
      id: n.phoneNumberId,
      quality_rating: n.qualityRating,
    };
  }
  if (edge === undefined && method === 'DELETE') {
    visibleMedia(ctx.state, token, id, method).gone = true;
    ctx.state.changed();
    return { success: true };
  }
  if (edge === 'media' && method === 'POST') return uploadMedia(ctx.state, numberFor(ctx, token, id, method), req, ctx.now());
  if (edge === 'messages' && method === 'POST') return postMessage(ctx, numberFor(ctx, token, id, method), await readJson(req), responded);
  throw noSuchObject(id, method);
};

/** The fake's HTTP server: every request recorded with its final status; errors answered in Graph's shape. */
export const createGraphServer = (ctx: ServerContext): Server =>
  createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const responded = new Promise<void>((resolve) => res.once('close', () => resolve()));
    res.once('close', () => {
      ctx.state.requests.push({ method: req.method ?? 'GET', path: url.pathname, status: res.statusCode });
      ctx.state.changed();
    });
    route(ctx, req, res, url, responded).then(
      (body) => {
        if (body !== undefined) sendJson(res, 200, body);
      },
      (err: unknown) => {
        req.resume();
        if (err instanceof GraphFailure) sendJson(res, err.status, err.body);
        else
          sendJson(
            res,
            500,
            new GraphFailure(1, { status: 500, message: `An unknown error has occurred: ${(err as Error).message}` }).body,
          );
      },
    );
  });
