import type { Request } from 'express';
import busboy from 'busboy';
import { HashsendError } from '../errors.js';
import { MAX_JSON_DEPTH, nestsDeeperThan } from './json-body.js';

/** 10,000 rows of a number and a few variables fit many times over. */
const MAX_CSV_BYTES = 8 * 1024 * 1024;

const tooLarge = () => new HashsendError('too_large', 413, `a recipients CSV may be ${MAX_CSV_BYTES} bytes at most`);

/** Reads a stream as UTF-8 text, refusing more than MAX_CSV_BYTES. */
const readText = (stream: NodeJS.ReadableStream) =>
  new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_CSV_BYTES) return reject(tooLarge());
      chunks.push(chunk);
    });
    stream.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    stream.once('error', reject);
  });

/** A `text/csv` body. */
export const readCsvBody = (req: Request) => readText(req);

/**
 * A multipart form: the recipients CSV as a file part, and the `broadcast` field holding the rest of the request as
 * JSON (name, message, pace, …). Anything else in the form is ignored.
 */
export const readCsvForm = (req: Request): Promise<{ csv: string; broadcast: unknown }> => {
  let form: busboy.Busboy;
  try {
    form = busboy({ headers: req.headers, limits: { files: 1, fields: 10, fieldSize: 1024 * 1024, fileSize: MAX_CSV_BYTES + 1 } });
  } catch (err) {
    throw new HashsendError('invalid_request', 400, `malformed multipart Content-Type: ${(err as Error).message}`);
  }
  return new Promise((resolve, reject) => {
    let field: string | undefined;
    let csv: Promise<string> | undefined;
    req.once('close', () => {
      if (!req.complete) reject(new HashsendError('request_aborted', 400, 'the client closed the connection before the upload ended'));
    });
    form.on('field', (name, value) => {
      if (name === 'broadcast') field = value;
    });
    form.on('file', (_name, stream) => {
      csv = readText(stream);
      csv.catch(() => {
        req.unpipe(form);
        stream.resume();
      });
    });
    form.on('error', (err) => reject(new HashsendError('invalid_request', 400, `malformed multipart body: ${(err as Error).message}`)));
    form.on('close', () => {
      if (!csv) return reject(new HashsendError('invalid_request', 400, 'the form has no recipients file (a CSV with a "to" column)'));
      if (field === undefined)
        return reject(new HashsendError('invalid_request', 400, 'the form has no "broadcast" field (the broadcast as JSON)'));
      if (nestsDeeperThan(field, MAX_JSON_DEPTH))
        return reject(new HashsendError('invalid_request', 400, 'the "broadcast" field nests too deep'));
      let broadcast: unknown;
      try {
        broadcast = JSON.parse(field);
      } catch (err) {
        return reject(new HashsendError('invalid_request', 400, `the "broadcast" field is not JSON: ${(err as Error).message}`));
      }
      csv.then((text) => resolve({ csv: text, broadcast }), reject);
    });
    req.pipe(form);
  });
};
