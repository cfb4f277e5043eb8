// Line diff (Myers' O(ND) algorithm) and its two views, side by side and inline, with
// unchanged stretches folded. A 5,000-line manifest diffs in milliseconds, and only the
// changed lines and their context are put in the page.
import { h } from './dom.js';

/** Most edits Myers' search follows before the middle is shown as removed + added. */
const MAX_EDITS = 2000;

/** Edit script between two arrays of lines: [{op: ' '|'-'|'+', a, b, text}]. */
export function diffLines(a, b) {
  // Common head and tail first: a manifest diff is usually a few lines in a long file.
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head += 1;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail += 1;
  const out = [];
  for (let i = 0; i < head; i += 1) out.push({ op: ' ', a: i, b: i, text: a[i] });
  out.push(...middle(a, b, head, a.length - tail, b.length - tail));
  for (let i = tail; i > 0; i -= 1) out.push({ op: ' ', a: a.length - i, b: b.length - i, text: a[a.length - i] });
  return out;
}

function middle(a, b, lo, aEnd, bEnd) {
  const n = aEnd - lo; const m = bEnd - lo; const max = n + m;
  const limit = Math.min(max, MAX_EDITS);
  const v = new Int32Array(2 * max + 3);
  const at = (k) => max + 1 + k;
  const trace = [];
  let found = false;
  for (let d = 0; d <= limit && !found; d += 1) {
    trace.push(v.slice(at(-d), at(d) + 1)); // v over k in [-d, d], as it was before step d
    for (let k = -d; k <= d; k += 2) {
      let x = (k === -d || (k !== d && v[at(k - 1)] < v[at(k + 1)])) ? v[at(k + 1)] : v[at(k - 1)] + 1;
      let y = x - k;
      while (x < n && y < m && a[lo + x] === b[lo + y]) { x += 1; y += 1; }
      v[at(k)] = x;
      if (x >= n && y >= m) { found = true; break; }
    }
  }
  const out = [];
  if (!found) {
    for (let i = 0; i < n; i += 1) out.push({ op: '-', a: lo + i, b: lo, text: a[lo + i] });
    for (let j = 0; j < m; j += 1) out.push({ op: '+', a: lo + n, b: lo + j, text: b[lo + j] });
    return out;
  }
  let x = n; let y = m;
  for (let d = trace.length - 1; d >= 0; d -= 1) {
    const vd = trace[d];
    const get = (k) => vd[k + d];
    const k = x - y;
    const prevK = (k === -d || (k !== d && get(k - 1) < get(k + 1))) ? k + 1 : k - 1;
    const px = d > 0 ? get(prevK) : 0; const py = px - prevK;
    while (x > px && y > py) { x -= 1; y -= 1; out.push({ op: ' ', a: lo + x, b: lo + y, text: a[lo + x] }); }
    if (d > 0) {
      if (x === px) { y -= 1; out.push({ op: '+', a: lo + x, b: lo + y, text: b[lo + y] }); } else { x -= 1; out.push({ op: '-', a: lo + x, b: lo + y, text: a[lo + x] }); }
    }
  }
  return out.reverse();
}

/** Hunks: changed lines with `context` lines around them; the rest folded. */
function hunks(edits, context) {
  const keep = new Uint8Array(edits.length);
  edits.forEach((e, i) => {
    if (e.op !== ' ') for (let j = Math.max(0, i - context); j <= Math.min(edits.length - 1, i + context); j += 1) keep[j] = 1;
  });
  const parts = [];
  let i = 0;
  while (i < edits.length) {
    const start = i;
    const kept = keep[i];
    while (i < edits.length && keep[i] === kept) i += 1;
    parts.push({ folded: !kept, edits: edits.slice(start, i) });
  }
  return parts;
}

function foldRow(part, cols, expand) {
  return h('tr', { class: 'fold', onclick: expand }, h('td', { colspan: cols }, `⋯ ${part.edits.length} unchanged lines (click to show)`));
}

function inlineRows(edits) {
  return edits.map((e) => h('tr', { class: e.op === '+' ? 'add' : e.op === '-' ? 'del' : '' },
    h('td', { class: 'ln' }, e.op === '+' ? '' : e.a + 1), h('td', { class: 'ln' }, e.op === '-' ? '' : e.b + 1),
    h('td', { class: 'sign' }, e.op.trim()), h('td', { class: 'tx' }, e.text)));
}

function sideRows(edits) {
  const rows = [];
  let i = 0;
  while (i < edits.length) {
    if (edits[i].op === ' ') {
      const e = edits[i];
      rows.push(h('tr', null, h('td', { class: 'ln' }, e.a + 1), h('td', { class: 'tx' }, e.text), h('td', { class: 'ln' }, e.b + 1), h('td', { class: 'tx' }, e.text)));
      i += 1; continue;
    }
    const dels = []; const adds = [];
    while (i < edits.length && edits[i].op !== ' ') { (edits[i].op === '-' ? dels : adds).push(edits[i]); i += 1; }
    for (let j = 0; j < Math.max(dels.length, adds.length); j += 1) {
      const d = dels[j]; const a = adds[j];
      rows.push(h('tr', null,
        h('td', { class: 'ln' }, d ? d.a + 1 : ''), h('td', { class: `tx${d ? ' del' : ''}` }, d ? d.text : ''),
        h('td', { class: 'ln' }, a ? a.b + 1 : ''), h('td', { class: `tx${a ? ' add' : ''}` }, a ? a.text : '')));
    }
  }
  return rows;
}

/** The diff of two texts as a table; `mode` is 'side' or 'inline'. */
export function diffView(before, after, { mode = 'side', context = 3 } = {}) {
  const edits = diffLines(before.split('\n'), after.split('\n'));
  const changes = edits.filter((e) => e.op !== ' ').length;
  const body = h('tbody');
  const cols = 4;
  const rowsOf = mode === 'side' ? sideRows : inlineRows;
  for (const part of hunks(edits, context)) {
    if (part.folded) {
      const row = foldRow(part, cols, () => row.replaceWith(...rowsOf(part.edits)));
      body.append(row);
    } else {
      body.append(...rowsOf(part.edits));
    }
  }
  const colgroup = mode === 'side'
    ? h('colgroup', null, h('col', { class: 'ln' }), h('col'), h('col', { class: 'ln' }), h('col'))
    : h('colgroup', null, h('col', { class: 'ln' }), h('col', { class: 'ln' }), h('col', { class: 'sign' }), h('col'));
  const table = h('table', { 'data-test': 'diff', 'data-changes': changes }, colgroup, body);
  return { el: h('div', { class: 'diff' }, table), changes };
}
