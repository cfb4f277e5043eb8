// The one door to the server: Argo CD's public /api/v1, JSON in and out.

// The session is the server's HttpOnly cookie `argocd.token`: no script (ours or an
// injected one) can read it, and SameSite keeps other sites' forms from sending it.
let onUnauthenticated = () => {};

export class ApiError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function setUnauthenticatedHandler(fn) { onUnauthenticated = fn; }

/** `api/v1/` + segments, each encoded: a name can never add a path segment or a query. */
export function path(...segments) {
  return segments.map((s) => encodeURIComponent(String(s))).join('/');
}

function url(route, query) {
  // `version` is Argo CD's one route outside /api/v1.
  const u = new URL(route === 'version' ? '/api/version' : `/api/v1/${route}`, location.origin);
  for (const [key, value] of Object.entries(query || {})) {
    if (value === undefined || value === null || value === '') continue;
    for (const v of Array.isArray(value) ? value : [value]) u.searchParams.append(key, String(v));
  }
  return u;
}

function headers(body) {
  const out = { Accept: 'application/json' };
  if (body !== undefined) out['Content-Type'] = 'application/json';
  return out;
}

export async function api(route, { method = 'GET', query, body, signal } = {}) {
  const response = await fetch(url(route, query), {
    method, signal, credentials: 'same-origin', headers: headers(body),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let data = {};
  if (text) {
    try { data = JSON.parse(text); } catch { data = { message: text.slice(0, 300) }; }
  }
  if (!response.ok) {
    if (response.status === 401 && !route.startsWith('session')) onUnauthenticated();
    const message = (data && (data.message || data.error)) || response.statusText;
    throw new ApiError(response.status, String(message), data && data.code);
  }
  return data;
}

/**
 * A newline-delimited JSON stream (`/api/v1/stream/...`): calls onResult with each
 * line's `result`, reconnecting after a pause until `signal` aborts.
 */
export async function stream(route, query, onResult, signal, onState = () => {}) {
  let pause = 500;
  while (!signal.aborted) {
    try {
      const response = await fetch(url(route, query), {
        signal, credentials: 'same-origin', headers: headers(),
      });
      if (response.status === 401) { onUnauthenticated(); return; }
      if (!response.ok || !response.body) throw new ApiError(response.status, response.statusText);
      onState('live');
      pause = 500;
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let at;
        while ((at = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, at).trim();
          buffer = buffer.slice(at + 1);
          if (!line) continue;
          let parsed;
          try { parsed = JSON.parse(line); } catch { continue; }
          if (parsed && parsed.result) onResult(parsed.result);
        }
      }
    } catch (err) {
      if (signal.aborted) return;
    }
    onState('reconnecting');
    await new Promise((resolve) => setTimeout(resolve, pause));
    pause = Math.min(pause * 2, 10000);
  }
}

// Permissions, asked once per (resource, action, object) and kept for the page's life.
const verdicts = new Map();
export function canI(resource, action, object) {
  const key = `${resource}/${action}/${object}`;
  if (!verdicts.has(key)) {
    // The object is `project/name`: its slash stays a separator, as Argo CD's route has it.
    const subresource = String(object).split('/').map(encodeURIComponent).join('/');
    verdicts.set(key, api(`account/can-i/${path(resource, action)}/${subresource}`)
      .then((r) => r.value === 'yes' || r.value === true)
      .catch(() => false));
  }
  return verdicts.get(key);
}
export function forgetPermissions() { verdicts.clear(); }
