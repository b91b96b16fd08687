// The dashboard page: the list of runs, and one run followed live (run-page.mjs). It polls
// the dashboard's JSON API every second. Plain DOM, no framework, no build step.
import { api, poll } from './api.mjs';
import { formatDuration, formatTime, h, progressBar, stateBadge } from './dom.mjs';
import { showRun } from './run-page.mjs';

const view = document.getElementById('view');
let stopCurrent = () => {};

function showRuns() {
  document.title = 'redmap: runs';
  const body = h('tbody');
  const empty = h('p', { class: 'muted', hidden: true }, 'No runs yet: start one with redmap run or redmap submit.');
  const headings = ['Run', 'Job', 'State', 'Progress', 'Started', 'Duration'].map((text) => h('th', {}, text));
  view.replaceChildren(h('h1', {}, 'Runs'), h('table', { class: 'runs' }, h('thead', {}, h('tr', {}, headings)), body), empty);
  return poll(async () => {
    const { runs } = await api('/api/runs');
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

function route() {
  stopCurrent();
  const match = /^#\/runs\/([A-Za-z0-9_-]{1,64})$/.exec(location.hash);
  stopCurrent = match ? showRun(match[1]) : showRuns();
}

window.addEventListener('hashchange', route);
route();
