// Talking to the dashboard's server: JSON reads, changes that carry the page's token, and
// a refresh every second.

const TOKEN = document.querySelector('meta[name="redmap-token"]')?.getAttribute('content') ?? '';
const REFRESH_MS = 1000;
const connection = document.getElementById('connection');

export async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: { accept: 'application/json', ...options.headers } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw Object.assign(new Error(body.error ?? `${response.status} ${response.statusText}`), { status: response.status });
  return body;
}

export function post(path, body) {
  return api(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-redmap-token': TOKEN },
    body: JSON.stringify(body ?? {}),
  });
}

/** Calls `refresh` now and every second after it settles, until the returned function is called. */
export function poll(refresh) {
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
