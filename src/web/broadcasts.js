// A session's broadcasts: the form to create one, and each broadcast with its live progress (from the session's
// `broadcast` events, never polled), its counts, pause, resume and cancel, and its report.
import { api, broadcastPath, listOf, request, sessionPath } from './api.js';
import { createBroadcastForm } from './broadcast-form.js';
import { fill, h, reportError, runAction, toast } from './dom.js';
import { formatJid, formatTime, hashCell, statusBadge } from './format.js';

const STATUS_LABELS = { scheduled: 'Scheduled', running: 'Running', paused: 'Paused', completed: 'Completed', cancelled: 'Cancelled' };
const COUNTS = ['pending', 'queued', 'sent', 'delivered', 'read', 'failed', 'skipped'];
const REPORT_ROWS = 100;
const finished = (b) => b.status === 'completed' || b.status === 'cancelled';

/** The report as CSV, fetched with the key (a plain link could not send it) and handed to the browser as a file. */
const downloadReport = async (b) => {
  const res = await request(broadcastPath(b.id, '/report?format=csv'), { headers: { Accept: 'text/csv' } });
  const url = URL.createObjectURL(await res.blob());
  const a = h('a', { href: url, download: `${b.name.replace(/[^\w.-]+/g, '_') || b.id}-report.csv`, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  // The download has its own copy once it started; the URL only has to live until then.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
};

const reportTable = (rows, more) =>
  h(
    'div',
    { class: 'table-wrap bc-report' },
    h(
      'table',
      { class: 'messages' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['#', 'To', 'Status', 'Sent', 'sha256'].map((t) => h('th', { scope: 'col' }, t)),
        ),
      ),
      h(
        'tbody',
        {},
        rows.map((r) =>
          h(
            'tr',
            { dataset: { index: r.index } },
            h('td', {}, String(r.index + 1)),
            h('td', { class: 'nowrap' }, formatJid(r.to)),
            h('td', {}, statusBadge(r.status), r.errorCode ? h('span', { class: 'fail-code', title: r.error ?? '' }, r.errorCode) : null),
            h('td', { class: 'nowrap' }, formatTime(r.sentAt)),
            h('td', {}, r.sha256 ? hashCell({ sha256: r.sha256 }, r.status) : h('span', { class: 'muted' }, '—')),
          ),
        ),
      ),
    ),
    more ? h('p', { class: 'help bc-report-more' }, `The first ${rows.length} rows; the CSV has them all.`) : null,
  );

/** One broadcast, drawn once and updated in place, so a button keeps its focus as progress arrives. */
const broadcastItem = (initial) => {
  let b = initial;
  const title = h('span', { class: 'bc-name' });
  const status = h('span', { class: 'bc-status' });
  const bar = h('progress', { class: 'bc-bar', max: 100 });
  const figures = h('span', { class: 'bc-figures' });
  const counts = h('p', { class: 'bc-counts' });
  const note = h('p', { class: 'notice', hidden: true });
  const report = h('div', { class: 'bc-report-holder', hidden: true });
  const act = (path, done) => (e) =>
    runAction(e.currentTarget, async () => update(await api(broadcastPath(b.id, path), { method: 'POST' })), done);
  const pause = h('button', { type: 'button', class: 'btn btn-sm', onclick: act('/pause') }, 'Pause');
  const resume = h('button', { type: 'button', class: 'btn btn-sm btn-primary', onclick: act('/resume') }, 'Resume');
  const cancel = h(
    'button',
    {
      type: 'button',
      class: 'btn btn-sm btn-danger-ghost',
      onclick: (e) => confirm(`Cancel “${b.name}”? Recipients not yet sent to are skipped.`) && act('/cancel', 'Broadcast cancelled')(e),
    },
    'Cancel',
  );
  const showReport = h('button', { type: 'button', class: 'btn btn-sm btn-ghost', 'aria-expanded': 'false' }, 'Show report');
  const download = h(
    'button',
    { type: 'button', class: 'btn btn-sm', onclick: (e) => runAction(e.currentTarget, () => downloadReport(b)) },
    'Download report (CSV)',
  );
  showReport.addEventListener('click', (e) =>
    runAction(e.currentTarget, async () => {
      const open = report.hidden;
      report.hidden = !open;
      showReport.setAttribute('aria-expanded', String(open));
      showReport.textContent = open ? 'Hide report' : 'Show report';
      if (open) await loadReport();
    }),
  );
  const loadReport = async () => {
    const page = await api(broadcastPath(b.id, `/report?limit=${REPORT_ROWS}`));
    report.replaceChildren(reportTable(listOf(page), page?.next !== null && page?.next !== undefined));
  };

  const el = h(
    'li',
    { class: 'bc-item', dataset: { broadcastId: b.id }, 'aria-label': `Broadcast ${b.name}` },
    h('div', { class: 'bc-item-head' }, title, status),
    h('div', { class: 'bc-progress' }, bar, figures),
    counts,
    note,
    h('div', { class: 'bc-actions' }, pause, resume, cancel, h('span', { class: 'bc-spacer' }), showReport, download),
    report,
  );

  const update = (next) => {
    b = next;
    el.dataset.status = b.status;
    title.textContent = b.name;
    status.replaceChildren(
      h('span', { class: `status bc-st-${b.status}`, dataset: { status: b.status } }, STATUS_LABELS[b.status] ?? b.status),
    );
    bar.value = b.progress.percent;
    bar.setAttribute('aria-label', `Progress of ${b.name}`);
    bar.setAttribute('aria-valuetext', `${b.progress.percent}%`);
    const end = !finished(b) && b.expectedEndAt ? ` · ends about ${formatTime(b.expectedEndAt)}` : '';
    figures.textContent = `${b.progress.done} of ${b.total} · ${b.progress.percent}%${end}`;
    fill(counts, [
      ...COUNTS.filter((c) => b.counts[c] || c === 'sent' || c === 'failed').map((c) =>
        h(
          'span',
          { class: 'bc-count', dataset: { count: c } },
          h('span', { class: 'muted' }, c),
          ' ',
          h('strong', {}, String(b.counts[c] ?? 0)),
        ),
      ),
      h('span', { class: 'bc-count muted' }, b.pace ? `${b.pace.perMinute}/min` : 'no pacing'),
      b.media ? h('span', { class: 'bc-count' }, h('span', { class: 'muted' }, 'media '), hashCell(b.media, 'queued')) : null,
    ]);
    note.hidden = !b.pausedReason || b.status !== 'paused';
    note.textContent = b.pausedReason ? `Paused: ${b.pausedReason.message} (${b.pausedReason.code})` : '';
    pause.hidden = !(b.status === 'running' || b.status === 'scheduled');
    resume.hidden = b.status !== 'paused';
    cancel.hidden = finished(b);
    if (!report.hidden && finished(b)) loadReport().catch(reportError);
  };
  update(b);
  return { el, update, get: () => b };
};

/** Progress only moves forward: a list fetched while events arrived must not take an item back. */
const newer = (a, b) => b.progress.done > a.progress.done || (b.progress.done === a.progress.done && b.updatedAt >= a.updatedAt);

export const createBroadcastPanel = (sessionId) => {
  const items = new Map();
  const list = h('ul', { class: 'bc-list', 'aria-label': 'Broadcasts' });
  const empty = h('p', { class: 'muted bc-empty' }, 'No broadcasts yet for this session.');
  let gone = false;

  const apply = (b) => {
    if (gone || !b || b.sessionId !== sessionId || typeof b.id !== 'string' || !b.progress) return;
    const item = items.get(b.id);
    if (item) {
      if (newer(item.get(), b)) item.update(b);
      return;
    }
    const created = broadcastItem(b);
    items.set(b.id, created);
    list.prepend(created.el);
    empty.hidden = true;
  };

  const refresh = () =>
    api(sessionPath(sessionId, '/broadcasts'))
      .then((body) => listOf(body).reverse().forEach(apply))
      .catch(reportError);

  const form = createBroadcastForm(sessionId, {
    onCreated: (created) => {
      const left = [
        created.duplicates?.length && `${created.duplicates.length} duplicate`,
        created.invalid?.length && `${created.invalid.length} invalid`,
      ].filter(Boolean);
      toast(`Broadcast “${created.name}” created for ${created.total} recipients${left.length ? ` (${left.join(', ')} left out)` : ''}`);
      apply(created);
    },
  });

  const el = h(
    'section',
    { class: 'card bc-card', 'aria-labelledby': 'bc-title' },
    h('div', { class: 'card-head' }, h('h2', { id: 'bc-title' }, 'Broadcasts')),
    form,
    h('h3', { class: 'bc-subtitle' }, 'This session’s broadcasts'),
    empty,
    list,
  );
  refresh();
  return {
    el,
    /** A `broadcast` event of the session's stream: the broadcast as it is now. */
    apply,
    refresh,
    destroy: () => void (gone = true),
  };
};
