// One run, followed live: progress, charts, partitions, failed items, limits and workers,
// with Cancel, Retry and the limits form (each asks for confirmation).
import { api, poll, post } from './api.mjs';
import { chart, throughput } from './charts.mjs';
import { formatCount, formatDuration, formatRate, formatTime, h, plural, progressBar, stateBadge } from './dom.mjs';

const view = document.getElementById('view');

export function showRun(runId) {
  document.title = `redmap: run ${runId}`;
  const parts = {
    state: h('span'),
    subtitle: h('p', { class: 'muted' }),
    notice: h('p', { class: 'notice', role: 'status', hidden: true }),
    progress: h('div'),
    summary: h('dl', { class: 'summary' }),
    charts: h('div', { class: 'charts' }),
    partitionsLabel: h('p'),
    partitions: h('div', { class: 'partitions' }),
    failuresNote: h('p', { class: 'muted' }),
    failures: h('tbody'),
    limits: h('dl', { class: 'summary' }),
    workersNote: h('p', { class: 'muted' }),
    workers: h('tbody'),
  };
  const cancelButton = h('button', { class: 'danger', 'data-action': 'cancel' }, 'Cancel run');
  const retryButton = h('button', { 'data-action': 'retry' }, 'Retry failed items');
  const limitsForm = buildLimitsForm(runId, (action, question, body) => act(action, question, body));
  cancelButton.addEventListener('click', () =>
    act('cancel', `Cancel run ${runId}? Its waiting tasks are dropped and its running map calls are aborted.`),
  );
  retryButton.addEventListener('click', () =>
    act('retry', `Retry run ${runId}? What failed runs again under a new generation, and the run reduces again.`),
  );

  view.replaceChildren(
    h('p', {}, h('a', { href: '#/' }, '← all runs')),
    h('div', { class: 'title' }, h('h1', {}, `Run ${runId}`), parts.state),
    parts.subtitle,
    h('div', { class: 'actions' }, cancelButton, retryButton),
    parts.notice,
    h('section', {}, h('h2', {}, 'Progress'), parts.progress, parts.summary, parts.charts),
    h('section', {}, h('h2', {}, 'Reduce partitions'), parts.partitionsLabel, parts.partitions),
    h('section', {}, h('h2', {}, 'Failed items'), parts.failuresNote, failuresTable(parts.failures)),
    h('section', {}, h('h2', {}, 'Limits'), parts.limits, limitsForm.element),
    h('section', {}, h('h2', {}, 'Workers of this job'), parts.workersNote, workersTable(parts.workers)),
  );

  let failuresShown = '';
  async function act(action, question, body) {
    if (!window.confirm(question)) return;
    try {
      const { message } = await post(`/api/runs/${runId}/${action}`, body);
      showNotice(parts.notice, message, false);
      failuresShown = '';
    } catch (error) {
      showNotice(parts.notice, error.message, true);
    }
  }

  return poll(async () => {
    let run;
    try {
      run = await api(`/api/runs/${runId}`);
    } catch (error) {
      if (error.status !== 404) throw error;
      parts.subtitle.textContent = error.message;
      return;
    }
    parts.state.replaceChildren(stateBadge(run.state));
    parts.subtitle.textContent = `job ${run.job} · version ${run.version}${run.generation > 1 ? ` · generation ${run.generation}` : ''}`;
    cancelButton.disabled = !run.actions.cancel;
    retryButton.disabled = !run.actions.retry;
    limitsForm.setEnabled(run.actions.throttle);
    fillProgress(parts, run);
    fillPartitions(parts, run);
    fillLimits(parts.limits, run.limits);
    fillWorkers(parts, run);
    const failuresKey = `${run.generation}:${run.tasks.failed}`;
    if (failuresKey !== failuresShown) {
      fillFailures(parts, run, await api(`/api/runs/${runId}/failures`));
      failuresShown = failuresKey;
    }
  });
}

function showNotice(notice, text, isError) {
  notice.textContent = text;
  notice.classList.toggle('error', isError);
  notice.hidden = false;
}

function fillProgress(parts, run) {
  const reducing = run.state === 'reducing';
  const settled = run.tasks.committed + run.tasks.failed;
  parts.progress.replaceChildren(
    progressBar(
      reducing
        ? { done: run.partitions.reduced, total: run.partitions.total, unit: 'partitions' }
        : { done: settled, total: run.tasks.total, unit: 'tasks' },
    ),
  );
  const { pace } = run;
  const speed = [
    pace.itemsPerSecondNow === null ? null : `${formatCount(pace.itemsPerSecondNow)}/s now`,
    `${formatCount(pace.itemsPerSecondAverage)}/s on average`,
  ];
  const tasks = [
    `${run.tasks.committed}/${run.tasks.total ?? '?'} committed`,
    `${run.tasks.failed} failed for good`,
    plural(run.tasks.retried, 'retry', 'retries'),
    plural(run.tasks.duplicates, 'duplicate commit ignored', 'duplicate commits ignored'),
  ];
  const rows = [
    ['tasks', 'Tasks', tasks.join(', ') + (run.sealed ? '' : ' (still submitting)')],
    ['items', 'Items', `${run.items.done}/${run.items.total ?? '?'} done`],
    ['speed', 'Speed', speed.filter(Boolean).join(' · ')],
    ['eta', 'Time left', pace.etaMs === null ? '—' : formatDuration(pace.etaMs)],
    ['started', 'Started', formatTime(Date.parse(run.createdAt))],
    ['duration', run.finishedAt ? 'Took' : 'Running for', formatDuration(pace.elapsedMs)],
  ];
  if (run.error) rows.push(['error', 'Error', run.error]);
  parts.summary.replaceChildren(...rows.flatMap(([field, name, value]) => [h('dt', {}, name), h('dd', { 'data-field': field }, value)]));
  parts.charts.replaceChildren(
    chart(
      'Items done',
      run.history.map((sample) => [sample.at, sample.items]),
    ),
    chart('Items per second', throughput(run.history)),
  );
}

