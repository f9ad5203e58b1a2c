import { fromZodError, invalidRequest } from '../errors.js';
import type { Driver } from './driver.js';
import { DRIVER_OPTIONS, UnreadableRecordError, type SessionRecords } from './credentials/records.js';

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

/**
 * Kept beside the driver's credentials in the same records (`driver-options.json` 0600 in the session folder, or a
 * sealed field of its Redis hash): options carry tokens and secrets. Written before the session first opens.
 */
export const writeDriverOptions = (records: SessionRecords, options: unknown) => records.write([[DRIVER_OPTIONS, JSON.stringify(options)]]);

export const removeDriverOptions = (records: SessionRecords) => records.write([[DRIVER_OPTIONS, null]]);

/**
 * The stored options, read again through the schema (a record from an older version may lack a field now needed).
 * Missing, unreadable or invalid: `undefined`, and the reason.
 */
export const readDriverOptions = async (records: SessionRecords, driver: Driver): Promise<{ options?: unknown; problem?: string }> => {
  if (!driver.options) return {};
  const [text] = await records.read([DRIVER_OPTIONS]);
  if (text === undefined) return { problem: 'the session has no options (its credentials were removed)' };
  if (text instanceof UnreadableRecordError) return { problem: `the stored options cannot be opened: ${text.message}` };
  let stored: unknown;
  try {
    stored = JSON.parse(text);
  } catch {
    return { problem: 'the stored options are not valid JSON' };
  }
  const result = driver.options.schema.safeParse(stored);
  return result.success ? { options: result.data } : { problem: `the stored options are not valid: ${result.error.issues[0]?.message}` };
};
