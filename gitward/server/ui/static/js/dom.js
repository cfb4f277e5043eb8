// Building DOM without HTML: every string the API returns becomes a text node or an
// attribute value, never markup, so a hostile name or message renders as itself.

/** h('a', {href, class, onclick}, child...) — children are nodes or text. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key.startsWith('on') && typeof value === 'function') {
        el.addEventListener(key.slice(2), value);
      } else if (key === 'class') {
        el.className = value;
      } else if (key === 'value') {
        el.value = value;
      } else if (key === 'checked' || key === 'disabled' || key === 'selected') {
        el[key] = Boolean(value);
      } else if (key === 'href') {
        el.setAttribute('href', safeHref(value));
      } else {
        el.setAttribute(key, value === true ? '' : String(value));
      }
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Only this origin's paths and http(s) URLs become links; anything else is inert. */
export function safeHref(value) {
  const text = String(value);
  // A path of this origin: '//' and '/\\' would name another host.
  if (text.startsWith('/') && !text.startsWith('//') && !text.includes('\\')) return text;
  try {
    const url = new URL(text);
    if (url.protocol === 'https:' || url.protocol === 'http:') return url.href;
  } catch { /* not a URL */ }
  return '#';
}

/** Replace el's children (nodes or text; null and false are skipped). */
export function fill(el, ...children) {
  return append(clear(el), children);
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

/** A status with its coloured dot; the class is a known status word or nothing. */
const STATES = new Set(['Healthy', 'Progressing', 'Degraded', 'Suspended', 'Missing', 'Unknown',
  'Synced', 'OutOfSync', 'Running', 'Succeeded', 'Failed', 'Error', 'Terminating',
  'SyncFailed', 'Successful']);
export function status(value, label) {
  const word = value || 'Unknown';
  return h('span', { class: STATES.has(word) ? `st ${word}` : 'st' }, label ?? word);
}

export function fact(label, ...value) {
  return h('div', { class: 'fact' }, h('span', null, label), h('span', null, ...value));
}

export function ago(timestamp) {
  if (!timestamp) return '';
  const then = Date.parse(timestamp);
  if (Number.isNaN(then)) return String(timestamp);
  const s = Math.max(0, Math.round((Date.now() - then) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

/** A button RBAC may forbid: disabled, with the reason as its tooltip and description. */
export function guarded(label, verdict, onclick, cls = 'btn') {
  const allowed = verdict === true;
  const reason = allowed ? null : (verdict === false ? 'Your role does not allow this'
    : typeof verdict === 'string' ? verdict : 'Checking permission…');
  return h('button', {
    class: cls, type: 'button', disabled: !allowed, title: reason,
    'aria-disabled': allowed ? null : 'true', 'data-reason': reason, onclick,
  }, label);
}
