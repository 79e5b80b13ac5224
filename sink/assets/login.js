/* Sarap login: POST /api/login with the token, then go to `next` (a same-origin path only) or to
 * the role's home page. */
(function () {
  'use strict';
  const S = window.Sarap;
  const HOME = { analyst: '/', auditor: '/audit', operator: '/ops' };

  /** `next` only if it is a path on this site: starts with "/", not "//", no backslash or control characters. */
  function safeNext() {
    const next = new URLSearchParams(location.search).get('next');
    if (!next || next[0] !== '/' || next.startsWith('//')) return null;
    if (/[\\\u0000-\u001f\u007f]/.test(next)) return null;
    if (next === '/login' || next.startsWith('/login?')) return null;
    return next;
  }

  async function init() {
    const logout = S.$('#logout');
    logout.addEventListener('click', () => S.logout());
    const next = safeNext();
    if (next) {
      const p = S.$('#login-next');
      p.hidden = false;
      p.textContent = `After signing in you will go to ${next}.`;
    }
    S.$('#login-form').addEventListener('submit', (ev) => { ev.preventDefault(); login(); });
    S.$('#token').focus();
    try {
      const s = await S.api('/api/session', { noRedirect: true });
      S.session = s;
      S.renderWho();
      const cur = S.$('#login-current');
      cur.hidden = false;
      S.put(cur, `You are signed in as ${s.name} (${s.role}). `,
        S.el('a', { href: next || HOME[s.role] || '/' }, 'Continue as this user'),
        ', or sign in with another token below.');
    } catch (e) {
      S.session = null;
      S.renderWho();
    }
  }

  async function login() {
    const input = S.$('#token');
    const err = S.$('#login-error');
    const btn = S.$('#login');
    const token = input.value;
    if (!token.trim()) {
      err.textContent = 'Enter your access token.';
      input.focus();
      return;
    }
    err.textContent = '';
    btn.disabled = true;
    try {
      const s = await S.api('/api/login', { method: 'POST', body: { token }, noRedirect: true });
      S.session = s;
      S.renderWho();
      input.value = '';
      location.assign(safeNext() || HOME[s.role] || '/');
    } catch (e) {
      err.textContent = e.status === 401
        ? (e.message || 'The token was not accepted.')
        : `Sign-in failed: ${e.message || e}`;
      input.select();
      btn.disabled = false;
    }
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
