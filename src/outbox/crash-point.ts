/**
 * A fault hook for tests only: `HASHSEND_TEST_CRASH_AFTER=<point>` makes the process kill itself with SIGKILL when
 * it reaches that point, so a test can prove what a crash in that exact window leaves behind. Unset (always, outside
 * tests) it does nothing. Points: `message-stored` (the outbox committed a new message, before anyone was told).
 */
export type CrashPoint = 'message-stored';

export const crashPoint = (point: CrashPoint) => {
  if (process.env.HASHSEND_TEST_CRASH_AFTER === point) process.kill(process.pid, 'SIGKILL');
};
