import type { DriverSession } from './driver.js';

const remote = new WeakSet<object>();

/** Whether `session` stands for a driver session open on another node (see `remoteDriverSession`). */
export const isRemoteDriverSession = (session: object) => remote.has(session);

/**
 * A driver session open on another node, as the routes and tools see one: every method is a call to the owner,
 * answering a promise (a method the driver lacks fails there as `unsupported_by_driver`).
 */
export const remoteDriverSession = (call: (method: string, args: unknown[]) => Promise<unknown>): DriverSession => {
  const proxy = new Proxy(
    {},
    {
      // Not `then`: a thenable would be taken for a promise by whoever awaits the session itself.
      get: (_target, key) => (typeof key === 'string' && key !== 'then' ? (...args: unknown[]) => call(key, args) : undefined),
    },
  );
  remote.add(proxy);
  return proxy as DriverSession;
};
