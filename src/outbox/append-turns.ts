/**
 * Per session, the last enqueue's turn to append: each waits for the one called before it, so messages take their
 * places in the order `enqueue` was called even when an idempotency lookup makes an earlier one slower.
 */
export const createAppendTurns = () => {
  const turns = new Map<string, Promise<void>>();
  return (sessionId: string) => {
    const previous = turns.get(sessionId) ?? Promise.resolve();
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    turns.set(sessionId, mine);
    const release = () => {
      if (turns.get(sessionId) === mine) turns.delete(sessionId);
      done();
    };
    return { ready: previous, release };
  };
};
