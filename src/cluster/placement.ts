/**
 * Rendezvous (highest-random-weight) placement: each node scores each session by a hash of both, and the highest
 * score wins. Every node computes the same answer from the same live set with no coordination; a node joining wins
 * only the sessions where it now scores highest (about 1/n of them) and nothing else moves; a node leaving frees
 * only its own.
 */

/** cyrb53: a fast, well-mixed 53-bit string hash (bit-for-bit the same in every process). */
const hash53 = (text: string): number => {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
};

// The separator keeps ("ab", "c") and ("a", "bc") apart.
const score = (nodeId: string, sessionId: string) => hash53(`${nodeId}\u0000${sessionId}`);

/** The node a session belongs on among the live ones; undefined when none is live. */
export const preferredOwner = (sessionId: string, liveNodeIds: readonly string[]): string | undefined => {
  let best: string | undefined;
  let bestScore = -1;
  for (const nodeId of liveNodeIds) {
    const s = score(nodeId, sessionId);
    // Ties (vanishingly rare) go to the smaller id, so the answer never depends on the list's order.
    if (s > bestScore || (s === bestScore && best !== undefined && nodeId < best)) {
      best = nodeId;
      bestScore = s;
    }
  }
  return best;
};
