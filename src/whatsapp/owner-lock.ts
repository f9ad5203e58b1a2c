import { open, readFile, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { HashsendError } from '../errors.js';

const FILE = 'owner.lock';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Claims a session folder for this process, so two hashsend processes on one machine never drive the same
 * WhatsApp session (WhatsApp would answer with `conflict` and both would fight). A lock left by a dead process
 * (a crash, SIGKILL) is taken over.
 */
export const acquireOwner = async (dir: string): Promise<() => Promise<void>> => {
  const file = path.join(dir, FILE);
  const release = async () => {
    await unlink(file).catch(() => undefined);
  };
  try {
    const handle = await open(file, 'wx', 0o600);
    await handle.writeFile(String(process.pid));
    await handle.close();
    return release;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const holder = Number((await readFile(file, 'utf8').catch(() => '')).trim());
  if (holder && holder !== process.pid && alive(holder)) {
    throw new HashsendError('session_owned', 409, `session folder ${dir} is held by another hashsend process (pid ${holder})`);
  }
  await writeFile(file, String(process.pid), { mode: 0o600 });
  return release;
};
