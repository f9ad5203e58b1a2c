import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pipeline } from 'node:stream/promises';
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './log.js';
import { isHashsendError } from './errors.js';

const USAGE = `usage:
  hashsend [serve]                           run the gateway (settings from the environment and .env)
  hashsend check <url> [--sha256 H] [--json]  would this URL's media be sent fresh? exit 0 yes, 1 no
  hashsend hash <file>                        the file's sha256 and a versioned file name
`;

/** `banner.jpg` + hash → `banner.3f9a1c2e.jpg`: a path that changes with the content, so no cache holds it stale. */
export const versionedName = (file: string, sha256: string) => {
  const ext = path.extname(file);
  return `${path.basename(file, ext)}.${sha256.slice(0, 8)}${ext}`;
};

const hashFile = async (file: string) => {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
};

const runCheck = async (args: string[]) => {
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options: { sha256: { type: 'string' }, json: { type: 'boolean' } } });
  } catch (err) {
    // An unknown or incomplete option is the user's typo: usage, not a stack trace.
    throw new UsageError((err as Error).message.split('. ')[0]);
  }
  const { positionals, values } = parsed;
  if (positionals.length !== 1) throw new UsageError('check takes one URL');
  const config = loadConfig();
  const { createChecker } = await import('./media/check.js');
  // The report says what a warning log line would; only real errors reach stderr unless LOG_LEVEL asks for more.
  const checker = createChecker({ config, log: createLogger(config.logLevel === 'info' ? 'error' : config.logLevel, process.stderr) });
  const report = await checker.check(positionals[0], { sha256: values.sha256 });
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : checker.format(report));
  return report.wouldSend ? 0 : 1;
};

const runHash = async (args: string[]) => {
  if (args.length !== 1) throw new UsageError('hash takes one file');
  const sha256 = await hashFile(args[0]);
  process.stdout.write(`${sha256}  ${args[0]}\nversioned name: ${versionedName(args[0], sha256)}\n`);
  return 0;
};

class UsageError extends Error {}

export const main = async (argv: string[]): Promise<number> => {
  const [command = 'serve', ...rest] = argv;
  try {
    switch (command) {
      case 'serve': {
        const { serve } = await import('./main.js');
        await serve();
        return -1;
      }
      case 'check':
        return await runCheck(rest);
      case 'hash':
        return await runHash(rest);
      case '-h':
      case '--help':
      case 'help':
        process.stdout.write(USAGE);
        return 0;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (err) {
    if (err instanceof UsageError) process.stderr.write(`hashsend: ${err.message}\n${USAGE}`);
    else if (err instanceof ConfigError) for (const line of err.problems) process.stderr.write(`hashsend: ${line}\n`);
    else if (isHashsendError(err)) process.stderr.write(`hashsend: ${err.code}: ${err.message}\n`);
    else if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      process.stderr.write(`hashsend: no such file: ${(err as NodeJS.ErrnoException).path}\n`);
    else throw err;
    return 2;
  }
};

const code = await main(process.argv.slice(2));
if (code >= 0) process.exitCode = code;
