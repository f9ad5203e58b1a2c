import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedDelivery {
  headers: IncomingHttpHeaders;
  /** The body exactly as it arrived, what a signature is checked against. */
  raw: string;
  body: { id: string; type: string; createdAt: string; data: Record<string, unknown> };
  /** What the receiver answered (its status; 0 when it never answered). */
  answered: number;
}

/** How the receiver answers the nth request (from 1): a status, or `hang` (never answers). */
export type Answer = (n: number, delivery: Omit<ReceivedDelivery, 'answered'>) => number | 'hang';

export interface WebhookReceiver {
  url: string;
  /** Every request, in arrival order. */
  requests: ReceivedDelivery[];
  /** The requests it answered 2xx: what counts as delivered. */
  accepted(): ReceivedDelivery[];
  answer: Answer;
  close(): Promise<void>;
}

/** A webhook receiver on loopback that records every request and answers as `answer` says (200 by default). */
export const startWebhookReceiver = async (answer: Answer = () => 200): Promise<WebhookReceiver> => {
  const requests: ReceivedDelivery[] = [];
  const hanging = new Set<ServerResponse>();
  const receiver: WebhookReceiver = {
    url: '',
    requests,
    accepted: () => requests.filter((r) => r.answered >= 200 && r.answered < 300),
    answer,
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const delivery = { headers: req.headers, raw, body: JSON.parse(raw) as ReceivedDelivery['body'] };
      const status = receiver.answer(requests.length + 1, delivery);
      const record: ReceivedDelivery = { ...delivery, answered: status === 'hang' ? 0 : status };
      requests.push(record);
      if (status === 'hang') {
        hanging.add(res);
        return;
      }
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'not now');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return receiver;
};
