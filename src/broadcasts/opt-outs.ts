import type { OptOut } from '../events/types.js';
import type { OptOutStore } from '../optouts/store.js';
import type { BroadcastRecipient } from './types.js';

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

/** The list as it is stored at creation: numbers already opted out are skipped from the start, with the reason. */
export const screenRecipients = async (optOuts: BroadcastOptOuts, sessionId: string, recipients: BroadcastRecipient[]) => {
  const listed = await optOuts.jids(sessionId);
  if (!listed.size) return recipients;
  return Promise.all(
    recipients.map(async (r) => {
      const optOut = listed.has(r.to) ? await optOuts.get(sessionId, r.to) : undefined;
      return optOut ? { ...r, ...optedOutPatch(optOut) } : r;
    }),
  );
};
