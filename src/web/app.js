// The hashsend operator page: plain DOM, no build step. Everything it shows comes from /api with the key the
// operator typed; nothing from the API is ever put into the page as HTML (textContent only).
// This module signs in, lists the sessions, switches between the sessions and webhooks views and starts the page;
// session.js shows the session selected, webhooks.js the webhooks view.
import { ApiError, api, keyStore, listOf, onAuthFailure } from './api.js';
import { wireCreateForm } from './create-form.js';
import { $, h, showFormError } from './dom.js';
import { DRIVER_LABELS, badge, formatMe } from './format.js';
import { closeSession, loadMessages, renderDetail, selectSession } from './session.js';
import { hooks, state } from './state.js';
import { createWebhooksView } from './webhooks.js';

const POLL_MS = 5000;
let pollTimer;

// Sign-in

const webhooks = createWebhooksView();
$('main').append(webhooks.el);

const showGate = (message) => {
  $('console').hidden = true;
  webhooks.show(false);
  $('views').hidden = true;
  $('account').hidden = true;
  $('gate').hidden = false;
  showFormError($('key-error'), message ? new Error(message) : undefined);
  $('api-key').focus();
};

const showConsole = () => {
  $('gate').hidden = true;
  $('views').hidden = false;
  $('account').hidden = false;
  const key = keyStore.get() ?? '';
  $('key-hint').textContent = `Key …${key.slice(-4)}`;
};

onAuthFailure((error) => {
  stopPolling();
  closeSession();
  keyStore.clear();
  showGate(error.status === 429 ? error.message : 'That key was not accepted. Check it and try again.');
});

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
  selectSession(undefined);
  showGate();
});

// Views: the sessions console, or the webhooks (which belong to no one session)

const showView = (name) => {
  $('console').hidden = name !== 'sessions';
  webhooks.show(name === 'webhooks');
  for (const tab of document.querySelectorAll('[data-view]'))
    tab.setAttribute('aria-current', tab.dataset.view === name ? 'page' : 'false');
  const hash = name === 'webhooks' ? '#webhooks' : state.selectedId ? `#session=${encodeURIComponent(state.selectedId)}` : '';
  history.replaceState(null, '', hash || location.pathname);
};

for (const tab of document.querySelectorAll('[data-view]')) tab.addEventListener('click', () => showView(tab.dataset.view));

// Sessions list

const refreshSessions = async () => {
  state.sessions = listOf(await api('/api/sessions'));
  renderSessionList();
};

const subtitle = (s) => {
  const driver = DRIVER_LABELS[s.driver] ?? s.driver ?? '';
  const me = s.me ? formatMe(s.me) : '';
  return [driver, me].filter(Boolean).join(' · ');
};

const renderSessionList = () => {
  const items = [...state.sessions].sort((a, b) => String(a.id).localeCompare(String(b.id)));
  $('session-count').textContent = items.length ? String(items.length) : '';
  $('sessions-empty').hidden = items.length > 0;
  $('session-list').replaceChildren(
    ...items.map((s) => {
      const shown = s.id === state.selectedId ? (state.session ?? s) : s;
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
          h(
            'span',
            { class: 'session-item-main' },
            h('span', { class: 'session-id' }, s.id),
            h('span', { class: 'session-sub' }, subtitle(shown)),
          ),
          badge(shown.state),
        ),
      );
    }),
  );
};
hooks.sessionsChanged = renderSessionList;

wireCreateForm({
  onCreated: async (created) => {
    await refreshSessions().catch(() => undefined);
    if (!state.sessions.some((s) => s.id === created.id)) state.sessions.push(created);
    selectSession(created.id);
  },
});

// Start

const startPolling = () => {
  stopPolling();
  // Other sessions' states and message statuses (sent, which has no event) change without an event on the stream.
  pollTimer = setInterval(() => {
    if (document.hidden) return;
    refreshSessions().catch(() => undefined);
    if (state.selectedId) loadMessages().catch(() => undefined);
  }, POLL_MS);
};

const stopPolling = () => clearInterval(pollTimer);

const start = () => {
  const view = location.hash === '#webhooks' ? 'webhooks' : 'sessions';
  showConsole();
  renderSessionList();
  startPolling();
  const wanted = decodeURIComponent(location.hash.match(/^#session=(.+)$/)?.[1] ?? '');
  const first = state.sessions.find((s) => s.id === wanted) ?? (state.sessions.length === 1 ? state.sessions[0] : undefined);
  if (first) selectSession(first.id);
  else renderDetail();
  showView(view);
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
