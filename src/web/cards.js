// The selected session's cards, built from plain values: its header and state, linking, and its messages.
import { h } from './dom.js';
import { DRIVER_LABELS, badge, contentCell, formatJid, formatMe, formatTime, hashCell, stateLabel, statusBadge } from './format.js';

const STATE_HINTS = {
  starting: 'Opening the connection to WhatsApp…',
  reconnecting: 'The connection dropped; trying again with backoff.',
  logged_out: 'This number was unlinked. Link again to get a new QR code.',
  conflict: 'Another client took over this session. It stays stopped until you restart it.',
  needs_relink: 'The stored credentials are missing or unreadable. Link the number again.',
  stopped: 'The session is stopped; its credentials are kept.',
};

/** A Cloud API session has no phone to link: its options (the access token) are what it needs again. */
const CLOUD_HINTS = {
  starting: 'Checking the access token with Meta…',
  reconnecting: 'Meta could not be reached; checking the token again with backoff.',
  logged_out: 'Logging out forgot the access token. Give the options again in the Cloud API card.',
  needs_relink: 'Meta refused the access token. Replace it in the Cloud API card.',
  stopped: 'The session is stopped; give the access token again in the Cloud API card to reopen it.',
};
const hintFor = (s) => (s.driver === 'cloud' ? CLOUD_HINTS[s.state] : undefined) ?? STATE_HINTS[s.state];
/** Whether "Link again" (a new QR) means anything: a Cloud API session reopens with new options instead. */
const linksByScan = (s) => s.driver !== 'cloud';

const LIVE_LABELS = { on: 'Live', retrying: 'Reconnecting…', off: 'Offline' };
export const liveLabel = (live) => LIVE_LABELS[live] ?? LIVE_LABELS.off;

const describeLastError = (lastError) => {
  if (typeof lastError === 'string') return lastError;
  const message = lastError.message ?? lastError.reason ?? 'error';
  return lastError.code ? `${message} (${lastError.code})` : message;
};

const liveIndicator = (live) =>
  h(
    'span',
    { class: 'live', dataset: { live }, title: 'Updates arrive as they happen' },
    h('span', { class: 'live-dot', 'aria-hidden': 'true' }),
    h('span', {}, liveLabel(live)),
  );

/** `actions`: { restart, logout, remove }, each called with the button pressed. */
export const headerCard = (s, live, actions) => {
  const canLogout = ['connected', 'reconnecting', 'qr', 'starting'].includes(s.state);
  const canRestart = linksByScan(s) && ['logged_out', 'stopped', 'conflict', 'needs_relink'].includes(s.state);
  const button = (label, cls, action) => h('button', { type: 'button', class: cls, onclick: (e) => action(e.currentTarget) }, label);
  return h(
    'section',
    { class: 'card session-head', 'aria-labelledby': 'session-title' },
    h(
      'div',
      { class: 'session-head-main' },
      h(
        'div',
        {},
        h('div', { class: 'eyebrow' }, h('span', { class: 'chip' }, DRIVER_LABELS[s.driver] ?? s.driver ?? '…'), liveIndicator(live)),
        h('h1', { id: 'session-title', class: 'session-title' }, s.id),
        h(
          'p',
          { class: 'muted session-me' },
          s.me ? [formatMe(s.me), s.me.name].filter(Boolean).join(' · ') : 'Not linked to a number yet',
        ),
      ),
      h(
        'div',
        { class: 'session-state', role: 'status', 'aria-live': 'polite', 'aria-label': `State: ${stateLabel(s.state)}` },
        badge(s.state, 'badge-lg'),
      ),
    ),
    s.lastError && s.state !== 'connected'
      ? h('p', { class: 'notice notice-error' }, describeLastError(s.lastError))
      : hintFor(s) && h('p', { class: 'notice' }, hintFor(s)),
    h(
      'div',
      { class: 'actions' },
      canRestart ? button('Link again', 'btn btn-primary', actions.restart) : null,
      canLogout ? button('Log out', 'btn', actions.logout) : null,
      button('Delete session', 'btn btn-danger-ghost', actions.remove),
    ),
  );
};

const formatPairingCode = (code) => (/^[A-Z0-9]{8}$/i.test(code) ? `${code.slice(0, 4)}-${code.slice(4)}` : code);

/** Shown while the session waits for a scan. `actions`: { sandboxLink(button), requestPairingCode(submitEvent) }. */
export const linkCard = (s, { qrUrl, pairingCode }, actions) => {
  if (s.state !== 'qr' || !linksByScan(s)) return null;
  const qr = qrUrl
    ? h('img', { id: 'qr-image', class: 'qr-image', src: qrUrl, alt: `QR code to link session ${s.id}`, width: 264, height: 264 })
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
          ? h('button', { type: 'button', class: 'btn btn-sm', onclick: (e) => actions.sandboxLink(e.currentTarget) }, 'Simulate scan')
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
          { class: 'pair-form', novalidate: true, onsubmit: actions.requestPairingCode },
          h('label', { for: 'pair-phone' }, 'Phone number'),
          h(
            'div',
            { class: 'input-row' },
            h('input', {
              id: 'pair-phone',
              type: 'tel',
              inputmode: 'tel',
              autocomplete: 'tel',
              placeholder: '+49 151 23456789',
              'aria-describedby': 'pair-help',
            }),
            h('button', { type: 'submit', class: 'btn' }, 'Get code'),
          ),
          h('p', { class: 'help', id: 'pair-help' }, 'International form. On the phone: Link a device → Link with phone number instead.'),
          h('p', { class: 'form-error', role: 'alert', hidden: true }),
        ),
        pairingCode
          ? h(
              'div',
              { class: 'pair-code', role: 'status' },
              h('span', { class: 'pair-code-label' }, 'Type this code on the phone'),
              h('output', { class: 'pair-code-value', id: 'pairing-code' }, formatPairingCode(pairingCode)),
            )
          : null,
      ),
    ),
  );
};

/** The messages table, or what to do when there are none. `loadMore(button)` when older pages exist. */
export const messagesBody = (sessionId, messages, loadMore) => {
  if (!messages.length) {
    return h(
      'div',
      { class: 'empty empty-sm' },
      h('p', { class: 'empty-title' }, 'No messages yet'),
      h(
        'p',
        { class: 'muted' },
        'Sends from the form above or through ',
        h('code', {}, `POST /api/sessions/${sessionId}/messages`),
        ' appear here with their status.',
      ),
    );
  }
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'messages' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Time', 'To', 'Content', 'Status', 'sha256'].map((t) =>
            h('th', { scope: 'col', class: t === 'Content' ? 'col-content' : false }, t),
          ),
        ),
      ),
      h(
        'tbody',
        {},
        messages.map((m) =>
          h(
            'tr',
            { dataset: { messageId: m.id } },
            h('td', { class: 'nowrap', title: m.createdAt ?? '' }, formatTime(m.createdAt)),
            h('td', { class: 'nowrap' }, formatJid(m.to)),
            h('td', { class: 'col-content' }, contentCell(m)),
            h(
              'td',
              {},
              statusBadge(m.status),
              m.status === 'failed' && m.error ? h('span', { class: 'fail-code', title: m.error.message ?? '' }, m.error.code ?? '') : null,
            ),
            h('td', {}, hashCell(m.media, m.status)),
          ),
        ),
      ),
    ),
    loadMore
      ? h('button', { type: 'button', class: 'btn btn-ghost btn-sm load-more', onclick: (e) => loadMore(e.currentTarget) }, 'Load older')
      : null,
  );
};
