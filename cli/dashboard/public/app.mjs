// The dashboard page: the list of runs, and one run followed live. It polls the dashboard's
// JSON API every second. Plain DOM, no framework, no build step. Anything that comes from a
// run (inputs, errors, names) is only ever set as text, never parsed as HTML.

const TOKEN = document.querySelector('meta[name="redmap-token"]')?.getAttribute('content') ?? '';
const REFRESH_MS = 1000;
const view = document.getElementById('view');
const connection = document.getElementById('connection');
const where = document.getElementById('where');
let stopCurrent = () => {};

// --- DOM helpers -------------------------------------------------------------------------

function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  setProps(element, props);
  element.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  return element;
}

const SVG_NS = 'http://www.w3.org/2000/svg';
function s(tag, props = {}, ...children) {
  const element = document.createElementNS(SVG_NS, tag);
  setProps(element, props);
  element.append(...children);
  return element;
}

function setProps(element, props) {
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
}

// --- talking to the server -----------------------------------------------------------------

async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: { accept: 'application/json', ...options.headers } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw Object.assign(new Error(body.error ?? `${response.status} ${response.statusText}`), { status: response.status });
  return body;
}

function post(path, body) {
  return api(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-redmap-token': TOKEN },
    body: JSON.stringify(body ?? {}),
  });
}

/** Calls `refresh` now and every second after it settles, until the returned function is called. */
function poll(refresh) {
  let stopped = false;
  let timer;
  const tick = async () => {
    try {
      await refresh();
      connection.textContent = '';
    } catch (error) {
      connection.textContent = `not refreshed: ${error.message}`;
    }
    if (!stopped) timer = setTimeout(tick, REFRESH_MS);
  };
  void tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

// --- formatting ----------------------------------------------------------------------------

function formatDuration(ms) {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;
  const seconds = Math.round(ms / 1000);
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

function formatCount(value) {
  if (value >= 1e6) return `${(value / 1e6).toFixed(1)}M`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(1)}k`;
  return value >= 10 ? String(Math.round(value)) : String(Math.round(value * 10) / 10);
}

function formatTime(ms) {
  return new Date(ms).toLocaleString();
}

function formatRate(rate) {
  const unit = { 1000: 's', 60000: 'm', 3600000: 'h' }[rate.periodMs];
  return unit ? `${rate.count}/${unit}` : `${rate.count}/${rate.periodMs}ms`;
}

function plural(count, one, many) {
  return `${count} ${count === 1 ? one : many}`;
}

function stateBadge(state) {
  return h('span', { class: `state state-${state}`, 'data-field': 'state' }, state);
}

function progressBar({ done, total, unit }) {
  const share = total ? ` (${Math.floor((done * 100) / total)}%)` : '';
  return h(
    'span',
    { class: 'progress' },
    h('progress', { max: Math.max(total ?? 1, 1), value: total === null ? 0 : done }),
    h('span', { class: 'progress-label', 'data-field': 'progress' }, `${done}/${total ?? '?'} ${unit}${share}`),
  );
}

// --- the list of runs ------------------------------------------------------------------------

function showRuns() {
  document.title = 'redmap: runs';
  const body = h('tbody');
  const empty = h('p', { class: 'muted', hidden: true }, 'No runs yet: start one with redmap run or redmap submit.');
  const headings = ['Run', 'Job', 'State', 'Progress', 'Started', 'Duration'].map((text) => h('th', {}, text));
  view.replaceChildren(h('h1', {}, 'Runs'), h('table', { class: 'runs' }, h('thead', {}, h('tr', {}, headings)), body), empty);
  return poll(async () => {
    const { runs, redis, prefix } = await api('/api/runs');
    where.textContent = `${redis} · prefix ${prefix}`;
    empty.hidden = runs.length > 0;
    body.replaceChildren(...runs.map(runRow));
  });
}

function runRow(run) {
  const took = (run.finishedAt ?? Date.now()) - run.createdAt;
  return h(
    'tr',
    { 'data-run': run.id },
    h('td', {}, h('a', { href: `#/runs/${run.id}` }, run.id)),
    h('td', {}, run.job),
    h('td', {}, stateBadge(run.state)),
    h('td', {}, progressBar(run.progress)),
    h('td', {}, formatTime(run.createdAt)),
    h('td', {}, formatDuration(took)),
  );
}

// --- one run -------------------------------------------------------------------------------

function showRun(runId) {
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

/** Items per second between samples at least 2 s apart, so one late refresh does not spike it. */
function throughput(history) {
  const points = [];
  let from = 0;
  for (let i = 1; i < history.length; i++) {
    while (from < i - 1 && history[i].at - history[from + 1].at >= 2000) from++;
    const span = history[i].at - history[from].at;
    if (span > 0) points.push([history[i].at, ((history[i].items - history[from].items) * 1000) / span]);
  }
  return points;
}

function chart(title, points) {
  const width = 460;
  const height = 150;
  const pad = { left: 44, right: 8, top: 10, bottom: 22 };
  const figure = h('figure', { class: 'chart' }, h('figcaption', {}, title));
  if (points.length < 2) {
    figure.append(h('p', { class: 'muted' }, 'Not enough samples yet.'));
    return figure;
  }
  const [x0, x1] = [points[0][0], points[points.length - 1][0]];
  const yMax = Math.max(1, ...points.map(([, y]) => y));
  const x = (value) => pad.left + ((value - x0) / Math.max(1, x1 - x0)) * (width - pad.left - pad.right);
  const y = (value) => height - pad.bottom - (value / yMax) * (height - pad.top - pad.bottom);
  const line = points.map(([px, py]) => `${x(px).toFixed(1)},${y(py).toFixed(1)}`).join(' ');
  const bottom = height - pad.bottom;
  figure.append(
    s(
      'svg',
      { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': title },
      s('line', { x1: pad.left, y1: bottom, x2: width - pad.right, y2: bottom, class: 'axis' }),
      s('line', { x1: pad.left, y1: pad.top, x2: pad.left, y2: bottom, class: 'axis' }),
      s('polygon', { points: `${x(x0)},${bottom} ${line} ${x(x1)},${bottom}`, class: 'area' }),
      s('polyline', { points: line, class: 'line' }),
      s('text', { x: pad.left - 4, y: pad.top + 8, class: 'tick', 'text-anchor': 'end' }, formatCount(yMax)),
      s('text', { x: pad.left - 4, y: bottom, class: 'tick', 'text-anchor': 'end' }, '0'),
      s('text', { x: width - pad.right, y: height - 6, class: 'tick', 'text-anchor': 'end' }, formatDuration(x1 - x0)),
      s('text', { x: pad.left, y: height - 6, class: 'tick' }, formatTime(x0)),
    ),
  );
  return figure;
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

// --- routing -------------------------------------------------------------------------------

function route() {
  stopCurrent();
  const match = /^#\/runs\/([A-Za-z0-9_-]{1,64})$/.exec(location.hash);
  stopCurrent = match ? showRun(match[1]) : showRuns();
}

window.addEventListener('hashchange', route);
route();
