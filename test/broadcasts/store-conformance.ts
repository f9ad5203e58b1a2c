import { describe } from 'node:test';
import { broadcastCases } from './store-conformance-broadcasts.ts';
import { recipientCases } from './store-conformance-recipients.ts';
import type { OpenStore } from './store-fixtures.ts';

export { aBroadcast, recipientsOf, type OpenStore } from './store-fixtures.ts';

/**
 * What every BroadcastStore does, whatever it stores in: exact results for every method of the contract. Each test
 * opens its own store (`open` gives one on the same state every time) and closes it.
 */
export const conformance = (name: string, open: OpenStore) =>
  describe(`BroadcastStore conformance: ${name}`, () => {
    broadcastCases(open);
    recipientCases(open);
  });
