/** How many message ids of this session's own sends are remembered as known. */
const KNOWN_IDS = 10_000;

/**
 * Holds a status for a message id Meta chose until the send that got that id has returned: the outbox can only
 * match a receipt to a message once the send's answer named the id, and Meta may post `sent` (even `failed`)
 * before our call has read its answer. A status for an unknown id while no send is in flight belongs to an
 * older message (before a restart) and passes at once. Order per message id is kept.
 */
export class ReceiptGate<E> {
  private inFlight = 0;
  private readonly known = new Set<string>();
  private readonly held = new Map<string, E[]>();

  constructor(private readonly emit: (event: E) => void) {}

  /** Call around each send: `done(id)` once it has an id (or `done()` when it failed), before returning it. */
  begin(): (waMessageId?: string) => void {
    this.inFlight += 1;
    let finished = false;
    return (waMessageId) => {
      if (finished) return;
      finished = true;
      this.inFlight -= 1;
      if (waMessageId) this.remember(waMessageId);
      // Held now with no send left in flight: no send will name them (older messages, or a send whose answer was lost).
      // Taken now, not when released, so a send that starts meanwhile cannot keep them waiting.
      const orphans = this.inFlight === 0 ? [...this.held.keys()] : [];
      // After the caller's own continuation: the send has returned before its receipts are seen.
      setImmediate(() => {
        if (waMessageId) this.release(waMessageId);
        for (const id of orphans) this.release(id);
      });
    };
  }

  /** A status for `waMessageId`: emitted now, or held until the send that will name it has returned. */
  pass(waMessageId: string, event: E) {
    const queue = this.held.get(waMessageId);
    if (queue) queue.push(event);
    else if (this.inFlight > 0 && !this.known.has(waMessageId)) this.held.set(waMessageId, [event]);
    else this.emit(event);
  }

  private remember(id: string) {
    this.known.add(id);
    if (this.known.size > KNOWN_IDS) this.known.delete(this.known.values().next().value as string);
  }

  private release(id: string) {
    const queue = this.held.get(id);
    this.held.delete(id);
    for (const event of queue ?? []) this.emit(event);
  }
}
