import { mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { fromZodError, invalidRequest } from '../errors.js';
import { writeFileAtomic } from '../fs/atomic-file.js';
import type { Driver } from './driver.js';

/** Beside the driver's credentials in the session folder, owner-only: options carry tokens and secrets. */
const OPTIONS_FILE = 'driver-options.json';

/** The options a create or update request gave, as the driver's schema reads them; `400 invalid_request` otherwise. */
export const parseDriverOptions = (driver: Driver, options: unknown): unknown => {
  if (!driver.options) {
    if (options === undefined) return undefined;
    throw invalidRequest(`the ${driver.name} driver takes no options`, { issues: [{ path: 'options', message: 'Not allowed here.' }] });
  }
  const result = driver.options.schema.safeParse(options ?? {});
  if (!result.success) throw fromZodError(result.error, 'options', ['options']);
  driver.options.check?.(result.data);
  return result.data;
};

/** Written before the session first opens, so the folder is made here (0700, as the drivers' own). */
export const writeDriverOptions = async (dir: string, options: unknown) => {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(path.join(dir, OPTIONS_FILE), JSON.stringify(options), 0o600);
};

export const removeDriverOptions = (dir: string) => rm(path.join(dir, OPTIONS_FILE), { force: true });

/**
 * The stored options, read again through the schema (a file from an older version may lack a field now needed).
 * Missing or unreadable: `undefined`, and the reason.
 */
export const readDriverOptions = async (dir: string, driver: Driver): Promise<{ options?: unknown; problem?: string }> => {
  if (!driver.options) return {};
  let text: string;
  try {
    text = await readFile(path.join(dir, OPTIONS_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { problem: 'the session has no options (its credentials were removed)' };
    throw err;
  }
  const result = driver.options.schema.safeParse(JSON.parse(text));
  return result.success ? { options: result.data } : { problem: `the stored options are not valid: ${result.error.issues[0]?.message}` };
};
