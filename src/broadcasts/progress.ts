import type { MessageEvent } from '../events/types.js';
import type { Logger } from '../log.js';
import type { MessageRecord } from '../outbox/types.js';
import type { BroadcastStore } from './store.js';
import { RECIPIENT_RANK, recipientPatch } from './view.js';
import type { SendOutcome } from './pause-policy.js';

export interface ProgressDeps {
  store: Pick<BroadcastStore, 'updateRecipient'>;
  log: Logger;
  /** A recipient's row was written: its broadcast's counts may have moved. */
  changed(broadcastId: string): void;
  /** One of the broadcast's messages was sent or failed for good. */
  finished(broadcastId: string, index: number): void;
  /** What a send attempt of the broadcast's came to, for the auto-pause policy. */
  outcome(broadcastId: string, outcome: SendOutcome): void;
}

/** Statuses remembered per message, so an older copy of a record never takes a recipient's status back. */
const REMEMBER = 50_000;

/**
 * Keeps each broadcast recipient's row in step with its message, from the outbox's message events (and from
 * the record an idempotent repeat returns after a restart): status, times, error and the sha256 that went out.
 */
export const createProgressTracker = ({ store, log, changed, finished, outcome }: ProgressDeps) => {
  const ranks = new Map<string, number>();

  /** Applies the message's state to its recipient unless a newer state was applied already. */
  const apply = (message: MessageRecord) => {
    const origin = message.broadcast;
    if (!origin) return;
    const patch = recipientPatch(message);
    const rank = RECIPIENT_RANK[patch.status!];
    if ((ranks.get(message.id) ?? -1) >= rank) return;
    ranks.delete(message.id);
    ranks.set(message.id, rank);
    if (ranks.size > REMEMBER) ranks.delete(ranks.keys().next().value!);
    if (patch.status !== 'queued') finished(origin.id, origin.index);
    store.updateRecipient(origin.id, origin.index, patch).then(
      () => changed(origin.id),
      (err: unknown) => log.error({ err, broadcastId: origin.id, index: origin.index }, 'a broadcast recipient could not be updated'),
    );
  };

  const onMessage = ({ message, previousStatus }: MessageEvent) => {
    const origin = message.broadcast;
    if (!origin) return;
    if (message.status === 'sent' && previousStatus === 'sending') outcome(origin.id, { kind: 'sent' });
    else if (message.status === 'failed') outcome(origin.id, { kind: 'failed', code: message.error?.code ?? 'send_failed' });
    else if (message.status === 'queued' && previousStatus === 'sending') {
      outcome(origin.id, { kind: 'failed', code: message.error?.code ?? 'send_failed' });
    }
    apply(message);
  };

  return { apply, onMessage };
};
