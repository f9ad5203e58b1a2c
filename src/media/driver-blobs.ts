import { HashsendError, isHashsendError } from '../errors.js';
import type { DriverBlobs } from '../whatsapp/driver.js';
import type { BlobStore } from './blobs.js';

/**
 * The blob store as drivers see it. A message pins its content by sha256 when it is accepted, perhaps on another
 * node; if this node (the session's owner) cannot find that blob, the send fails `blob_missing` for good, saying
 * where it looked: nothing else is ever sent in its place, and waiting would not bring the file.
 */
export const driverBlobs = (blobs: BlobStore, dir: string): DriverBlobs => ({
  write: (bytes, sha256) => blobs.write(bytes, sha256),
  async read(sha256) {
    try {
      return await blobs.read(sha256);
    } catch (err) {
      if (!isHashsendError(err) || err.code !== 'not_found') throw err;
      throw new HashsendError(
        'blob_missing',
        422,
        `the media this message pins (sha256 ${sha256}) is not in BLOBS_DIR (${dir}) on the node sending it; ` +
          'with several nodes, every node must mount the same BLOBS_DIR. Upload or fetch the media again and resend',
        { sha256 },
        { cause: err },
      );
    }
  },
});
