// The hashsend operator page: plain DOM, no build step. Everything it shows comes from /api with the key the
// operator typed; nothing from the API is ever put into the page as HTML (textContent only).

const KEY_NAME = 'hashsend.apiKey';
const POLL_MS = 5000;
const STREAM_RETRY_MAX_MS = 15000;

const STATE_LABELS = {
  starting: 'Starting',
  qr: 'Waiting for scan',
  connected: 'Connected',
  reconnecting: 'Reconnecting',
  logged_out: 'Logged out',
  conflict: 'Replaced elsewhere',
  needs_relink: 'Needs relink',
  stopped: 'Stopped',
};
const STATE_HINTS = {
  starting: 'Opening the connection to WhatsApp…',
  reconnecting: 'The connection dropped; trying again with backoff.',
  logged_out: 'This number was unlinked. Link again to get a new QR code.',
  conflict: 'Another client took over this session. It stays stopped until you restart it.',
  needs_relink: 'The stored credentials are missing or unreadable. Link the number again.',
  stopped: 'The session is stopped; its credentials are kept.',
};
const DRIVER_LABELS = { baileys: 'WhatsApp', sandbox: 'Sandbox' };

const $ = (id) => document.getElementById(id);

/** Builds an element: `h('p', { class: 'x' }, 'text', child)`. Strings become text nodes, never markup. */
const h = (tag, attrs = {}, ...children) => {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === undefined || value === null) continue;
    if (name.startsWith('on')) el.addEventListener(name.slice(2), value);
    else if (name === 'dataset') Object.assign(el.dataset, value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
};

// ---------------------------------------------------------------------------------------------------------------
// API

class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

const keyStore = {
  get: () => sessionStorage.getItem(KEY_NAME) ?? localStorage.getItem(KEY_NAME),
  set(key, remember) {
    sessionStorage.setItem(KEY_NAME, key);
    if (remember) localStorage.setItem(KEY_NAME, key);
    else localStorage.removeItem(KEY_NAME);
  },
  clear() {
    sessionStorage.removeItem(KEY_NAME);
    localStorage.removeItem(KEY_NAME);
  },
};

const authHeaders = (extra = {}) => ({ Authorization: `Bearer ${keyStore.get() ?? ''}`, ...extra });

const toApiError = async (res) => {
  const body = await res.json().catch(() => undefined);
  const error = body && typeof body === 'object' ? body.error : undefined;
  if (error && typeof error.message === 'string') return new ApiError(res.status, error.code ?? 'error', error.message, error.details);
  return new ApiError(res.status, 'http_' + res.status, `${res.status} ${res.statusText || 'request failed'}`);
};

/** JSON in and out; an answer that is not 2xx becomes an ApiError with the server's code and message. */
const api = async (path, { method = 'GET', body, accept = 'application/json', signal } = {}) => {
  let res;
  try {
    res = await fetch(path, {
      method,
      signal,
      headers: authHeaders({ Accept: accept, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) }),
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, 'network', 'The server cannot be reached. Check that hashsend is running.');
  }
  if (!res.ok) {
    const error = await toApiError(res);
    if (res.status === 401 || res.status === 403) onAuthFailure(error);
    throw error;
  }
  if (accept !== 'application/json') return res;
  if (res.status === 204) return undefined;
  const text = await res.text();
  return text ? JSON.parse(text) : undefined;
};

const sessionPath = (id, rest = '') => `/api/sessions/${encodeURIComponent(id)}${rest}`;
const listOf = (body) => (Array.isArray(body?.items) ? body.items : []);

/**
 * Server-sent events over fetch: EventSource cannot send the Authorization header. Calls `onEvent(type, data)`
 * for each event; resolves when the server ends the stream, rejects on a network or HTTP error.
 */
const readEvents = async (path, { signal, onOpen, onEvent }) => {
  const res = await fetch(path, { signal, headers: authHeaders({ Accept: 'text/event-stream' }), cache: 'no-store' });
  if (!res.ok) {
    const error = await toApiError(res);
    if (res.status === 401 || res.status === 403) onAuthFailure(error);
    throw error;
  }
  onOpen();
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let type = '';
  let data = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    const lines = buffer.split(/\r\n|\r|\n/);
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      if (line === '') {
        if (data.length) onEvent(type || 'message', data.join('\n'));
        type = '';
        data = [];
      } else if (line.startsWith(':')) {
        continue;
      } else {
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        const raw = colon === -1 ? '' : line.slice(colon + 1);
        const fieldValue = raw.startsWith(' ') ? raw.slice(1) : raw;
        if (field === 'event') type = fieldValue;
        else if (field === 'data') data.push(fieldValue);
      }
    }
  }
};

