// The selected session: its state, QR, messages and event stream, the cards that show them, and its actions.
import { ApiError, api, listOf, sessionPath } from './api.js';
import { createBroadcastPanel } from './broadcasts.js';
import { headerCard, linkCard, liveLabel, messagesBody } from './cards.js';
import { createCloudPanel } from './cloud-card.js';
import { $, h, reportError, runAction, showFormError, toast } from './dom.js';
import { createSendPanel } from './send.js';
import { hooks, state } from './state.js';
import { followEvents } from './stream.js';

/** What lives as long as a session is selected: its stream and the panels whose forms keep what was typed. */
let current = { stream: undefined, send: undefined, broadcasts: undefined, messagesHolder: undefined, cloud: undefined };

export const selectSession = (id) => {
  if (id === state.selectedId && id !== undefined) return;
  closeSession();
  Object.assign(state, { selectedId: id, session: undefined, messages: [], nextCursor: undefined, pairingCode: undefined });
  if (id) history.replaceState(null, '', `#session=${encodeURIComponent(id)}`);
  else history.replaceState(null, '', location.pathname);
  hooks.sessionsChanged();
  if (!id) return renderDetail();
  state.session = state.sessions.find((s) => s.id === id);
  openSession(id);
  renderDetail();
  loadSession().catch(reportError);
  loadMessages().catch(reportError);
};

const openSession = (id) => {
  const messagesHolder = h('div', { id: 'messages' });
  current = {
    messagesHolder,
    send: createSendPanel(id, { onSent: () => loadMessages().catch(reportError) }),
    broadcasts: createBroadcastPanel(id),
    stream: followEvents(sessionPath(id, '/events'), {
      // Whatever happened while the stream was down: catch up once.
      onOpen: () => {
        loadSession().catch(reportError);
        current.broadcasts?.refresh();
      },
      onEvent: (type, data) => handleEvent(id, type, data),
      onLive: setLive,
      onGone: reportError,
    }),
  };
  const messagesCard = h(
    'section',
    { class: 'card messages-card', 'aria-labelledby': 'messages-title' },
    h(
      'div',
      { class: 'card-head' },
      h('h2', { id: 'messages-title' }, 'Recent messages'),
      h(
        'button',
        { type: 'button', class: 'btn btn-ghost btn-sm', onclick: (e) => runAction(e.currentTarget, () => loadMessages()) },
        'Refresh',
      ),
    ),
    messagesHolder,
  );
  $('detail-body').replaceChildren(
    h('div', { id: 'session-slot' }),
    h('div', { id: 'cloud-slot', hidden: true }),
    current.send.el,
    current.broadcasts.el,
    messagesCard,
  );
};

/** Ends the stream of the session that was selected; its panels go with the next `openSession` or the redraw. */
export const closeSession = () => {
  current.stream?.abort();
  current.broadcasts?.destroy();
  current = { stream: undefined, send: undefined, broadcasts: undefined, messagesHolder: undefined, cloud: undefined };
  releaseQr();
  setLive('off');
};

const loadSession = async () => {
  const id = state.selectedId;
  const session = await api(sessionPath(id));
  if (id !== state.selectedId) return;
  applySession(session, { replace: true });
};

/** Merges what we learnt about the selected session and redraws what depends on its state. */
const applySession = (patch, { replace = false } = {}) => {
  const before = state.session?.state;
  state.session = replace ? patch : { ...(state.session ?? {}), ...patch };
  const index = state.sessions.findIndex((s) => s.id === state.session.id);
  if (index >= 0) state.sessions[index] = replace ? patch : { ...state.sessions[index], ...patch };
  const now = state.session.state;
  if (now === 'qr' && (before !== 'qr' || !state.qrUrl)) loadQr().catch(reportError);
  if (now !== 'qr') releaseQr();
  if (now === 'connected' && before && before !== 'connected') {
    state.pairingCode = undefined;
    toast(`${state.session.id} is connected`);
    loadSession().catch(reportError);
    loadMessages().catch(reportError);
  }
  hooks.sessionsChanged();
  renderDetail();
};

