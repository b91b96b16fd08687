// Talking to the dashboard's server: JSON reads, changes that carry the page's token, and
// a refresh every second.

const TOKEN = document.querySelector('meta[name="redmap-token"]')?.getAttribute('content') ?? '';
const REFRESH_MS = 1000;
const connection = document.getElementById('connection');

/** A refusal from the dashboard's API, with its HTTP status. */
export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

export async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: { accept: 'application/json', ...options.headers } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(body.error ?? `${response.status} ${response.statusText}`, response.status);
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