// ---------------------------------------------------------------------------------------------------------------
// Formatting

const stateLabel = (state) => STATE_LABELS[state] ?? state ?? 'Unknown';
const badge = (state, extraClass = '') =>
  h('span', { class: `badge badge-${state ?? 'unknown'} ${extraClass}`.trim(), dataset: { state: state ?? '' } }, stateLabel(state));

const STATUS_LABELS = { queued: 'Queued', sending: 'Sending', sent: 'Sent', delivered: 'Delivered', read: 'Read', failed: 'Failed' };
const statusBadge = (status) => h('span', { class: `status status-${status}`, dataset: { status } }, STATUS_LABELS[status] ?? status);

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const dateFormat = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
const formatTime = (iso) => {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '—';
  const today = new Date().toDateString() === date.toDateString();
  return today ? timeFormat.format(date) : `${dateFormat.format(date)}, ${timeFormat.format(date)}`;
};

/** `4915123456789@s.whatsapp.net` → `+49 151 23456789`-ish: the number readable, groups and others as they are. */
const formatJid = (jid) => {
  if (typeof jid !== 'string') return '—';
  const user = jid.match(/^(\d+)(?::\d+)?@s\.whatsapp\.net$/);
  if (user) return `+${user[1]}`;
  if (jid.endsWith('@g.us')) return `Group ${jid.slice(0, -5)}`;
  return /^\d+$/.test(jid) ? `+${jid}` : jid;
};

const formatMe = (me) => (me.phone ? `+${String(me.phone).replace(/^\+/, '')}` : formatJid(me.id));

/**
 * The hash of what went out (or of the blob queued to go). "verified" once the driver's hash guard saw the sent
 * bytes hash to the blob's; "converted" when the blob was made from a source file with another hash.
 */
const hashCell = (media, status) => {
  if (!media || (!media.sha256 && !media.sentSha256)) return h('span', { class: 'muted' }, '—');
  const shown = media.sentSha256 ?? media.sha256;
  const verified = media.sentSha256 && media.sentSha256 === media.sha256 && ['sent', 'delivered', 'read'].includes(status);
  const mismatch = media.sentSha256 && media.sha256 && media.sentSha256 !== media.sha256;
  const converted = media.sourceSha256 && media.sourceSha256 !== media.sha256;
  const title = [
    media.sourceSha256 && `source ${media.sourceSha256}`,
    media.sha256 && `queued ${media.sha256}`,
    media.sentSha256 && `sent   ${media.sentSha256}`,
  ].filter(Boolean).join('\n');
  return h(
    'span',
    { class: 'hash', title },
    h('code', { class: 'hash-value', dataset: { sha256: shown } }, `${shown.slice(0, 16)}…`),
    verified ? h('span', { class: 'hash-ok', title: 'the sent bytes hash to the queued blob' }, '✓ verified') : null,
    mismatch ? h('span', { class: 'hash-bad' }, 'mismatch') : null,
    converted ? h('span', { class: 'hash-conv', title: `converted from ${media.sourceSha256}` }, 'converted') : null,
    h('button', { type: 'button', class: 'icon-btn', 'aria-label': `Copy sha256 ${shown}`, onclick: () => copy(shown, 'sha256 copied') }, copyIcon()),
  );
};

/** What the message is: its kind, and a glimpse of its text, caption or file name. */
const contentCell = (m) => {
  const content = m.content && typeof m.content === 'object' ? m.content : {};
  const kind = content.as ?? m.type ?? (m.media ? 'media' : 'text');
  const preview = content.text ?? content.caption ?? content.filename ?? '';
  return [h('span', { class: 'kind' }, kind), preview ? h('span', { class: 'preview', title: preview }, preview) : null];
};

