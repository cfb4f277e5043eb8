// The resource panel: summary, live and desired manifests, their diff, and events.
import { api, path } from './api.js';
import { h, clear, fill, status, fact, ago } from './dom.js';
import { toYaml, tidy, parseState } from './yaml.js';
import { diffView } from './diff.js';

const TABS = ['summary', 'live', 'desired', 'diff', 'events'];

/**
 * A panel for `node` of application `app`. `managed` is the managed-resources item for
 * it, if gitward manages it (Pods and ReplicaSets are read live instead).
 */
export function resourcePanel(app, node, managed, { tab = 'summary', onTab, onClose }) {
  const appName = app.metadata.name;
  const appNamespace = app.metadata.namespace;
  const body = h('div', { class: 'panelview' });
  const tabs = h('div', { class: 'tabs', role: 'tablist' });
  let showManaged = false;
  let mode = 'side';
  let liveCache = null;

  async function live() {
    if (managed) return parseState(managed.normalizedLiveState) || parseState(managed.liveState);
    if (liveCache) return liveCache;
    const answer = await api(`applications/${path(appName)}/resource`, { query: {
      appNamespace, namespace: node.namespace, resourceName: node.name, version: node.version,
      group: node.group, kind: node.kind,
    } });
    liveCache = parseState(answer.manifest);
    return liveCache;
  }
  function desired() {
    if (!managed) return null;
    return parseState(managed.predictedLiveState) || parseState(managed.targetState);
  }
  function yamlOf(obj) { return obj ? toYaml(tidy(obj, { managedFields: showManaged })) : ''; }

  const views = {
    summary: async () => {
      const obj = await live().catch(() => null);
      const meta = (obj && obj.metadata) || {};
      const created = meta.creationTimestamp || node.createdAt;
      return h('div', { class: 'facts' },
        fact('Kind', node.kind), fact('Name', node.name), fact('Namespace', node.namespace || '—'),
        fact('Group/Version', `${node.group || 'core'}/${node.version || ''}`),
        fact('Health', node.health ? status(node.health.status) : '—'),
        node.health && node.health.message ? fact('Health message', node.health.message) : null,
        fact('Sync', managed ? status(managed.syncStatus || (managed.diff ? 'OutOfSync' : 'Synced')) : 'not managed directly'),
        fact('Created', created ? `${created} (${ago(created)})` : '—'),
        node.images && node.images.length ? fact('Images', node.images.join(', ')) : null,
        (node.info || []).length ? fact('Info', node.info.map((i) => `${i.name}: ${i.value}`).join(', ')) : null);
    },
    live: async () => {
      const obj = await live();
      return obj ? h('div', null, managedToggle(), h('pre', { class: 'code', 'data-test': 'live' }, yamlOf(obj))) : h('p', { class: 'muted' }, 'The resource does not exist in the cluster.');
    },
    desired: async () => {
      const obj = desired();
      return obj ? h('div', null, managedToggle(), h('pre', { class: 'code', 'data-test': 'desired' }, yamlOf(obj))) : h('p', { class: 'muted' }, managed ? 'Git does not declare this resource (it would be pruned).' : 'Not declared in Git: owned by another resource.');
    },
    diff: async () => {
      if (!managed) return h('p', { class: 'muted' }, 'Only resources declared in Git have a diff.');
      const before = yamlOf(await live());
      const after = yamlOf(desired());
      const { el, changes } = diffView(before, after, { mode });
      return h('div', null,
        h('div', { class: 'diffbar' },
          h('span', { 'data-test': 'diff-summary' }, changes ? `${changes} changed lines (live → desired)` : 'No difference'),
          h('button', { class: 'btn small', type: 'button', onclick: () => { mode = mode === 'side' ? 'inline' : 'side'; show('diff'); } }, mode === 'side' ? 'Inline' : 'Side by side'),
          managedToggle()),
        el);
    },
    events: async () => {
      const list = await api(`applications/${path(appName)}/events`, { query: {
        appNamespace, resourceNamespace: node.namespace, resourceName: node.name, resourceUID: node.uid,
      } });
      const items = (list.items || []).sort((a, b) => String(b.lastTimestamp || '').localeCompare(String(a.lastTimestamp || '')));
      if (!items.length) return h('p', { class: 'muted' }, 'No events.');
      return h('table', { class: 'grid', 'data-test': 'events' },
        h('thead', null, h('tr', null, ['Type', 'Reason', 'Message', 'Count', 'Last seen'].map((t) => h('th', null, t)))),
        h('tbody', null, items.map((e) => h('tr', null, h('td', null, e.type || ''), h('td', null, e.reason || ''),
          h('td', null, e.message || ''), h('td', null, e.count || 1), h('td', null, ago(e.lastTimestamp || e.eventTime))))));
    },
  };

  function managedToggle() {
    return h('label', { class: 'check' }, h('input', { type: 'checkbox', checked: showManaged, onchange: (e) => { showManaged = e.target.checked; show(current); } }), 'Show managed fields');
  }

  let current = TABS.includes(tab) ? tab : 'summary';
  async function show(name) {
    current = name;
    if (onTab) onTab(name);
    fill(tabs, ...TABS.map((t) => h('button', {
      type: 'button', role: 'tab', 'aria-selected': String(t === name), 'data-tab': t, onclick: () => show(t),
    }, t[0].toUpperCase() + t.slice(1))));
    fill(body, h('p', { class: 'muted' }, 'Loading…'));
    try {
      const view = await views[name]();
      if (current === name) fill(body, view);
    } catch (err) {
      if (current === name) fill(body, h('div', { class: 'error' }, `Could not load: ${err.message}`));
    }
  }
  const el = h('aside', { class: 'panel', 'aria-label': `${node.kind} ${node.name}`, 'data-test': 'resource-panel' },
    h('header', null, h('h2', null, `${node.kind} ${node.name}`),
      h('button', { class: 'btn small', type: 'button', 'aria-label': 'Close', onclick: onClose }, 'Close')),
    h('div', { class: 'body' }, tabs, body));
  show(current);
  return el;
}
