// The applications list: filters in the URL, a status bar, tiles or rows drawn only
// where the viewport is (10,000 apps cost ~40 DOM nodes), live updates from the stream.
import { api, stream } from './api.js';
import { h, clear, fill, append, status } from './dom.js';
import {
  SYNC_STATES, HEALTH_STATES, readFilters, writeFilters, record, matcher,
  summarise, compareRecords, parseSelector,
} from './appindex.js';

const ROW = 40;
const TILE_H = 164;
const TILE_GAP = 12;
const TILE_MIN_W = 290;
const OVERSCAN = 4;
// The first page is small so it shows at once; the rest come in larger pages.
const FIRST_PAGE = 500;
const PAGE = 2500;

export function render(ctx) {
  const filters = readFilters(ctx.query);
  const abort = new AbortController();
  const byKey = new Map();
  let shown = [];
  let selected = 0;
  let serverQuery = serverParams(filters);
  let loaded = false;
  let loadError = null;
  let projects = [];

  const search = h('input', {
    type: 'search', placeholder: 'Search applications  ( / )', value: filters.q,
    'aria-label': 'Search applications', oninput: () => { filters.q = search.value; changed(); },
  });
  const viewToggle = h('button', { class: 'btn', type: 'button', onclick: () => {
    filters.view = filters.view === 'tiles' ? 'list' : 'tiles';
    changed();
  } });
  const filtersPane = h('aside', { class: 'filters', 'aria-label': 'Filters' });
  const statusBar = h('div', { class: 'statusbar', 'data-test': 'statusbar', 'aria-live': 'polite' });
  const header = h('div', { class: 'row head', role: 'row' },
    h('span', null, 'Name'), h('span', { class: 'wide' }, 'Project'), h('span', null, 'Sync'),
    h('span', null, 'Health'), h('span', { class: 'wide' }, 'Source'), h('span', { class: 'wide' }, 'Destination'));
  const spacer = h('div', { class: 'spacer' });
  const viewport = h('div', {
    class: 'viewport', tabindex: '0', role: 'grid', 'aria-label': 'Applications',
    onscroll: () => schedule(draw),
  }, spacer);
  const streamState = h('span', { class: 'muted', 'data-test': 'stream-state' });
  const el = h('div', { class: 'apps' }, filtersPane,
    h('section', { class: 'listpane' },
      h('div', { class: 'toolbar' },
        h('button', { class: 'btn filtertoggle', type: 'button', onclick: () => filtersPane.classList.toggle('open') }, 'Filters'),
        search, viewToggle, streamState),
      statusBar, header, viewport));

  // --- filters sidebar -----------------------------------------------------------------
  const groups = {};
  function checkGroup(key, title) {
    const box = h('div', { class: 'opts', role: 'group', 'aria-label': title });
    groups[key] = box;
    return [h('h3', null, title), box];
  }
  function fillGroup(key, values) {
    const box = groups[key];
    clear(box);
    const chosen = new Set(filters[key]);
    for (const [value, count] of values) {
      box.append(h('label', { class: 'check' },
        h('input', { type: 'checkbox', checked: chosen.has(value), 'data-filter': key, value, onchange: (e) => {
          const set = new Set(filters[key]);
          if (e.target.checked) set.add(value); else set.delete(value);
          filters[key] = [...set];
          changed();
        } }), h('span', null, value || '(none)'), count === undefined ? null : h('span', { class: 'count' }, count)));
    }
  }
  const repoInput = h('input', { type: 'text', value: filters.repo, 'aria-label': 'Repository contains',
    oninput: () => { filters.repo = repoInput.value.trim(); changed(); } });
  const labelError = h('div', { class: 'warn', hidden: true });
  const labelInput = h('input', { type: 'text', value: filters.labels, placeholder: 'app=web,tier!=db',
    'aria-label': 'Label selector', oninput: () => {
      const text = labelInput.value.trim();
      try { parseSelector(text); labelError.hidden = true; } catch (err) {
        labelError.textContent = err.message; labelError.hidden = false; return;
      }
      filters.labels = text; changed();
    } });
  const autoSelect = h('select', { 'aria-label': 'Auto-sync', onchange: () => { filters.autosync = autoSelect.value; changed(); } },
    [['', 'Any'], ['on', 'Enabled'], ['off', 'Disabled']].map(([v, l]) => h('option', { value: v, selected: filters.autosync === v }, l)));
  append(filtersPane, [
    h('button', { class: 'btn small', type: 'button', onclick: () => {
      for (const key of ['proj', 'sync', 'health', 'cluster', 'namespace']) filters[key] = [];
      filters.repo = ''; filters.labels = ''; filters.autosync = ''; filters.q = '';
      search.value = ''; repoInput.value = ''; labelInput.value = ''; autoSelect.value = '';
      changed();
    } }, 'Clear filters'),
    checkGroup('sync', 'Sync status'), checkGroup('health', 'Health status'),
    h('h3', null, 'Auto-sync'), autoSelect,
    checkGroup('proj', 'Projects'), checkGroup('cluster', 'Clusters'), checkGroup('namespace', 'Namespaces'),
    h('h3', null, 'Repository'), repoInput,
    h('h3', null, 'Labels'), labelInput, labelError]);

  function refreshSidebar() {
    const all = [...byKey.values()];
    const totals = summarise(all);
    fillGroup('sync', SYNC_STATES.map((s) => [s, totals.counts.sync[s] || 0]));
    fillGroup('health', HEALTH_STATES.map((s) => [s, totals.counts.health[s] || 0]));
    const projNames = new Set([...projects, ...totals.facets.proj.keys(), ...filters.proj]);
    fillGroup('proj', [...projNames].sort().map((p) => [p, totals.facets.proj.get(p)]));
    const top = (map, key) => [...new Set([...map.keys(), ...filters[key]])].sort().slice(0, 300).map((v) => [v, map.get(v)]);
    fillGroup('cluster', top(totals.facets.cluster, 'cluster'));
    fillGroup('namespace', top(totals.facets.namespace, 'namespace'));
  }

  // --- status bar ----------------------------------------------------------------------
  function fillStatus() {
    const { counts } = summarise(shown);
    const toggle = (key, value) => () => {
      filters[key] = filters[key].includes(value) ? filters[key].filter((v) => v !== value) : [...filters[key], value];
      changed();
    };
    fill(statusBar, 
      h('span', { 'data-test': 'count' }, h('b', null, shown.length), ` of ${byKey.size} applications`),
      ...SYNC_STATES.filter((s) => counts.sync[s]).map((s) => h('button', { class: 'btn small', type: 'button', onclick: toggle('sync', s) }, status(s, `${s} ${counts.sync[s]}`))),
      ...HEALTH_STATES.filter((s) => counts.health[s]).map((s) => h('button', { class: 'btn small', type: 'button', onclick: toggle('health', s) }, status(s, `${s} ${counts.health[s]}`))),
      h('span', { class: 'muted' }, `auto-sync ${counts.auto}`),
      loadError ? h('span', { class: 'error' }, loadError) : null,
      loaded ? null : h('span', { class: 'muted' }, 'loading…'));
  }

  // --- drawing -------------------------------------------------------------------------
  let frame = 0;
  function schedule(fn) {
    if (frame) return;
    frame = requestAnimationFrame(() => { frame = 0; fn(); });
  }
  function geometry() {
    if (filters.view === 'list') return { cols: 1, rowH: ROW, width: 0 };
    const width = viewport.clientWidth - TILE_GAP;
    const cols = Math.max(1, Math.floor(width / (TILE_MIN_W + TILE_GAP)));
    return { cols, rowH: TILE_H + TILE_GAP, width: (width - TILE_GAP * cols) / cols };
  }
  function openApp(r) {
    ctx.navigate(`/applications/${encodeURIComponent(r.namespace)}/${encodeURIComponent(r.name)}`);
  }
  function item(r, index, g) {
    const cls = index === selected ? ' sel' : '';
    const onclick = () => openApp(r);
    if (filters.view === 'list') {
      const el = h('div', { class: `row${cls}`, role: 'row', 'data-app': r.name, 'aria-selected': String(index === selected), onclick },
        h('a', { href: `/applications/${encodeURIComponent(r.namespace)}/${encodeURIComponent(r.name)}`, onclick: (e) => { e.preventDefault(); } , tabindex: '-1' }, r.name),
        h('span', { class: 'wide' }, r.project),
        h('span', null, status(r.sync)),
        h('span', null, status(r.health)),
        h('span', { class: 'wide', title: `${r.repo} ${r.path}` }, `${r.repo} ${r.path}`),
        h('span', { class: 'wide' }, `${r.cluster} / ${r.destNamespace}`));
      el.style.top = `${index * ROW}px`;
      return el;
    }
    const row = Math.floor(index / g.cols);
    const col = index % g.cols;
    const el = h('div', { class: `tile${cls}`, role: 'row', 'data-app': r.name, 'aria-selected': String(index === selected), onclick },
      h('div', { class: 'name', title: r.name }, r.name),
      h('div', { class: 'states' }, status(r.health), status(r.sync), r.operation === 'Running' ? status('Running', 'Syncing') : null),
      h('div', { class: 'kv' }, h('span', { class: 'muted' }, 'Project'), h('span', null, r.project)),
      h('div', { class: 'kv' }, h('span', { class: 'muted' }, 'Repository'), h('span', { title: r.repo }, r.repo)),
      h('div', { class: 'kv' }, h('span', { class: 'muted' }, 'Path'), h('span', null, `${r.path} @ ${r.target}`)),
      h('div', { class: 'kv' }, h('span', { class: 'muted' }, 'Destination'), h('span', null, `${r.cluster} / ${r.destNamespace}`)),
      h('div', { class: 'kv' }, h('span', { class: 'muted' }, 'Auto-sync'), h('span', null, r.automated ? 'enabled' : 'disabled')));
    el.style.top = `${TILE_GAP + row * (TILE_H + TILE_GAP)}px`;
    el.style.left = `${TILE_GAP + col * (g.width + TILE_GAP)}px`;
    el.style.width = `${g.width}px`;
    return el;
  }
  function draw() {
    const g = geometry();
    const rows = Math.ceil(shown.length / g.cols);
    spacer.style.height = `${rows * g.rowH + TILE_GAP}px`;
    const top = viewport.scrollTop;
    const first = Math.max(0, Math.floor(top / g.rowH) - OVERSCAN);
    const last = Math.min(rows, Math.ceil((top + viewport.clientHeight) / g.rowH) + OVERSCAN);
    const nodes = [];
    for (let i = first * g.cols; i < Math.min(shown.length, last * g.cols); i += 1) nodes.push(item(shown[i], i, g));
    spacer.replaceChildren(...nodes);
    if (!shown.length) {
      spacer.append(h('div', { class: 'empty' }, loaded ? (byKey.size ? 'No application matches the filters.' : 'No applications yet.') : 'Loading applications…'));
    }
  }
  // All records in display order, sorted again only when the data changed: a filter
  // change is then one pass over plain objects.
  let ordered = null;
  let orderedSize = -1;
  function applyFilters(dataChanged = true) {
    const t0 = performance.now();
    if (dataChanged || !ordered || orderedSize !== byKey.size) {
      ordered = [...byKey.values()].sort(compareRecords);
      orderedSize = byKey.size;
    }
    const keep = matcher(filters);
    shown = ordered.filter(keep);
    selected = Math.min(selected, Math.max(0, shown.length - 1));
    header.hidden = filters.view !== 'list';
    viewToggle.textContent = filters.view === 'list' ? 'Tiles' : 'List';
    fillStatus();
    draw();
    window.__gitwardFilterMs = performance.now() - t0;
  }
  function changed() {
    const query = writeFilters(filters).toString();
    history.replaceState(null, '', `/applications${query ? `?${query}` : ''}`);
    for (const key of ['sync', 'health', 'proj', 'cluster', 'namespace']) {
      if (groups[key]) for (const box of groups[key].querySelectorAll('input')) box.checked = filters[key].includes(box.value);
    }
    applyFilters(false);
    const next = serverParams(filters);
    if (JSON.stringify(next) !== JSON.stringify(serverQuery)) { serverQuery = next; reloadSoon(); }
  }

  // --- data ----------------------------------------------------------------------------
  let reloadTimer = 0;
  let loadAbort = null;
  function reloadSoon() {
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(load, 250);
  }
  let streamed = new Set();
  async function load() {
    if (loadAbort) loadAbort.abort();
    const mine = new AbortController();
    loadAbort = mine;
    abort.signal.addEventListener('abort', () => mine.abort());
    let token = '';
    const fresh = new Set();
    let first = true;
    streamed = new Set();
    try {
      do {
        const page = await api('applications', { query: { ...serverQuery, limit: first ? FIRST_PAGE : PAGE, continue: token || undefined }, signal: mine.signal });
        if (first) {
          byKey.clear();
          // Changes from now on come from the stream (which skips its initial list).
          watch((page.metadata && page.metadata.resourceVersion) || '1');
        }
        for (const app of page.items || []) { const r = record(app); fresh.add(r.key); if (!streamed.has(r.key)) byKey.set(r.key, r); }
        token = (page.metadata && page.metadata.continue) || '';
        if (first) {
          first = false;
          loaded = !token;
          refreshSidebar();
          applyFilters();
          if (window.__gitwardFirstRender === undefined) window.__gitwardFirstRender = performance.now();
        }
      } while (token && !mine.signal.aborted);
      // What was deleted while we paged is dropped; what the stream added stays.
      for (const k of [...byKey.keys()]) if (!fresh.has(k) && !streamed.has(k)) byKey.delete(k);
      loaded = true; loadError = null;
      refreshSidebar();
      applyFilters();
    } catch (err) {
      if (mine.signal.aborted) return;
      loadError = `Could not list applications: ${err.message}`;
      loaded = true;
      fillStatus();
      draw();
    }
  }
  let watchAbort = null;
  let pending = false;
  let dropped = false;
  function watch(resourceVersion) {
    dropped = false;
    if (watchAbort) watchAbort.abort();
    watchAbort = new AbortController();
    abort.signal.addEventListener('abort', () => watchAbort.abort());
    stream('stream/applications', { ...serverQuery, resourceVersion }, (result) => {
      const app = result.application;
      if (!app || !app.metadata) return;
      const r = record(app);
      streamed.add(r.key);
      if (result.type === 'DELETED') byKey.delete(r.key); else byKey.set(r.key, r);
      if (!pending) {
        pending = true;
        setTimeout(() => { pending = false; refreshSidebar(); applyFilters(); }, 200);
      }
    }, watchAbort.signal, (state) => {
      // Back after a break: what changed meanwhile is only in a fresh list.
      if (state === 'live' && dropped) reloadSoon();
      dropped = state !== 'live';
      streamState.textContent = state === 'live' ? '● live' : 'reconnecting…';
    });
  }
  api('projects', { signal: abort.signal }).then((list) => {
    projects = (list.items || []).map((p) => String((p.metadata && p.metadata.name) || '')).filter(Boolean);
    refreshSidebar();
  }).catch(() => {});

  // --- keyboard ------------------------------------------------------------------------
  function onKey(event) {
    const typing = /^(INPUT|SELECT|TEXTAREA)$/.test(document.activeElement && document.activeElement.tagName);
    if (event.key === '/' && !typing) { event.preventDefault(); search.focus(); return; }
    if (event.key === 'Escape' && typing) { document.activeElement.blur(); viewport.focus(); return; }
    if (typing || !shown.length) return;
    const g = geometry();
    const moves = { ArrowDown: g.cols, j: g.cols, ArrowUp: -g.cols, k: -g.cols, ArrowRight: 1, ArrowLeft: -1 };
    if (event.key in moves) {
      event.preventDefault();
      selected = Math.max(0, Math.min(shown.length - 1, selected + moves[event.key]));
      const rowTop = Math.floor(selected / g.cols) * g.rowH;
      if (rowTop < viewport.scrollTop) viewport.scrollTop = rowTop;
      else if (rowTop + g.rowH > viewport.scrollTop + viewport.clientHeight) viewport.scrollTop = rowTop + g.rowH - viewport.clientHeight;
      draw();
    } else if (event.key === 'Enter' && shown[selected]) {
      openApp(shown[selected]);
    }
  }
  const resize = new ResizeObserver(() => schedule(draw));
  document.addEventListener('keydown', onKey);

  return {
    el,
    title: 'Applications',
    mounted() {
      resize.observe(viewport);
      applyFilters();
      load();
    },
    dispose() {
      abort.abort();
      clearTimeout(reloadTimer);
      resize.disconnect();
      document.removeEventListener('keydown', onKey);
    },
  };
}

/** The filters Argo CD's list API applies itself: projects and a label selector. */
function serverParams(filters) {
  const query = {};
  if (filters.proj.length) query.projects = filters.proj;
  if (filters.labels) query.selector = filters.labels;
  return query;
}

