// The dependency view: what this app waits for (`gitward.io/depends-on`), what waits for
// it, the app of apps that manages it (from its tracking id) and the apps it manages.
import { api, path } from './api.js';
import { h, fill, status } from './dom.js';

const DEPENDS_ON = 'gitward.io/depends-on';
const TRACKING = 'argocd.argoproj.io/tracking-id';

function names(app) {
  const value = ((app.metadata && app.metadata.annotations) || {})[DEPENDS_ON] || '';
  return value.split(',').map((s) => s.trim()).filter(Boolean);
}

function card(namespace, name, app, link) {
  const st = (app && app.status) || {};
  return h('li', { class: 'node', 'data-dep': name },
    h('a', { href: `/applications/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}?view=dependencies`, onclick: link }, name),
    app ? status(st.health && st.health.status) : h('span', { class: 'warn' }, 'missing'),
    app ? status(st.sync && st.sync.status) : null);
}

export function depsView(app, link) {
  const namespace = app.metadata.namespace;
  const el = h('div', { 'data-test': 'dependencies' }, h('p', { class: 'muted' }, 'Loading…'));
  const get = (name) => api(`applications/${path(name)}`, { query: { appNamespace: namespace } }).catch(() => null);
  (async () => {
    const wanted = names(app);
    const upstream = await Promise.all(wanted.map(get));
    const list = await api('applications', { query: { appNamespace: namespace } }).catch(() => ({ items: [] }));
    const all = list.items || [];
    const downstream = all.filter((a) => names(a).includes(app.metadata.name));
    const tracking = ((app.metadata.annotations || {})[TRACKING] || '').split(':')[0];
    const parent = tracking && tracking !== app.metadata.name ? await get(tracking) : null;
    const children = ((app.status && app.status.resources) || []).filter((r) => r.kind === 'Application' && r.group === 'argoproj.io');
    const byName = new Map(all.map((a) => [a.metadata.name, a]));
    const section = (title, items, empty) => [h('h3', null, title),
      items.length ? h('ul', { class: 'tree' }, items) : h('p', { class: 'muted' }, empty)];
    fill(el,
      section('Waits for (gitward.io/depends-on)', wanted.map((n, i) => card(namespace, n, upstream[i], link)), 'Nothing: it syncs on its own.'),
      section('Waited for by', downstream.map((a) => card(namespace, a.metadata.name, a, link)), 'No app waits for this one.'),
      section('Managed by (app of apps)', parent ? [card(parent.metadata.namespace, tracking, parent, link)] : [], 'No parent application.'),
      section('Manages (app of apps)', children.map((r) => card(r.namespace || namespace, r.name, byName.get(r.name), link)), 'No child applications.'));
  })();
  return el;
}
