// Adding a webhook endpoint: its URL, the events it wants (or all of them) and, optionally, the one session whose
// events it gets. The server checks the URL (its SSRF guard) and answers with the secret, shown once by the view.
import { api } from './api.js';
import { field, fill, h, optional, showFormError } from './dom.js';
import { state } from './state.js';

/** The event types the API knows (src/webhooks/types.ts), grouped as an operator looks for them. */
export const EVENT_GROUPS = [
  ['Messages', ['message.queued', 'message.sent', 'message.delivered', 'message.read', 'message.failed', 'message.received']],
  ['Sessions', ['session.state', 'session.qr']],
  ['Broadcasts', ['broadcast.progress', 'broadcast.paused', 'broadcast.completed']],
  ['Opt-outs', ['optout.added']],
];

const checkbox = (value, label) =>
  h('label', { class: 'check wh-event' }, h('input', { type: 'checkbox', name: 'wh-event', value }), h('span', {}, label));

/** `onCreated(created)` with the server's answer: the endpoint and its secret. */
export const createWebhookForm = ({ onCreated }) => {
  const url = h('input', {
    id: 'wh-url',
    type: 'url',
    spellcheck: 'false',
    placeholder: 'https://hooks.example.com/hashsend',
    'aria-describedby': 'wh-url-help',
  });
  const all = checkbox('*', 'All events, present and future');
  const boxes = EVENT_GROUPS.map(([group, types]) =>
    h(
      'div',
      { class: 'wh-event-group' },
      h('span', { class: 'wh-event-group-name' }, group),
      types.map((t) => checkbox(t, t)),
    ),
  );
  const session = h('select', { id: 'wh-session', 'aria-describedby': 'wh-session-help' });
  const description = h('input', { id: 'wh-description', type: 'text', maxlength: 500, placeholder: 'e.g. CRM' });
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const button = h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, 'Add endpoint');
  const events = h('fieldset', { class: 'wh-events' }, h('legend', {}, 'Events'), all, h('div', { class: 'wh-event-groups' }, boxes));

  const typeBoxes = () => [...events.querySelectorAll('input[name=wh-event]')].filter((b) => b.value !== '*');
  all.firstChild.addEventListener('change', () => {
    for (const b of typeBoxes()) b.disabled = all.firstChild.checked;
  });

  /** The sessions as the page knows them now; what was chosen stays chosen while it exists. */
  const fillSessions = () => {
    const chosen = session.value;
    const ids = state.sessions.map((s) => s.id).sort();
    fill(session, [h('option', { value: '' }, 'Every session (global)'), ids.map((id) => h('option', { value: id }, id))]);
    session.value = ids.includes(chosen) ? chosen : '';
  };

  const submit = async (event) => {
    event.preventDefault();
    // Gone once the first await returns.
    const form = event.currentTarget;
    showFormError(error, undefined);
    const chosen = all.firstChild.checked
      ? ['*']
      : typeBoxes()
          .filter((b) => b.checked)
          .map((b) => b.value);
    const invalid = !url.value.trim() ? 'Give the URL to POST events to.' : !chosen.length ? 'Choose the events to send.' : undefined;
    if (invalid) return showFormError(error, new Error(invalid));
    const body = {
      url: url.value.trim(),
      events: chosen,
      ...(session.value ? { sessionId: session.value } : {}),
      ...(description.value.trim() ? { description: description.value.trim() } : {}),
    };
    button.disabled = true;
    try {
      const created = await api('/api/webhooks', { method: 'POST', body });
      form.reset();
      for (const b of typeBoxes()) b.disabled = false;
      onCreated(created);
    } catch (err) {
      showFormError(error, err);
    } finally {
      button.disabled = false;
    }
  };

  fillSessions();
  return {
    el: h(
      'form',
      { class: 'stack wh-form', novalidate: true, onsubmit: submit, 'aria-label': 'New webhook endpoint' },
      field('wh-url', 'URL', url, 'Each event is POSTed here as signed JSON.'),
      events,
      field('wh-session', optional('Session'), session, 'Only this session’s events; or every session’s.'),
      field('wh-description', optional('Description'), description),
      error,
      button,
    ),
    fillSessions,
  };
};
