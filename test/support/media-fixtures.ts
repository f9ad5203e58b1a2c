/**
 * Real media files made on the fly, so no binaries are committed. Images come from sharp; MP4, MP3, OGG-Opus
 * and PDF are hand-built with valid headers: file-type sniffs them and our readers parse them, but they do
 * not play. Each maker's expected sniffed type is in `fixtureMimetypes`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';

export const fixtureMimetypes = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  avif: 'image/avif',
  tiff: 'image/tiff',
  mp4: 'video/mp4',
  m4a: 'audio/x-m4a',
  mp3: 'audio/mpeg',
  oggOpus: 'audio/ogg; codecs=opus',
  pdf: 'application/pdf',
} as const;

export interface ImageOptions {
  /** @default 16 */
  width?: number;
  /** @default 16 */
  height?: number;
  /** Different seeds give different pixels, hence different bytes and hashes. @default 1 */
  seed?: number;
}

/** Pseudo-random RGB pixels from a seed (an LCG: deterministic, distinct per seed). */
const pixels = ({ width = 16, height = 16, seed = 1 }: ImageOptions, frames = 1) => {
  const data = Buffer.alloc(width * height * 3 * frames);
  let state = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < data.length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    data[i] = state >>> 24;
  }
  return sharp(data, { raw: { width, height: height * frames, channels: 3, pageHeight: height } });
};

export const makeJpeg = (o: ImageOptions = {}) => pixels(o).jpeg().toBuffer();
export const makePng = (o: ImageOptions = {}) => pixels(o).png().toBuffer();
export const makeGif = (o: ImageOptions = {}) => pixels(o).gif().toBuffer();
export const makeAvif = (o: ImageOptions = {}) => pixels(o).avif().toBuffer();
export const makeTiff = (o: ImageOptions = {}) => pixels(o).tiff().toBuffer();
/** A WebP; `animated` makes three frames (VP8X with the animation flag, ANIM and ANMF chunks). */
export const makeWebp = ({ animated = false, ...o }: ImageOptions & { animated?: boolean } = {}) =>
  pixels(o, animated ? 3 : 1)
    .webp(animated ? { loop: 0, delay: [100, 100, 100] } : {})
    .toBuffer();

/** A file of exactly `size` bytes that sniffs as JPEG: a small real JPEG, padded after its end marker. */
export const makeLargeJpeg = async (size: number) => {
  const jpeg = await makeJpeg({ width: 8, height: 8 });
  if (size < jpeg.length) throw new Error(`makeLargeJpeg needs at least ${jpeg.length} bytes`);
  return Buffer.concat([jpeg, Buffer.alloc(size - jpeg.length)]);
};

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const box = (type: string, ...payload: Buffer[]) => {
  const body = Buffer.concat(payload);
  return Buffer.concat([u32(8 + body.length), Buffer.from(type, 'latin1'), body]);
};
const fullBox = (type: string, ...payload: Buffer[]) => box(type, Buffer.alloc(4), ...payload);

export interface Mp4Track {
  /** `vide` or `soun`. */
  handler: string;
  /** The sample entry: `avc1`, `hvc1`, `mp4a`, … */
  codec: string;
}

/**
 * An ISO-BMFF file: ftyp, moov/trak/mdia/{hdlr, minf/stbl/stsd} with one sample entry per track, and an
 * mdat of `mdatBytes` zeros. `moovLast` puts moov after mdat, as files not made "fast start" have it.
 */
