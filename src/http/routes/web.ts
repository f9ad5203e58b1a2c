import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { Router, type Response } from 'express';

/** The page's own files; anything else under `/` is not ours to answer. */
const ASSETS = {
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
} as const;
type AssetName = keyof typeof ASSETS;

/**
 * Scripts and styles only from our own origin (no inline code, so an injected string cannot run); the QR is a blob
 * URL made from the API's SVG; the API is the only place the page talks to.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob:",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

interface Asset {
  body: Buffer;
  type: string;
  /** sha256 of the bytes: the ETag, the `?v=` that makes a URL immutable, and the subresource integrity. */
  sha256: Buffer;
}

const load = (dir: string, name: string, type: string): Asset => {
  const body = readFileSync(join(dir, name));
  return { body, type, sha256: createHash('sha256').update(body).digest() };
};

const version = (asset: Asset) => asset.sha256.toString('hex').slice(0, 16);

/**
 * index.html names its assets plainly (`/app.js`); each reference gets the asset's hash as `?v=` plus an
 * `integrity` attribute, so a browser may keep an asset forever and never runs a copy that is not the one we hold.
 */
const linkAssets = (html: string, assets: Record<AssetName, Asset>) =>
  html.replace(/(src|href)="\/(app\.js|style\.css|favicon\.svg)"/g, (_m, attr: string, name: AssetName) => {
    const asset = assets[name];
    const integrity = name === 'favicon.svg' ? '' : ` integrity="sha256-${asset.sha256.toString('base64')}"`;
    return `${attr}="/${name}?v=${version(asset)}"${integrity}`;
  });

const securityHeaders = (res: Response) => {
  res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
};

export interface WebRoutesOptions {
  /** @default the `src/web` folder beside this file's `http` folder */
  dir?: string;
}

/**
 * The operator page at `/`, served without the API key (the page asks for it and sends it to `/api` itself).
 * Files are read once at start: they are small, and their hashes must not change under a page that is open.
 */
export const webRoutes = ({ dir = fileURLToPath(new URL('../../web/', import.meta.url)) }: WebRoutesOptions = {}) => {
  const assets = Object.fromEntries(Object.entries(ASSETS).map(([name, type]) => [name, load(dir, name, type)])) as Record<
    AssetName,
    Asset
  >;
  const index = Buffer.from(linkAssets(readFileSync(join(dir, 'index.html'), 'utf8'), assets));
  const indexEtag = `"${createHash('sha256').update(index).digest('base64url').slice(0, 27)}"`;

  const router = Router();
  router.get(['/', '/index.html'], (_req, res) => {
    securityHeaders(res);
    // Always revalidated: the page is what points at the current asset versions.
    res.setHeader('Cache-Control', 'no-cache');
    // res.send answers 304 itself when If-None-Match matches this ETag.
    res.setHeader('ETag', indexEtag);
    res.type('text/html; charset=utf-8').send(index);
  });
  for (const [name, asset] of Object.entries(assets)) {
    const etag = `"${asset.sha256.toString('base64url').slice(0, 27)}"`;
    router.get(`/${name}`, (req, res) => {
      securityHeaders(res);
      res.setHeader('Cache-Control', req.query.v === version(asset) ? 'public, max-age=31536000, immutable' : 'no-cache');
      res.setHeader('ETag', etag);
      res.setHeader('Content-Type', asset.type);
      res.send(asset.body);
    });
  }
  return router;
};
