// Boot, session, layout and the client-side router. Pages are modules with
// `render(ctx) -> {el, dispose?}`; the router disposes the old page (closing its
// streams) before mounting the next.
import { api, setUnauthenticatedHandler, forgetPermissions } from './api.js';
import { h, clear, fill } from './dom.js';

const PAGES = [
  [/^\/login$/, () => import('./login.js'), false],
  [/^\/applications$/, () => import('./apps.js'), true],
  [/^\/applications\/([^/]+)\/([^/]+)$/, () => import('./app.js'), true],
  [/^\/projects$/, () => import('./admin.js').then((m) => m.projects), true],
  [/^\/repositories$/, () => import('./admin.js').then((m) => m.repositories), true],
  [/^\/clusters$/, () => import('./admin.js').then((m) => m.clusters), true],
  [/^\/settings$/, () => import('./admin.js').then((m) => m.settings), true],
  [/^\/user-info$/, () => import('./admin.js').then((m) => m.userInfo), true],
];
const NAV = [['/applications', 'Applications'], ['/projects', 'Projects'],
  ['/repositories', 'Repositories'], ['/clusters', 'Clusters'], ['/settings', 'Settings']];

const root = document.getElementById('app');
let current = null;
let user = null;
let generation = 0;

export function navigate(to, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', to); else history.pushState(null, '', to);
  route();
}

/** The theme: the user's choice, else the system's. */
function applyTheme(theme) {
  const chosen = theme || localStorage.getItem('gitward.theme')
    || (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light');
  document.documentElement.dataset.theme = chosen;
  return chosen;
}

async function session() {
  if (user) return user;
  try {
    const info = await api('session/userinfo');
    user = info && info.loggedIn ? info : null;
  } catch { user = null; }
  return user;
}

export async function signOut() {
  try { await api('session', { method: 'DELETE' }); } catch { /* signed out either way */ }
  user = null;
  forgetPermissions();
  navigate('/login');
}

export function signedIn() {
  user = null;
  forgetPermissions();
}

function topbar(path) {
  const theme = document.documentElement.dataset.theme;
  return h('header', { class: 'topbar' },
    h('a', { class: 'brand', href: '/applications', onclick: link }, 'gitward'),
    h('nav', { class: 'nav', 'aria-label': 'Main' }, NAV.map(([href, label]) => h('a', {
      href, onclick: link, 'aria-current': path.startsWith(href) ? 'page' : null,
    }, label))),
    h('div', { class: 'user' },
      h('button', {
        class: 'btn small', type: 'button', title: 'Switch light/dark theme', 'data-test': 'theme',
        onclick: (e) => {
          const next = document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark';
          localStorage.setItem('gitward.theme', next);
          applyTheme(next);
          e.currentTarget.textContent = next === 'dark' ? 'Light' : 'Dark';
        },
      }, theme === 'dark' ? 'Light' : 'Dark'),
      h('a', { class: 'who', href: '/user-info', onclick: link, 'data-test': 'username' },
        user ? user.username : ''),
      h('button', { class: 'btn small', type: 'button', onclick: signOut }, 'Sign out')));
}

/** Same-origin links go through the router; modified clicks open as the browser would. */
export function link(event) {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey
      || event.shiftKey || event.altKey) return;
  const href = event.currentTarget.getAttribute('href');
  if (!href || !href.startsWith('/')) return;
  event.preventDefault();
  navigate(href);
}

async function route() {
  const mine = ++generation;
  const path = location.pathname.replace(/\/+$/, '') || '/';
  if (path === '/') { navigate('/applications', { replace: true }); return; }
  const found = PAGES.find(([pattern]) => pattern.test(path));
  if (current && current.dispose) current.dispose();
  current = null;
  if (!found) {
    fill(root, h('main', { id: 'main', class: 'page' }, h('h1', null, 'Not found'),
      h('a', { href: '/applications', onclick: link }, 'Applications')));
    return;
  }
  const [pattern, load, needsUser] = found;
  if (needsUser && !(await session())) {
    if (mine !== generation) return;
    navigate(`/login?return=${encodeURIComponent(location.pathname + location.search)}`,
      { replace: true });
    return;
  }
  const module = await load();
  if (mine !== generation) return;
  const params = pattern.exec(path).slice(1).map(decodeURIComponent);
  const ctx = { params, query: new URLSearchParams(location.search), navigate, user, link };
  const page = await module.render(ctx);
  if (mine !== generation) { if (page.dispose) page.dispose(); return; }
  current = page;
  const main = h('main', { id: 'main' }, page.el);
  fill(root, ...(needsUser ? [topbar(path), main] : [main]));
  document.title = page.title ? `${page.title} · gitward` : 'gitward';
  if (page.mounted) page.mounted();
}

applyTheme();
setUnauthenticatedHandler(() => {
  if (location.pathname === '/login') return;
  user = null;
  navigate(`/login?return=${encodeURIComponent(location.pathname + location.search)}`,
    { replace: true });
});
addEventListener('popstate', route);
route();
