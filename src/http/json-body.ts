import express from 'express';
import { HashsendError } from '../errors.js';

/** Far above any request body of ours (they nest a handful of levels), far below what recursion chokes on. */
export const MAX_JSON_DEPTH = 64;

/**
 * Whether JSON text nests arrays and objects deeper than `max`, found in one pass without parsing: a body 3,000
 * levels deep parses fine, but any recursive walk of it afterwards (a canonicaliser, a validator, a logger)
 * overflows the stack.
 */
export const nestsDeeperThan = (text: string, max: number): boolean => {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // a backslash escapes the next character, a quote among them
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
};

/** `express.json` that also refuses bodies nested deeper than `maxDepth` with `400 invalid_request`. */
export const jsonBody = ({ limit = '1mb', maxDepth = MAX_JSON_DEPTH }: { limit?: string; maxDepth?: number } = {}) =>
  express.json({
    limit,
    verify(_req, _res, buf, encoding) {
      let text: string;
      try {
        text = new TextDecoder(encoding || 'utf-8').decode(buf);
      } catch {
        throw new HashsendError('invalid_request', 415, `unsupported charset "${encoding}"; send JSON as UTF-8`);
      }
      if (nestsDeeperThan(text, maxDepth))
        throw new HashsendError('invalid_request', 400, `JSON body nests deeper than ${maxDepth} levels`);
    },
  });
