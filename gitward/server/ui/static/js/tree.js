// The resource tree: the Application, the resources it manages, and what they own
// (ReplicaSets, Pods...) linked by the parentRefs Argo CD's resource-tree answer carries
// from ownerReferences. Large sets of siblings of one kind are folded into a group.
import { h, status } from './dom.js';

const GROUP_AT = 8;

export function nodeKey(n) {
  return `${n.group || ''}/${n.kind || ''}/${n.namespace || ''}/${n.name || ''}`;
}

/** Roots (nodes without a parent in the tree) and children by parent uid, sorted. */
export function shape(nodes) {
  const byUid = new Map();
  for (const n of nodes) if (n.uid) byUid.set(n.uid, n);
  const children = new Map();
  const roots = [];
  for (const n of nodes) {
    const parents = (n.parentRefs || []).filter((p) => p.uid && byUid.has(p.uid));
    if (!parents.length) { roots.push(n); continue; }
    for (const p of parents) {
      if (!children.has(p.uid)) children.set(p.uid, []);
      children.get(p.uid).push(n);
    }
  }
  const order = (x, y) => `${x.kind}/${x.name}`.localeCompare(`${y.kind}/${y.name}`);
  roots.sort(order);
  for (const list of children.values()) list.sort(order);
  return { roots, children };
}

/**
 * The tree as nested lists. `syncOf(node)` is the node's sync status (from the app's
 * status.resources), `onSelect(node)` opens its panel; `selected` is a node key.
 */
export function treeView(app, tree, { syncOf, onSelect, selected, orphans }) {
  const nodes = [...(tree.nodes || []), ...(orphans ? (tree.orphanedNodes || []).map((n) => ({ ...n, orphaned: true })) : [])];
  const { roots, children } = shape(nodes);
  const seen = new Set();
  const renderNode = (n, depth) => {
    const key = nodeKey(n);
    const kids = n.uid && !seen.has(n.uid) ? (children.get(n.uid) || []) : [];
    if (n.uid) seen.add(n.uid);
    const health = n.health && n.health.status;
    const sync = syncOf(n);
    const list = kids.length ? h('ul', null, grouped(kids, depth + 1)) : null;
    const twisty = kids.length ? h('button', {
      class: 'twisty', type: 'button', 'aria-expanded': 'true', 'aria-label': 'Collapse',
      onclick: (e) => {
        e.stopPropagation();
        const open = e.currentTarget.getAttribute('aria-expanded') === 'true';
        e.currentTarget.setAttribute('aria-expanded', String(!open));
        e.currentTarget.textContent = open ? '▸' : '▾';
        list.hidden = open;
      },
    }, '▾') : h('span', { class: 'twisty' });
    const row = h('div', {
      class: `node${key === selected ? ' sel' : ''}`, role: 'treeitem', tabindex: '0',
      'data-kind': n.kind, 'data-name': n.name, 'data-key': key, 'aria-selected': String(key === selected),
      onclick: () => onSelect(n),
      onkeydown: (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); onSelect(n); } },
    }, twisty, h('span', { class: 'kind' }, n.kind), h('span', { class: 'nm', title: n.name }, n.name),
    health ? status(health) : null, sync ? status(sync) : null,
    n.orphaned ? h('span', { class: 'warn' }, 'orphaned') : null,
    n.namespace ? h('span', { class: 'muted ns' }, n.namespace) : null);
    return h('li', { role: 'none' }, row, list);
  };
  const grouped = (list, depth) => {
    const byKind = new Map();
    for (const n of list) {
      if (!byKind.has(n.kind)) byKind.set(n.kind, []);
      byKind.get(n.kind).push(n);
    }
    const out = [];
    for (const [kind, same] of byKind) {
      if (same.length < GROUP_AT) { out.push(...same.map((n) => renderNode(n, depth))); continue; }
      const healthCounts = {};
      for (const n of same) { const s = (n.health && n.health.status) || 'Unknown'; healthCounts[s] = (healthCounts[s] || 0) + 1; }
      const inner = h('ul', { hidden: true });
      let filled = false;
      const button = h('button', { class: 'twisty', type: 'button', 'aria-expanded': 'false', onclick: () => {
        if (!filled) { inner.append(...same.map((n) => renderNode(n, depth + 1))); filled = true; }
        inner.hidden = !inner.hidden;
        button.setAttribute('aria-expanded', String(!inner.hidden));
        button.textContent = inner.hidden ? '▸' : '▾';
      } }, '▸');
      out.push(h('li', { role: 'none' }, h('div', { class: 'node group', 'data-group': kind },
        button, h('span', null, `${same.length} ${kind}`),
        ...Object.entries(healthCounts).map(([s, c]) => status(s, `${c} ${s}`))), inner));
    }
    return out;
  };
  const appNode = h('div', { class: 'node', role: 'treeitem', 'data-kind': 'Application' },
    h('span', { class: 'twisty' }), h('span', { class: 'kind' }, 'Application'),
    h('span', { class: 'nm' }, app.metadata.name),
    status(app.status && app.status.health && app.status.health.status),
    status(app.status && app.status.sync && app.status.sync.status));
  return h('div', { class: 'tree', role: 'tree', 'data-test': 'tree' },
    h('ul', null, h('li', { role: 'none' }, appNode, h('ul', null, grouped(roots, 1)))));
}

/** The same resources as a flat table (the list view). */
export function listView(tree, { syncOf, onSelect }) {
  const nodes = [...(tree.nodes || [])].sort((x, y) => `${x.kind}/${x.name}`.localeCompare(`${y.kind}/${y.name}`));
  return h('table', { class: 'grid', 'data-test': 'resource-list' },
    h('thead', null, h('tr', null, ['Kind', 'Name', 'Namespace', 'Health', 'Sync'].map((t) => h('th', null, t)))),
    h('tbody', null, nodes.map((n) => h('tr', { tabindex: '0', onclick: () => onSelect(n), onkeydown: (e) => { if (e.key === 'Enter') onSelect(n); } },
      h('td', null, n.kind), h('td', null, n.name), h('td', null, n.namespace || ''),
      h('td', null, n.health ? status(n.health.status) : ''), h('td', null, syncOf(n) ? status(syncOf(n)) : '')))));
}
