// One application: header (health, sync, operation, revision, auto-sync), the resource
// tree or list, the resource panel, sync, live operation progress, history and rollback.
import { api, path, stream, canI } from './api.js';
import { h, clear, fill, status, fact, ago, guarded } from './dom.js';
import { treeView, listView, nodeKey } from './tree.js';
import { resourcePanel } from './resource.js';
import { openSyncDialog } from './sync.js';
import { historyView, confirmRollback, restoreAutoSync } from './history.js';
import { depsView } from './deps.js';
import { parseState } from './yaml.js';

const VIEWS = ['tree', 'list', 'dependencies', 'operation', 'history'];
const TERMINAL = new Set(['Succeeded', 'Failed', 'Error']);

export async function render(ctx) {
  const [namespace, name] = ctx.params;
  const abort = new AbortController();
  const q = { appNamespace: namespace };
  let app;
  try {
    app = await api(`applications/${path(name)}`, { query: q, signal: abort.signal });
  } catch (err) {
    return { el: h('div', { class: 'page' }, h('h1', null, name), h('div', { class: 'error', role: 'alert' }, `Could not load the application: ${err.message}`)) };
  }
  const state = new URLSearchParams(location.search);
  let view = VIEWS.includes(state.get('view')) ? state.get('view') : 'tree';
  let selectedKey = state.get('node') || '';
  let panelTab = state.get('tab') || 'summary';
  let orphans = state.get('orphans') === '1';
  let tree = { nodes: [] };
  let managed = [];
  let dryRunWaiter = null;
  const revisionInfo = new Map();
  const project = (app.spec && app.spec.project) || 'default';
  const rbacObject = `${project}/${namespace && namespace !== 'argocd' ? `${namespace}/` : ''}${name}`;
  const perms = { sync: null, update: null, get: null };

  const head = h('section', { class: 'apphead' });
  const notice = h('div');
  const tabs = h('div', { class: 'tabs', role: 'tablist' });
  const content = h('div');
  const pane = h('section', { class: 'treepane' }, notice, tabs, content);
  let panel = null;
  const body = h('div', { class: 'appbody' }, pane);
  const el = h('div', { class: 'apppage', 'data-app': name }, head, body);
  el.style.display = 'contents';

  function remember() {
    const s = new URLSearchParams();
    if (view !== 'tree') s.set('view', view);
    if (selectedKey) { s.set('node', selectedKey); if (panelTab !== 'summary') s.set('tab', panelTab); }
    if (orphans) s.set('orphans', '1');
    const query = s.toString();
    history.replaceState(null, '', `${location.pathname}${query ? `?${query}` : ''}`);
  }

  function revisionFact() {
    const rev = (app.status && app.status.sync && app.status.sync.revision) || '';
    if (!rev) return fact('Revision', '—');
    if (!revisionInfo.has(rev)) {
      revisionInfo.set(rev, null);
      api(`applications/${path(name)}/revisions/${path(rev)}/metadata`, { query: q, signal: abort.signal })
        .then((meta) => { revisionInfo.set(rev, meta); drawHead(); }).catch(() => {});
    }
    const meta = revisionInfo.get(rev);
    return fact('Revision', h('span', { class: 'mono', 'data-test': 'revision' }, rev.slice(0, 10)),
      meta ? h('span', { class: 'muted' }, ` ${meta.author || ''} ${meta.date ? ago(meta.date) : ''}: ${(meta.message || '').split('\n')[0]}`) : null);
  }

  function drawHead() {
    const spec = app.spec || {};
    const st = app.status || {};
    const src = spec.source || (spec.sources && spec.sources[0]) || {};
    const dest = spec.destination || {};
    const op = st.operationState;
    const automated = spec.syncPolicy && spec.syncPolicy.automated;
    fill(head, 
      h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '/applications', onclick: ctx.link }, 'Applications'), ' / ', namespace),
      h('h1', null, name),
      h('div', { class: 'facts' },
        fact('Project', project),
        fact('Health', h('span', { 'data-test': 'health' }, status(st.health && st.health.status))),
        fact('Sync', h('span', { 'data-test': 'sync' }, status(st.sync && st.sync.status))),
        fact('Operation', h('span', { 'data-test': 'operation' }, op ? status(op.phase, `${op.operation && op.operation.sync && op.operation.sync.dryRun ? 'Dry run ' : ''}${op.phase}`) : '—'),
          op && op.message ? h('span', { class: 'muted' }, ` ${op.message}`) : null),
        revisionFact(),
        fact('Auto-sync', h('span', { 'data-test': 'autosync' }, automated ? `enabled${automated.prune ? ', prune' : ''}${automated.selfHeal ? ', self-heal' : ''}` : 'disabled')),
        fact('Source', `${src.repoURL || ''} ${src.path || src.chart || ''} @ ${src.targetRevision || 'HEAD'}`),
        fact('Destination', `${dest.name || dest.server || ''} / ${dest.namespace || ''}`),
        st.health && st.health.message ? fact('Health message', st.health.message) : null),
      ...((st.conditions || []).map((c) => h('div', { class: 'warn' }, `${c.type}: ${c.message || ''}`))),
      h('div', { class: 'actions' },
        guarded('Sync', perms.sync, () => openSyncDialog(app, { onStarted }), 'btn primary'),
        guarded('Refresh', perms.get, () => refresh('normal')),
        guarded('Hard refresh', perms.get, () => refresh('hard')),
        guarded('History and rollback', perms.get, () => setView('history'))));
  }

  function onStarted({ dryRun, show }) {
    if (dryRun) dryRunWaiter = show;
    else setView('operation');
    reload();
  }

  async function refresh(kind) {
    try {
      app = await api(`applications/${path(name)}`, { query: { ...q, refresh: kind }, signal: abort.signal });
      drawHead();
      loadTree();
    } catch (err) { showNotice(`Refresh failed: ${err.message}`); }
  }

  function showNotice(text, ...extra) {
    fill(notice, h('div', { class: 'notice', role: 'status' }, h('span', null, text), ...extra));
  }

  function syncOf(node) {
    const found = ((app.status && app.status.resources) || []).find((r) => r.kind === node.kind && r.name === node.name
      && (r.namespace || '') === (node.namespace || '') && (r.group || '') === (node.group || ''));
    return found ? found.status : null;
  }
  /** The tree's nodes, plus the declared resources not in the cluster yet (shown Missing). */
  function allNodes() {
    const nodes = [...(tree.nodes || [])];
    const present = new Set(nodes.map(nodeKey));
    for (const r of (app.status && app.status.resources) || []) {
      if (present.has(nodeKey(r))) continue;
      nodes.push({ group: r.group || '', version: r.version || '', kind: r.kind, namespace: r.namespace || '', name: r.name,
        health: r.health || { status: 'Missing' } });
    }
    return nodes;
  }
  function select(node) {
    selectedKey = nodeKey(node);
    panelTab = 'summary';
    remember();
    drawContent();
    drawPanel();
  }
  let shownSignature = '';
  function panelSignature() {
    const item = managed.find((m) => nodeKey(m) === selectedKey);
    const node = (tree.nodes || []).find((n) => nodeKey(n) === selectedKey);
    return JSON.stringify([item ? [item.liveState, item.targetState] : null, node ? node.resourceVersion : null]);
  }
  function drawPanel() {
    if (panel) { panel.remove(); panel = null; }
    shownSignature = panelSignature();
    if (!selectedKey) return;
    const node = [...allNodes(), ...(tree.orphanedNodes || [])].find((n) => nodeKey(n) === selectedKey);
    if (!node) return;
    const item = managed.find((m) => nodeKey(m) === selectedKey);
    panel = resourcePanel(app, node, item, {
      tab: panelTab,
      onTab: (t) => { panelTab = t; remember(); },
      onClose: () => { selectedKey = ''; remember(); drawPanel(); drawContent(); },
    });
    body.append(panel);
  }

  function operationView() {
    const op = app.status && app.status.operationState;
    if (!op) return h('p', { class: 'muted' }, 'No operation has run yet.');
    const results = (op.syncResult && op.syncResult.resources) || [];
    // Results carry their phase; the wave is the resource's sync-wave annotation in Git.
    const waveOf = new Map();
    for (const m of managed) {
      const target = parseState(m.targetState);
      const annotations = (target && target.metadata && target.metadata.annotations) || {};
      const wave = Number.parseInt(annotations['argocd.argoproj.io/sync-wave'] || '0', 10);
      waveOf.set(nodeKey(m), Number.isNaN(wave) ? 0 : wave);
    }
    const phases = new Map();
    const order = { PreSync: 0, Sync: 1, PostSync: 2, SyncFail: 3 };
    const sorted = [...results].sort((a, b) => ((order[a.syncPhase || 'Sync'] ?? 9) - (order[b.syncPhase || 'Sync'] ?? 9))
      || ((waveOf.get(nodeKey(a)) || 0) - (waveOf.get(nodeKey(b)) || 0)));
    for (const r of sorted) {
      const key = `${r.syncPhase || 'Sync'} · wave ${waveOf.get(nodeKey(r)) || 0}`;
      if (!phases.has(key)) phases.set(key, []);
      phases.get(key).push(r);
    }
    return h('div', { class: 'oppanel', 'data-test': 'operation-panel' },
      h('p', null, h('b', null, status(op.phase)), ` ${op.message || ''}`),
      h('p', { class: 'muted' }, `Started ${op.startedAt || ''}${op.finishedAt ? `, finished ${op.finishedAt}` : ''}; revision ${String((op.syncResult && op.syncResult.revision) || (op.operation && op.operation.sync && op.operation.sync.revision) || '').slice(0, 10)}`),
      [...phases].map(([phase, list]) => h('div', null, h('h3', null, phase),
        h('table', { class: 'grid' }, h('tbody', null, list.map((r) => h('tr', null,
          h('td', null, r.kind), h('td', null, `${r.namespace ? `${r.namespace}/` : ''}${r.name}`),
          h('td', null, status(r.hookPhase || r.status)), h('td', null, r.message || ''))))))));
  }

  function drawContent() {
    fill(tabs, ...VIEWS.map((v) => h('button', { type: 'button', role: 'tab', 'aria-selected': String(v === view), 'data-view': v, onclick: () => setView(v) }, v[0].toUpperCase() + v.slice(1))),
      view === 'tree' ? h('label', { class: 'check' }, h('input', { type: 'checkbox', checked: orphans, onchange: (e) => { orphans = e.target.checked; remember(); drawContent(); } }), 'Orphaned resources') : null);
    let inner;
    const shown = { ...tree, nodes: allNodes() };
    if (view === 'tree') inner = treeView(app, shown, { syncOf, onSelect: select, selected: selectedKey, orphans });
    else if (view === 'list') inner = listView(shown, { syncOf, onSelect: select });
    else if (view === 'operation') inner = operationView();
    else if (view === 'dependencies') inner = depsView(app, ctx.link);
    else {
      inner = historyView(app, {
        canRollback: perms.sync,
        onRollback: (entry) => confirmRollback(app, entry, { onDone: (wasAutomated) => {
          setView('operation');
          if (wasAutomated) {
            const restore = guarded('Turn auto-sync back on', perms.update, async () => {
              try { await restoreAutoSync(app, wasAutomated); clear(notice); reload(); } catch (err) { showNotice(`Could not turn automated sync on: ${err.message}`); }
            }, 'btn small');
            restore.dataset.test = 'restore-autosync';
            showNotice('Rollback started. Automated sync is now off.', restore);
          }
          reload();
        } }),
      });
    }
    // A live update redraws the view: keyboard focus stays on the node it was on.
    const focused = content.contains(document.activeElement) ? document.activeElement.dataset.key : undefined;
    fill(content, inner);
    if (focused) {
      const again = [...content.querySelectorAll('[data-key]')].find((el) => el.dataset.key === focused);
      if (again) again.focus();
    }
  }
  function setView(v) { view = v; remember(); drawContent(); }

  let treeBusy = false;
  let treeAgain = false;
  async function loadTree() {
    if (treeBusy) { treeAgain = true; return; }
    treeBusy = true;
    try {
      const [t, m] = await Promise.all([
        api(`applications/${path(name)}/resource-tree`, { query: q, signal: abort.signal }),
        api(`applications/${path(name)}/managed-resources`, { query: q, signal: abort.signal }).catch(() => ({ items: [] })),
      ]);
      tree = t || { nodes: [] };
      managed = m.items || [];
      if (view === 'tree' || view === 'list') drawContent();
      // The open panel is redrawn only when what it shows changed.
      if (selectedKey && (!panel || panelSignature() !== shownSignature)) drawPanel();
    } catch (err) {
      if (!abort.signal.aborted) showNotice(`Could not load the resource tree: ${err.message}`);
    } finally {
      treeBusy = false;
      if (treeAgain) { treeAgain = false; setTimeout(loadTree, 1000); }
    }
  }
  async function reload() {
    try { app = await api(`applications/${path(name)}`, { query: q, signal: abort.signal }); onApp(); } catch { /* the stream catches up */ }
  }
  function onApp() {
    drawHead();
    if (view === 'operation' || view === 'history') drawContent();
    const op = app.status && app.status.operationState;
    if (dryRunWaiter && op && TERMINAL.has(op.phase) && op.operation && op.operation.sync && op.operation.sync.dryRun) {
      dryRunWaiter(op);
      dryRunWaiter = null;
    }
  }

  let lastVersion = app.metadata.resourceVersion;
  let dropped = false;
  function watch() {
    stream('stream/applications', { name, appNamespace: namespace }, (result) => {
      const got = result.application;
      if (!got || !got.metadata || got.metadata.name !== name) return;
      if (result.type === 'DELETED') { showNotice('This application was deleted.'); return; }
      if (got.metadata.resourceVersion === lastVersion) return;
      lastVersion = got.metadata.resourceVersion;
      app = got;
      onApp();
      loadTree();
    }, abort.signal, (state) => {
      // Back after a break: read the app again rather than trust what was missed.
      if (state === 'live' && dropped) { reload(); loadTree(); }
      dropped = state !== 'live';
    });
  }

  function onKey(event) {
    if (/^(INPUT|SELECT|TEXTAREA)$/.test(document.activeElement && document.activeElement.tagName)) return;
    if (document.querySelector('.backdrop')) return;
    if ((event.key === 'ArrowDown' || event.key === 'ArrowUp') && content.contains(document.activeElement)) {
      // Up and down walk the tree's visible nodes (folded groups stay folded).
      const nodes = [...content.querySelectorAll('.node[tabindex]')].filter((n) => n.offsetParent !== null);
      const at = nodes.indexOf(document.activeElement);
      const next = nodes[Math.max(0, Math.min(nodes.length - 1, at + (event.key === 'ArrowDown' ? 1 : -1)))];
      if (next) { event.preventDefault(); next.focus(); }
      return;
    }
    if (event.key === 'Escape' && selectedKey) { selectedKey = ''; remember(); drawPanel(); drawContent(); }
    if (event.key === 's' && perms.sync === true) { event.preventDefault(); openSyncDialog(app, { onStarted }); }
    if (event.key === 'Backspace' && !event.metaKey) { event.preventDefault(); ctx.navigate('/applications'); }
  }
  document.addEventListener('keydown', onKey);

  return {
    el,
    title: name,
    mounted() {
      drawHead();
      drawContent();
      Promise.all([canI('applications', 'sync', rbacObject), canI('applications', 'update', rbacObject), canI('applications', 'get', rbacObject)])
        .then(([s, u, g]) => { perms.sync = s; perms.update = u; perms.get = g; drawHead(); if (view === 'history') drawContent(); });
      loadTree();
      watch();
    },
    dispose() { abort.abort(); document.removeEventListener('keydown', onKey); },
  };
}

