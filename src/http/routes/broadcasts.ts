import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { BroadcastService, CreateBroadcastInput } from '../../broadcasts/service.js';
import { parseRecipientsCsv } from '../../broadcasts/csv.js';
import type { BroadcastRecipient } from '../../broadcasts/types.js';
import type { MessageInput } from '../../messages/service.js';
import { authErrors, errors, json, sessionIdParam, type DescribeRoutes } from '../openapi.js';
import { parse } from '../validate.js';
import { withMediaResolutionErrors } from '../media-schemas.js';
import { readCsvBody, readCsvForm } from '../csv-upload.js';
import {
  broadcastIdParam,
  broadcastOptionsSchema,
  broadcastSchema,
  createBroadcastSchema,
  createdBroadcastSchema,
  csvQuerySchema,
  listBroadcastsQuerySchema,
  reportQuerySchema,
  reportRowSchema,
} from '../broadcast-schemas.js';

type Options = z.output<typeof broadcastOptionsSchema>;

const messageOf = ({ text, media, caption, filename, as, template }: Options['message']): MessageInput =>
  media ? { media, caption, filename, as } : template ? { template } : { text: text! };

const inputOf = ({ message, ...rest }: Options, recipients: CreateBroadcastInput['recipients']): CreateBroadcastInput => ({
  ...rest,
  message: messageOf(message),
  recipients,
});

/** A `text/csv` body's options come as query parameters, in the shape of the JSON body. */
const optionsFromQuery = (q: z.output<typeof csvQuerySchema>): unknown => ({
  name: q.name,
  message: {
    text: q.text,
    media:
      q.mediaUrl !== undefined
        ? { url: q.mediaUrl, sha256: q.mediaSha256 }
        : q.mediaSha256 !== undefined
          ? { sha256: q.mediaSha256 }
          : undefined,
    caption: q.caption,
    filename: q.filename,
    as: q.as,
  },
  schedule: q.at ? { at: q.at } : undefined,
  pace: q.perMinute !== undefined ? { perMinute: q.perMinute, jitter: q.jitter } : undefined,
  dailyCap: q.dailyCap,
  quietHours: q.quietStart || q.quietEnd || q.timezone ? { start: q.quietStart, end: q.quietEnd, timezone: q.timezone } : undefined,
});

/** The request as the service takes it: JSON with a recipients array, or a CSV with the rest beside it. */
const createInput = async (req: Request): Promise<CreateBroadcastInput> => {
  if (req.is('multipart/form-data')) {
    const { csv, broadcast } = await readCsvForm(req);
    return inputOf(parse(broadcastOptionsSchema, broadcast), parseRecipientsCsv(csv));
  }
  if (req.is('text/csv')) {
    const options = parse(broadcastOptionsSchema, optionsFromQuery(parse(csvQuerySchema, req.query, 'query')));
    return inputOf(options, parseRecipientsCsv(await readCsvBody(req)));
  }
  const { recipients, ...options } = parse(createBroadcastSchema, req.body);
  return inputOf(options, recipients);
};

const reportRow = (r: BroadcastRecipient) => ({
  index: r.index,
  to: r.to,
  status: r.status,
  messageId: r.messageId ?? null,
  sha256: r.sentSha256 ?? null,
  errorCode: r.error?.code ?? null,
  error: r.error?.message ?? null,
  queuedAt: r.queuedAt ?? null,
  sentAt: r.sentAt ?? null,
  deliveredAt: r.deliveredAt ?? null,
  readAt: r.readAt ?? null,
});

