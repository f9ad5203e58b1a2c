import { randomBytes } from 'node:crypto';
import { open, rename, rm, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Suffix of in-flight writes; a file ending in it is never credentials, only a crash's leftover. */
export const TEMP_SUFFIX = '.tmp';

/** Flushes a file's or a folder's data to disk: a folder's, so that a rename or removal in it survives a power cut. */
export const fsyncPath = async (path: string, flags = 'r') => {
  const handle = await open(path, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
};

/**
 * Replaces `path` with `data` so that a crash leaves either the old file or the new one, never half of
 * one: a temp file in the same folder is written and fsynced, renamed over the target, then the folder
 * is fsynced so the rename itself survives a power loss.
 */
export const writeFileAtomic = async (path: string, data: string, mode = 0o600) => {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`);
  const handle = await open(temp, 'wx', mode);
  try {
    await handle.writeFile(data, 'utf8');
    // The umask may have narrowed the mode at creation; owner-only is what we want whatever it is.
    await handle.chmod(mode);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temp, { force: true });
    throw error;
  }
  await handle.close();
  try {
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  await fsyncPath(dir);
};

/** Removes `path` if it exists and makes the removal durable. */
export const removeFileDurably = async (path: string) => {
  try {
    await unlink(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  await fsyncPath(dirname(path));
};