let qrLoad;
let qrAgain = false;
/** One QR request at a time; a new code announced meanwhile is fetched right after, once. */
const loadQr = async () => {
  if (qrLoad) {
    qrAgain = true;
    return qrLoad;
  }
  qrLoad = fetchQr();
  try {
    await qrLoad;
  } finally {
    qrLoad = undefined;
  }
  if (qrAgain) {
    qrAgain = false;
    await loadQr();
  }
};

const fetchQr = async () => {
  const id = state.selectedId;
  try {
    const res = await api(sessionPath(id, '/qr'), { accept: 'image/svg+xml' });
    const blob = await res.blob();
    // Linked (or switched away) while the image was on its way: it is no longer the code to scan.
    if (id !== state.selectedId || state.session?.state !== 'qr') return;
    releaseQr();
    state.qrUrl = URL.createObjectURL(blob);
  } catch (err) {
    // Linked between the event and this request: the state event that follows redraws the page.
    if (err instanceof ApiError && err.code === 'not_awaiting_qr') return;
    throw err;
  }
  renderDetail();
};

const releaseQr = () => {
  if (state.qrUrl) URL.revokeObjectURL(state.qrUrl);
  state.qrUrl = undefined;
};

export const loadMessages = async ({ more = false } = {}) => {
  const id = state.selectedId;
  if (!id) return;
  const cursor = more ? state.nextCursor : undefined;
  const body = await api(sessionPath(id, `/messages${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ''}`));
  if (id !== state.selectedId) return;
  const items = listOf(body);
  // A refresh of the newest page leaves the cursor of older pages already loaded where it was.
  const loadedOlder = !more && state.messages.length > items.length;
  state.messages = more ? [...state.messages, ...items] : mergeFirstPage(items);
  if (!loadedOlder) state.nextCursor = body?.nextCursor ?? undefined;
  renderMessages();
};

/** A refresh of the newest page keeps older pages the operator loaded, updating the statuses it holds. */
const mergeFirstPage = (items) => {
  const fresh = new Set(items.map((m) => m.id));
  return [...items, ...state.messages.slice(items.length).filter((m) => !fresh.has(m.id))];
};

const renderMessages = () => {
  const loadMore = state.nextCursor ? (button) => runAction(button, () => loadMessages({ more: true })) : undefined;
  current.messagesHolder?.replaceChildren(messagesBody(state.selectedId, state.messages, loadMore));
  current.send?.update(state.messages);
};

const parseData = (data) => {
  try {
    return JSON.parse(data);
  } catch {
    return { value: data };
  }
};

/**
 * The events of `GET /api/sessions/:id/events`: `state` (the whole session), `qr` (a new code), `broadcast` (a
 * broadcast's progress), `receipt` (a message delivered or read), `deleted`. Anything else may concern messages,
 * so they are fetched again.
 */
const handleEvent = (id, type, raw) => {
  if (id !== state.selectedId) return;
  const data = parseData(raw);
  const payload = data && typeof data === 'object' ? data : {};
  if (type === 'state' && payload.id === id && typeof payload.state === 'string') {
    // The event is the whole session: what it no longer has (me, lastError) is gone.
    applySession(payload, { replace: true });
  } else if (type === 'qr') {
    // Entering the qr state loads the image itself; otherwise this is a new code replacing the old one.
    if (state.session?.state !== 'qr') applySession({ state: 'qr' });
    else loadQr().catch(reportError);
  } else if (type === 'broadcast') {
    current.broadcasts?.apply(payload);
  } else if (type === 'deleted') {
    state.sessions = state.sessions.filter((s) => s.id !== id);
    if (state.deleting !== id) toast(`Session ${id} was deleted elsewhere`);
    selectSession(undefined);
  } else {
    scheduleMessagesRefresh();
  }
};

