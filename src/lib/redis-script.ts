import { createHash } from 'node:crypto';
import type { RedisClientType } from '@redis/client';

export type ScriptClient = Pick<RedisClientType, 'sendCommand'>;

const shas = new Map<string, string>();

/**
 * Runs a Lua script by EVALSHA, sending its text (EVAL) only when Redis does not know it yet: on first use, after a
 * SCRIPT FLUSH or a restarted Redis. The reply is Redis' own (numbers, strings, arrays, null).
 */
export const evalScript = async (client: ScriptClient, script: string, keys: string[], args: (string | number)[]): Promise<unknown> => {
  let sha = shas.get(script);
  if (!sha) shas.set(script, (sha = createHash('sha1').update(script).digest('hex')));
  const tail = [String(keys.length), ...keys, ...args.map(String)];
  try {
    return await client.sendCommand(['EVALSHA', sha, ...tail]);
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
    return client.sendCommand(['EVAL', script, ...tail]);
  }
};
