/** What a `Range` header gets from a representation: all of it, one inclusive byte range, or a 416. */
export type RangeAnswer = { kind: 'full' } | { kind: 'partial'; start: number; end: number } | { kind: 'unsatisfiable' };

const FULL: RangeAnswer = { kind: 'full' };

/** More ranges than this in one header is no client reading a file; the header is ignored (RFC 9110 §14.2). */
const MAX_RANGES = 64;

const SPEC = /^(\d*)-(\d*)$/;

/**
 * Reads a `Range` header against a representation of `size` bytes, as RFC 9110 §14 says:
 * - another unit than `bytes` (`items=0-1`) or a malformed header is ignored: the full answer, never an error;
 * - `first-last` is clamped to the end, `first-` runs to the end, and `-n` is the last n bytes, all of them when
 *   n is more than the file has;
 * - when no range can be satisfied (all start past the end, or `-0`) the answer is a 416;
 * - overlapping or adjacent ranges are merged; several disjoint ones get the full answer, since a server may
 *   ignore a Range and this one sends no multipart/byteranges.
 */
export const byteRange = (header: string | undefined, size: number): RangeAnswer => {
  const match = header === undefined ? null : /^\s*bytes\s*=(.*)$/i.exec(header);
  if (!match) return FULL;
  // A list may carry empty elements ("0-1,,5-"), which a recipient skips (RFC 9110 §5.6.1).
  const specs = match[1]
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (specs.length === 0 || specs.length > MAX_RANGES) return FULL;
  const ranges: { start: number; end: number }[] = [];
  for (const spec of specs) {
    const parts = SPEC.exec(spec);
    if (!parts || (parts[1] === '' && parts[2] === '')) return FULL;
    const [first, last] = [parts[1] === '' ? undefined : Number(parts[1]), parts[2] === '' ? undefined : Number(parts[2])];
    if (first === undefined) {
      // A suffix: the last `last` bytes.
      if (last! > 0 && size > 0) ranges.push({ start: Math.max(0, size - last!), end: size - 1 });
      continue;
    }
    if (last !== undefined && last < first) return FULL;
    if (first < size) ranges.push({ start: first, end: Math.min(last ?? size - 1, size - 1) });
  }
  if (ranges.length === 0) return { kind: 'unsatisfiable' };
  ranges.sort((a, b) => a.start - b.start);
  const [merged, ...rest] = ranges;
  for (const r of rest) {
    if (r.start > merged.end + 1) return FULL;
    merged.end = Math.max(merged.end, r.end);
  }
  return { kind: 'partial', ...merged };
};
