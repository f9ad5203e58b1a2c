import { open, type FileHandle } from 'node:fs/promises';

/** One track of an ISO-BMFF file (MP4, 3GPP, M4A): its handler (`vide`, `soun`, …) and first sample entry. */
export interface Mp4Track {
  handler: string;
  /** The sample entry's four-character code, e.g. `avc1`, `hvc1`, `mp4a`. */
  codec?: string;
}

/**
 * A `moov` box bigger than this is refused rather than read into memory; real ones are a few MB even for
 * hours of video, since they hold sample tables, not media.
 */
const MAX_MOOV_BYTES = 64 * 1024 * 1024;

interface Box {
  type: string;
  /** Offset of the box's payload (after the header). */
  start: number;
  /** Offset just past the box. */
  end: number;
}

/** Walks the boxes in buf[from, to); a malformed size ends the walk instead of reading out of bounds. */
function* boxes(buf: Buffer, from: number, to: number): Generator<Box> {
  let at = from;
  while (at + 8 <= to) {
    let size = buf.readUInt32BE(at);
    const type = buf.toString('latin1', at + 4, at + 8);
    let header = 8;
    if (size === 1) {
      if (at + 16 > to) return;
      size = Number(buf.readBigUInt64BE(at + 8));
      header = 16;
    } else if (size === 0) {
      size = to - at;
    }
    if (size < header || at + size > to) return;
    yield { type, start: at + header, end: at + size };
    at += size;
  }
}

const child = (buf: Buffer, parent: Box, type: string) => {
  for (const box of boxes(buf, parent.start, parent.end)) if (box.type === type) return box;
  return undefined;
};

/** Follows a path of box types from `parent`, taking the first match at each level. */
const descend = (buf: Buffer, parent: Box, path: string[]) =>
  path.reduce<Box | undefined>((box, type) => (box ? child(buf, box, type) : undefined), parent);

const trackOf = (moov: Buffer, trak: Box): Mp4Track | undefined => {
  const mdia = child(moov, trak, 'mdia');
  const hdlr = mdia && child(moov, mdia, 'hdlr');
  // hdlr is a full box: version/flags (4), pre_defined (4), then handler_type.
  if (!mdia || !hdlr || hdlr.end - hdlr.start < 12) return undefined;
  const handler = moov.toString('latin1', hdlr.start + 8, hdlr.start + 12);
  const stsd = descend(moov, mdia, ['minf', 'stbl', 'stsd']);
  // stsd is a full box: version/flags (4), entry_count (4), then the sample entries, themselves boxes.
  const entry = stsd && boxes(moov, stsd.start + 8, stsd.end).next().value;
  return { handler, codec: entry ? entry.type : undefined };
};

/** Finds the top-level `moov` by seeking from box header to box header, so a large `mdat` is never read. */
const readMoov = async (file: FileHandle): Promise<Buffer | undefined> => {
  const { size } = await file.stat();
  const header = Buffer.alloc(16);
  let at = 0;
  while (at + 8 <= size) {
    const { bytesRead } = await file.read(header, 0, 16, at);
    if (bytesRead < 8) return undefined;
    let boxSize = header.readUInt32BE(0);
    let headerSize = 8;
    if (boxSize === 1) {
      if (bytesRead < 16) return undefined;
      boxSize = Number(header.readBigUInt64BE(8));
      headerSize = 16;
    } else if (boxSize === 0) {
      boxSize = size - at;
    }
    if (boxSize < headerSize) return undefined;
    if (header.toString('latin1', 4, 8) === 'moov') {
      const length = Math.min(boxSize, size - at);
      if (length > MAX_MOOV_BYTES) return undefined;
      const moov = Buffer.alloc(length);
      await file.read(moov, 0, length, at);
      return moov;
    }
    at += boxSize;
  }
  return undefined;
};

/**
 * The tracks of an ISO-BMFF file, read from its `moov` box: enough to tell H.264 video from HEVC or an
 * audio-only file. An unreadable or truncated file gives no tracks rather than an error; the caller decides
 * what a video without a readable track means.
 */
export const readMp4Tracks = async (path: string): Promise<Mp4Track[]> => {
  const file = await open(path, 'r');
  try {
    const moov = await readMoov(file);
    if (!moov) return [];
    const root = boxes(moov, 0, moov.length).next().value;
    if (!root) return [];
    const tracks: Mp4Track[] = [];
    for (const box of boxes(moov, root.start, root.end)) {
      const track = box.type === 'trak' ? trackOf(moov, box) : undefined;
      if (track) tracks.push(track);
    }
    return tracks;
  } finally {
    await file.close();
  }
};