let messagesRefresh;
const scheduleMessagesRefresh = () => {
  clearTimeout(messagesRefresh);
  messagesRefresh = setTimeout(() => loadMessages().catch(reportError), 150);
};

const setLive = (live) => {
  state.live = live;
  const el = document.querySelector('[data-live]');
  if (!el) return;
  el.dataset.live = live;
  el.lastChild.textContent = liveLabel(live);
};

// Actions

const logout = (button) =>
  runAction(
    button,
    async () => {
      await api(sessionPath(state.selectedId, '/logout'), { method: 'POST' });
      await loadSession();
    },
    'Logged out',
  );

const remove = (button) => {
  const id = state.selectedId;
  if (!confirm(`Delete session “${id}”? It is logged out and its credentials are removed.`)) return;
  state.deleting = id;
  return runAction(
    button,
    async () => {
      await api(sessionPath(id), { method: 'DELETE' });
      state.sessions = state.sessions.filter((s) => s.id !== id);
      if (state.selectedId === id) selectSession(undefined);
    },
    `Session ${id} deleted`,
  );
};

const restart = (button) =>
  runAction(button, async () => {
    // Asking for the QR again is how a stopped or logged-out session starts a new link.
    await api(sessionPath(state.selectedId, '/qr'), { accept: 'application/json' }).catch((err) => {
      if (!(err instanceof ApiError && err.code === 'not_awaiting_qr')) throw err;
    });
    await loadSession();
  });

const sandboxLink = (button) =>
  runAction(button, () => api(sessionPath(state.selectedId, '/sandbox/link'), { method: 'POST', body: {} }), 'Sandbox scan sent');

const requestPairingCode = async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const phone = form.querySelector('input').value.replace(/[\s()-]/g, '');
  const error = form.querySelector('.form-error');
  const button = form.querySelector('button');
  if (!/^\+?\d{7,15}$/.test(phone))
    return showFormError(error, new Error('Enter the number in international form, digits only, e.g. +4915123456789.'));
  showFormError(error, undefined);
  button.disabled = true;
  try {
    const { code } = await api(sessionPath(state.selectedId, '/pairing-code'), {
      method: 'POST',
      body: { phone: phone.replace(/^\+/, '') },
    });
    state.pairingCode = code;
    renderDetail();
  } catch (err) {
    showFormError(error, err);
  } finally {
    button.disabled = false;
  }
};

const sessionActions = { logout, remove, restart, sandboxLink, requestPairingCode };

/** Redraws the session's header and link cards; the panels below keep their forms as the operator left them. */
export const renderDetail = () => {
  const s = state.session ?? (state.selectedId ? { id: state.selectedId } : undefined);
  $('detail-empty').hidden = Boolean(s);
  const body = $('detail-body');
  body.hidden = !s;
  if (!s) return body.replaceChildren();
  const slot = $('session-slot');

  // Keep what the operator is typing across redraws.
  const phoneInput = slot.querySelector('#pair-phone');
  const phone = phoneInput?.value ?? '';
  const phoneFocused = document.activeElement === phoneInput;

  slot.replaceChildren(...[headerCard(s, state.live, sessionActions), linkCard(s, state, sessionActions)].filter(Boolean));
  const newPhone = slot.querySelector('#pair-phone');
  if (newPhone) {
    newPhone.value = phone;
    if (phoneFocused) newPhone.focus();
  }
  renderCloud(s);
};

/** A Cloud API session's card, in its own slot: redrawing the header leaves a token being typed where it is. */
const renderCloud = (s) => {
  if (s.driver !== 'cloud') return;
  if (!current.cloud) {
    current.cloud = createCloudPanel(s.id, { onReplaced: (session) => applySession(session, { replace: true }) });
    const cloudSlot = $('cloud-slot');
    cloudSlot.replaceChildren(current.cloud.el);
    cloudSlot.hidden = false;
  }
  current.cloud.update(s);
};
