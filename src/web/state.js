// What the page knows, shared by its modules.

export const state = {
  sessions: [],
  selectedId: undefined,
  /** The selected session as last known (from GET and from its event stream). */
  session: undefined,
  messages: [],
  nextCursor: undefined,
  qrUrl: undefined,
  pairingCode: undefined,
  live: 'off',
  /** The session this page is deleting, so its own `deleted` event is not news. */
  deleting: undefined,
};

/** The session list lives in app.js, which imports the modules that change it: they call it through here. */
export const hooks = { sessionsChanged: () => {} };