const CSV_COLUMNS = Object.keys(reportRowSchema.shape) as (keyof ReturnType<typeof reportRow>)[];
const csvField = (v: unknown) => {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** The whole report as CSV, a page at a time: 10,000 recipients never sit in memory at once. */
const streamCsvReport = async (res: Response, id: string, broadcasts: BroadcastService) => {
  const first = await broadcasts.recipients(id, { from: 0, limit: 500 });
  res.status(200).type('text/csv; charset=utf-8').setHeader('Content-Disposition', `attachment; filename="${id}-report.csv"`);
  res.write(`${CSV_COLUMNS.join(',')}\r\n`);
  for (let page = first; page.length; page = await broadcasts.recipients(id, { from: page[page.length - 1].index + 1, limit: 500 })) {
    const text = page.map((r) => CSV_COLUMNS.map((c) => csvField(reportRow(r)[c])).join(',')).join('\r\n') + '\r\n';
    if (!res.write(text)) await new Promise((resolve) => res.once('drain', resolve));
    if (res.destroyed) return;
  }
  res.end();
};

export const broadcastRoutes = ({ broadcasts }: { broadcasts: BroadcastService }) =>
  Router()
    .post('/sessions/:id/broadcasts', async (req, res) => {
      res.status(202).json(await broadcasts.create(req.params.id, await createInput(req)));
    })
    .get('/sessions/:id/broadcasts', async (req, res) => {
      const { limit, before } = parse(listBroadcastsQuerySchema, req.query, 'query');
      const items = await broadcasts.list(req.params.id, { limit, before });
      res.json({ items, nextCursor: items.length === limit ? items[items.length - 1].createdAt : null });
    })
    .get('/sessions/:id/broadcasts/:bid', async (req, res) => {
      res.json(await broadcasts.get(req.params.bid, req.params.id));
    })
    .get('/broadcasts/:id', async (req, res) => {
      res.json(await broadcasts.get(req.params.id));
    })
    .get('/broadcasts/:id/report', async (req, res) => {
      const { from, limit, format } = parse(reportQuerySchema, req.query, 'query');
      if (format === 'csv' || (format === undefined && req.accepts(['application/json', 'text/csv']) === 'text/csv')) {
        return streamCsvReport(res, req.params.id, broadcasts);
      }
      const page = await broadcasts.recipients(req.params.id, { from, limit });
      res.json({ items: page.map(reportRow), next: page.length === limit ? page[page.length - 1].index + 1 : null });
    })
    .post('/broadcasts/:id/pause', async (req, res) => void res.json(await broadcasts.pause(req.params.id)))
    .post('/broadcasts/:id/resume', async (req, res) => void res.json(await broadcasts.resume(req.params.id)))
    .post('/broadcasts/:id/cancel', async (req, res) => void res.json(await broadcasts.cancel(req.params.id)));

export const describeBroadcastRoutes: DescribeRoutes = (r) => {
  const tags = ['Broadcasts'];
  const notFound = errors({ 404: ['broadcast_not_found'] });
  r.registerPath({
    method: 'post',
    path: '/api/sessions/{id}/broadcasts',
    tags,
    summary: 'Start a broadcast',
    description:
      'The message is composed once (media fetched fresh and pinned to its sha256: every recipient gets the same bytes), then sent to each recipient in list order at the pace given: by default 6 a minute with ±30 % random jitter; `pace: { "perMinute": 0 }` turns pacing off. Recipients as JSON, as a `text/csv` body (the other fields as query parameters: `name`, `text`, `mediaUrl`, `mediaSha256`, `caption`, `filename`, `as`, `perMinute`, `jitter`, `at`, `dailyCap`, `quietStart`, `quietEnd`, `timezone`) or as a multipart form (a CSV file and a `broadcast` field with the rest as JSON). A CSV has a `to` column; every other column is a variable for `{{placeholders}}` in the text or caption. A placeholder without a value in some row is `400 missing_variable` before anything is sent. Duplicates and invalid numbers are left out and listed.',
    request: {
      params: sessionIdParam,
      query: csvQuerySchema.partial(),
      body: {
        content: {
          'application/json': { schema: createBroadcastSchema },
          'text/csv': { schema: z.string().meta({ example: 'to,name\n+4915123456789,Ada\n' }) },
          'multipart/form-data': { schema: z.object({ recipients: z.string(), broadcast: z.string() }) },
        },
      },
    },
    responses: {
      202: json(createdBroadcastSchema, 'Accepted: the broadcast is scheduled or running'),
      ...errors(
        withMediaResolutionErrors({
          400: ['invalid_request', 'invalid_csv', 'missing_variable', 'no_recipients', 'too_many_recipients'],
          404: ['session_not_found'],
          413: ['too_large'],
        }),
      ),
      ...authErrors,
    },
  });
  r.registerPath({
    method: 'get',
    path: '/api/sessions/{id}/broadcasts',
    tags,
    summary: "A session's broadcasts",
    description: 'Newest first; pass `nextCursor` back as `before` for the next page.',
    request: { params: sessionIdParam, query: listBroadcastsQuerySchema },
    responses: {
      200: json(z.object({ items: z.array(broadcastSchema), nextCursor: z.string().nullable() }), 'A page of broadcasts'),
      ...errors({ 400: ['invalid_request'], 404: ['session_not_found'] }),
      ...authErrors,
    },
  });
  r.registerPath({
    method: 'get',
    path: '/api/sessions/{id}/broadcasts/{bid}',
    tags,
    summary: 'A broadcast of this session',
    request: { params: sessionIdParam.extend({ bid: broadcastIdParam.shape.id }) },
    responses: { 200: json(broadcastSchema, 'The broadcast'), ...notFound, ...authErrors },
  });
  r.registerPath({
    method: 'get',
    path: '/api/broadcasts/{id}',
    tags,
    summary: 'A broadcast: status, counts, progress and expected end',
    request: { params: broadcastIdParam },
    responses: { 200: json(broadcastSchema, 'The broadcast'), ...notFound, ...authErrors },
  });
  r.registerPath({
    method: 'get',
    path: '/api/broadcasts/{id}/report',
    tags,
    summary: 'What happened to each recipient',
    description:
      'JSON, a page at a time from `from` (pass `next` back as `from`), or the whole list as CSV with `Accept: text/csv` or `format=csv`, streamed. Each row: status, times, error code and the sha256 sent.',
    request: { params: broadcastIdParam, query: reportQuerySchema },
    responses: {
      200: {
        description: 'The report',
        content: {
          'application/json': { schema: z.object({ items: z.array(reportRowSchema), next: z.number().nullable() }) },
          'text/csv': { schema: z.string() },
        },
      },
      ...errors({ 400: ['invalid_request'], 404: ['broadcast_not_found'] }),
      ...authErrors,
    },
  });
  for (const [action, summary] of [
    ['pause', 'Pause: no more recipients are handed to the outbox until resumed'],
    ['resume', 'Resume a paused broadcast at its pace'],
    ['cancel', 'Cancel: recipients not yet handed over are skipped'],
  ] as const) {
    r.registerPath({
      method: 'post',
      path: `/api/broadcasts/{id}/${action}`,
      tags,
      summary,
      request: { params: broadcastIdParam },
      responses: { 200: json(broadcastSchema, 'The broadcast'), ...notFound, ...authErrors },
    });
  }
};
