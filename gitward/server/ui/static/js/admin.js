// The projects, repositories, clusters, settings and user pages: tables over Argo CD's
// list endpoints, read-only.
import { api } from './api.js';
import { h, append, status, fact } from './dom.js';
import { toYaml } from './yaml.js';

function page(title, build) {
  return {
    async render() {
      const el = h('div', { class: 'page' }, h('h1', null, title));
      try {
        append(el, [await build()]);
      } catch (err) {
        el.append(h('div', { class: 'error', role: 'alert' }, `Could not load ${title.toLowerCase()}: ${err.message}`));
      }
      return { el, title };
    },
  };
}

function table(headers, rows, test) {
  if (!rows.length) return h('p', { class: 'muted' }, 'None.');
  return h('table', { class: 'grid', 'data-test': test },
    h('thead', null, h('tr', null, headers.map((t) => h('th', null, t)))),
    h('tbody', null, rows.map((cells) => h('tr', null, cells.map((c) => h('td', null, c))))));
}

const list = (values) => (values || []).join(', ');

export const projects = page('Projects', async () => {
  const answer = await api('projects');
  return table(['Name', 'Description', 'Sources', 'Destinations', 'Roles', 'Sync windows'],
    (answer.items || []).map((p) => {
      const spec = p.spec || {};
      return [(p.metadata && p.metadata.name) || '', spec.description || '', list(spec.sourceRepos),
        list((spec.destinations || []).map((d) => `${d.name || d.server || '*'} / ${d.namespace || '*'}`)),
        list((spec.roles || []).map((r) => r.name)),
        list((spec.syncWindows || []).map((w) => `${w.kind} ${w.schedule} for ${w.duration}`))];
    }), 'projects');
});

export const repositories = page('Repositories', async () => {
  const answer = await api('repositories');
  return table(['Repository', 'Type', 'Name', 'Project', 'Connection', 'Message'],
    (answer.items || []).map((r) => {
      const c = r.connectionState || {};
      return [r.repo || '', r.type || 'git', r.name || '', r.project || '',
        status(c.status === 'Successful' ? 'Healthy' : c.status === 'Failed' ? 'Degraded' : 'Unknown', c.status || 'Unknown'),
        c.message || ''];
    }), 'repositories');
});

export const clusters = page('Clusters', async () => {
  const answer = await api('clusters');
  return table(['Name', 'Server', 'Version', 'Connection', 'Applications', 'Namespaces'],
    (answer.items || []).map((c) => {
      const conn = c.connectionState || (c.info && c.info.connectionState) || {};
      const info = c.info || {};
      return [c.name || '', c.server || '', c.serverVersion || info.serverVersion || '',
        status(conn.status === 'Successful' ? 'Healthy' : conn.status === 'Failed' ? 'Degraded' : 'Unknown', conn.status || 'Unknown'),
        info.applicationsCount ?? '', list(c.namespaces) || 'all'];
    }), 'clusters');
});

export const settings = page('Settings', async () => {
  const [values, version, accounts] = await Promise.all([
    api('settings'), api('version').catch(() => ({})), api('account').catch(() => ({ items: [] })),
  ]);
  return [
    h('h2', null, 'Version'), h('div', { class: 'facts' }, Object.entries(version).map(([k, v]) => fact(k, typeof v === 'object' ? JSON.stringify(v) : v))),
    h('h2', null, 'Accounts'),
    table(['Name', 'Enabled', 'Capabilities'], (accounts.items || []).map((a) => [a.name || '', String(a.enabled ?? ''), list(a.capabilities)]), 'accounts'),
    h('h2', null, 'Effective settings'),
    h('p', { class: 'muted' }, 'As the server reads them from argocd-cm and argocd-rbac-cm (secrets are never shown).'),
    h('pre', { class: 'code', 'data-test': 'settings' }, toYaml(values)),
  ];
});

export const userInfo = page('User', async () => {
  const info = await api('session/userinfo');
  return h('div', { class: 'facts' }, fact('Username', info.username || ''), fact('Issuer', info.iss || ''),
    fact('Groups', list(info.groups) || '—'));
});
