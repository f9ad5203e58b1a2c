import type { IncomingMessage } from 'node:http';
import busboy from 'busboy';
import { LARGEST_MEDIA } from './media-rules.ts';

export interface MultipartFile {
  bytes: Buffer;
  /** The part's own Content-Type (Meta goes by the `type` field instead). */
  mimeType: string;
  filename?: string;
  /** More than the largest media Meta takes: the rest was not read. */
  truncated: boolean;
}

export interface MultipartForm {
  fields: Record<string, string>;
  file?: MultipartFile;
}

/** Reads a multipart/form-data body; the `file` part is kept in memory up to just past Meta's largest limit. */
export const parseMultipart = (req: IncomingMessage): Promise<MultipartForm> =>
  new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, limits: { fileSize: LARGEST_MEDIA + 1, files: 4, fields: 20 } });
    } catch (err) {
      reject(err);
      return;
    }
    const form: MultipartForm = { fields: {} };
    parser.on('field', (name, value) => (form.fields[name] = value));
    parser.on('file', (name, stream, info) => {
      if (name !== 'file' || form.file) {
        stream.resume();
        return;
      }
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        form.file = {
          bytes: Buffer.concat(chunks),
          mimeType: info.mimeType,
          filename: info.filename,
          truncated: stream.truncated === true,
        };
      });
    });
    parser.on('error', reject);
    parser.on('close', () => resolve(form));
    req.pipe(parser);
  });
