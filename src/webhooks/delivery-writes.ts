import { writeBatch } from '../broadcasts/write-batch.js';
import type { DeliveryUpdate, WebhookStore } from './store.js';
import type { WebhookDelivery } from './types.js';

/**
 * A store's delivery writes, batched: the inserts and updates made while one batch is written go in the next, in
 * `write(inserts, updates)` (inserts first), which answers the seq each insert got by its delivery id.
 */
export const deliveryWrites = (
  write: (inserts: WebhookDelivery[], updates: DeliveryUpdate[]) => Promise<Iterable<[id: string, seq: number]>>,
  options?: { gapMs?: number },
): Pick<WebhookStore, 'addDelivery' | 'updateDelivery'> & { settled(): Promise<unknown> } => {
  type Write = { kind: 'insert'; delivery: WebhookDelivery } | { kind: 'update'; update: DeliveryUpdate };
  /** The seq each stored delivery got, by id, from its batch's write until its `addDelivery` takes it. */
  const seqs = new Map<string, number>();
  const writes = writeBatch<Write>(async (items) => {
    const inserts = items.flatMap((w) => (w.kind === 'insert' ? [w.delivery] : []));
    const updates = items.flatMap((w) => (w.kind === 'update' ? [w.update] : []));
    for (const [id, seq] of await write(inserts, updates)) seqs.set(id, seq);
  }, options);
  return {
    addDelivery: (delivery) =>
      writes.add({ kind: 'insert', delivery }).then(() => {
        const seq = seqs.get(delivery.id)!;
        seqs.delete(delivery.id);
        return seq;
      }),
    updateDelivery: (update) => writes.add({ kind: 'update', update }),
    settled: writes.settled,
  };
};
