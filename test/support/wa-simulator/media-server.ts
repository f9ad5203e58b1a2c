import { createHash, randomBytes } from 'node:crypto';
import { createServer, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';

type Stored = { bytes: Buffer; kind: string };

/**
 * The media host that `media_conn` names: takes encrypted uploads over HTTPS the way WhatsApp's does
 * (POST /mms/<kind>/<encSha256 b64url>?auth=..&token=..), answers { url, direct_path }, and serves the
 * blobs back for recipients. Faults: failed, slow, and expired-auth uploads.
 */
export class MediaServer {
  private server?: Server;
  private readonly blobs = new Map<string, Stored>();
  private auth = randomBytes(16).toString('base64url');
  private failNext = 0;
  private delayMs = 0;
  uploads = 0;
  rejectedUploads = 0;
  downloads = 0;

  constructor(private readonly tls: { cert: string; key: string }) {}

  get host() {
    const { port } = this.server!.address() as AddressInfo;
    return `127.0.0.1:${port}`;
  }

  get currentAuth() {
    return this.auth;
  }

  async start() {
    this.server = createServer({ cert: this.tls.cert, key: this.tls.key }, (req, res) => {
      const url = new URL(req.url ?? '/', `https://${this.host}`);
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.method === 'POST' && url.pathname.startsWith('/mms/')) {
        const chunks: Buffer[] = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => {
          const answer = () => {
            const body = Buffer.concat(chunks);
            const [, , kind, token] = url.pathname.split('/');
            if (this.failNext > 0) {
              this.failNext--;
              this.rejectedUploads++;
              return reply(500, { error: 'simulated upload failure' });
            }
            if (url.searchParams.get('auth') !== this.auth) {
              this.rejectedUploads++;
              return reply(401, { error: 'auth expired' });
            }
            if (!kind || createHash('sha256').update(body).digest('base64url') !== token) {
              this.rejectedUploads++;
              return reply(400, { error: 'token is not the sha256 of the body' });
            }
            this.uploads++;
            reply(200, this.store(body, kind));
          };
          if (this.delayMs > 0) setTimeout(answer, this.delayMs).unref();
          else answer();
        });
        return;
      }
      const blob = req.method === 'GET' ? this.blobs.get(url.pathname) : undefined;
      if (!blob) return reply(404, { error: 'not found' });
      this.downloads++;
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': blob.bytes.length });
      res.end(blob.bytes);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
  }

  /** Keeps an encrypted blob and names where it is served, as an upload's answer does. */
  store(bytes: Buffer, kind: string) {
    const directPath = `/v/t62.${kind}/${randomBytes(12).toString('hex')}.enc`;
    this.blobs.set(directPath, { bytes, kind });
    return { url: `https://${this.host}${directPath}`, direct_path: directPath };
  }

  async stop() {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  failUploads(n: number) {
    this.failNext = n;
  }

  slowUploads(ms: number) {
    this.delayMs = ms;
  }

  /** The auth token media_conn handed out stops working; the next media_conn gives a fresh one. */
  expire() {
    this.auth = randomBytes(16).toString('base64url');
  }

  /** A recipient's download, over HTTPS like a phone's, trusting only the simulator's certificate. */
  download(directPath: string): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const req = request(`https://${this.host}${directPath}`, { ca: this.tls.cert }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () =>
          res.statusCode === 200 ? resolve(Buffer.concat(chunks)) : reject(new Error(`media download: HTTP ${res.statusCode}`)),
        );
      });
      req.on('error', reject);
      req.end();
    });
  }
}
