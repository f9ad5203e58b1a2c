import { HashsendError } from '../errors.js';
import type { EventBus } from '../events/bus.js';
import type { OptOut, OptOutEvent } from '../events/types.js';
import { optOutNumber } from './phone.js';
import type { OptOutPage, OptOutStore } from './store.js';

export interface OptOutServiceOptions {
  store: OptOutStore;
  events: Pick<EventBus<OptOutEvent>, 'publish'>;
  /** Throws `session_not_found` for an unknown session. */
  requireSession(id: string): void;
  /** @default Date.now */
  clock?: () => number;
}

/** A session's suppression list as callers use it: numbers in any form, `optout` published once per number added. */
export interface OptOutService {
  /** Adds the number; `added` false when it was on the list already (nothing changes, nothing is published). */
  add(sessionId: string, phone: string, from: Pick<OptOut, 'source' | 'messageId'>): Promise<{ optOut: OptOut; added: boolean }>;
  /** `404 opt_out_not_found` when the number is not on the list. */
  remove(sessionId: string, phone: string): Promise<void>;
  /** `404 opt_out_not_found` when the number is not on the list. */
  get(sessionId: string, phone: string): Promise<OptOut>;
  list(sessionId: string, page: { limit: number; after?: string }): Promise<OptOutPage>;
}

const notOnList = (sessionId: string, phone: string) =>
  new HashsendError('opt_out_not_found', 404, `+${phone} is not on the opt-out list of session "${sessionId}"`);

export const createOptOutService = ({ store, events, requireSession, clock = Date.now }: OptOutServiceOptions): OptOutService => ({
  async add(sessionId, phone, { source, messageId }) {
    requireSession(sessionId);
    const number = optOutNumber(phone);
    const result = await store.add({
      sessionId,
      ...number,
      source,
      ...(messageId ? { messageId } : {}),
      createdAt: new Date(clock()).toISOString(),
    });
    if (result.added) events.publish({ type: 'optout', optOut: result.optOut });
    return result;
  },
  async remove(sessionId, phone) {
    requireSession(sessionId);
    const number = optOutNumber(phone);
    if (!(await store.remove(sessionId, number.jid))) throw notOnList(sessionId, number.phone);
  },
  async get(sessionId, phone) {
    requireSession(sessionId);
    const number = optOutNumber(phone);
    return (await store.get(sessionId, number.jid)) ?? Promise.reject(notOnList(sessionId, number.phone));
  },
  async list(sessionId, page) {
    requireSession(sessionId);
    return store.list(sessionId, page);
  },
});
