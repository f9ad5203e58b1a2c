import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface ApiKeyResult {
  key: string;
  /** True when this start generated it: the caller prints it once, to the terminal, never to the log. */
  generated: boolean;
  file?: string;
}

/** API_KEY from the environment wins; otherwise the key kept in DATA_DIR/api-key, made at first start (0600). */
export const ensureApiKey = async ({ apiKey, dataDir }: { apiKey?: string; dataDir: string }): Promise<ApiKeyResult> => {
  if (apiKey) return { key: apiKey, generated: false };
  const file = path.resolve(dataDir, 'api-key');
  try {
    const stored = (await readFile(file, 'utf8')).trim();
    if (stored) return { key: stored, generated: false, file };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const key = `hs_${randomBytes(24).toString('base64url')}`;
  // `wx`: two processes starting at once cannot overwrite each other's key.
  await writeFile(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
  return { key, generated: true, file };
};
