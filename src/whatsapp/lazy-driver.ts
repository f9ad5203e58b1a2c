import type { Driver, DriverCapabilities, DriverSession } from './driver.js';
import { unsupportedByDriver } from './capabilities.js';

/** A driver whose module is imported when its first session opens, not at start; it declares what it can do up front. */
export const lazyDriver = (name: string, capabilities: DriverCapabilities, load: () => Promise<Driver>): Driver => {
  let loaded: Promise<Driver> | undefined;
  return {
    name,
    capabilities,
    open(options) {
      const session = (loaded ??= load()).then((driver) => driver.open(options));
      // Marked handled here: a failed import surfaces in whichever call awaits it.
      session.catch(() => undefined);
      const call = async <T>(use: (s: DriverSession) => Promise<T>) => use(await session);
      const optional = <K extends 'onWhatsApp' | 'sendPresence' | 'handleHttp'>(method: K, what: string) =>
        ((...args: unknown[]) =>
          call((s) => {
            const fn = s[method] as ((...a: unknown[]) => Promise<unknown>) | undefined;
            return fn ? fn.apply(s, args) : Promise.reject(unsupportedByDriver(name, what));
          })) as NonNullable<DriverSession[K]>;
      return {
        start: () => call((s) => s.start()),
        send: (request) => call((s) => s.send(request)),
        requestPairingCode: (phone) => call((s) => s.requestPairingCode(phone)),
        logout: () => call((s) => s.logout()),
        stop: () => call((s) => s.stop()),
        onWhatsApp: optional('onWhatsApp', 'look numbers up'),
        sendPresence: optional('sendPresence', 'show presence'),
        handleHttp: optional('handleHttp', 'take calls from its platform'),
      };
    },
  };
};
