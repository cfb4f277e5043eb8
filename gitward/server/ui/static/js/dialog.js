// A modal dialog: focus moves in, Escape closes, focus returns where it was.
import { h } from './dom.js';

export function dialog(title, build) {
  const before = document.activeElement;
  const box = h('div', { class: 'dialog', role: 'dialog', 'aria-modal': 'true', 'aria-label': title });
  const backdrop = h('div', { class: 'backdrop', onclick: (e) => { if (e.target === backdrop) close(); } }, box);
  function close() {
    backdrop.remove();
    document.removeEventListener('keydown', onKey, true);
    if (before && before.focus) before.focus();
  }
  function onKey(e) {
    if (e.key === 'Escape') { e.stopPropagation(); close(); }
  }
  box.append(h('h2', null, title), ...[build(close)].flat());
  document.body.append(backdrop);
  document.addEventListener('keydown', onKey, true);
  const first = box.querySelector('input, select, button, textarea');
  if (first) first.focus();
  return close;
}

/** A typed confirmation: the action stays disabled until `word` is typed. */
export function typedConfirm(word, onMatch) {
  const input = h('input', { type: 'text', 'aria-label': `Type ${word} to confirm`, 'data-test': 'confirm', oninput: () => onMatch(input.value === word) });
  return h('label', null, 'Type ', h('b', null, word), ' to confirm:', input);
}
