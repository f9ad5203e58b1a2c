// Creating a broadcast: a recipients CSV (previewed here: the count and the first messages with their placeholders
// filled), the message with {{placeholders}}, optional media by URL, and the pace. The server checks it all again.
import { send, sessionPath } from './api.js';
import { field, fill, h, optional, showFormError } from './dom.js';
import { fillParts, parseRecipients, placeholdersOf } from './csv.js';

/** The server's default pace (6 a minute, ±30 % jitter), shown as the starting value. */
const DEFAULT_PER_MINUTE = 6;
const PREVIEW_ROWS = 3;

/** `onCreated(broadcast)` with the server's answer (its duplicates and invalid numbers listed). */
export const createBroadcastForm = (sessionId, { onCreated }) => {
  let parsed;
  /** The name this form took from the last file chosen: a later file replaces it, a name typed stays. */
  let autoName = '';
  const name = h('input', { id: 'bc-name', type: 'text', maxlength: 200, placeholder: 'e.g. Spring sale' });
  const csv = h('input', { id: 'bc-csv', type: 'file', accept: '.csv,text/csv', 'aria-describedby': 'bc-csv-help' });
  const text = h('textarea', {
    id: 'bc-text',
    rows: 3,
    placeholder: 'Hello {{name}}, our sale starts today',
    'aria-describedby': 'bc-text-help',
  });
  const mediaUrl = h('input', {
    id: 'bc-media',
    type: 'url',
    spellcheck: 'false',
    placeholder: 'https://cdn.example.com/offer.jpg',
    'aria-describedby': 'bc-media-help',
  });
  const perMinute = h('input', {
    id: 'bc-pace',
    type: 'number',
    min: 1,
    max: 6000,
    step: 1,
    value: String(DEFAULT_PER_MINUTE),
    'aria-describedby': 'bc-pace-help',
  });
  const noPace = h('input', { id: 'bc-no-pace', type: 'checkbox' });
  const preview = h('div', { class: 'bc-preview', role: 'region', 'aria-label': 'Preview', hidden: true });
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const button = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create broadcast');

  const renderPreview = () => {
    if (!parsed) return void (preview.hidden = true);
    preview.hidden = false;
    if (parsed.error) return preview.replaceChildren(h('p', { class: 'notice notice-error' }, parsed.error));
    const { columns, recipients } = parsed;
    const template = text.value;
    const used = placeholdersOf(template);
    const missing = recipients.find((r) => used.some((v) => r.vars[v] === undefined));
    const vars = columns.filter((c) => c.toLowerCase() !== 'to' && c);
    fill(preview, [
      h(
        'p',
        { class: 'bc-preview-head' },
        h('strong', { id: 'bc-count' }, `${recipients.length} ${recipients.length === 1 ? 'recipient' : 'recipients'}`),
        vars.length ? h('span', { class: 'muted' }, ` · variables: ${vars.map((v) => `{{${v}}}`).join(' ')}`) : null,
      ),
      h(
        'ol',
        { class: 'bc-samples', 'aria-label': 'First messages' },
        recipients
          .slice(0, PREVIEW_ROWS)
          .map((r) =>
            h(
              'li',
              {},
              h('span', { class: 'bc-sample-to' }, r.to || '(no number)'),
              h(
                'span',
                { class: 'bc-sample-text' },
                template
                  ? fillParts(template, r.vars).map((p) =>
                      typeof p === 'string' ? p : (p.value ?? h('mark', { title: 'no value in this row' }, `{{${p.name}}}`)),
                    )
                  : h('span', { class: 'muted' }, 'Write the message to see it here.'),
              ),
            ),
          ),
      ),
      missing
        ? h(
            'p',
            { class: 'notice notice-warn' },
            `Line ${missing.line} (${missing.to}) has no value for {{${used.find((v) => missing.vars[v] === undefined)}}}: the server will refuse this list.`,
          )
        : null,
    ]);
  };

  const readCsv = async () => {
    const file = csv.files?.[0];
    // The server's word on the last file is not about this one.
    showFormError(error, undefined);
    if (!file) return void ((parsed = undefined), renderPreview());
    if (!name.value || name.value === autoName) name.value = autoName = file.name.replace(/\.csv$/i, '');
    try {
      parsed = parseRecipients(await file.text());
    } catch (err) {
      parsed = { error: err.message };
    }
    renderPreview();
  };

  const showPace = () => {
    perMinute.disabled = noPace.checked;
  };

  /** The `broadcast` field of the multipart form: everything but the recipients. */
  const options = () => {
    const media = mediaUrl.value.trim();
    const message = media ? { media: { url: media }, ...(text.value ? { caption: text.value } : {}) } : { text: text.value };
    const rate = Number(perMinute.value);
    // Left at the default, the server applies its own pace with jitter; a changed rate keeps the same jitter.
    const pace = noPace.checked ? { perMinute: 0 } : rate !== DEFAULT_PER_MINUTE ? { perMinute: rate, jitter: 0.3 } : undefined;
    return { name: name.value.trim(), message, ...(pace ? { pace } : {}) };
  };

  const submit = async (event) => {
    event.preventDefault();
    showFormError(error, undefined);
    const file = csv.files?.[0];
    const invalid = !file
      ? 'Choose the recipients CSV.'
      : !name.value.trim()
        ? 'Give the broadcast a name.'
        : !text.value.trim() && !mediaUrl.value.trim()
          ? 'Write the message, or give a media URL.'
          : !noPace.checked && !(Number(perMinute.value) >= 1)
            ? 'Give the messages a minute (1 or more), or turn pacing off.'
            : undefined;
    if (invalid) return showFormError(error, new Error(invalid));
    const form = new FormData();
    form.append('recipients', file, file.name);
    form.append('broadcast', JSON.stringify(options()));
    button.disabled = true;
    try {
      const created = await send(sessionPath(sessionId, '/broadcasts'), form);
      csv.value = '';
      name.value = '';
      parsed = undefined;
      renderPreview();
      onCreated(created);
    } catch (err) {
      showFormError(error, err);
    } finally {
      button.disabled = false;
    }
  };

  csv.addEventListener('change', readCsv);
  text.addEventListener('input', renderPreview);
  noPace.addEventListener('change', showPace);

  return h(
    'form',
    { class: 'bc-form', novalidate: true, onsubmit: submit, 'aria-label': 'New broadcast' },
    h(
      'div',
      { class: 'send-grid' },
      field('bc-csv', 'Recipients (CSV)', csv, 'A "to" column; every other column is a variable for {{placeholders}}.'),
      field('bc-name', 'Broadcast name', name),
    ),
    preview,
    field('bc-text', 'Message text', text, 'The caption when media is given. {{column}} is filled from each row.'),
    field('bc-media', optional('Media URL'), mediaUrl, 'Fetched once now; every recipient gets the same bytes, pinned by their sha256.'),
    field(
      'bc-pace',
      'Messages a minute',
      h(
        'div',
        { class: 'pace-controls' },
        perMinute,
        h('label', { class: 'check' }, noPace, h('span', {}, 'No pacing (as fast as the session sends)')),
      ),
      'The default protects the number: 6 a minute with random gaps.',
    ),
    error,
    h('div', { class: 'form-actions' }, button),
  );
};
