import { rm } from 'node:fs/promises';
import { HashingSink, type MaxBytesFor } from './fetch-sink.js';

export interface WriteHashedOptions {
  tmpPath: string;
  declaredMimetype?: string;
  maxBytesFor: MaxBytesFor;
}

/**
 * Streams bytes a caller uploads into a temp file through the same sink a download uses: hashed in one pass,
 * in bounded memory, stopped at the cap of the sniffed kind without reading on. On failure the file is gone.
 */
export const writeHashed = async (source: AsyncIterable<Uint8Array>, { tmpPath, declaredMimetype, maxBytesFor }: WriteHashedOptions) => {
  const sink = await HashingSink.open(tmpPath, maxBytesFor, declaredMimetype);
  try {
    for await (const chunk of source) await sink.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    return await sink.finish();
  } catch (err) {
    await sink.close();
    await rm(tmpPath, { force: true });
    throw err;
  }
};