export const makeMp4 = ({
  tracks = [{ handler: 'vide', codec: 'avc1' }],
  brand = 'isom',
  mdatBytes = 1024,
  moovLast = false,
}: { tracks?: Mp4Track[]; brand?: string; mdatBytes?: number; moovLast?: boolean } = {}) => {
  const ftyp = box('ftyp', Buffer.from(brand, 'latin1'), u32(512), Buffer.from('isomiso2avc1mp41mp42', 'latin1'));
  const trak = ({ handler, codec }: Mp4Track) => {
    // Visual sample entries carry 78 bytes of fields, audio ones 28; the readers only need the entry's type.
    const entry = box(codec, Buffer.alloc(handler === 'vide' ? 78 : 28));
    const hdlr = fullBox('hdlr', u32(0), Buffer.from(handler, 'latin1'), Buffer.alloc(12), Buffer.from('fixture\0'));
    const stbl = box('stbl', fullBox('stsd', u32(1), entry), fullBox('stts', u32(0)));
    return box('trak', box('mdia', fullBox('mdhd', Buffer.alloc(20)), hdlr, box('minf', stbl)));
  };
  const moov = box('moov', fullBox('mvhd', Buffer.alloc(96)), ...tracks.map(trak));
  const mdat = box('mdat', Buffer.alloc(mdatBytes));
  return moovLast ? Buffer.concat([ftyp, mdat, moov]) : Buffer.concat([ftyp, moov, mdat]);
};

/** An audio-only M4A (brand `M4A `, one AAC `mp4a` track). */
export const makeM4a = () => makeMp4({ brand: 'M4A ', tracks: [{ handler: 'soun', codec: 'mp4a' }] });

/** MPEG-1 Layer III frames, 128 kbit/s at 44.1 kHz (header FF FB 90 00, 417 bytes each), silent. */
export const makeMp3 = (frames = 8) =>
  Buffer.concat(Array.from({ length: frames }, () => Buffer.concat([Buffer.from([0xff, 0xfb, 0x90, 0x00]), Buffer.alloc(413)])));

const OGG_CRC = Array.from({ length: 256 }, (_, i) => {
  let r = i << 24;
  for (let k = 0; k < 8; k++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
  return r >>> 0;
});

const oggPage = (packet: Buffer, sequence: number, headerType: number) => {
  const header = Buffer.alloc(27);
  header.write('OggS', 0, 'latin1');
  header[5] = headerType;
  header.writeUInt32LE(0x4853, 14); // serial number
  header.writeUInt32LE(sequence, 18);
  header[26] = 1;
  const page = Buffer.concat([header, Buffer.from([packet.length]), packet]);
  let crc = 0;
  for (const byte of page) crc = ((crc << 8) ^ OGG_CRC[((crc >>> 24) ^ byte) & 0xff]) >>> 0;
  page.writeUInt32LE(crc, 22);
  return page;
};

/** An OGG-Opus stream's two header pages: OpusHead (mono, 48 kHz) and OpusTags. */
export const makeOggOpus = () => {
  const head = Buffer.alloc(19);
  head.write('OpusHead', 0, 'latin1');
  head[8] = 1; // version
  head[9] = 1; // channels
  head.writeUInt16LE(312, 10); // pre-skip
  head.writeUInt32LE(48_000, 12);
  // Vendor string length 0, then 0 comments.
  const tags = Buffer.concat([Buffer.from('OpusTags', 'latin1'), Buffer.alloc(8)]);
  return Buffer.concat([oggPage(head, 0, 0x02), oggPage(tags, 1, 0)]);
};

/** A one-page PDF with text that varies with `seed`. */
export const makePdf = (seed = 1) =>
  Buffer.from(
    `%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n` +
      `3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >> endobj\n% fixture ${seed}\ntrailer << /Root 1 0 R >>\n%%EOF\n`,
    'latin1',
  );

export interface FixtureDir {
  dir: string;
  /** Writes `bytes` as `name` in the folder and returns its path. */
  write(name: string, bytes: Buffer | Promise<Buffer>): Promise<string>;
  /** Removes the folder and everything in it. */
  cleanup(): Promise<void>;
}

export const fixtureDir = async (prefix = 'hashsend-media-'): Promise<FixtureDir> => {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return {
    dir,
    async write(name, bytes) {
      const path = join(dir, name);
      await writeFile(path, await bytes);
      return path;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
};
