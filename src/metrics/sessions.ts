import { Gauge, type Registry } from 'prom-client';
import type { SessionState } from '../whatsapp/driver.js';

/** Every state, so a state no session is in shows 0 instead of vanishing from the graph. */
const STATES = Object.keys({
  starting: true,
  qr: true,
  connected: true,
  reconnecting: true,
  logged_out: true,
  conflict: true,
  needs_relink: true,
  stopped: true,
} satisfies Record<SessionState, true>);

/** `hashsend_sessions{state}`: how many sessions are in each state, read from the session manager when scraped. */
export const sessionMetrics = (registry: Registry, states: () => { state: SessionState }[]) =>
  new Gauge({
    name: 'hashsend_sessions',
    help: 'Sessions by state',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const counts = new Map<string, number>(STATES.map((s) => [s, 0]));
      for (const { state } of states()) counts.set(state, (counts.get(state) ?? 0) + 1);
      for (const [state, n] of counts) this.set({ state }, n);
    },
  });
