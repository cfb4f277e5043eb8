// JSON to YAML text for showing manifests (display only: gitward never parses this back).

const PLAIN = /^[A-Za-z_/.][\w./@:-]*$/;
const RESERVED = /^(true|false|yes|no|on|off|null|~|y|n)$/i;

function scalar(value) {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const text = String(value);
  if (text === '' || !PLAIN.test(text) || RESERVED.test(text) || /^[\d.+-]/.test(text)) return JSON.stringify(text);
  return text;
}

function key(k) {
  return PLAIN.test(k) && !RESERVED.test(k) ? k : JSON.stringify(k);
}

/** Lines of YAML for a JSON value (multi-line strings as block scalars). */
export function toYaml(value, indent = '') {
  const lines = [];
  write(value, indent, lines);
  return lines.join('\n');
}

function write(value, indent, lines) {
  if (Array.isArray(value)) {
    if (!value.length) { lines.push(`${indent}[]`); return; }
    for (const item of value) {
      if (item && typeof item === 'object' && Object.keys(item).length) {
        const sub = [];
        write(item, `${indent}  `, sub);
        sub[0] = `${indent}- ${sub[0].slice(indent.length + 2)}`;
        lines.push(...sub);
      } else {
        lines.push(`${indent}- ${inline(item, indent)}`);
      }
    }
    return;
  }
  if (value && typeof value === 'object') {
    const keys = Object.keys(value);
    if (!keys.length) { lines.push(`${indent}{}`); return; }
    for (const k of keys) {
      const v = value[k];
      if (v && typeof v === 'object' && (Array.isArray(v) ? v.length : Object.keys(v).length)) {
        lines.push(`${indent}${key(k)}:`);
        write(v, Array.isArray(v) ? indent : `${indent}  `, lines);
      } else if (typeof v === 'string' && v.includes('\n')) {
        lines.push(`${indent}${key(k)}: |${v.endsWith('\n') ? '' : '-'}`);
        for (const line of v.replace(/\n$/, '').split('\n')) lines.push(`${indent}  ${line}`);
      } else {
        lines.push(`${indent}${key(k)}: ${inline(v, indent)}`);
      }
    }
    return;
  }
  lines.push(`${indent}${inline(value, indent)}`);
}

function inline(value) {
  if (Array.isArray(value)) return '[]';
  if (value && typeof value === 'object') return '{}';
  return scalar(value);
}

/** Keys in order at every level, so two manifests line up however each was written. */
export function sortKeys(value) {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (!value || typeof value !== 'object') return value;
  const out = {};
  for (const k of Object.keys(value).sort()) out[k] = sortKeys(value[k]);
  return out;
}

/** A manifest without managed fields (unless asked to keep them), keys sorted. */
export function tidy(object, { managedFields = false } = {}) {
  if (!object || typeof object !== 'object') return object;
  const copy = sortKeys(object);
  if (!managedFields && copy.metadata) delete copy.metadata.managedFields;
  return copy;
}

/** Argo CD sends manifests as JSON text ("null" when absent). */
export function parseState(text) {
  if (text === undefined || text === null || text === '') return null;
  if (typeof text === 'object') return text;
  try { return JSON.parse(text); } catch { return null; }
}
