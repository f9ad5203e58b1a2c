import type { z } from 'zod';
import { fromZodError } from './errors.js';

/** Parses a request part with the schema the OpenAPI document shows; a failure is `400 invalid_request`. */
export const parse = <T extends z.ZodType>(schema: T, value: unknown, where = 'body'): z.output<T> => {
  const result = schema.safeParse(value ?? {});
  if (!result.success) throw fromZodError(result.error, where);
  return result.data;
};