function fillPartitions(parts, run) {
  const reduced = new Set(run.reducedPartitions);
  parts.partitionsLabel.textContent = `${run.partitions.reduced}/${run.partitions.total} reduced${run.generation > 1 ? ` in generation ${run.generation}` : ''}`;
  parts.partitions.replaceChildren(
    ...Array.from({ length: run.partitions.total }, (_, partition) =>
      h(
        'span',
        {
          class: reduced.has(partition) ? 'cell reduced' : 'cell',
          title: `partition ${partition}: ${reduced.has(partition) ? 'reduced' : 'not reduced yet'}`,
        },
        String(partition),
      ),
    ),
  );
}

function failuresTable(body) {
  const headings = ['Task', 'Input', 'Error', 'Attempts', 'Worker'].map((text) => h('th', {}, text));
  return h('table', { class: 'failures' }, h('thead', {}, h('tr', {}, headings)), body);
}

function fillFailures(parts, run, failures) {
  parts.failuresNote.textContent =
    run.tasks.failed === 0
      ? 'None.'
      : `${plural(run.tasks.failed, 'task', 'tasks')} failed for good${failures.length < run.tasks.failed ? `; the first ${failures.length} shown` : ''}. Retry runs them again.`;
  parts.failures.replaceChildren(
    ...failures.map((failure) =>
      h(
        'tr',
        { 'data-task': failure.task },
        h('td', {}, failure.task),
        h('td', {}, h('code', { 'data-field': 'input' }, failure.input)),
        h('td', { 'data-field': 'error' }, failure.error),
        h('td', {}, `${failure.attempts}${failure.stalls ? ` (${plural(failure.stalls, 'stall', 'stalls')})` : ''}`),
        h('td', {}, failure.worker),
      ),
    ),
  );
}

function describeScope(scope) {
  const cap =
    scope.concurrency === null ? 'no concurrency limit' : `at most ${scope.concurrency} map calls in flight (${scope.inFlight} now)`;
  const rate =
    scope.rate === null ? 'no rate limit' : `at most ${formatRate(scope.rate)} (${scope.startsPerSecond.toFixed(1)}/s over the last 10 s)`;
  return `${cap}; ${rate}`;
}

function fillLimits(list, limits) {
  list.replaceChildren(
    h('dt', {}, 'This run'),
    h('dd', { 'data-field': 'run-limits' }, describeScope(limits.run)),
    h('dt', {}, 'Every run of its job'),
    h('dd', { 'data-field': 'job-limits' }, describeScope(limits.job)),
  );
}

/** The form that changes this run's limits: each field empty to keep it, "none" to remove it. */
function buildLimitsForm(runId, act) {
  const concurrency = h('input', { name: 'concurrency', inputmode: 'numeric', placeholder: 'e.g. 4, or none', size: 12 });
  const rate = h('input', { name: 'rate', placeholder: 'e.g. 50/s, or none', size: 12 });
  const apply = h('button', { type: 'submit' }, 'Change limits');
  const element = h(
    'form',
    { class: 'limits-form' },
    h('label', {}, 'Map calls in flight ', concurrency),
    h('label', {}, 'Rate ', rate),
    apply,
  );
  element.addEventListener('submit', (event) => {
    event.preventDefault();
    const body = {};
    const given = concurrency.value.trim();
    if (given !== '') body.concurrency = /^\d+$/.test(given) ? Number(given) : given;
    if (rate.value.trim() !== '') body.rate = rate.value.trim();
    const what =
      Object.entries(body)
        .map(([name, value]) => `${name} ${value}`)
        .join(', ') || 'nothing';
    void act('limits', `Change the limits of run ${runId}: ${what}? Workers apply them from their next map call.`, body);
  });
  return { element, setEnabled: (enabled) => (apply.disabled = !enabled) };
}

function workersTable(body) {
  const headings = ['Host', 'Pid', 'Version', 'Tasks in flight', 'Seen'].map((text) => h('th', {}, text));
  return h('table', { class: 'workers' }, h('thead', {}, h('tr', {}, headings)), body);
}

function fillWorkers(parts, run) {
  const serving = run.workers.filter((worker) => worker.servesRun).length;
  parts.workersNote.textContent =
    run.workers.length === 0
      ? `No worker of job ${run.job} seen in the last 10 s.`
      : `${plural(serving, 'process', 'processes')} of this run's version seen in the last 10 s${serving < run.workers.length ? `; ${run.workers.length - serving} of other versions cannot serve it` : ''}.`;
  parts.workers.replaceChildren(
    ...run.workers.map((worker) =>
      h(
        'tr',
        {},
        h('td', {}, worker.host),
        h('td', {}, String(worker.pid)),
        h('td', {}, worker.servesRun ? worker.version : `${worker.version} (other version)`),
        h('td', {}, `${worker.activeTasks}/${worker.concurrency}`),
        h('td', {}, `${formatDuration(worker.seenMsAgo)} ago`),
      ),
    ),
  );
}