const copyIcon = () => {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 16 16');
  svg.setAttribute('aria-hidden', 'true');
  const rect = document.createElementNS('http://www.w3.org/2000/svg', 'path');
  rect.setAttribute('d', 'M5 5h8v9H5zM3 11V2h8');
  svg.append(rect);
  return svg;
};

const copy = async (text, message) => {
  try {
    await navigator.clipboard.writeText(text);
    toast(message);
  } catch {
    toast('Copying is not allowed here; select the text instead.', 'error');
  }
};

const toast = (message, kind = 'info') => {
  const el = h('div', { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, message);
  $('toasts').append(el);
  setTimeout(() => el.remove(), kind === 'error' ? 8000 : 3500);
};

const describeError = (err) =>
  err instanceof ApiError ? (err.code && err.status ? `${err.message} (${err.code})` : err.message) : String(err?.message ?? err);

const showFormError = (el, err) => {
  el.textContent = err ? describeError(err) : '';
  el.hidden = !err;
};

// ---------------------------------------------------------------------------------------------------------------
// State

const state = {
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
  stream: undefined,
  pollTimer: undefined,
};

const onAuthFailure = (error) => {
  stopPolling();
  closeStream();
  keyStore.clear();
  showGate(error.status === 429 ? error.message : 'That key was not accepted. Check it and try again.');
};

// ---------------------------------------------------------------------------------------------------------------
// Sign-in

const showGate = (message) => {
  $('console').hidden = true;
  $('account').hidden = true;
  $('gate').hidden = false;
  showFormError($('key-error'), message ? new Error(message) : undefined);
  $('api-key').focus();
};

const showConsole = () => {
  $('gate').hidden = true;
  $('console').hidden = false;
  $('account').hidden = false;
  const key = keyStore.get() ?? '';
  $('key-hint').textContent = `Key …${key.slice(-4)}`;
};

$('key-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const key = $('api-key').value.trim();
  if (!key) return showFormError($('key-error'), new Error('Enter the API key.'));
  keyStore.set(key, $('remember-key').checked);
  try {
    await refreshSessions();
  } catch (err) {
    if (!(err instanceof ApiError && (err.status === 401 || err.status === 403))) showFormError($('key-error'), err);
    return;
  }
  $('api-key').value = '';
  start();
});

$('forget-key').addEventListener('click', () => {
  keyStore.clear();
  stopPolling();
  closeStream();
  selectSession(undefined);
  showGate();
});

// ---------------------------------------------------------------------------------------------------------------
// Sessions list

const refreshSessions = async () => {
  state.sessions = listOf(await api('/api/sessions'));
  renderSessionList();
};

const renderSessionList = () => {
  const list = $('session-list');
  const items = [...state.sessions].sort((a, b) => String(a.id).localeCompare(String(b.id)));
  $('session-count').textContent = items.length ? String(items.length) : '';
  $('sessions-empty').hidden = items.length > 0;
  list.replaceChildren(
    ...items.map((s) => {
      const current = s.id === state.selectedId ? (state.session ?? s) : s;
      return h(
        'li',
        {},
        h(
          'button',
          {
            type: 'button',
            class: 'session-item',
            'aria-current': s.id === state.selectedId ? 'true' : false,
            dataset: { sessionId: s.id },
            onclick: () => selectSession(s.id),
          },
          h('span', { class: 'session-item-main' }, h('span', { class: 'session-id' }, s.id), h('span', { class: 'session-sub' }, subtitle(current))),
          badge(current.state),
        ),
      );
    }),
  );
};

const subtitle = (s) => {
  const driver = DRIVER_LABELS[s.driver] ?? s.driver ?? '';
  const me = s.me ? formatMe(s.me) : '';
  return [driver, me].filter(Boolean).join(' · ');
};

