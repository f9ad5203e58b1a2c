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

/**
 * Top-level boxes looked at before giving up on `moov`. Real files have a handful (ftyp, moov, mdat, free,
 * uuid); a fragmented one puts moov before its moof/mdat pairs. A file of empty 8-byte boxes would otherwise be
 * walked to its end, two million steps for 16 MB.
 */
const MAX_TOP_LEVEL_BOXES = 1024;

/** Boxes looked at inside `moov`: a real one has a few dozen per track. */
const MAX_MOOV_BOXES = 10_000;

/** Box headers are read this many bytes at a time, so small boxes cost no read each. */
const READ_CHUNK = 64 * 1024;

interface Box {
  type: string;
  /** Offset of the box's payload (after the header). */
  start: number;
  /** Offset just past the box. */
  end: number;
}

/**
 * Reads boxes out of an in-memory buffer. A malformed size ends a walk instead of reading out of bounds, and all
 * walks together look at no more than `budget` boxes.
 */
const boxReader = (buf: Buffer, budget = MAX_MOOV_BOXES) => {
  let left = budget;

  /** Walks the boxes in buf[from, to). */
  function* boxes(from: number, to: number): Generator<Box> {
    let at = from;
    while (at + 8 <= to && left-- > 0) {
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

  const child = (parent: Box, type: string) => {
    for (const box of boxes(parent.start, parent.end)) if (box.type === type) return box;
    return undefined;
  };

  /** Follows a path of box types from `parent`, taking the first match at each level. */
  const descend = (parent: Box, path: string[]) =>
    path.reduce<Box | undefined>((box, type) => (box ? child(box, type) : undefined), parent);

  return { boxes, child, descend };
};

type BoxReader = ReturnType<typeof boxReader>;

const trackOf = (moov: Buffer, { boxes, child, descend }: BoxReader, trak: Box): Mp4Track | undefined => {
  const mdia = child(trak, 'mdia');
  const hdlr = mdia && child(mdia, 'hdlr');
  // hdlr is a full box: version/flags (4), pre_defined (4), then handler_type.
  if (!mdia || !hdlr || hdlr.end - hdlr.start < 12) return undefined;
  const handler = moov.toString('latin1', hdlr.start + 8, hdlr.start + 12);
  const stsd = descend(mdia, ['minf', 'stbl', 'stsd']);
  // stsd is a full box: version/flags (4), entry_count (4), then the sample entries, themselves boxes.
  const entry = stsd && boxes(stsd.start + 8, stsd.end).next().value;
  return { handler, codec: entry ? entry.type : undefined };
};

/**
 * The file's bytes at `at`, at least `want` of them where the file has them: served from one chunk read ahead, so
 * a run of small boxes costs one read, and a jump past the chunk (a large `mdat`) costs one more.
 */
const chunkedReader = (file: FileHandle) => {
  const chunk = Buffer.alloc(READ_CHUNK);
  let chunkAt = 0;
  let chunkLength = 0;
  return async (at: number, want: number) => {
    if (at < chunkAt || at + want > chunkAt + chunkLength) {
      const { bytesRead } = await file.read(chunk, 0, READ_CHUNK, at);
      chunkAt = at;
      chunkLength = bytesRead;
    }
    return chunk.subarray(at - chunkAt, Math.min(at - chunkAt + want, chunkLength));
  };
};

/** Finds the top-level `moov` by stepping from box header to box header, so a large `mdat` is never read. */
const readMoov = async (file: FileHandle): Promise<Buffer | undefined> => {
  const { size } = await file.stat();
  const read = chunkedReader(file);
  let at = 0;
  for (let seen = 0; seen < MAX_TOP_LEVEL_BOXES && at + 8 <= size; seen++) {
    const header = await read(at, Math.min(16, size - at));
    if (header.length < 8) return undefined;
    let boxSize = header.readUInt32BE(0);
    let headerSize = 8;
    if (boxSize === 1) {
      if (header.length < 16) return undefined;
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
    const reader = boxReader(moov);
    const root = reader.boxes(0, moov.length).next().value;
    if (!root) return [];
    const tracks: Mp4Track[] = [];
    for (const box of reader.boxes(root.start, root.end)) {
      const track = box.type === 'trak' ? trackOf(moov, reader, box) : undefined;
      if (track) tracks.push(track);
    }
    return tracks;
  } finally {
    await file.close();
  }
};
