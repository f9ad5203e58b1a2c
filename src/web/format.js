// How values read on the page: states, statuses, times, numbers and hashes.
import { copy, copyIcon, h } from './dom.js';

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
export const DRIVER_LABELS = { baileys: 'WhatsApp', cloud: 'Cloud API', sandbox: 'Sandbox' };

export const stateLabel = (state) => STATE_LABELS[state] ?? state ?? 'Unknown';
export const badge = (state, extraClass = '') =>
  h('span', { class: `badge badge-${state ?? 'unknown'} ${extraClass}`.trim(), dataset: { state: state ?? '' } }, stateLabel(state));

const STATUS_LABELS = {
  pending: 'Pending',
  queued: 'Queued',
  sending: 'Sending',
  sent: 'Sent',
  delivered: 'Delivered',
  read: 'Read',
  failed: 'Failed',
  skipped: 'Skipped',
  dead: 'Dead',
};
export const statusLabel = (status) => STATUS_LABELS[status] ?? status;
export const statusBadge = (status) => h('span', { class: `status status-${status}`, dataset: { status } }, statusLabel(status));

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const dateFormat = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
export const formatTime = (iso) => {
  const date = new Date(iso);
  if (!iso || Number.isNaN(date.getTime())) return '—';
  const today = new Date().toDateString() === date.toDateString();
  return today ? timeFormat.format(date) : `${dateFormat.format(date)}, ${timeFormat.format(date)}`;
};

/** `4915123456789@s.whatsapp.net` → `+4915123456789`: the number readable, groups and others as they are. */
export const formatJid = (jid) => {
  if (typeof jid !== 'string') return '—';
  const user = jid.match(/^(\d+)(?::\d+)?@s\.whatsapp\.net$/);
  if (user) return `+${user[1]}`;
  if (jid.endsWith('@g.us')) return `Group ${jid.slice(0, -5)}`;
  return /^\d+$/.test(jid) ? `+${jid}` : jid;
};

export const formatMe = (me) => (me.phone ? `+${String(me.phone).replace(/^\+/, '')}` : formatJid(me.id));

const DELIVERED = ['sent', 'delivered', 'read'];

/**
 * The hash of what went out (or of the blob queued to go). "verified" once the driver's hash guard saw the sent
 * bytes hash to the blob's; "converted" when the blob was made from a source file with another hash.
 * `full` shows all 64 digits (the send form's answer) instead of the first 16.
 */
export const hashCell = (media, status, { full = false } = {}) => {
  if (!media || (!media.sha256 && !media.sentSha256)) return h('span', { class: 'muted' }, '—');
  const shown = media.sentSha256 ?? media.sha256;
  const verified = media.sentSha256 && media.sentSha256 === media.sha256 && DELIVERED.includes(status);
  const mismatch = media.sentSha256 && media.sha256 && media.sentSha256 !== media.sha256;
  const converted = media.sourceSha256 && media.sourceSha256 !== media.sha256;
  const title = [
    media.sourceSha256 && `source ${media.sourceSha256}`,
    media.sha256 && `queued ${media.sha256}`,
    media.sentSha256 && `sent   ${media.sentSha256}`,
  ]
    .filter(Boolean)
    .join('\n');
  return h(
    'span',
    { class: full ? 'hash hash-full' : 'hash', title },
    h('code', { class: 'hash-value', dataset: { sha256: shown } }, full ? shown : `${shown.slice(0, 16)}…`),
    verified ? h('span', { class: 'hash-ok', title: 'the sent bytes hash to the queued blob' }, '✓ verified') : null,
    mismatch ? h('span', { class: 'hash-bad' }, 'mismatch') : null,
    converted ? h('span', { class: 'hash-conv', title: `converted from ${media.sourceSha256}` }, 'converted') : null,
    h(
      'button',
      { type: 'button', class: 'icon-btn', 'aria-label': `Copy sha256 ${shown}`, onclick: () => copy(shown, 'sha256 copied') },
      copyIcon(),
    ),
  );
};

/** What the message is: its kind, and a glimpse of its text, caption or file name. */
export const contentCell = (m) => {
  const content = m.content && typeof m.content === 'object' ? m.content : {};
  const kind = content.as ?? m.type ?? (m.media ? 'media' : 'text');
  const preview = content.text ?? content.caption ?? content.filename ?? '';
  return [h('span', { class: 'kind' }, kind), preview ? h('span', { class: 'preview', title: preview }, preview) : null];
};
