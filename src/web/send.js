// The send form: a text, or media by URL or from a file on this computer, to one number. After the send it shows
// the message as it moves on and the sha256 that went out, marked verified once the driver's hash guard saw the
// sent bytes hash to the blob's.
import { api, send, sessionPath } from './api.js';
import { field, fill, h, optional, showFormError } from './dom.js';
import { formatJid, hashCell, statusBadge } from './format.js';

const KINDS = [
  ['text', 'Text'],
  ['url', 'Media by URL'],
  ['file', 'Upload a file'],
];
const SEND_AS = ['image', 'video', 'audio', 'voice', 'document', 'sticker'];

/** The file's sha256 in hex, when this page may hash (a secure context: https or localhost); else undefined. */
const hashFile = async (file) => {
  if (!globalThis.crypto?.subtle) return undefined;
  const digest = await crypto.subtle.digest('SHA-256', await file.arrayBuffer());
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
};

/** Stores the file as media; the server checks the bytes it got against the hash made here, when there is one. */
const uploadFile = async (file) => {
  const sha256 = await hashFile(file);
  const headers = { 'Content-Type': file.type || 'application/octet-stream', ...(sha256 ? { 'X-Content-SHA256': sha256 } : {}) };
  return send('/api/media', file, headers);
};

/** `onSent()` after a message is queued, so the page can list it. */
export const createSendPanel = (sessionId, { onSent }) => {
  let sent;
  const kindRadios = KINDS.map(([value, label], i) =>
    h('label', { class: 'seg' }, h('input', { type: 'radio', name: 'send-kind', value, checked: i === 0 }), h('span', {}, label)),
  );
  const to = h('input', {
    id: 'send-to',
    type: 'tel',
    inputmode: 'tel',
    autocomplete: 'off',
    placeholder: '+49 151 23456789',
    required: true,
  });
  const text = h('textarea', { id: 'send-text', rows: 3, maxlength: 65536 });
  const url = h('input', {
    id: 'send-url',
    type: 'url',
    'aria-describedby': 'send-url-help',
    placeholder: 'https://cdn.example.com/menu.pdf',
    spellcheck: 'false',
  });
  const file = h('input', { id: 'send-file', type: 'file', 'aria-describedby': 'send-file-help' });
  const caption = h('input', { id: 'send-caption', type: 'text', maxlength: 1024 });
  const as = h(
    'select',
    { id: 'send-as' },
    h('option', { value: '' }, 'As its kind (sniffed)'),
    SEND_AS.map((v) => h('option', { value: v }, v)),
  );
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const result = h('div', { class: 'send-result', id: 'send-result', role: 'status', 'aria-live': 'polite', hidden: true });
  const button = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Send');

  const parts = {
    text: field('send-text', 'Message', text),
    url: field('send-url', 'Media URL', url, 'Fetched fresh by the server, past any cache; the hash is of what it got.'),
    file: field('send-file', 'File', file, 'Stored on the server first; sent by its sha256.'),
    caption: field('send-caption', optional('Caption'), caption),
    as: field('send-as', 'Send as', as),
  };
  const kind = () => kindRadios.map((l) => l.firstChild).find((r) => r.checked).value;
  const showKind = () => {
    const k = kind();
    parts.text.hidden = k !== 'text';
    parts.url.hidden = k !== 'url';
    parts.file.hidden = k !== 'file';
    parts.caption.hidden = parts.as.hidden = k === 'text';
  };

  const showResult = () => {
    if (!sent) return;
    result.hidden = false;
    result.dataset.messageId = sent.id;
    fill(result, [
      h('span', { class: 'send-result-head' }, 'Message to ', h('strong', {}, formatJid(sent.to)), ' ', statusBadge(sent.status)),
      sent.media
        ? h(
            'span',
            { class: 'send-result-hash' },
            h('span', { class: 'muted' }, 'sha256 '),
            hashCell(sent.media, sent.status, { full: true }),
          )
        : null,
      sent.status === 'failed' && sent.error ? h('span', { class: 'fail-code' }, `${sent.error.message} (${sent.error.code})`) : null,
    ]);
  };

  /** The message as the API answered the send, then as the message list shows it. */
  const compose = async () => {
    const k = kind();
    const number = to.value.replace(/[\s()-]/g, '');
    if (!number) throw new Error('Enter the number to send to, in international form.');
    if (k === 'text') {
      if (!text.value.trim()) throw new Error('Write the message.');
      return { to: number, text: text.value };
    }
    const extra = { ...(caption.value ? { caption: caption.value } : {}), ...(as.value ? { as: as.value } : {}) };
    if (k === 'url') {
      if (!url.value.trim()) throw new Error('Give the URL of the media.');
      return { to: number, media: { url: url.value.trim() }, ...extra };
    }
    const chosen = file.files?.[0];
    if (!chosen) throw new Error('Choose a file.');
    const record = await uploadFile(chosen);
    const named = as.value === 'document' || (!as.value && record.kind === 'document');
    return { to: number, media: { sha256: record.sha256 }, ...extra, ...(named ? { filename: chosen.name } : {}) };
  };

  const submit = async (event) => {
    event.preventDefault();
    showFormError(error, undefined);
    button.disabled = true;
    try {
      const accepted = await api(sessionPath(sessionId, '/messages'), { method: 'POST', body: await compose() });
      sent = accepted;
      showResult();
      if (kind() === 'text') text.value = '';
      onSent();
    } catch (err) {
      showFormError(error, err);
    } finally {
      button.disabled = false;
    }
  };

  kindRadios.forEach((l) => l.firstChild.addEventListener('change', showKind));
  showKind();
  const el = h(
    'section',
    { class: 'card send-card', 'aria-labelledby': 'send-title' },
    h('div', { class: 'card-head' }, h('h2', { id: 'send-title' }, 'Send a message')),
    h(
      'form',
      { class: 'send-form', novalidate: true, onsubmit: submit },
      h(
        'div',
        { class: 'send-grid' },
        field('send-to', 'To', to),
        h('fieldset', { class: 'segmented' }, h('legend', {}, 'Content'), kindRadios),
      ),
      parts.text,
      parts.url,
      parts.file,
      h('div', { class: 'send-grid' }, parts.caption, parts.as),
      error,
      h('div', { class: 'form-actions' }, button),
    ),
    result,
  );

  return {
    el,
    /** The message list was fetched again: follow the message sent last. */
    update(messages) {
      const latest = sent && messages.find((m) => m.id === sent.id);
      if (!latest) return;
      sent = { ...sent, ...latest };
      showResult();
    },
  };
};
