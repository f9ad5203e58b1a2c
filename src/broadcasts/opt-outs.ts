import type { OptOut } from '../events/types.js';
import type { OptOutStore } from '../optouts/store.js';
import type { BroadcastStore } from './store.js';
import type { Broadcast, BroadcastRecipient } from './types.js';

/** What a broadcast asks of a session's suppression list. */
export type BroadcastOptOuts = Pick<OptOutStore, 'get' | 'jids'>;

/** How a recipient that opted out shows in the report: `skipped`, with the reason. */
export const optedOutPatch = ({ phone, source, createdAt }: OptOut): Pick<BroadcastRecipient, 'status' | 'error'> => ({
  status: 'skipped',
  error: {
    code: 'opted_out',
    message: `+${phone} opted out (${source === 'keyword' ? 'by keyword' : 'through the API'}, ${createdAt}); not sent`,
  },
});

export interface OptOutScreenDeps {
  optOuts: BroadcastOptOuts;
  store: Pick<BroadcastStore, 'updateRecipient'>;
  /** A recipient's row was written: its broadcast's counts moved. */
  changed(broadcastId: string): void;
}

/**
 * Keeps a broadcast off numbers that opted out: the list is checked as it is stored, so the counts show them
 * skipped from the start, and each recipient again at its turn, for a STOP that came in while it ran.
 */
export const createOptOutScreen = ({ optOuts, store, changed }: OptOutScreenDeps) => ({
  /** The list as it is stored: numbers already opted out are skipped from the start, with the reason. */
  async atCreation(sessionId: string, recipients: BroadcastRecipient[]) {
    const listed = await optOuts.jids(sessionId);
    if (!listed.size) return recipients;
    return Promise.all(
      recipients.map(async (r) => {
        const optOut = listed.has(r.to) ? await optOuts.get(sessionId, r.to) : undefined;
        return optOut ? { ...r, ...optedOutPatch(optOut) } : r;
      }),
    );
  },
  /** True when the recipient has opted out, and is now stored as skipped. */
  async atTurn(b: Broadcast, r: BroadcastRecipient) {
    const optOut = await optOuts.get(b.sessionId, r.to);
    if (!optOut) return false;
    await store.updateRecipient(b.id, r.index, optedOutPatch(optOut));
    changed(b.id);
    return true;
  },
});
