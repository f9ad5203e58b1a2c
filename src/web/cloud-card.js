// A Cloud API session's card, where a linked phone's QR would be: what Meta's dashboard needs (the callback URL
// and the verify token), and the form that gives the session a new access token. Drawn once per session and
// updated in place, so what the operator types survives the state changes it causes.
import { api, sessionPath } from './api.js';
import { copy, copyIcon, h, showFieldErrors, showFormError, toast } from './dom.js';
import { MEDIA_MODES, cloudFields } from './cloud-fields.js';

const copyable = (value, label, id) =>
  h(
    'span',
    { class: 'copy-value' },
    h('code', { id }, value),
    h(
      'button',
      { type: 'button', class: 'icon-btn', 'aria-label': `Copy ${label}`, onclick: () => copy(value, `${label} copied`) },
      copyIcon(),
    ),
  );

const fact = (name, ...value) => [h('dt', {}, name), h('dd', {}, ...value)];

/** `onReplaced(session)` with the server's answer to the new options. */
export const createCloudPanel = (sessionId, { onReplaced }) => {
  const facts = h('dl', { class: 'facts' });
  const missing = h(
    'p',
    { class: 'notice', hidden: true },
    'No Cloud API options are stored (logging out forgets them): give them again below to reopen the session.',
  );
  const fields = cloudFields('cloud-replace');
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const button = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save and reconnect');
  const replace = h(
    'details',
    { class: 'cloud-replace' },
    h('summary', {}, 'Replace access token'),
    h(
      'form',
      { class: 'stack', novalidate: true, 'aria-label': 'Replace access token', onsubmit: (e) => submit(e) },
      h('p', { class: 'help' }, 'The stored token and app secret are never shown: give both. The session reopens with them.'),
      fields.el,
      error,
      h('div', { class: 'form-actions' }, button),
    ),
  );
  const el = h(
    'section',
    { class: 'card cloud-card', 'aria-labelledby': 'cloud-title' },
    h('h2', { id: 'cloud-title' }, 'Cloud API'),
    h(
      'p',
      { class: 'help' },
      'In your Meta app, WhatsApp → Configuration → Webhook: paste the Callback URL and the Verify token, then subscribe to messages.',
    ),
    facts,
    missing,
    replace,
  );

  let wantedBefore = false;
  const submit = async (event) => {
    event.preventDefault();
    const body = { options: fields.read() };
    fields.clearSecrets();
    showFormError(error, undefined);
    showFieldErrors(fields.controls, undefined);
    button.disabled = true;
    try {
      const updated = await api(sessionPath(sessionId), { method: 'PATCH', body });
      toast('Options saved; checking the token with Meta…');
      onReplaced(updated);
    } catch (err) {
      showFieldErrors(fields.controls, err);
      showFormError(error, err);
    } finally {
      button.disabled = false;
    }
  };

  return {
    el,
    update(next) {
      const o = next.options;
      fields.know(o);
      missing.hidden = Boolean(o?.phoneNumberId);
      facts.hidden = !missing.hidden;
      facts.replaceChildren(
        ...(o?.phoneNumberId
          ? [
              ...fact('Phone number id', h('code', {}, o.phoneNumberId)),
              ...fact('Media', MEDIA_MODES[o.mediaMode] ?? o.mediaMode ?? '—'),
              ...fact('Callback URL', copyable(location.origin + o.webhookPath, 'Callback URL', 'cloud-callback')),
              ...fact('Verify token', copyable(o.verifyToken, 'Verify token', 'cloud-verify')),
            ]
          : []),
      );
      // A refused token, or no options at all: the form is what to do next, so it is open.
      const wanted = next.state === 'needs_relink' || !o?.phoneNumberId;
      el.classList.toggle('cloud-card-alert', next.state === 'needs_relink');
      if (wanted !== wantedBefore) replace.open = wanted;
      wantedBefore = wanted;
    },
  };
};
