/**
 * Real media files made on the fly, so no binaries are committed. Images come from sharp; MP4, MP3, OGG-Opus
 * and PDF are hand-built with valid headers: file-type sniffs them and our readers parse them, but they do
 * not play. Each maker's expected sniffed type is in `fixtureMimetypes`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
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

/**
 * A decompression bomb: an RGB deflate TIFF of `width`×`height` black pixels (16383×16383 decodes to 805 MB) in
 * a few KB. Every strip but the last points at one shared compressed strip, so building it deflates only
 * `rowsPerStrip` rows.
 */
export const makeTiffBomb = ({ width = 16383, height = 16383, rowsPerStrip = 64 } = {}) => {
  const SHORT = 3;
  const LONG = 4;
  const strips = Math.ceil(height / rowsPerStrip);
  const full = deflateSync(Buffer.alloc(rowsPerStrip * width * 3));
  const rest = height % rowsPerStrip;
  const last = rest ? deflateSync(Buffer.alloc(rest * width * 3)) : full;
  const entries = 10;
  const ifdAt = 8;
  const bitsAt = ifdAt + 2 + entries * 12 + 4;
  const offsetsAt = bitsAt + 6;
  const countsAt = offsetsAt + 4 * strips;
  const fullAt = countsAt + 4 * strips;
  const lastAt = fullAt + full.length;
  const out = Buffer.alloc(lastAt + last.length);
  out.write('II', 0, 'latin1');
  out.writeUInt16LE(42, 2);
  out.writeUInt32LE(ifdAt, 4);
  out.writeUInt16LE(entries, ifdAt);
  // Tag, type, count, value (or the offset of the values): sorted by tag, as TIFF requires.
  const tags: [number, number, number, number][] = [
    [256, LONG, 1, width],
    [257, LONG, 1, height],
    [258, SHORT, 3, bitsAt], // BitsPerSample 8, 8, 8
    [259, SHORT, 1, 8], // Compression: deflate
    [262, SHORT, 1, 2], // Photometric: RGB
    [273, LONG, strips, offsetsAt],
    [277, SHORT, 1, 3], // SamplesPerPixel
    [278, LONG, 1, rowsPerStrip],
    [279, LONG, strips, countsAt],
    [284, SHORT, 1, 1], // PlanarConfiguration: chunky
  ];
  tags.forEach(([tag, type, count, value], i) => {
    const at = ifdAt + 2 + i * 12;
    out.writeUInt16LE(tag, at);
    out.writeUInt16LE(type, at + 2);
    out.writeUInt32LE(count, at + 4);
    if (type === SHORT && count === 1) out.writeUInt16LE(value, at + 8);
    else out.writeUInt32LE(value, at + 8);
  });
  for (let i = 0; i < 3; i++) out.writeUInt16LE(8, bitsAt + 2 * i);
  for (let i = 0; i < strips; i++) {
    const isLast = i === strips - 1;
    out.writeUInt32LE(isLast ? lastAt : fullAt, offsetsAt + 4 * i);
    out.writeUInt32LE(isLast ? last.length : full.length, countsAt + 4 * i);
  }
  full.copy(out, fullAt);
  last.copy(out, lastAt);
  return out;
};

/**
 * A static lossless WebP of `width`×`height` grey pixels in a few dozen bytes: a one-colour image costs no bits
 * per pixel in VP8L, so a small one is made with sharp and its header's dimensions (14 bits each) rewritten.
 */
export const makeLargeWebp = async ({ width, height }: { width: number; height: number }) => {
  const small = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#888888' } })
    .webp({ lossless: true, effort: 0 })
    .toBuffer();
  if (small.toString('latin1', 12, 16) !== 'VP8L') throw new Error('sharp made no simple lossless WebP');
  // The VP8L header: signature 0x2f at 20, then 32 bits: width-1 (14), height-1 (14), alpha (1), version (3).
  const fields = small.readUInt32LE(21);
  small.writeUInt32LE(((fields & ~0x0fffffff) | (width - 1) | ((height - 1) << 14)) >>> 0, 21);
  return small;
};

/**
 * An ISO-BMFF file of `size` bytes that is an `ftyp` and then nothing but empty 8-byte `free` boxes: a reader
 * that steps box by box without a bound walks all of them.
 */
export const makeEmptyBoxMp4 = (size: number) => {
  const ftyp = box('ftyp', Buffer.from('isom', 'latin1'), u32(512), Buffer.from('isomavc1', 'latin1'));
  const out = Buffer.alloc(ftyp.length + Math.floor((size - ftyp.length) / 8) * 8);
  ftyp.copy(out);
  for (let at = ftyp.length; at < out.length; at += 8) {
    out.writeUInt32BE(8, at);
    out.write('free', at + 4, 'latin1');
  }
  return out;
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
