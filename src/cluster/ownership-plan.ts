import type { LeaseHolder } from './leases.js';
import { preferredOwner } from './placement.js';

/** A lease this node holds and has settled (adopted, not being released). */
export interface HeldLease {
  token: number;
  /** Taken for a preferred node that left it free too long: not handed back to that same node. */
  fallbackFor?: string;
}

export interface PlanInput {
  self: string;
  /** The live node ids, this node among them. */
  live: readonly string[];
  /** Every session of the install. */
  sessions: readonly string[];
  held: ReadonlyMap<string, HeldLease>;
  /** Sessions with an adopt or a release under way: left alone this pass. */
  busy: ReadonlySet<string>;
  /** Redis' view of the leases of `sessions` and of `held`, read after `held`. */
  holders: ReadonlyMap<string, LeaseHolder | undefined>;
  /** When each free lease was first seen free by this node (monotonic ms). */
  freeSince: ReadonlyMap<string, number>;
  now: number;
  /** How long a free lease is left to its preferred node before any node may take it. */
  graceMs: number;
}

export interface Plan {
  /** Free leases to take, and for whom when not for this node's own share. */
  acquire: { sessionId: string; fallbackFor?: string }[];
  /** Held sessions to close and release: preferred elsewhere now, or no longer a session. */
  handBack: string[];
  /** Held sessions whose lease Redis no longer has as ours: close at once. */
  lost: string[];
  /** Held sessions taken as a fallback that are now this node's own share. */
  settled: string[];
  freeSince: Map<string, number>;
}

/** One pass's decisions for one node, from what it holds and what Redis says; no I/O. */
export const planOwnership = (input: PlanInput): Plan => {
  const { self, live, sessions, held, busy, holders, now, graceMs } = input;
  const plan: Plan = { acquire: [], handBack: [], lost: [], settled: [], freeSince: new Map() };
  const existing = new Set(sessions);

  for (const [sessionId, lease] of held) {
    if (busy.has(sessionId)) continue;
    const holder = holders.get(sessionId);
    if (holder?.nodeId !== self || holder.token !== lease.token) {
      plan.lost.push(sessionId);
      continue;
    }
    if (!existing.has(sessionId)) {
      plan.handBack.push(sessionId);
      continue;
    }
    const preferred = preferredOwner(sessionId, live);
    if (preferred === self) {
      if (lease.fallbackFor !== undefined) plan.settled.push(sessionId);
    } else if (preferred !== lease.fallbackFor) plan.handBack.push(sessionId);
  }

  for (const sessionId of existing) {
    if (held.has(sessionId) || busy.has(sessionId) || holders.get(sessionId) !== undefined) continue;
    const preferred = preferredOwner(sessionId, live);
    if (preferred === self) {
      plan.acquire.push({ sessionId });
      continue;
    }
    const since = input.freeSince.get(sessionId) ?? now;
    plan.freeSince.set(sessionId, since);
    // Its node may be dead but not yet expired, or stuck: the session must not stay unowned.
    if (now - since >= graceMs) plan.acquire.push({ sessionId, fallbackFor: preferred });
  }
  return plan;
};
