// The server's HTTP API as the page uses it: JSON requests with the optional API key, errors
// turned into ApiError with the server's message, and jobs (POST /v1/jobs, then polling
// GET /v1/jobs/{id}) with progress and cancel. Paths are relative, so the page also works behind
// a reverse proxy that serves it under a prefix.

const kKeyStorage = 'flowinone.apiKey';
const kPollMs = 200;

/** A refused or failed request: `status` 0 when the server could not be reached. */
export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

/** Thrown when the user cancelled an operation. */
export class Cancelled extends Error {
  constructor() {
    super('cancelled');
    this.name = 'Cancelled';
  }
}

export function apiKey() {
  try {
    return localStorage.getItem(kKeyStorage) || '';
  } catch {
    return '';
  }
}

export function setApiKey(key) {
  try {
    if (key) localStorage.setItem(kKeyStorage, key);
    else localStorage.removeItem(kKeyStorage);
  } catch {
    // Storage may be off (private mode): the key then lasts for this page only.
  }
  sessionKey = key;
}
let sessionKey = apiKey();

/** method path [body] -> the response's JSON; throws ApiError (or Cancelled when aborted). */
export async function request(method, path, body, signal) {
  const headers = {};
  if (sessionKey) headers.Authorization = 'Bearer ' + sessionKey;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: 'no-store',
    });
  } catch (error) {
    if (signal && signal.aborted) throw new Cancelled();
    throw new ApiError(0, 'unreachable',
        `Cannot reach the server at ${location.host}: is flowinone serve still running?`);
  }
  const text = await response.text().catch(() => '');
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = data && data.error;
    if (error && error.message) {
      throw new ApiError(response.status, error.code || 'error', error.message, error.field);
    }
    throw new ApiError(response.status, 'http_error',
        `The server answered ${response.status} ${response.statusText}`.trim());
  }
  if (data === null) throw new ApiError(response.status, 'bad_response', 'The server sent no JSON');
  return data;
}

export const get = (path, signal) => request('GET', path, undefined, signal);
export const post = (path, body, signal) => request('POST', path, body, signal);

const kDirect = {generate: 'v1/generate', translate: 'v1/translate', likelihood: 'v1/likelihood',
  prompt: 'v1/prompt'};

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    if (signal) signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, {once: true});
  });
}

/**
 * Runs `kind` with `body` as a job and returns its result. `onProgress(job)` sees each polled
 * state ({status, step, total, loss, ...}). Aborting `signal` cancels the job on the server
 * (DELETE) and throws Cancelled. A server without jobs (404 on the route) gets the direct
 * endpoint instead, without progress; training needs jobs.
 */
export async function runJob(kind, body, {onProgress, signal} = {}) {
  let job;
  try {
    job = await post('v1/jobs', {kind, ...body}, signal);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404 && error.code === 'not_found' &&
        kDirect[kind]) {
      return post(kDirect[kind], body, signal);
    }
    throw error;
  }
  const path = 'v1/jobs/' + encodeURIComponent(job.id);
  let cancelling = null;
  const cancel = () => {
    cancelling = request('DELETE', path).catch(() => null);
  };
  if (signal) signal.addEventListener('abort', cancel, {once: true});
  try {
    for (;;) {
      if (onProgress) onProgress(job);
      if (job.status === 'done') return job.result;
      if (job.status === 'failed') {
        const error = job.error && (job.error.error || job.error);
        throw new ApiError(500, (error && error.code) || 'failed',
            (error && error.message) || 'the job failed', error && error.field);
      }
      if (job.status === 'cancelled') throw new Cancelled();
      if (signal && signal.aborted) {
        await cancelling;
        throw new Cancelled();
      }
      await sleep(kPollMs, signal);
      if (signal && signal.aborted) {
        await cancelling;
        throw new Cancelled();
      }
      job = await get(path);
    }
  } finally {
    if (signal) signal.removeEventListener('abort', cancel);
  }
}

/** The base64 part of a PNG data URL, or the text as it is. */
export function base64Of(dataUrlOrBase64) {
  const comma = dataUrlOrBase64.indexOf(',');
  return dataUrlOrBase64.startsWith('data:') ? dataUrlOrBase64.slice(comma + 1) : dataUrlOrBase64;
}

export function pngDataUrl(base64) {
  return 'data:image/png;base64,' + base64;
}
