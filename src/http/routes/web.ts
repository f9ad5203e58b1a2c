import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { extname, join } from 'node:path';
import { Router, type Response } from 'express';

/** The page's own files, by extension; anything else under `/` is not ours to answer. */
const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

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
  name: string;
  body: Buffer;
  type: string;
  /** sha256 of the bytes served: the ETag, the `?v=` that makes a URL immutable, and the subresource integrity. */
  sha256: Buffer;
}

const sha256 = (body: Buffer) => createHash('sha256').update(body).digest();
const version = (asset: Asset) => asset.sha256.toString('hex').slice(0, 16);
const integrity = (asset: Asset) => `sha256-${asset.sha256.toString('base64')}`;

/** `import … from './x.js'` and `import './x.js'`: the page's modules name each other by relative path. */
const IMPORT = /(\bfrom\s*|\bimport\s*)(['"])\.\/([\w-]+\.js)\2/g;

/**
 * The page's files, each module's imports rewritten to name the imported module's version (`./x.js?v=…`). A
 * module's hash so covers what it imports, down the graph: a changed module changes every URL that leads to it,
 * so an immutable cached copy is never combined with a newer one. The graph must have no cycle.
 */
const loadAssets = (dir: string): Map<string, Asset> => {
  const sources = new Map<string, Buffer>();
  for (const name of readdirSync(dir)) if (TYPES[extname(name)]) sources.set(name, readFileSync(join(dir, name)));
  const assets = new Map<string, Asset>();
  const visiting = new Set<string>();
  const load = (name: string): Asset => {
    const done = assets.get(name);
    if (done) return done;
    const source = sources.get(name);
    if (!source) throw new Error(`the operator page imports "./${name}", which is not in ${dir}`);
    if (visiting.has(name)) throw new Error(`the operator page's modules import each other in a cycle through "${name}"`);
    visiting.add(name);
    const body =
      extname(name) === '.js'
        ? Buffer.from(
            source
              .toString('utf8')
              .replace(IMPORT, (_m, head: string, q: string, dep: string) => `${head}${q}./${dep}?v=${version(load(dep))}${q}`),
          )
        : source;
    visiting.delete(name);
    const asset = { name, body, type: TYPES[extname(name)], sha256: sha256(body) };
    assets.set(name, asset);
    return asset;
  };
  for (const name of sources.keys()) load(name);
  return assets;
};

/**
 * index.html names its assets plainly (`/app.js`); each reference gets the asset's hash as `?v=` plus an
 * `integrity` attribute, so a browser may keep an asset forever and never runs a copy that is not the one we hold.
 * The modules the entry script imports are announced as `modulepreload` links with their own integrity: the
 * browser fetches each once, checked, and the import of the same URL takes that copy.
 */
const linkAssets = (html: string, assets: Map<string, Asset>) => {
  const entries = new Set<string>();
  const linked = html.replace(/(src|href)="\/([\w-]+\.(?:js|css|svg))"/g, (m, attr: string, name: string) => {
    const asset = assets.get(name);
    if (!asset) return m;
    entries.add(name);
    const pinned = asset.type.startsWith('image/') ? '' : ` integrity="${integrity(asset)}"`;
    return `${attr}="/${name}?v=${version(asset)}"${pinned}`;
  });
  const preloads = [...assets.values()]
    .filter((a) => extname(a.name) === '.js' && !entries.has(a.name))
    .map((a) => `  <link rel="modulepreload" href="/${a.name}?v=${version(a)}" integrity="${integrity(a)}">\n`)
    .join('');
  return linked.replace('</head>', `${preloads}</head>`);
};

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
  const assets = loadAssets(dir);
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
  for (const asset of assets.values()) {
    const etag = `"${asset.sha256.toString('base64url').slice(0, 27)}"`;
    router.get(`/${asset.name}`, (req, res) => {
      securityHeaders(res);
      res.setHeader('Cache-Control', req.query.v === version(asset) ? 'public, max-age=31536000, immutable' : 'no-cache');
      res.setHeader('ETag', etag);
      res.setHeader('Content-Type', asset.type);
      res.send(asset.body);
    });
  }
  return router;
};
