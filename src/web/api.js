// Talking to /api with the key the operator typed. Every answer that is not 2xx becomes an ApiError carrying the
// server's stable `code` and message, so the page can show them as they are.

const KEY_NAME = 'hashsend.apiKey';

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export const keyStore = {
  get: () => sessionStorage.getItem(KEY_NAME) ?? localStorage.getItem(KEY_NAME),
  set(key, remember) {
    sessionStorage.setItem(KEY_NAME, key);
    if (remember) localStorage.setItem(KEY_NAME, key);
    else localStorage.removeItem(KEY_NAME);
  },
  clear() {
    sessionStorage.removeItem(KEY_NAME);
    localStorage.removeItem(KEY_NAME);
  },
};

/** Called with the ApiError when the key is refused (401/403); the page goes back to its sign-in. */
let authFailure = () => {};
export const onAuthFailure = (handler) => {
  authFailure = handler;
};

const authHeaders = (extra = {}) => ({ Authorization: `Bearer ${keyStore.get() ?? ''}`, ...extra });

const toApiError = async (res) => {
  const body = await res.json().catch(() => undefined);
  const error = body && typeof body === 'object' ? body.error : undefined;
  if (error && typeof error.message === 'string') return new ApiError(res.status, error.code ?? 'error', error.message, error.details);
  return new ApiError(res.status, 'http_' + res.status, `${res.status} ${res.statusText || 'request failed'}`);
};

/** fetch with the key; a network failure or an answer that is not 2xx throws an ApiError. */
export const request = async (path, { method = 'GET', headers = {}, body, signal, cache } = {}) => {
  let res;
  try {
    res = await fetch(path, { method, signal, cache, headers: authHeaders(headers), body });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, 'network', 'The server cannot be reached. Check that hashsend is running.');
  }
  if (!res.ok) {
    const error = await toApiError(res);
    if (res.status === 401 || res.status === 403) authFailure(error);
    throw error;
  }
  return res;
};

const readJson = async (res) => {
  if (res.status === 204) return undefined;
  const text = await res.text();
  return text ? JSON.parse(text) : undefined;
};

/** JSON in and out; with another `accept`, the Response itself. */
export const api = async (path, { method = 'GET', body, accept = 'application/json', signal } = {}) => {
  const json = body !== undefined ? { 'Content-Type': 'application/json' } : {};
  const res = await request(path, {
    method,
    signal,
    headers: { Accept: accept, ...json },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  return accept === 'application/json' ? readJson(res) : res;
};

/** A body the browser encodes itself (a File, FormData), answered with JSON. */
export const send = async (path, body, headers = {}) =>
  readJson(await request(path, { method: 'POST', headers: { Accept: 'application/json', ...headers }, body }));

export const sessionPath = (id, rest = '') => `/api/sessions/${encodeURIComponent(id)}${rest}`;
export const broadcastPath = (id, rest = '') => `/api/broadcasts/${encodeURIComponent(id)}${rest}`;
export const webhookPath = (id, rest = '') => `/api/webhooks/${encodeURIComponent(id)}${rest}`;
export const listOf = (body) => (Array.isArray(body?.items) ? body.items : []);

/**
 * Server-sent events over fetch: EventSource cannot send the Authorization header. Calls `onEvent(type, data)`
 * for each event; resolves when the server ends the stream, rejects on a network or HTTP error.
 */
export const readEvents = async (path, { signal, onOpen, onEvent }) => {
  const res = await request(path, { signal, headers: { Accept: 'text/event-stream' }, cache: 'no-store' });
  onOpen();
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let type = '';
  let data = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    const lines = buffer.split(/\r\n|\r|\n/);
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      if (line === '') {
        if (data.length) onEvent(type || 'message', data.join('\n'));
        type = '';
        data = [];
      } else if (!line.startsWith(':')) {
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        const raw = colon === -1 ? '' : line.slice(colon + 1);
        const fieldValue = raw.startsWith(' ') ? raw.slice(1) : raw;
        if (field === 'event') type = fieldValue;
        else if (field === 'data') data.push(fieldValue);
      }
    }
  }
};
