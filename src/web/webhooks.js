// The Webhooks view: every endpoint (its URL, events, session or global, enabled or why not), the form to add one,
// and for the one selected its secret (once: right after it was created or rotated), its actions and its recent
// deliveries. Deliveries have no event stream: while the view is shown it asks again every few seconds.
import { api, listOf, webhookPath } from './api.js';
import { copy, copyIcon, h, reportError, runAction, toast } from './dom.js';
import { formatTime } from './format.js';
import { createDeliveries } from './webhook-deliveries.js';
import { createWebhookForm } from './webhook-form.js';

const POLL_MS = 2000;

const scopeLabel = (e) => (e.sessionId ? `Session ${e.sessionId}` : 'Every session');
const eventsLabel = (e) =>
  e.events.includes('*') ? 'All events' : e.events.length <= 2 ? e.events.join(', ') : `${e.events.length} event types`;
const enabledBadge = (e) =>
  h(
    'span',
    { class: `badge ${e.enabled ? 'badge-enabled' : 'badge-disabled'}`, dataset: { enabled: String(e.enabled) } },
    e.enabled ? 'Enabled' : 'Disabled',
  );

/** The secret of an endpoint, as the API gives it exactly once; gone from the page once dismissed. */
const secretCard = ({ secret, title, note }, dismiss) =>
  h(
    'section',
    { class: 'card wh-secret', role: 'region', 'aria-label': 'Signing secret' },
    h('h2', {}, title),
    h(
      'div',
      { class: 'wh-secret-row' },
      h('code', { class: 'wh-secret-value', id: 'webhook-secret' }, secret),
      h('button', { type: 'button', class: 'btn btn-sm', onclick: () => copy(secret, 'Secret copied') }, copyIcon(), 'Copy'),
    ),
    h('p', { class: 'notice notice-warn' }, note),
    h('div', { class: 'form-actions' }, h('button', { type: 'button', class: 'btn btn-sm', onclick: dismiss }, 'I have stored it')),
  );

/** The selected endpoint, drawn once and updated in place. `actions`: { toggle, rotate, remove }, each with its button. */
const endpointCard = (initial, actions) => {
  let e = initial;
  const title = h('h1', { class: 'session-title wh-url', id: 'wh-title' });
  const sub = h('p', { class: 'muted session-me' });
  const state = h('div', { class: 'session-state', role: 'status' });
  const reason = h('p', { class: 'notice notice-error', hidden: true });
  const facts = h('dl', { class: 'wh-facts' });
  const toggle = h('button', { type: 'button', class: 'btn', onclick: (ev) => actions.toggle(e, ev.currentTarget) });
  const el = h(
    'section',
    { class: 'card session-head', 'aria-labelledby': 'wh-title', dataset: { endpointId: e.id } },
    h('div', { class: 'session-head-main' }, h('div', {}, title, sub), state),
    reason,
    facts,
    h(
      'div',
      { class: 'actions' },
      toggle,
      h('button', { type: 'button', class: 'btn', onclick: (ev) => actions.rotate(e, ev.currentTarget) }, 'Rotate secret'),
      h(
        'button',
        { type: 'button', class: 'btn btn-danger-ghost', onclick: (ev) => actions.remove(e, ev.currentTarget) },
        'Delete endpoint',
      ),
    ),
  );
  const fact = (name, ...value) => [h('dt', {}, name), h('dd', {}, ...value)];
  const update = (next) => {
    e = next;
    title.textContent = e.url;
    sub.textContent = [e.description, `created ${formatTime(e.createdAt)}`].filter(Boolean).join(' · ');
    state.replaceChildren(enabledBadge(e));
    reason.hidden = e.enabled || !e.disabledReason;
    reason.textContent = e.disabledReason
      ? `${e.disabledReason.message} (${e.disabledReason.code}, ${formatTime(e.disabledReason.at)})`
      : '';
    const s = e.stats ?? { pending: 0, delivered: 0, dead: 0 };
    facts.replaceChildren(
      ...fact('Events', e.events.includes('*') ? 'All events' : e.events.map((t) => h('span', { class: 'chip' }, t))),
      ...fact('Scope', scopeLabel(e)),
      ...fact(
        'Deliveries',
        ['pending', 'delivered', 'dead'].map((k) =>
          h('span', { class: 'bc-count', dataset: { count: k } }, h('span', { class: 'muted' }, k), ' ', h('strong', {}, String(s[k]))),
        ),
      ),
      ...fact('Id', h('code', {}, e.id)),
    );
    toggle.textContent = e.enabled ? 'Disable' : 'Enable';
  };
  update(e);
  return { el, update };
};

