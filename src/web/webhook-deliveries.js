// One endpoint's recent deliveries: newest first, with their status, attempts and last error, a Replay button on
// each one that is over (dead or delivered) and "Replay all dead". Rows are updated in place as the view polls, so a
// button keeps its focus.
import { api, listOf, webhookPath } from './api.js';
import { fill, h, reportError, runAction, toast } from './dom.js';
import { formatTime, statusBadge } from './format.js';

const PAGE = 20;
/** What one request may ask for (the API's limit). */
const MAX_PAGE = 100;

const errorText = (e) => (e ? `${e.message}${e.code ? ` (${e.code})` : ''}` : '');

/** One row, updated in place. `replay(d, button)` when its Replay button is pressed. */
const deliveryRow = (initial, replay) => {
  let d = initial;
  const [time, event, status, attempts, detail] = Array.from({ length: 5 }, () => h('td'));
  const button = h('button', { type: 'button', class: 'btn btn-sm', onclick: (e) => replay(d, e.currentTarget) }, 'Replay');
  const el = h('tr', { dataset: { deliveryId: d.id } }, time, event, status, attempts, detail, h('td', { class: 'wh-row-action' }, button));
  time.className = 'nowrap';
  attempts.className = 'num';
  const update = (next) => {
    d = next;
    el.dataset.status = d.status;
    time.textContent = formatTime(d.event.createdAt);
    time.title = d.event.createdAt;
    event.replaceChildren(
      h('span', { class: 'kind' }, d.event.type),
      h('code', { class: 'preview', title: `event ${d.event.id}` }, d.event.id),
    );
    const nextTry =
      d.status === 'pending' && d.nextAttemptAt ? h('span', { class: 'help wh-next' }, `next try ${formatTime(d.nextAttemptAt)}`) : null;
    fill(status, [statusBadge(d.status), nextTry]);
    attempts.textContent = String(d.attempts);
    detail.replaceChildren(
      d.status === 'delivered'
        ? h('span', { class: 'muted nowrap' }, `delivered ${formatTime(d.deliveredAt)}`)
        : d.lastError
          ? h('span', { class: 'wh-error', title: errorText(d.lastError) }, errorText(d.lastError))
          : h('span', { class: 'muted' }, '—'),
    );
    button.hidden = d.status === 'pending';
    button.setAttribute('aria-label', `Replay ${d.event.type} ${d.event.id}`);
  };
  update(d);
  return { el, update };
};

/** `onChanged()` after a replay, so the view refreshes the endpoint's counts. */
export const createDeliveries = (endpointId, { onChanged }) => {
  const rows = new Map();
  let shown = [];
  let nextCursor = null;
  let gone = false;
  const filter = h(
    'select',
    { id: 'wh-filter', class: 'wh-filter', 'aria-label': 'Show deliveries' },
    [
      ['', 'All'],
      ['pending', 'Pending'],
      ['delivered', 'Delivered'],
      ['dead', 'Dead'],
    ].map(([value, label]) => h('option', { value }, label)),
  );
  const replayDead = h('button', { type: 'button', class: 'btn btn-sm', onclick: (e) => replayAll(e.currentTarget) }, 'Replay all dead');
  const tbody = h('tbody');
  const empty = h('p', { class: 'muted wh-empty' }, 'No deliveries yet: events this endpoint wants appear here as they happen.');
  const more = h('button', { type: 'button', class: 'btn btn-ghost btn-sm load-more', hidden: true }, 'Load older');
  const table = h(
    'div',
    { class: 'table-wrap', hidden: true },
    h(
      'table',
      { class: 'messages wh-deliveries', 'aria-label': 'Deliveries' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Time', 'Event', 'Status', 'Attempts', 'Last error', ''].map((t) => h('th', { scope: 'col' }, t)),
        ),
      ),
      tbody,
    ),
    more,
  );

  const query = (limit, before) =>
    `?limit=${limit}${filter.value ? `&status=${filter.value}` : ''}${before ? `&before=${encodeURIComponent(before)}` : ''}`;

  /** Draws `items` in order, reusing the rows it already has; the body is rebuilt only when the order changed. */
  const render = (items) => {
    shown = items;
    const seen = new Set();
    const els = items.map((d) => {
      seen.add(d.id);
      const row = rows.get(d.id);
      if (row) return (row.update(d), row.el);
      const made = deliveryRow(d, replay);
      rows.set(d.id, made);
      return made.el;
    });
    for (const id of rows.keys()) if (!seen.has(id)) rows.delete(id);
    const same = els.length === tbody.children.length && els.every((el, i) => tbody.children[i] === el);
    if (!same) tbody.replaceChildren(...els);
    table.hidden = !items.length;
    empty.hidden = items.length > 0;
    more.hidden = !nextCursor;
  };

  /** The newest deliveries again, as many as are shown (older pages the operator loaded stay loaded). */
  const refresh = async () => {
    const page = await api(webhookPath(endpointId, `/deliveries${query(Math.min(MAX_PAGE, Math.max(PAGE, shown.length)))}`));
    if (gone) return;
    nextCursor = page?.nextCursor ?? null;
    render(listOf(page));
  };

  const loadMore = async () => {
    const page = await api(webhookPath(endpointId, `/deliveries${query(PAGE, nextCursor)}`));
    if (gone) return;
    const known = new Set(shown.map((d) => d.id));
    nextCursor = page?.nextCursor ?? null;
    render([...shown, ...listOf(page).filter((d) => !known.has(d.id))]);
  };

  const replay = (d, button) =>
    runAction(
      button,
      async () => {
        const queued = await api(webhookPath(endpointId, `/deliveries/${encodeURIComponent(d.id)}/replay`), { method: 'POST' });
        rows.get(d.id)?.update(queued);
        onChanged();
      },
      `${d.event.type} queued again`,
    );

  const replayAll = (button) =>
    runAction(button, async () => {
      const { replayed } = await api(webhookPath(endpointId, '/deliveries/replay'), { method: 'POST', body: { status: 'dead' } });
      toast(replayed === 1 ? '1 dead delivery queued again' : `${replayed} dead deliveries queued again`);
      await refresh();
      onChanged();
    });

  filter.addEventListener('change', () => {
    shown = [];
    refresh().catch(reportError);
  });
  more.addEventListener('click', (e) => runAction(e.currentTarget, loadMore));

  const el = h(
    'section',
    { class: 'card', 'aria-labelledby': 'wh-deliveries-title' },
    h(
      'div',
      { class: 'card-head' },
      h('h2', { id: 'wh-deliveries-title' }, 'Recent deliveries'),
      h('div', { class: 'wh-tools' }, filter, replayDead),
    ),
    empty,
    table,
  );
  refresh().catch(reportError);
  return {
    el,
    refresh,
    /** The endpoint's counts: "Replay all dead" only when there is a dead one. */
    setStats: (stats) => void (replayDead.disabled = !(stats?.dead > 0)),
    destroy: () => void (gone = true),
  };
};
