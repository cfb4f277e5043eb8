// The applications list's data: one small record per Application, filters read from
// and written to the URL, and the counts the status bar shows. Pure functions, so a
// filter change over 10,000 records is a loop over plain objects, not a request.

export const SYNC_STATES = ['Synced', 'OutOfSync', 'Unknown'];
export const HEALTH_STATES = ['Healthy', 'Progressing', 'Degraded', 'Suspended', 'Missing', 'Unknown'];

/** The filters in the URL: `?proj=a,b&sync=OutOfSync&health=Degraded&...&q=text`. */
export const FILTER_KEYS = ['proj', 'sync', 'health', 'cluster', 'namespace', 'repo', 'labels', 'autosync', 'q'];
const MULTI = new Set(['proj', 'sync', 'health', 'cluster', 'namespace']);

export function readFilters(query) {
  const filters = {};
  for (const key of FILTER_KEYS) {
    const value = (query.get(key) || '').trim();
    filters[key] = MULTI.has(key) ? (value ? value.split(',').filter(Boolean) : []) : value;
  }
  filters.view = query.get('view') === 'list' ? 'list' : 'tiles';
  return filters;
}

export function writeFilters(filters) {
  const query = new URLSearchParams();
  for (const key of FILTER_KEYS) {
    const value = filters[key];
    if (Array.isArray(value) ? value.length : value) query.set(key, Array.isArray(value) ? value.join(',') : value);
  }
  if (filters.view === 'list') query.set('view', 'list');
  return query;
}

function source(spec) {
  return spec.source || (Array.isArray(spec.sources) && spec.sources[0]) || {};
}

/** The record the list keeps for one Application (any field may be absent or hostile). */
export function record(app) {
  const meta = app.metadata || {};
  const spec = app.spec || {};
  const status = app.status || {};
  const src = source(spec);
  const dest = spec.destination || {};
  const automated = spec.syncPolicy && spec.syncPolicy.automated;
  const name = String(meta.name || '');
  const namespace = String(meta.namespace || '');
  return {
    key: `${namespace}/${name}`,
    name,
    namespace,
    project: String(spec.project || 'default'),
    sync: String((status.sync && status.sync.status) || 'Unknown'),
    health: String((status.health && status.health.status) || 'Unknown'),
    operation: String((status.operationState && status.operationState.phase) || ''),
    revision: String((status.sync && status.sync.revision) || ''),
    repo: String(src.repoURL || ''),
    path: String(src.path || src.chart || ''),
    target: String(src.targetRevision || 'HEAD'),
    cluster: String(dest.name || dest.server || ''),
    destNamespace: String(dest.namespace || ''),
    labels: meta.labels && typeof meta.labels === 'object' ? meta.labels : {},
    automated: Boolean(automated),
    created: String(meta.creationTimestamp || ''),
    haystack: `${name}\n${namespace}\n${spec.project || ''}\n${src.repoURL || ''}\n${src.path || ''}`.toLowerCase(),
  };
}

/**
 * A label selector as Kubernetes writes one: `a=b,c!=d,e,!f,g in (x,y),h notin (z)`.
 * Returns a predicate over a labels object, or throws naming the part it cannot read.
 */
export function parseSelector(text) {
  const tests = [];
  const parts = [];
  let depth = 0; let start = 0;
  for (let i = 0; i <= text.length; i += 1) {
    const c = text[i];
    if (c === '(') depth += 1;
    if (c === ')') depth -= 1;
    if ((c === ',' && depth === 0) || i === text.length) { parts.push(text.slice(start, i).trim()); start = i + 1; }
  }
  for (const part of parts) {
    if (!part) continue;
    let m;
    if ((m = /^([^\s!=]+?)\s+(in|notin)\s*\(([^()]*)\)$/.exec(part))) {
      const values = new Set(m[3].split(',').map((v) => v.trim()));
      const [, key, op] = m;
      tests.push(op === 'in' ? (l) => values.has(l[key]) : (l) => !values.has(l[key]));
    } else if ((m = /^([^\s!=]+)\s*(==|=|!=)\s*([^\s!=]*)$/.exec(part))) {
      const [, key, op, value] = m;
      tests.push(op === '!=' ? (l) => l[key] !== value : (l) => l[key] === value);
    } else if ((m = /^!\s*([^\s!=]+)$/.exec(part))) {
      const key = m[1];
      tests.push((l) => !Object.hasOwn(l, key));
    } else if ((m = /^([^\s!=]+)$/.exec(part))) {
      const key = m[1];
      tests.push((l) => Object.hasOwn(l, key));
    } else {
      throw new Error(`labels: cannot read ${JSON.stringify(part)}`);
    }
  }
  return (labels) => tests.every((t) => t(labels));
}

/** A predicate for the filters (the ones the server already applied hold again, cheaply). */
export function matcher(filters) {
  const set = (list) => (list.length ? new Set(list) : null);
  const proj = set(filters.proj);
  const sync = set(filters.sync);
  const health = set(filters.health);
  const cluster = set(filters.cluster);
  const namespace = set(filters.namespace);
  const repo = filters.repo.toLowerCase();
  const words = filters.q.toLowerCase().split(/\s+/).filter(Boolean);
  let labels = null;
  if (filters.labels) {
    try { labels = parseSelector(filters.labels); } catch { labels = () => false; }
  }
  const auto = filters.autosync;
  return (r) => (!proj || proj.has(r.project))
    && (!sync || sync.has(r.sync))
    && (!health || health.has(r.health))
    && (!cluster || cluster.has(r.cluster))
    && (!namespace || namespace.has(r.destNamespace))
    && (!repo || r.repo.toLowerCase().includes(repo))
    && (!auto || (auto === 'on') === r.automated)
    && (!labels || labels(r.labels))
    && words.every((w) => r.haystack.includes(w));
}

/** Counts by sync and health over the shown records, and the values each facet offers. */
export function summarise(records) {
  const counts = { sync: {}, health: {}, auto: 0 };
  const facets = { proj: new Map(), cluster: new Map(), namespace: new Map() };
  for (const r of records) {
    counts.sync[r.sync] = (counts.sync[r.sync] || 0) + 1;
    counts.health[r.health] = (counts.health[r.health] || 0) + 1;
    if (r.automated) counts.auto += 1;
    facets.proj.set(r.project, (facets.proj.get(r.project) || 0) + 1);
    facets.cluster.set(r.cluster, (facets.cluster.get(r.cluster) || 0) + 1);
    facets.namespace.set(r.destNamespace, (facets.namespace.get(r.destNamespace) || 0) + 1);
  }
  return { counts, facets };
}

export function compareRecords(a, b) {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : (a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : 0);
}