$('create-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const button = form.querySelector('button[type=submit]');
  const id = $('new-id').value.trim();
  const body = { driver: $('new-driver').value, ...(id ? { id } : {}) };
  button.disabled = true;
  showFormError($('create-error'), undefined);
  try {
    const created = await api('/api/sessions', { method: 'POST', body });
    $('new-id').value = '';
    toast(`Session ${created.id} created`);
    await refreshSessions().catch(() => undefined);
    if (!state.sessions.some((s) => s.id === created.id)) state.sessions.push(created);
    selectSession(created.id);
  } catch (err) {
    showFormError($('create-error'), err);
  } finally {
    button.disabled = false;
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Selected session

const selectSession = (id) => {
  if (id === state.selectedId && id !== undefined) return;
  closeStream();
  releaseQr();
  Object.assign(state, { selectedId: id, session: undefined, messages: [], nextCursor: undefined, pairingCode: undefined });
  if (id) history.replaceState(null, '', `#session=${encodeURIComponent(id)}`);
  else history.replaceState(null, '', location.pathname);
  renderSessionList();
  renderDetail();
  if (!id) return;
  state.session = state.sessions.find((s) => s.id === id);
  renderDetail();
  loadSession().catch(reportError);
  loadMessages().catch(reportError);
  openStream(id);
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
  renderSessionList();
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

const loadMessages = async ({ more = false } = {}) => {
  const id = state.selectedId;
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

// Event stream: state changes and new QR codes arrive here; any other event is a reason to refresh messages.
const openStream = (id) => {
  const controller = new AbortController();
  state.stream = controller;
  let delay = 1000;
  const run = async () => {
    while (!controller.signal.aborted) {
      try {
        await readEvents(sessionPath(id, '/events'), {
          signal: controller.signal,
          onOpen: () => {
            delay = 1000;
            setLive('on');
            // Whatever happened while the stream was down: catch up once.
            loadSession().catch(reportError);
          },
          onEvent: (type, data) => handleEvent(id, type, data),
        });
      } catch (err) {
        if (controller.signal.aborted) return;
        if (err instanceof ApiError && (err.status === 401 || err.status === 403 || err.status === 404)) {
          setLive('off');
          if (err.status === 404) reportError(err);
          return;
        }
      }
      if (controller.signal.aborted) return;
      setLive('retrying');
      await new Promise((resolve) => setTimeout(resolve, delay * (0.75 + Math.random() * 0.5)));
      delay = Math.min(delay * 2, STREAM_RETRY_MAX_MS);
    }
  };
  run();
};

const closeStream = () => {
  state.stream?.abort();
  state.stream = undefined;
  setLive('off');
};

const parseData = (data) => {
  try {
    return JSON.parse(data);
  } catch {
    return { value: data };
  }
};

/**
 * The events of `GET /api/sessions/:id/events`: `state` (the whole session), `qr` (a new code), `receipt`
 * (a message delivered or read), `deleted`. Anything else may concern messages, so they are fetched again.
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
  el.lastChild.textContent = live === 'on' ? 'Live' : live === 'retrying' ? 'Reconnecting…' : 'Offline';
};

const reportError = (err) => {
  if (err?.name === 'AbortError') return;
  if (err instanceof ApiError && (err.status === 401 || err.status === 403)) return;
  toast(describeError(err), 'error');
};

// Actions

const runAction = async (button, action, done) => {
  button.disabled = true;
  try {
    await action();
    if (done) toast(done);
  } catch (err) {
    reportError(err);
  } finally {
    button.disabled = false;
  }
};

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
  if (!/^\+?\d{7,15}$/.test(phone)) return showFormError(error, new Error('Enter the number in international form, digits only, e.g. +4915123456789.'));
  showFormError(error, undefined);
  button.disabled = true;
  try {
    const { code } = await api(sessionPath(state.selectedId, '/pairing-code'), { method: 'POST', body: { phone: phone.replace(/^\+/, '') } });
    state.pairingCode = code;
    renderDetail();
  } catch (err) {
    showFormError(error, err);
  } finally {
    button.disabled = false;
  }
};

// ---------------------------------------------------------------------------------------------------------------
// Detail rendering

const renderDetail = () => {
  const s = state.session ?? (state.selectedId ? { id: state.selectedId } : undefined);
  $('detail-empty').hidden = Boolean(s);
  const body = $('detail-body');
  body.hidden = !s;
  if (!s) return body.replaceChildren();

  // Keep what the operator is typing across redraws.
  const phoneInput = body.querySelector('#pair-phone');
  const phone = phoneInput?.value ?? '';
  const phoneFocused = document.activeElement === phoneInput;

  body.replaceChildren(...[headerCard(s), linkCard(s), messagesCard()].filter(Boolean));
  const newPhone = body.querySelector('#pair-phone');
  if (newPhone) {
    newPhone.value = phone;
    if (phoneFocused) newPhone.focus();
  }
};

const headerCard = (s) => {
  const canLogout = ['connected', 'reconnecting', 'qr', 'starting'].includes(s.state);
  const canRestart = ['logged_out', 'stopped', 'conflict', 'needs_relink'].includes(s.state);
  return h(
    'section',
    { class: 'card session-head', 'aria-labelledby': 'session-title' },
    h(
      'div',
      { class: 'session-head-main' },
      h(
        'div',
        {},
        h('div', { class: 'eyebrow' }, h('span', { class: 'chip' }, DRIVER_LABELS[s.driver] ?? s.driver ?? '…'), liveIndicator()),
        h('h1', { id: 'session-title', class: 'session-title' }, s.id),
        h('p', { class: 'muted session-me' }, s.me ? [formatMe(s.me), s.me.name].filter(Boolean).join(' · ') : 'Not linked to a number yet'),
      ),
      h('div', { class: 'session-state', role: 'status', 'aria-live': 'polite', 'aria-label': `State: ${stateLabel(s.state)}` }, badge(s.state, 'badge-lg')),
    ),
    s.lastError && s.state !== 'connected'
      ? h('p', { class: 'notice notice-error' }, describeLastError(s.lastError))
      : STATE_HINTS[s.state] && h('p', { class: 'notice' }, STATE_HINTS[s.state]),
    h(
      'div',
      { class: 'actions' },
      canRestart ? h('button', { type: 'button', class: 'btn btn-primary', onclick: (e) => restart(e.currentTarget) }, 'Link again') : null,
      canLogout ? h('button', { type: 'button', class: 'btn', onclick: (e) => logout(e.currentTarget) }, 'Log out') : null,
      h('button', { type: 'button', class: 'btn btn-danger-ghost', onclick: (e) => remove(e.currentTarget) }, 'Delete session'),
    ),
  );
};

const describeLastError = (lastError) => {
  if (typeof lastError === 'string') return lastError;
  const message = lastError.message ?? lastError.reason ?? 'error';
  return lastError.code ? `${message} (${lastError.code})` : message;
};

const liveIndicator = () =>
  h('span', { class: 'live', dataset: { live: state.live }, title: 'Updates arrive as they happen' }, h('span', { class: 'live-dot', 'aria-hidden': 'true' }), h('span', {}, state.live === 'on' ? 'Live' : state.live === 'retrying' ? 'Reconnecting…' : 'Offline'));

const linkCard = (s) => {
  if (s.state !== 'qr') return null;
  const qr = state.qrUrl
    ? h('img', { id: 'qr-image', class: 'qr-image', src: state.qrUrl, alt: `QR code to link session ${s.id}`, width: 264, height: 264 })
    : h('div', { class: 'qr-image qr-loading', role: 'img', 'aria-label': 'Loading QR code' }, h('span', { class: 'spinner' }));
  return h(
    'section',
    { class: 'card link-card', 'aria-labelledby': 'link-title' },
    h('h2', { id: 'link-title' }, 'Link a phone'),
    h(
      'div',
      { class: 'link-grid' },
      h(
        'figure',
        { class: 'qr' },
        qr,
        h('figcaption', { class: 'muted' }, 'The code refreshes by itself until the phone is linked.'),
        s.driver === 'sandbox'
          ? h('button', { type: 'button', class: 'btn btn-sm', onclick: (e) => sandboxLink(e.currentTarget) }, 'Simulate scan')
          : null,
      ),
      h(
        'div',
        { class: 'link-steps' },
        h(
          'ol',
          { class: 'steps' },
          h('li', {}, 'Open WhatsApp on the phone.'),
          h('li', {}, 'Go to ', h('strong', {}, 'Settings → Linked devices → Link a device'), '.'),
          h('li', {}, 'Point the camera at this code.'),
        ),
        h('div', { class: 'divider' }, h('span', {}, 'or use a pairing code')),
        h(
          'form',
          { class: 'pair-form', novalidate: true, onsubmit: requestPairingCode },
          h('label', { for: 'pair-phone' }, 'Phone number'),
          h(
            'div',
            { class: 'input-row' },
            h('input', { id: 'pair-phone', type: 'tel', inputmode: 'tel', autocomplete: 'tel', placeholder: '+49 151 23456789', 'aria-describedby': 'pair-help' }),
            h('button', { type: 'submit', class: 'btn' }, 'Get code'),
          ),
          h('p', { class: 'help', id: 'pair-help' }, 'International form. On the phone: Link a device → Link with phone number instead.'),
          h('p', { class: 'form-error', role: 'alert', hidden: true }),
        ),
        state.pairingCode
          ? h(
              'div',
              { class: 'pair-code', role: 'status' },
              h('span', { class: 'pair-code-label' }, 'Type this code on the phone'),
              h('output', { class: 'pair-code-value', id: 'pairing-code' }, formatPairingCode(state.pairingCode)),
            )
          : null,
      ),
    ),
  );
};

const formatPairingCode = (code) => (/^[A-Z0-9]{8}$/i.test(code) ? `${code.slice(0, 4)}-${code.slice(4)}` : code);

const messagesCard = () =>
  h(
    'section',
    { class: 'card messages-card', 'aria-labelledby': 'messages-title' },
    h(
      'div',
      { class: 'card-head' },
      h('h2', { id: 'messages-title' }, 'Recent messages'),
      h('button', { type: 'button', class: 'btn btn-ghost btn-sm', onclick: (e) => runAction(e.currentTarget, () => loadMessages()) }, 'Refresh'),
    ),
    h('div', { id: 'messages' }, messagesBody()),
  );

const renderMessages = () => {
  const holder = document.getElementById('messages');
  if (holder) holder.replaceChildren(messagesBody());
};

const messagesBody = () => {
  if (!state.messages.length) {
    return h(
      'div',
      { class: 'empty empty-sm' },
      h('p', { class: 'empty-title' }, 'No messages yet'),
      h('p', { class: 'muted' }, 'Sends through ', h('code', {}, `POST /api/sessions/${state.selectedId}/messages`), ' appear here with their status.'),
    );
  }
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'messages' },
      h('thead', {}, h('tr', {}, ['Time', 'To', 'Content', 'Status', 'sha256'].map((t) => h('th', { scope: 'col', class: t === 'Content' ? 'col-content' : false }, t)))),
      h(
        'tbody',
        {},
        state.messages.map((m) =>
          h(
            'tr',
            { dataset: { messageId: m.id } },
            h('td', { class: 'nowrap', title: m.createdAt ?? '' }, formatTime(m.createdAt)),
            h('td', { class: 'nowrap' }, formatJid(m.to)),
            h('td', { class: 'col-content' }, contentCell(m)),
            h('td', {}, statusBadge(m.status), m.status === 'failed' && m.error ? h('span', { class: 'fail-code', title: m.error.message ?? '' }, m.error.code ?? '') : null),
            h('td', {}, hashCell(m.media, m.status)),
          ),
        ),
      ),
    ),
    state.nextCursor
      ? h('button', { type: 'button', class: 'btn btn-ghost btn-sm load-more', onclick: (e) => runAction(e.currentTarget, () => loadMessages({ more: true })) }, 'Load older')
      : null,
  );
};

// ---------------------------------------------------------------------------------------------------------------
// Start

const startPolling = () => {
  stopPolling();
  // Other sessions' states and message statuses (receipts) change without an event on the selected stream.
  state.pollTimer = setInterval(() => {
    if (document.hidden) return;
    refreshSessions().catch(() => undefined);
    if (state.selectedId) loadMessages().catch(() => undefined);
  }, POLL_MS);
};

const stopPolling = () => clearInterval(state.pollTimer);

const start = () => {
  showConsole();
  renderSessionList();
  startPolling();
  const wanted = decodeURIComponent(location.hash.match(/^#session=(.+)$/)?.[1] ?? '');
  const first = state.sessions.find((s) => s.id === wanted) ?? (state.sessions.length === 1 ? state.sessions[0] : undefined);
  if (first) selectSession(first.id);
  else renderDetail();
};

const boot = async () => {
  if (!keyStore.get()) return showGate();
  try {
    await refreshSessions();
    start();
  } catch (err) {
    if (!(err instanceof ApiError && (err.status === 401 || err.status === 403))) {
      showGate();
      showFormError($('key-error'), err);
    }
  }
};

boot();
