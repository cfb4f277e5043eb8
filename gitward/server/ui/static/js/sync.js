// The sync dialog: what Argo CD's SyncRequest carries (revision, prune, dry run, force,
// sync options, selected resources), with a typed confirmation for prune and replace.
import { api, path } from './api.js';
import { h, clear, fill, status } from './dom.js';
import { dialog, typedConfirm } from './dialog.js';

function resourceId(r) { return `${r.group || ''}/${r.kind}/${r.namespace || ''}/${r.name}`; }

export function openSyncDialog(app, { onStarted }) {
  const spec = app.spec || {};
  const src = spec.source || (spec.sources && spec.sources[0]) || {};
  const resources = (app.status && app.status.resources) || [];
  dialog(`Synchronize ${app.metadata.name}`, (close) => {
    const revision = h('input', { type: 'text', value: src.targetRevision || 'HEAD', 'aria-label': 'Revision' });
    const opt = (label, name, checked = false) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name, checked }), label);
    const options = h('div', { class: 'opts' },
      opt('Prune', 'prune'), opt('Dry run', 'dryRun'), opt('Force', 'force'),
      opt('Apply out-of-sync only', 'applyOutOfSyncOnly'), opt('Server-side apply', 'serverSideApply'),
      opt('Replace', 'replace'));
    const checked = (name) => options.querySelector(`input[name=${name}]`).checked;
    const picks = resources.map((r) => h('input', { type: 'checkbox', checked: true, 'data-id': resourceId(r) }));
    const all = h('input', { type: 'checkbox', checked: true, onchange: () => { for (const p of picks) p.checked = all.checked; } });
    const list = h('div', { class: 'reslist', 'data-test': 'sync-resources' },
      h('label', { class: 'check' }, all, h('b', null, `All resources (${resources.length})`)),
      resources.map((r, i) => h('label', { class: 'check' }, picks[i], `${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name}`,
        r.status ? status(r.status) : null)));
    const confirmBox = h('div', { hidden: true });
    let confirmed = false;
    const error = h('div', { class: 'error', role: 'alert', hidden: true });
    const result = h('div', { 'data-test': 'dry-run-result' });
    const go = h('button', { class: 'btn primary', type: 'submit', 'data-test': 'sync-go' }, 'Synchronize');
    const dry = h('button', { class: 'btn', type: 'button', 'data-test': 'sync-dry-run' }, 'Dry run');
    function dangerous() { return checked('prune') || checked('replace'); }
    function refresh() {
      const needs = dangerous();
      if (needs && confirmBox.hidden) {
        confirmed = false;
        fill(confirmBox, h('p', { class: 'warn' }, checked('replace') ? 'Replace deletes and recreates resources.' : 'Prune deletes resources Git no longer declares.'),
          typedConfirm(app.metadata.name, (ok) => { confirmed = ok; refresh(); }));
      }
      confirmBox.hidden = !needs;
      go.disabled = needs && !confirmed;
    }
    options.addEventListener('change', refresh);
    function request(dryRun) {
      const items = [];
      if (checked('applyOutOfSyncOnly')) items.push('ApplyOutOfSyncOnly=true');
      if (checked('serverSideApply')) items.push('ServerSideApply=true');
      if (checked('replace')) items.push('Replace=true');
      const chosen = resources.filter((r, i) => picks[i].checked);
      return {
        appNamespace: app.metadata.namespace,
        revision: revision.value.trim() || undefined,
        prune: checked('prune'),
        dryRun,
        strategy: { apply: { force: checked('force') } },
        syncOptions: items.length ? { items } : undefined,
        resources: chosen.length === resources.length ? undefined
          : chosen.map((r) => ({ group: r.group || '', kind: r.kind, name: r.name, namespace: r.namespace || '' })),
      };
    }
    async function send(dryRun) {
      error.hidden = true;
      go.disabled = true; dry.disabled = true;
      try {
        await api(`applications/${path(app.metadata.name)}/sync`, { method: 'POST', body: request(dryRun) });
        if (dryRun) {
          fill(result, h('p', { class: 'muted' }, 'Dry run started; its result appears below.'));
          onStarted({ dryRun: true, show: (op) => showDryRun(result, op) });
        } else {
          close();
          onStarted({ dryRun: false });
        }
      } catch (err) {
        error.textContent = `Sync failed: ${err.message}`;
        error.hidden = false;
      } finally {
        dry.disabled = false;
        refresh();
      }
    }
    dry.addEventListener('click', () => send(true));
    const form = h('form', { onsubmit: (e) => { e.preventDefault(); if (!go.disabled) send(false); } },
      h('label', null, 'Revision ', revision), h('h3', null, 'Options'), options, confirmBox,
      h('h3', null, 'Resources'), list, error, result,
      h('footer', null, h('button', { class: 'btn', type: 'button', onclick: close }, 'Cancel'), dry, go));
    form.style.display = 'contents';
    refresh();
    return form;
  });
}

/** What a finished dry run would change, from its operationState. */
export function showDryRun(target, op) {
  const results = (op && op.syncResult && op.syncResult.resources) || [];
  fill(target, 
    h('p', null, h('b', null, `Dry run ${op.phase}`), op.message ? `: ${op.message}` : ''),
    results.length ? h('table', { class: 'grid' },
      h('thead', null, h('tr', null, ['Kind', 'Name', 'Result', 'Message'].map((t) => h('th', null, t)))),
      h('tbody', null, results.map((r) => h('tr', null, h('td', null, r.kind), h('td', null, `${r.namespace ? `${r.namespace}/` : ''}${r.name}`),
        h('td', null, status(r.status)), h('td', null, r.message || ''))))) : h('p', { class: 'muted' }, 'Nothing would change.'));
}
