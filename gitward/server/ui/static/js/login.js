// The sign-in page: a local account's name and password for POST /api/v1/session.
import { api } from './api.js';
import { h } from './dom.js';
import { signedIn } from './main.js';

export function render(ctx) {
  const error = h('div', { class: 'error', role: 'alert', hidden: true });
  const username = h('input', { type: 'text', name: 'username', autocomplete: 'username', required: true, autofocus: true });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { class: 'btn primary', type: 'submit' }, 'Sign in');
  const form = h('form', {
    class: 'login', onsubmit: async (event) => {
      event.preventDefault();
      submit.disabled = true;
      error.hidden = true;
      try {
        await api('session', {
          method: 'POST', body: { username: username.value, password: password.value },
        });
        signedIn();
        ctx.navigate(returnPath(ctx.query.get('return')), { replace: true });
      } catch (err) {
        error.textContent = err.status === 401 || err.status === 403
          ? 'Invalid username or password' : `Sign-in failed: ${err.message}`;
        error.hidden = false;
        submit.disabled = false;
        password.select();
      }
    },
  },
  h('h1', null, 'gitward'),
  h('p', { class: 'muted' }, 'Sign in with a local account.'),
  error,
  h('label', null, 'Username', username),
  h('label', null, 'Password', password),
  submit);
  return { el: form, title: 'Sign in', mounted: () => username.focus() };
}

/** Where to go after signing in: a path of this origin only, else the applications. */
export function returnPath(asked) {
  if (!asked || !asked.startsWith('/')) return '/applications';
  try {
    const url = new URL(asked, location.origin);
    if (url.origin === location.origin) return url.pathname + url.search;
  } catch { /* not a URL */ }
  return '/applications';
}