export const createWebhooksView = () => {
  let endpoints = [];
  let selected;
  let timer;
  let visible = false;
  const list = h('ul', { class: 'session-list', 'aria-label': 'Webhook endpoints' });
  const count = h('span', { class: 'count' });
  const none = h(
    'div',
    { class: 'empty empty-sm' },
    h('p', { class: 'empty-title' }, 'No webhook endpoints yet'),
    h('p', { class: 'muted' }, 'Add one below to have events POSTed to your server.'),
  );
  const form = createWebhookForm({ onCreated: (created) => created && added(created) });
  const pick = h(
    'div',
    { class: 'card empty empty-lg' },
    h('p', { class: 'empty-title' }, 'Select an endpoint'),
    h('p', { class: 'muted' }, 'Pick one on the left to see its deliveries, or add one.'),
  );
  const detail = h('section', { class: 'detail', 'aria-label': 'Webhook endpoint' }, pick);
  const el = h(
    'div',
    { class: 'console', id: 'webhooks-view', hidden: true },
    h(
      'aside',
      { class: 'sidebar' },
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'wh-list-title' },
        h('div', { class: 'card-head' }, h('h2', { id: 'wh-list-title' }, 'Webhook endpoints ', count)),
        list,
        none,
      ),
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'wh-new-title' },
        h('div', { class: 'card-head' }, h('h2', { id: 'wh-new-title' }, 'New endpoint')),
        form.el,
      ),
    ),
    detail,
  );

  const renderList = () => {
    count.textContent = endpoints.length ? String(endpoints.length) : '';
    none.hidden = endpoints.length > 0;
    list.replaceChildren(
      ...endpoints.map((e) =>
        h(
          'li',
          {},
          h(
            'button',
            {
              type: 'button',
              class: 'session-item',
              'aria-current': e.id === selected?.id ? 'true' : false,
              dataset: { endpointId: e.id },
              onclick: () => select(e.id),
            },
            h(
              'span',
              { class: 'session-item-main' },
              h('span', { class: 'session-id', title: e.url }, e.url),
              h('span', { class: 'session-sub' }, `${scopeLabel(e)} · ${eventsLabel(e)}`),
              e.stats?.dead ? h('span', { class: 'session-sub wh-dead' }, `${e.stats.dead} dead`) : null,
            ),
            enabledBadge(e),
          ),
        ),
      ),
    );
  };

  const refresh = async () => {
    endpoints = listOf(await api('/api/webhooks'));
    renderList();
    const e = selected && endpoints.find((x) => x.id === selected.id);
    if (selected && !e) return select(undefined);
    if (e) {
      selected.card.update(e);
      selected.deliveries.setStats(e.stats);
      await selected.deliveries.refresh();
    }
  };

  /** Shows one endpoint; `secret` ({ secret, title, note }) once, right after creation or rotation. */
  const select = (id, secret) => {
    selected?.deliveries.destroy();
    selected = undefined;
    const e = endpoints.find((x) => x.id === id);
    if (!e) {
      renderList();
      return detail.replaceChildren(pick);
    }
    const card = endpointCard(e, { toggle, rotate, remove });
    const deliveries = createDeliveries(e.id, { onChanged: () => refresh().catch(reportError) });
    deliveries.setStats(e.stats);
    selected = { id: e.id, card, deliveries };
    const shown = secret ? secretCard(secret, () => shown.remove()) : null;
    detail.replaceChildren(...[shown, card.el, deliveries.el].filter(Boolean));
    renderList();
  };

  const added = (created) => {
    const { secret, ...endpoint } = created;
    endpoints = [...endpoints.filter((e) => e.id !== endpoint.id), endpoint];
    toast('Webhook endpoint added');
    select(endpoint.id, {
      secret,
      title: 'Signing secret',
      note: 'Shown only now: store it with your receiver, which checks each delivery’s X-Hashsend-Signature with it. It cannot be shown again; rotate it to get a new one.',
    });
    refresh().catch(reportError);
  };

  const toggle = (e, button) =>
    runAction(
      button,
      async () => {
        const next = await api(webhookPath(e.id), { method: 'PATCH', body: { enabled: !e.enabled } });
        endpoints = endpoints.map((x) => (x.id === next.id ? next : x));
        selected?.card.update(next);
        renderList();
      },
      e.enabled ? 'Endpoint disabled: its events wait until it is enabled again' : 'Endpoint enabled',
    );

  const rotate = (e, button) => {
    if (!confirm('Make a new signing secret? The current one keeps signing beside it for a grace period.')) return;
    return runAction(button, async () => {
      const { secret, previousSecretExpiresAt } = await api(webhookPath(e.id, '/rotate-secret'), { method: 'POST' });
      select(e.id, {
        secret,
        title: 'New signing secret',
        note: `Shown only now: store it with your receiver. Until ${formatTime(previousSecretExpiresAt)} each delivery is signed with the old secret too, so the receiver can switch over meanwhile.`,
      });
    });
  };

  const remove = (e, button) => {
    if (!confirm(`Delete the endpoint ${e.url}? Its deliveries, pending ones too, are removed with it.`)) return;
    return runAction(
      button,
      async () => {
        await api(webhookPath(e.id), { method: 'DELETE' });
        endpoints = endpoints.filter((x) => x.id !== e.id);
        select(undefined);
      },
      'Webhook endpoint deleted',
    );
  };

  const poll = () => {
    clearTimeout(timer);
    if (!visible) return;
    timer = setTimeout(() => {
      const work = document.hidden ? Promise.resolve() : refresh().catch(reportError);
      work.finally(poll);
    }, POLL_MS);
  };

  return {
    el,
    /** Shows or hides the view; shown, it loads the endpoints and keeps them current. */
    show(on) {
      visible = on;
      el.hidden = !on;
      clearTimeout(timer);
      if (!on) return;
      form.fillSessions();
      refresh().catch(reportError).finally(poll);
    },
  };
};
