// History and rollback: deployed revisions, the manifest diff between any two, and a
// rollback that says plainly it turns automated sync off (and offers to turn it back on).
import { api, path } from './api.js';
import { h, clear, fill, ago } from './dom.js';
import { dialog } from './dialog.js';
import { diffView } from './diff.js';
import { toYaml, parseState } from './yaml.js';

async function manifestsAt(app, revision) {
  const answer = await api(`applications/${path(app.metadata.name)}/manifests`, { query: { appNamespace: app.metadata.namespace, revision } });
  const docs = (answer.manifests || []).map((m) => parseState(m)).filter(Boolean);
  const key = (o) => `${o.kind}/${(o.metadata && o.metadata.namespace) || ''}/${(o.metadata && o.metadata.name) || ''}`;
  docs.sort((a, b) => key(a).localeCompare(key(b)));
  return docs.map((d) => `# ${key(d)}\n${toYaml(d)}`).join('\n---\n');
}

export function historyView(app, { canRollback, onRollback }) {
  const entries = [...((app.status && app.status.history) || [])].reverse();
  const picked = new Set();
  const compareOut = h('div', { 'data-test': 'history-diff' });
  const compare = h('button', { class: 'btn small', type: 'button', disabled: true, onclick: async () => {
    const [older, newer] = [...picked].map((id) => entries.find((e) => String(e.id) === id)).sort((a, b) => a.id - b.id);
    fill(compareOut, h('p', { class: 'muted' }, 'Rendering both revisions…'));
    try {
      const [a, b] = await Promise.all([manifestsAt(app, older.revision), manifestsAt(app, newer.revision)]);
      const { el, changes } = diffView(a, b, { mode: 'inline' });
      fill(compareOut, h('p', null, `${changes} changed lines from #${older.id} to #${newer.id}`), el);
    } catch (err) {
      fill(compareOut, h('div', { class: 'error' }, `Could not compare: ${err.message}`));
    }
  } }, 'Diff the two selected');
  if (!entries.length) return h('p', { class: 'muted' }, 'Nothing deployed yet.');
  const current = entries[0];
  return h('div', { 'data-test': 'history' },
    h('div', { class: 'diffbar' }, h('span', { class: 'muted' }, 'Select two deployments to compare them.'), compare),
    h('table', { class: 'grid' },
      h('thead', null, h('tr', null, ['', 'ID', 'Revision', 'Deployed', 'Source', 'By', ''].map((t) => h('th', null, t)))),
      h('tbody', null, entries.map((e) => {
        const src = e.source || (e.sources && e.sources[0]) || {};
        return h('tr', { 'data-history-id': e.id },
          h('td', null, h('input', { type: 'checkbox', 'aria-label': `Select deployment ${e.id}`, onchange: (ev) => {
            if (ev.target.checked) picked.add(String(e.id)); else picked.delete(String(e.id));
            compare.disabled = picked.size !== 2;
          } })),
          h('td', null, e.id), h('td', { class: 'mono' }, String(e.revision || '').slice(0, 10)),
          h('td', null, e.deployedAt ? `${e.deployedAt} (${ago(e.deployedAt)})` : ''),
          h('td', null, `${src.repoURL || ''} ${src.path || src.chart || ''} @ ${src.targetRevision || 'HEAD'}`),
          h('td', null, (e.initiatedBy && (e.initiatedBy.username || (e.initiatedBy.automated ? 'auto-sync' : ''))) || ''),
          h('td', null, e === current ? h('span', { class: 'muted' }, 'current') : h('button', {
            class: 'btn small', type: 'button', disabled: canRollback !== true,
            title: canRollback === true ? null : 'Your role does not allow rollback',
            'data-test': 'rollback', onclick: () => onRollback(e),
          }, 'Rollback')));
      }))),
    compareOut);
}

/** Confirm and run a rollback to `entry`; returns the automated policy it turned off. */
export function confirmRollback(app, entry, { onDone }) {
  const automated = app.spec && app.spec.syncPolicy && app.spec.syncPolicy.automated;
  dialog(`Roll back ${app.metadata.name} to #${entry.id}`, (close) => {
    const prune = h('input', { type: 'checkbox' });
    const error = h('div', { class: 'error', role: 'alert', hidden: true });
    const go = h('button', { class: 'btn primary', type: 'button', 'data-test': 'rollback-go', onclick: async () => {
      go.disabled = true;
      error.hidden = true;
      try {
        if (automated) {
          // Auto-sync would undo the rollback at once; Argo CD refuses it while on.
          await api(`applications/${path(app.metadata.name)}`, { method: 'PATCH', body: {
            name: app.metadata.name, appNamespace: app.metadata.namespace, patchType: 'merge',
            patch: JSON.stringify({ spec: { syncPolicy: { automated: null } } }),
          } });
        }
        await api(`applications/${path(app.metadata.name)}/rollback`, { method: 'POST', body: {
          name: app.metadata.name, appNamespace: app.metadata.namespace, id: entry.id, prune: prune.checked,
        } });
        close();
        onDone(automated || null);
      } catch (err) {
        error.textContent = `Rollback failed: ${err.message}`;
        error.hidden = false;
        go.disabled = false;
      }
    } }, 'Roll back');
    return [
      h('p', null, `Deploy revision ${String(entry.revision || '').slice(0, 10)} again.`),
      automated ? h('p', { class: 'warn', 'data-test': 'rollback-warning' }, 'Automated sync is on: rolling back turns it off, or it would sync the newest revision again at once. You can turn it back on afterwards.') : null,
      h('label', { class: 'check' }, prune, 'Prune resources the old revision lacks'),
      error,
      h('footer', null, h('button', { class: 'btn', type: 'button', onclick: close }, 'Cancel'), go),
    ];
  });
}

/** Turn automated sync back on with the policy rollback turned off. */
export async function restoreAutoSync(app, automated) {
  await api(`applications/${path(app.metadata.name)}`, { method: 'PATCH', body: {
    name: app.metadata.name, appNamespace: app.metadata.namespace, patchType: 'merge',
    patch: JSON.stringify({ spec: { syncPolicy: { automated } } }),
  } });
}
