/* Sarap web: shared helpers for every page.
 * Session check, API wrapper (CSRF, 401 -> /login, 403 message), header, DOM builders that never
 * parse HTML, formatting (UTC+5), a polling loop that never piles up requests, the SVG line/area
 * chart used by the dashboard and the report, the map projection, and the region-view renderers.
 * Plain ES2020, no modules, no external URLs. Everything is exposed on window.Sarap. */
(function () {
  'use strict';

  const S = {};
  window.Sarap = S;
  const SVG_NS = 'http://www.w3.org/2000/svg';

  S.session = null;        // {role, name, csrf} once known
  S.requiredRole = null;   // the role the current page needs for its data
  S.halted = false;        // true once the page shows the "needs another role" message

  // ------------------------------------------------------------------ DOM (no HTML parsing)

  function append(node, child) {
    if (child == null || child === false) return;
    if (Array.isArray(child)) { for (const c of child) append(node, c); return; }
    if (child instanceof Node) node.appendChild(child);
    else node.appendChild(document.createTextNode(String(child)));
  }

  function setAttrs(node, attrs) {
    if (!attrs) return;
    for (const [k, v] of Object.entries(attrs)) {
      if (v == null || v === false) continue;
      if (k === 'class') {
        node.setAttribute('class', Array.isArray(v) ? v.filter(Boolean).join(' ') : String(v));
      } else if (k === 'text') {
        node.textContent = String(v);
      } else if (k === 'dataset') {
        for (const [dk, dv] of Object.entries(v)) if (dv != null) node.dataset[dk] = String(dv);
      } else if (k.startsWith('on')) {
        // Only real functions become listeners; never a handler attribute built from a string.
        if (typeof v === 'function') node.addEventListener(k.slice(2), v);
      } else {
        node.setAttribute(k, v === true ? '' : String(v));
      }
    }
  }

  /** Create an HTML element; children are Nodes or strings (always text nodes). */
  S.el = function (tag, attrs, ...children) {
    const n = document.createElement(tag);
    setAttrs(n, attrs);
    append(n, children);
    return n;
  };

  /** Create an SVG element. */
  S.svg = function (tag, attrs, ...children) {
    const n = document.createElementNS(SVG_NS, tag);
    setAttrs(n, attrs);
    append(n, children);
    return n;
  };

  S.clear = function (node) { while (node.firstChild) node.removeChild(node.firstChild); return node; };
  S.put = function (node, ...children) { S.clear(node); append(node, children); return node; };
  S.$ = (sel, root) => (root || document).querySelector(sel);
  S.$$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

  /** HTML escape, for the rare place a string must be embedded in markup (the pages use DOM APIs). */
  S.esc = function (s) {
    return String(s == null ? '' : s).replace(/[&<>"']/g, (c) => (
      { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
  };

  /** A class-name fragment derived from data (letters, digits, - and _ only). */
  S.token = (s) => String(s == null ? '' : s).toLowerCase().replace(/[^a-z0-9_-]/g, '');

  /**
   * Fill a <table>: headers [{label, num, title}] or strings; rows are arrays of cells (string,
   * number, Node, or {v, num, cls, title}) or {cells, attrs}. Empty rows show `empty` text.
   */
  S.table = function (table, headers, rows, opts = {}) {
    S.clear(table);
    if (opts.caption) table.appendChild(S.el('caption', null, opts.caption));
    const hs = headers.map((h) => (typeof h === 'string' ? { label: h } : h));
    const thead = S.el('thead', null, S.el('tr', null, hs.map((h) =>
      S.el('th', { scope: 'col', class: h.num ? 'num' : null, title: h.title }, h.label))));
    const tbody = S.el('tbody');
    if (!rows.length) {
      tbody.appendChild(S.el('tr', { class: 'empty-row' },
        S.el('td', { colspan: hs.length, class: 'empty' }, opts.empty || 'Nothing to show.')));
    }
    for (const r of rows) {
      const spec = Array.isArray(r) ? { cells: r } : r;
      const tr = S.el('tr', spec.attrs);
      spec.cells.forEach((c, i) => {
        const isObj = c != null && typeof c === 'object' && !(c instanceof Node) && !Array.isArray(c);
        const val = isObj ? c.v : c;
        const num = isObj && c.num != null ? c.num : hs[i] && hs[i].num;
        const tag = isObj && c.th ? 'th' : 'td';
        tr.appendChild(S.el(tag, {
          class: [num ? 'num' : null, isObj ? c.cls : null], title: isObj ? c.title : null,
          scope: tag === 'th' ? 'row' : null,
        }, val == null ? '—' : val));
      });
      tbody.appendChild(tr);
    }
    table.appendChild(thead);
    table.appendChild(tbody);
    return table;
  };

  // ------------------------------------------------------------------ formatting

  const TZ_MS = 5 * 3600 * 1000;       // Kazakhstan, UTC+5 all year
  S.TZ = 'UTC+5';
  const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p2 = (n) => String(n).padStart(2, '0');

  S.toMs = function (v) {
    if (v == null || v === '') return NaN;
    if (typeof v === 'number') return v;
    if (v instanceof Date) return v.getTime();
    return Date.parse(v);
  };

  function kz(ms) {
    const d = new Date(ms + TZ_MS);
    return { y: d.getUTCFullYear(), mo: d.getUTCMonth(), d: d.getUTCDate(),
      h: d.getUTCHours(), mi: d.getUTCMinutes(), s: d.getUTCSeconds() };
  }

  /** "2026-11-02 14:35 UTC+5" (opts.seconds, opts.noTz). */
  S.fmtTime = function (v, opts = {}) {
    const ms = S.toMs(v);
    if (!Number.isFinite(ms)) return '—';
    const t = kz(ms);
    let s = `${t.y}-${p2(t.mo + 1)}-${p2(t.d)} ${p2(t.h)}:${p2(t.mi)}`;
    if (opts.seconds) s += ':' + p2(t.s);
    return opts.noTz ? s : `${s} ${S.TZ}`;
  };
  /** "14:35" or "14:35:07" in UTC+5, no offset label. */
  S.fmtClock = function (v, seconds) {
    const ms = S.toMs(v);
    if (!Number.isFinite(ms)) return '—';
    const t = kz(ms);
    return `${p2(t.h)}:${p2(t.mi)}` + (seconds ? ':' + p2(t.s) : '');
  };
  /** "2 Nov" in UTC+5. */
  S.fmtDay = function (v) {
    const ms = S.toMs(v);
    if (!Number.isFinite(ms)) return '—';
    const t = kz(ms);
    return `${t.d} ${MONTHS[t.mo]}`;
  };
  /** A window or period: "2026-11-02 14:30–14:35 UTC+5" or "… – … UTC+5". */
  S.fmtRange = function (a, b) {
    const ma = S.toMs(a), mb = S.toMs(b);
    if (!Number.isFinite(ma) || !Number.isFinite(mb)) return '—';
    const ta = kz(ma), tb = kz(mb - 1);
    if (ta.y === tb.y && ta.mo === tb.mo && ta.d === tb.d) {
      return `${S.fmtTime(ma, { noTz: true })}–${S.fmtClock(mb)} ${S.TZ}`;
    }
    return `${S.fmtTime(ma, { noTz: true })} – ${S.fmtTime(mb)}`;
  };
  const isNum = (x) => typeof x === 'number' && Number.isFinite(x);
  S.isNum = isNum;
  /** Share 0..1 as a percentage with one decimal. */
  S.fmtPct = (x, digits = 1) => (isNum(x) ? (x * 100).toFixed(digits) + '%' : '—');
  S.fmtInt = (x) => (isNum(x) ? Math.round(x).toLocaleString('en-US') : '—');
  S.fmtNum = (x, digits = 2) => (isNum(x) ? x.toFixed(digits) : '—');
  S.fmtRisk = (x) => (isNum(x) ? x.toFixed(2) : '—');
  /** Anomaly z-score with a sign; null during the baseline warm-up. */
  S.fmtZ = (z) => (isNum(z) ? (z >= 0 ? '+' : '\u2212') + Math.abs(z).toFixed(1) : 'n/a');
  S.fmtGrowth = (g) => (isNum(g) ? '\u00d7' + g.toFixed(1) : '—');
  S.fmtDuration = function (s) {
    if (!isNum(s)) return '—';
    s = Math.floor(s);
    const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    if (d) return `${d} d ${h} h`;
    if (h) return `${h} h ${m} min`;
    if (m) return `${m} min ${s % 60} s`;
    return `${s} s`;
  };
  S.truncate = (s, n) => { s = String(s == null ? '' : s); return s.length > n ? s.slice(0, n - 1) + '\u2026' : s; };

  /** "5m" / "1h" / "1d" -> milliseconds (5 min if unreadable). */
  S.parseRes = function (r) {
    const m = /^(\d+)\s*([smhd])$/.exec(String(r || '').trim());
    if (!m) return 300000;
    return Number(m[1]) * { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7 }[m[2]];
  };
  S.resLabel = function (r) {
    const m = /^(\d+)\s*([smhd])$/.exec(String(r || '').trim());
    if (!m) return String(r);
    const unit = { s: 'second', m: 'minute', h: 'hour', d: 'day' }[m[2]];
    return `${m[1]} ${unit}${m[1] === '1' ? '' : 's'}`;
  };
  /** "5-minute", "1-hour": the window size as an adjective. */
  S.resAdj = (r) => S.resLabel(r).replace(/s$/, '').replace(' ', '-');
  /** Compact period "1 Nov 14:35 – 2 Nov 09:00" (UTC+5, no offset label). */
  S.fmtSpan = function (a, b) {
    const ma = S.toMs(a), mb = S.toMs(b);
    if (!Number.isFinite(ma) || !Number.isFinite(mb)) return '—';
    const da = S.fmtDay(ma), db = S.fmtDay(mb);
    return da === db ? `${da} ${S.fmtClock(ma)}–${S.fmtClock(mb)}` : `${da} ${S.fmtClock(ma)} – ${db} ${S.fmtClock(mb)}`;
  };
  /** RFC 3339 without milliseconds. */
  S.iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  S.qs = function (params) {
    const u = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v != null && v !== '') u.set(k, String(v));
    return u.toString();
  };

  // ------------------------------------------------------------------ regions (public geometry)

  let geoPromise = null;
  S.regionNames = {};   // id -> {name_en, name_ru, name_kk, iso}
  /** Load /assets/regions.geojson once; fills S.regionNames. */
  S.loadGeo = function () {
    if (!geoPromise) {
      geoPromise = fetch('/assets/regions.geojson', { credentials: 'same-origin' })
        .then((r) => {
          if (!r.ok) throw new ApiError(r.status, `Cannot load the region geometry (HTTP ${r.status})`, 'GET');
          return r.json();
        })
        .then((geo) => {
          for (const f of geo.features || []) {
            const p = f.properties || {};
            if (p.region) S.regionNames[p.region] = p;
          }
          return geo;
        });
      geoPromise.catch(() => { geoPromise = null; });
    }
    return geoPromise;
  };
  /** Remember names from /api/regions too (they are the authority when present). */
  S.noteRegionNames = function (list) {
    for (const r of list || []) {
      if (!r || !r.region) continue;
      S.regionNames[r.region] = Object.assign({}, S.regionNames[r.region] || {}, r);
    }
  };
  S.regionName = function (id) {
    if (id === 'unknown') return 'Unknown region';
    const p = S.regionNames[id];
    return (p && p.name_en) || String(id == null ? '—' : id);
  };
  /** "name_kk / name_ru" for tooltips. */
  S.regionAltNames = function (id) {
    const p = S.regionNames[id];
    if (!p) return '';
    return [p.name_kk, p.name_ru].filter(Boolean).join(' / ');
  };

  // ------------------------------------------------------------------ API

  class ApiError extends Error {
    constructor(status, message, method, path) {
      super(message);
      this.status = status;
      this.method = method || 'GET';
      this.path = path;
    }
  }
  S.ApiError = ApiError;

  S.loginUrl = function () {
    return '/login?next=' + encodeURIComponent(location.pathname + location.search);
  };
  S.goLogin = function () { location.assign(S.loginUrl()); };

  /**
   * fetch wrapper. opts: method, body (JSON-encoded), text (read text/plain), noRedirect (401 is
   * returned as an error instead of going to /login). Non-GET requests carry X-CSRF-Token.
   * Errors are ApiError with the server's {"error"} message.
   */
  S.api = async function (path, opts = {}) {
    const method = (opts.method || 'GET').toUpperCase();
    const headers = { Accept: opts.text ? 'text/plain' : 'application/json' };
    const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
    if (method !== 'GET' && method !== 'HEAD') {
      if (S.session && S.session.csrf) headers['X-CSRF-Token'] = S.session.csrf;
    }
    if (opts.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(opts.body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      throw new ApiError(0, 'Cannot reach the Sarap server; retrying.', method, path);
    }
    if (res.status === 401 && !opts.noRedirect) {
      S.halted = true;
      S.goLogin();
      throw new ApiError(401, 'Not signed in.', method, path);
    }
    if (!res.ok) {
      let msg = '';
      try {
        const ct = res.headers.get('Content-Type') || '';
        if (ct.includes('json')) { const j = await res.json(); msg = j && j.error; }
        else msg = (await res.text()).slice(0, 300);
      } catch (e) { /* keep the status text */ }
      throw new ApiError(res.status, msg || `${res.status} ${res.statusText || 'error'}`, method, path);
    }
    if (res.status === 204) return null;
    if (opts.text) return res.text();
    const ct = res.headers.get('Content-Type') || '';
    if (!ct.includes('json')) {
      const t = await res.text();
      try { return JSON.parse(t); } catch (e) { throw new ApiError(res.status, 'The server did not answer JSON.', method, path); }
    }
    return res.json();
  };

  // ------------------------------------------------------------------ notices, 403

  function noticeBox() {
    let n = document.getElementById('page-notice');
    if (!n) {
      n = S.el('div', { id: 'page-notice', role: 'alert' });
      const main = document.querySelector('main') || document.body;
      main.insertBefore(n, main.firstChild);
    }
    return n;
  }
  /** A page-wide message (kind: error|info|ok); key lets a later clearNotice(key) remove it. */
  S.notify = function (msg, kind = 'error', key = 'general') {
    const box = noticeBox();
    let item = box.querySelector(`[data-key="${S.token(key)}"]`);
    if (!item) { item = S.el('p', { class: 'notice', dataset: { key: S.token(key) } }); box.appendChild(item); }
    item.className = `notice notice-${S.token(kind)}`;
    if (msg instanceof Node) S.put(item, msg); else item.textContent = String(msg);
  };
  S.clearNotice = function (key = 'general') {
    const box = document.getElementById('page-notice');
    const item = box && box.querySelector(`[data-key="${S.token(key)}"]`);
    if (item) item.remove();
  };

  /** Replace the page's data with "this page needs the <role> role; you are signed in as <role>". */
  S.showForbidden = function (needed, message) {
    S.halted = true;
    document.body.classList.add('forbidden');
    const have = S.session ? S.session.role : 'nobody';
    const box = noticeBox();
    S.clear(box);
    const link = S.el('a', { href: S.loginUrl(), id: 'switch-role' }, 'Sign in as another role');
    box.appendChild(S.el('div', { class: 'notice notice-forbidden', dataset: { key: 'forbidden' } },
      S.el('strong', null, 'Access denied: '),
      `this page needs the ${needed} role; you are signed in as ${have}.`,
      message ? S.el('span', { class: 'muted' }, ` (${message})`) : null,
      ' ', link));
  };

  /**
   * Report an error. 401: already redirecting. 403 on a data read while the session has another
   * role than the page needs: the role message. Otherwise the server's message, in `target` (an
   * element) when given, else in the page notice.
   */
  S.fail = function (e, target) {
    if (!e) return;
    if (e.status === 401) return;
    if (e.status === 403 && e.method === 'GET' && S.requiredRole && S.session && S.session.role !== S.requiredRole) {
      S.showForbidden(S.requiredRole, e.message);
      return;
    }
    const msg = e.message || String(e);
    if (target) {
      S.put(target, S.el('p', { class: 'notice notice-error', role: 'alert' }, msg));
    } else {
      S.notify(msg, 'error');
    }
    if (!(e instanceof ApiError)) console.error(e); // eslint-disable-line no-console
  };

  // ------------------------------------------------------------------ header, session

  function markNav() {
    const path = location.pathname.replace(/\/+$/, '') || '/';
    for (const a of S.$$('header.topbar nav a')) {
      const href = a.getAttribute('href');
      if (href === path || (href !== '/' && path.startsWith(href))) a.setAttribute('aria-current', 'page');
    }
  }

  S.renderWho = function () {
    const who = document.getElementById('whoami');
    const out = document.getElementById('logout');
    if (who) who.textContent = S.session ? `${S.session.name} (${S.session.role})` : 'not signed in';
    if (out) out.hidden = !S.session;
  };

  S.logout = async function () {
    try {
      await S.api('/api/logout', { method: 'POST', noRedirect: true });
    } catch (e) {
      if (e.status !== 401) { S.notify(`Sign-out failed: ${e.message}`); return; }
    }
    S.session = null;
    location.assign('/login');
  };

  function wireHeader() {
    markNav();
    const out = document.getElementById('logout');
    if (out && !out.dataset.wired) {
      out.dataset.wired = '1';
      out.addEventListener('click', () => S.logout());
    }
  }

  /**
   * Page entry: wire the header, check the session (401 -> /login?next=), check the role, then run
   * onReady(session). role: the role the page's data needs.
   */
  S.start = function ({ role, onReady }) {
    const go = async () => {
      S.requiredRole = role || null;
      wireHeader();
      let session;
      try {
        session = await S.api('/api/session');
      } catch (e) {
        if (e.status !== 401) S.fail(e);
        return;
      }
      S.session = session;
      S.renderWho();
      if (role && session.role !== role) { S.showForbidden(role); return; }
      try {
        await onReady(session);
      } catch (e) {
        S.fail(e);
      }
    };
    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', go);
    else go();
  };

  // ------------------------------------------------------------------ polling and guards

  /**
   * Run fn now and every `ms`; a tick is skipped while the previous one is still in flight, and
   * while the tab is hidden. Errors go to S.fail (or opts.onError). Returns {run, stop}.
   */
  S.poll = function (fn, ms, opts = {}) {
    let busy = false;
    let stopped = false;
    const run = async () => {
      if (busy || stopped || S.halted) return;
      if (document.hidden && !opts.evenHidden) return;
      busy = true;
      try {
        await fn();
        if (opts.onOk) opts.onOk();
      } catch (e) {
        (opts.onError || S.fail)(e);
      } finally {
        busy = false;
      }
    };
    const timer = setInterval(run, ms);
    document.addEventListener('visibilitychange', () => { if (!document.hidden) run(); });
    run();
    return { run, stop() { stopped = true; clearInterval(timer); }, get busy() { return busy; } };
  };

  const running = new Set();
  /** Run fn under `key` unless a call under that key is still in flight (then skip). */
  S.once = async function (key, fn) {
    if (running.has(key)) return undefined;
    running.add(key);
    try { return await fn(); } finally { running.delete(key); }
  };

  // ------------------------------------------------------------------ map projection

  /**
   * Equirectangular projection scaled by cos(48°) (Kazakhstan's middle latitude) into an SVG
   * viewBox `width` wide. Returns {width, height, project([lon,lat]), path(geometry),
   * centroid(geometry), area(geometry)}.
   */
  S.projection = function (features, opts = {}) {
    const width = opts.width || 1000;
    const pad = opts.pad == null ? 10 : opts.pad;
    const k = Math.cos(48 * Math.PI / 180);
    let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
    const polys = (g) => (!g ? [] : g.type === 'Polygon' ? [g.coordinates] : g.type === 'MultiPolygon' ? g.coordinates : []);
    for (const f of features) {
      for (const poly of polys(f.geometry)) for (const ring of poly) for (const [lon, lat] of ring) {
        const x = lon * k, y = -lat;
        if (x < minX) minX = x; if (x > maxX) maxX = x;
        if (y < minY) minY = y; if (y > maxY) maxY = y;
      }
    }
    if (!Number.isFinite(minX)) { minX = 46 * k; maxX = 88 * k; minY = -56; maxY = -40; }
    const scale = (width - 2 * pad) / (maxX - minX);
    const height = Math.ceil((maxY - minY) * scale + 2 * pad);
    const project = ([lon, lat]) => [pad + (lon * k - minX) * scale, pad + (-lat - minY) * scale];
    const f1 = (v) => (Math.round(v * 10) / 10).toString();
    const path = (g) => {
      const parts = [];
      for (const poly of polys(g)) for (const ring of poly) {
        let d = '';
        let last = '';
        ring.forEach((c, i) => {
          const [x, y] = project(c);
          const pt = `${f1(x)} ${f1(y)}`;
          if (pt === last) return;
          d += (i === 0 ? 'M' : 'L') + pt;
          last = pt;
        });
        if (d) parts.push(d + 'Z');
      }
      return parts.join('');
    };
    const ringArea = (pts) => {
      let a = 0;
      for (let i = 0, j = pts.length - 1; i < pts.length; j = i++) a += (pts[j][0] * pts[i][1] - pts[i][0] * pts[j][1]);
      return a / 2;
    };
    const area = (g) => polys(g).reduce((s, poly) => s + Math.abs(ringArea(poly[0].map(project))), 0);
    const centroid = (g) => {
      let best = null, bestA = -1;
      for (const poly of polys(g)) {
        const pts = poly[0].map(project);
        const a = Math.abs(ringArea(pts));
        if (a > bestA) { bestA = a; best = pts; }
      }
      if (!best) return [0, 0];
      let cx = 0, cy = 0, a2 = 0;
      for (let i = 0, j = best.length - 1; i < best.length; j = i++) {
        const cr = best[j][0] * best[i][1] - best[i][0] * best[j][1];
        cx += (best[j][0] + best[i][0]) * cr; cy += (best[j][1] + best[i][1]) * cr; a2 += cr;
      }
      if (Math.abs(a2) < 1e-9) return best[0];
      return [cx / (3 * a2), cy / (3 * a2)];
    };
    return { width, height, project, path, area, centroid };
  };

  // ------------------------------------------------------------------ risk colour scale

  /** Yellow-orange-red sequential (ColorBrewer YlOrRd, colour-blind safe), six classes of risk. */
  S.RISK_BINS = [0.1, 0.2, 0.3, 0.4, 0.5];
  S.RISK_COLORS = ['#ffffb2', '#fed976', '#feb24c', '#fd8d3c', '#f03b20', '#bd0026'];
  S.riskColor = function (r) {
    if (!isNum(r)) return '#d9d9d9';
    let i = 0;
    while (i < S.RISK_BINS.length && r >= S.RISK_BINS[i]) i++;
    return S.RISK_COLORS[i];
  };
  S.riskBinLabels = function () {
    const b = S.RISK_BINS;
    return S.RISK_COLORS.map((c, i) => ({
      color: c,
      label: i === 0 ? `< ${b[0].toFixed(2)}` : i === b.length ? `\u2265 ${b[b.length - 1].toFixed(2)}` : `${b[i - 1].toFixed(2)}\u2013${b[i].toFixed(2)}`,
    }));
  };

  let uid = 0;
  /** An SVG <pattern> of diagonal hatching (the mark of a suppressed cell or window). */
  S.hatchPattern = function (id, opts = {}) {
    const size = opts.size || 6;
    return S.svg('pattern', { id, patternUnits: 'userSpaceOnUse', width: size, height: size, patternTransform: 'rotate(45)' },
      S.svg('rect', { width: size, height: size, fill: opts.bg || '#ececec' }),
      S.svg('line', { x1: 0, y1: 0, x2: 0, y2: size, stroke: opts.fg || '#7a7a7a', 'stroke-width': opts.width || 2 }));
  };

  // ------------------------------------------------------------------ SVG chart

  function niceStep(span, count) {
    const raw = span / Math.max(1, count);
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const f = raw / mag;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * mag;
  }
  const TIME_STEPS = [3e5, 6e5, 9e5, 18e5, 36e5, 72e5, 108e5, 216e5, 432e5, 864e5, 1728e5, 6048e5];

  /**
   * Draw a time chart into `svg`.
   * cfg: from, to (ms, x domain), step (window length, ms), series [{label, color, dash, area,
   *   points: [{t: window start ms, v: number|null}], fmt}], suppressed [{start, end}] (hatched),
   *   marks [{start, end, label}], yMax (fixed) or yMinMax (lower bound of the automatic max),
   *   yFmt (tick labels), width, height, compact (no legend, fewer ticks), bare (no axes: a
   *   sparkline), noHover, label (aria).
   * Every series is one <path class="series" data-points="N">; a null value, or a missing window,
   * breaks the path. Returns {points, suppressed, missing}.
   */
  S.chart = function (svg, cfg) {
    const W = cfg.width || 640;
    const H = cfg.height || (cfg.compact ? 70 : 200);
    const m = cfg.bare ? { l: 1, r: 1, t: 2, b: 1 } : cfg.compact ? { l: 30, r: 4, t: 4, b: 14 } : { l: 46, r: 10, t: 22, b: 30 };
    const step = cfg.step || 300000;
    const x0 = cfg.from, x1 = Math.max(cfg.to, cfg.from + step);
    const pw = W - m.l - m.r, ph = H - m.t - m.b;
    const sx = (t) => m.l + ((t - x0) / (x1 - x0)) * pw;
    const fmtY = cfg.yFmt || ((v) => String(Math.round(v * 100) / 100));
    S.clear(svg);
    svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
    svg.setAttribute('role', 'img');
    if (cfg.label) svg.setAttribute('aria-label', cfg.label);

    let vmax = 0;
    for (const s of cfg.series) for (const p of s.points) if (isNum(p.v) && p.v > vmax) vmax = p.v;
    let yMax = cfg.yMax;
    let yStep;
    if (!isNum(yMax)) {
      const target = Math.max(vmax, cfg.yMinMax || 0) || 1;
      yStep = niceStep(target, cfg.compact ? 2 : 4);
      yMax = Math.ceil(target / yStep - 1e-9) * yStep;
      if (yMax <= 0) yMax = yStep;
    } else {
      yStep = niceStep(yMax, cfg.compact ? 2 : 4);
    }
    const sy = (v) => m.t + ph - (Math.min(v, yMax) / yMax) * ph;

    const sid = (svg.id || 'chart') + '-' + (++uid);
    const hatchId = `${sid}-hatch`;
    svg.appendChild(S.svg('defs', null, S.hatchPattern(hatchId, { size: 5, bg: '#f3f3f3', fg: '#b0b0b0', width: 1.5 }),
      S.svg('clipPath', { id: `${sid}-clip` }, S.svg('rect', { x: m.l, y: m.t - 2, width: pw, height: ph + 4 }))));

    // y grid and ticks
    const gAxis = S.svg('g', { class: 'axis' });
    for (let v = 0; v <= yMax + 1e-9; v += yStep) {
      const y = sy(v);
      gAxis.appendChild(S.svg('line', { class: 'grid', x1: m.l, x2: m.l + pw, y1: y, y2: y }));
      gAxis.appendChild(S.svg('text', { class: 'tick y', x: m.l - 4, y: y + 3, 'text-anchor': 'end' }, fmtY(v)));
    }
    // x ticks, aligned to UTC+5 clock time
    const span = x1 - x0;
    const want = cfg.compact ? 3 : 7;
    const tstep = TIME_STEPS.find((s) => span / s <= want) || TIME_STEPS[TIME_STEPS.length - 1];
    let first = Math.ceil((x0 + TZ_MS) / tstep) * tstep - TZ_MS;
    if (tstep >= 864e5 * 7) first = Math.ceil((x0 + TZ_MS) / 864e5) * 864e5 - TZ_MS;
    for (let t = first; t <= x1; t += tstep) {
      const x = sx(t);
      const local = kz(t);
      const midnight = local.h === 0 && local.mi === 0;
      const label = tstep >= 864e5 || (midnight && !cfg.compact) ? S.fmtDay(t) : S.fmtClock(t);
      gAxis.appendChild(S.svg('line', { class: 'grid x', x1: x, x2: x, y1: m.t, y2: m.t + ph }));
      gAxis.appendChild(S.svg('text', { class: 'tick x', x, y: m.t + ph + 12, 'text-anchor': 'middle' }, label));
    }
    gAxis.appendChild(S.svg('line', { class: 'axis-line', x1: m.l, x2: m.l + pw, y1: m.t + ph, y2: m.t + ph }));
    if (!cfg.compact) {
      gAxis.appendChild(S.svg('text', { class: 'axis-title', x: m.l + pw, y: H - 3, 'text-anchor': 'end' }, `time (${S.TZ})`));
    }
    if (!cfg.bare) svg.appendChild(gAxis);

    // suppressed windows (hatched bands) and marks
    const gBands = S.svg('g', { class: 'bands', 'clip-path': `url(#${sid}-clip)` });
    for (const w of cfg.suppressed || []) {
      const xa = sx(w.start), xb = sx(w.end);
      gBands.appendChild(S.svg('rect', { class: 'suppressed-band', x: xa, y: m.t, width: Math.max(1, xb - xa), height: ph, fill: `url(#${hatchId})` },
        S.svg('title', null, `${S.fmtRange(w.start, w.end)}: suppressed (fewer than k authors)`)));
    }
    for (const mk of cfg.marks || []) {
      const xa = sx(mk.start), xb = sx(mk.end);
      gBands.appendChild(S.svg('rect', { class: 'mark-band', x: xa, y: m.t, width: Math.max(2, xb - xa), height: ph },
        S.svg('title', null, mk.label || '')));
    }
    svg.appendChild(gBands);

    // series
    const gSeries = S.svg('g', { class: 'plot', 'clip-path': `url(#${sid}-clip)` });
    let total = 0;
    const stats = [];
    for (const s of cfg.series) {
      const pts = s.points.filter((p) => Number.isFinite(p.t) && p.t >= x0 - step && p.t < x1).sort((a, b) => a.t - b.t);
      const segs = [];
      let cur = null, prevT = null;
      for (const p of pts) {
        if (!isNum(p.v)) { cur = null; prevT = p.t; continue; }
        if (cur && prevT != null && p.t - prevT > step * 1.5) cur = null;
        if (!cur) { cur = []; segs.push(cur); }
        cur.push([sx(p.t + step / 2), sy(Math.max(0, p.v))]);
        prevT = p.t;
      }
      const n = segs.reduce((a, sg) => a + sg.length, 0);
      total += n;
      stats.push(n);
      const r1 = (v) => Math.round(v * 10) / 10;
      if (s.area) {
        const d = segs.map((sg) => `M${r1(sg[0][0])} ${r1(m.t + ph)}` + sg.map(([x, y]) => `L${r1(x)} ${r1(y)}`).join('') +
          `L${r1(sg[sg.length - 1][0])} ${r1(m.t + ph)}Z`).join('');
        gSeries.appendChild(S.svg('path', { class: 'area', d, fill: s.color, 'fill-opacity': 0.18, stroke: 'none' }));
      }
      const d = segs.map((sg) => sg.map(([x, y], i) => `${i ? 'L' : 'M'}${r1(x)} ${r1(y)}`).join('')).join('');
      gSeries.appendChild(S.svg('path', {
        class: 'series', d, fill: 'none', stroke: s.color, 'stroke-width': s.width || (cfg.compact ? 1.5 : 1.8),
        'stroke-dasharray': s.dash, 'stroke-linejoin': 'round', 'stroke-linecap': 'round',
        dataset: { points: n, series: s.key || s.label },
      }, S.svg('title', null, s.label)));
      for (const sg of segs) {
        if (sg.length === 1) gSeries.appendChild(S.svg('circle', { class: 'dot', cx: r1(sg[0][0]), cy: r1(sg[0][1]), r: 2.2, fill: s.color }));
      }
    }
    svg.appendChild(gSeries);

    if (!cfg.series.some((s) => s.points.length)) {
      svg.appendChild(S.svg('text', { class: 'chart-empty', x: m.l + pw / 2, y: m.t + ph / 2, 'text-anchor': 'middle' }, cfg.emptyText || 'no windows in this period'));
    }

    // legend
    if (!cfg.compact && !cfg.bare) {
      const gLeg = S.svg('g', { class: 'legend' });
      let lx = m.l;
      const items = cfg.series.map((s) => ({ s }));
      if ((cfg.suppressed || []).length) items.push({ hatch: true });
      for (const it of items) {
        const label = it.hatch ? 'suppressed (fewer than k authors)' : it.s.label;
        if (it.hatch) {
          gLeg.appendChild(S.svg('rect', { x: lx, y: 5, width: 14, height: 10, fill: `url(#${hatchId})`, stroke: '#999', 'stroke-width': 0.5 }));
        } else {
          gLeg.appendChild(S.svg('line', { x1: lx, x2: lx + 14, y1: 10, y2: 10, stroke: it.s.color, 'stroke-width': 2.5, 'stroke-dasharray': it.s.dash }));
        }
        const txt = S.svg('text', { class: 'legend-text', x: lx + 18, y: 14 }, label);
        gLeg.appendChild(txt);
        lx += 26 + label.length * 5.6;
      }
      svg.appendChild(gLeg);
    }

    // hover read-out
    if (!cfg.noHover && cfg.series.some((s) => s.points.length)) {
      const byT = new Map();
      for (const [i, s] of cfg.series.entries()) for (const p of s.points) {
        if (!byT.has(p.t)) byT.set(p.t, new Array(cfg.series.length).fill(undefined));
        byT.get(p.t)[i] = p.v;
      }
      const ts = Array.from(byT.keys()).sort((a, b) => a - b);
      const supp = new Set((cfg.suppressed || []).map((w) => w.start));
      const gHover = S.svg('g', { class: 'hover', visibility: 'hidden', 'pointer-events': 'none' });
      const vline = S.svg('line', { class: 'hover-line', y1: m.t, y2: m.t + ph });
      const box = S.svg('rect', { class: 'hover-box', rx: 3 });
      const txt = S.svg('text', { class: 'hover-text' });
      gHover.append(vline, box, txt);
      const cap = S.svg('rect', { class: 'hover-capture', x: m.l, y: m.t, width: pw, height: ph, fill: 'transparent' });
      const move = (ev) => {
        const ctm = svg.getScreenCTM();
        if (!ctm) return;
        const pt = svg.createSVGPoint();
        pt.x = ev.clientX; pt.y = ev.clientY;
        const loc = pt.matrixTransform(ctm.inverse());
        const t = x0 + ((loc.x - m.l) / pw) * (x1 - x0) - step / 2;
        let best = null, bd = Infinity;
        for (const tt of ts) { const d = Math.abs(tt - t); if (d < bd) { bd = d; best = tt; } }
        if (best == null || bd > step * 2) { gHover.setAttribute('visibility', 'hidden'); return; }
        const x = sx(best + step / 2);
        vline.setAttribute('x1', x); vline.setAttribute('x2', x);
        const vals = byT.get(best);
        const lines = [S.fmtRange(best, best + step)];
        if (supp.has(best)) lines.push('suppressed (fewer than k authors)');
        else cfg.series.forEach((s, i) => lines.push(`${s.label}: ${vals[i] == null ? '—' : (s.fmt || fmtY)(vals[i])}`));
        S.clear(txt);
        lines.forEach((l, i) => txt.appendChild(S.svg('tspan', { x: 0, dy: i ? 13 : 0 }, l)));
        const bw = Math.max(...lines.map((l) => l.length)) * 6 + 12;
        const bh = lines.length * 13 + 8;
        let bx = x + 8;
        if (bx + bw > W - 2) bx = x - 8 - bw;
        const by = m.t + 2;
        box.setAttribute('x', bx); box.setAttribute('y', by); box.setAttribute('width', bw); box.setAttribute('height', bh);
        txt.setAttribute('transform', `translate(${bx + 6},${by + 14})`);
        for (const ts2 of txt.childNodes) ts2.setAttribute('x', 0);
        gHover.setAttribute('visibility', 'visible');
      };
      cap.addEventListener('mousemove', move);
      cap.addEventListener('mouseleave', () => gHover.setAttribute('visibility', 'hidden'));
      svg.appendChild(cap);
      svg.appendChild(gHover);
    }
    return { points: total, perSeries: stats, yMax };
  };

  // ------------------------------------------------------------------ signals (shared by dashboard and report)

  /** Sort by window start and keep the highest revision of each window. */
  S.normalizeSignals = function (signals) {
    const byStart = new Map();
    for (const s of signals || []) {
      if (!s || !s.window) continue;
      const t = S.toMs(s.window.start);
      if (!Number.isFinite(t)) continue;
      const prev = byStart.get(t);
      if (!prev || (s.revision || 0) >= (prev.revision || 0)) byStart.set(t, s);
    }
    return Array.from(byStart.entries()).sort((a, b) => a[0] - b[0]).map(([t, s]) => Object.assign({ _t: t, _e: S.toMs(s.window.end) }, s));
  };
  S.claimMatches = (s) => (s.suppressed ? null : (s.top_claims || []).reduce((a, c) => a + (Number(c[1]) || 0), 0));

  /** Totals over a period: posts, windows, suppressed, weighted rates, risk and anomaly extremes. */
  S.summarize = function (sigs) {
    const out = { windows: sigs.length, suppressed: 0, published: 0, posts: 0, hostile: 0, neg: 0,
      claimMatches: 0, copies: 0, maxAuthors: null, maxRisk: null, maxRiskAt: null, sumRisk: 0,
      maxAnomaly: null, maxAnomalyAt: null, late: 0, alerts: new Set(), languages: {} };
    for (const s of sigs) {
      if (s.suppressed) { out.suppressed++; continue; }
      out.published++;
      const n = Number(s.n_posts) || 0;
      out.posts += n;
      if (isNum(s.hostility_rate)) out.hostile += s.hostility_rate * n;
      if (s.sentiment && isNum(s.sentiment.neg)) out.neg += s.sentiment.neg * n;
      out.claimMatches += S.claimMatches(s) || 0;
      out.copies += Number(s.copies) || 0;
      out.late += Number(s.late_posts) || 0;
      if (isNum(s.n_authors) && (out.maxAuthors == null || s.n_authors > out.maxAuthors)) out.maxAuthors = s.n_authors;
      if (isNum(s.risk)) {
        out.sumRisk += s.risk;
        if (out.maxRisk == null || s.risk > out.maxRisk) { out.maxRisk = s.risk; out.maxRiskAt = s._t; }
      }
      if (isNum(s.anomaly) && (out.maxAnomaly == null || s.anomaly > out.maxAnomaly)) { out.maxAnomaly = s.anomaly; out.maxAnomalyAt = s._t; }
      if (s.alert_id) out.alerts.add(s.alert_id);
      for (const [l, c] of Object.entries(s.languages || {})) out.languages[l] = (out.languages[l] || 0) + (Number(c) || 0);
    }
    out.hostilityRate = out.posts ? out.hostile / out.posts : null;
    out.negShare = out.posts ? out.neg / out.posts : null;
    out.meanRisk = out.published ? out.sumRisk / out.published : null;
    return out;
  };

  /**
   * The four region charts (#chart-sentiment, #chart-hostility, #chart-claims, #chart-volume) and
   * their notes (.chart-note in the same <figure>). ctx: from, to, step (ms), k.
   */
  S.drawRegionCharts = function (sigs, ctx, root) {
    root = root || document;
    const step = ctx.step;
    const suppressed = sigs.filter((s) => s.suppressed).map((s) => ({ start: s._t, end: s._e || s._t + step }));
    const pts = (f) => sigs.map((s) => ({ t: s._t, v: s.suppressed ? null : f(s) }));
    const sent = (k) => (s) => (s.sentiment && isNum(s.sentiment[k]) ? s.sentiment[k] : null);
    const dec = (v) => { const c = v * 100; return Math.abs(c - Math.round(c)) < 1e-6 ? v.toFixed(2) : v.toFixed(3); };
    const common = { from: ctx.from, to: ctx.to, step, suppressed };
    const expected = Math.max(0, Math.round((ctx.to - ctx.from) / step));
    const missing = Math.max(0, expected - sigs.length);
    const kText = ctx.k ? `fewer than ${ctx.k} authors` : 'fewer than k authors';
    const draw = (id, cfg, what) => {
      const svg = root.querySelector('#' + id);
      if (!svg) return;
      const r = S.chart(svg, Object.assign({}, common, cfg));
      const fig = svg.closest('figure');
      const note = fig && fig.querySelector('.chart-note');
      if (note) {
        const bits = [`${sigs.length - suppressed.length} of ${sigs.length} windows published`];
        if (suppressed.length) bits.push(`${suppressed.length} suppressed (${kText}): hatched gaps, not zeros`);
        if (missing > 0) bits.push(`${missing} window${missing === 1 ? '' : 's'} without data: gaps`);
        note.textContent = bits.join(' \u00b7 ');
      }
      svg.setAttribute('aria-label', `${what}: ${r.points} points drawn; ${suppressed.length} suppressed windows shown as gaps`);
    };
    draw('chart-sentiment', {
      series: [
        { key: 'neg', label: 'negative', color: '#D55E00', points: pts(sent('neg')), fmt: S.fmtPct },
        { key: 'neu', label: 'neutral', color: '#999999', points: pts(sent('neu')), fmt: S.fmtPct, dash: '4 3' },
        { key: 'pos', label: 'positive', color: '#0072B2', points: pts(sent('pos')), fmt: S.fmtPct },
      ], yMax: 1, yFmt: (v) => Math.round(v * 100) + '%',
    }, 'Sentiment shares');
    draw('chart-hostility', {
      series: [
        { key: 'hostility', label: 'hostility rate (share of posts)', color: '#CC3311', area: true, points: pts((s) => s.hostility_rate), fmt: S.fmtPct },
        { key: 'risk', label: 'risk index (0–1)', color: '#222222', dash: '5 3', points: pts((s) => s.risk), fmt: S.fmtRisk },
      ], yMinMax: 0.1, yFmt: dec,
    }, 'Hostility rate and risk index');
    draw('chart-claims', {
      series: [
        { key: 'claims', label: 'verified-claim matches', color: '#E69F00', area: true, points: pts((s) => S.claimMatches(s)), fmt: S.fmtInt },
      ], yMinMax: 4, yFmt: (v) => S.fmtInt(v),
    }, 'Claim matches per window');
    draw('chart-volume', {
      series: [
        { key: 'posts', label: 'posts', color: '#0072B2', area: true, points: pts((s) => s.n_posts), fmt: S.fmtInt },
        { key: 'authors', label: 'distinct authors', color: '#009E73', points: pts((s) => s.n_authors), fmt: S.fmtInt },
        { key: 'copies', label: 'near-duplicate copies', color: '#CC79A7', dash: '3 2', points: pts((s) => s.copies), fmt: S.fmtInt },
      ], yMinMax: 10, yFmt: (v) => S.fmtInt(v),
    }, 'Volume');
    return { suppressed: suppressed.length, missing };
  };

  /** #targets: group mentions over the period's unsuppressed windows, with the latest window. */
  S.renderTargets = function (table, sigs) {
    const tot = {}, wins = {};
    let latest = null;
    for (const s of sigs) {
      if (s.suppressed) continue;
      latest = s;
      for (const [g, c] of Object.entries(s.targets || {})) {
        tot[g] = (tot[g] || 0) + (Number(c) || 0);
        wins[g] = (wins[g] || 0) + 1;
      }
    }
    const rows = Object.keys(tot).sort((a, b) => tot[b] - tot[a] || a.localeCompare(b)).map((g) => [
      g.replace(/_/g, ' '), S.fmtInt(tot[g]), S.fmtInt(wins[g]),
      latest ? S.fmtInt(Number((latest.targets || {})[g]) || 0) : '—',
    ]);
    S.table(table, ['Group mentioned', { label: 'Mentions', num: true }, { label: 'Windows', num: true },
      { label: 'Latest published window', num: true }], rows,
    { empty: 'No group mentions in the published windows of this period.' });
  };

  /** #campaigns: near-duplicate clusters over the period (published lower bounds). */
  S.renderCampaigns = function (table, sigs) {
    const cl = new Map();
    let copies = 0;
    for (const s of sigs) {
      if (s.suppressed) continue;
      copies += Number(s.copies) || 0;
      for (const [id, c] of s.top_dup_clusters || []) {
        const e = cl.get(id) || { id, total: 0, max: 0, windows: 0, first: s._t, last: s._e };
        e.total += Number(c) || 0; e.max = Math.max(e.max, Number(c) || 0); e.windows++; e.last = s._e;
        cl.set(id, e);
      }
    }
    const rows = Array.from(cl.values()).sort((a, b) => b.total - a.total).slice(0, 15).map((e) => [
      { v: S.el('code', { title: String(e.id) }, S.truncate(e.id, 14)), cls: 'nowrap' }, S.fmtInt(e.total), S.fmtInt(e.max),
      S.fmtInt(e.windows), { v: S.fmtSpan(e.first, e.last), cls: 'nowrap' },
    ]);
    S.table(table, ['Cluster', { label: 'Posts (at least)', num: true }, { label: 'Most in a window', num: true },
      { label: 'Windows', num: true }, `Seen (${S.TZ})`], rows,
    { empty: 'No near-duplicate clusters in the published windows of this period.',
      caption: `Near-duplicate copies in the period: ${S.fmtInt(copies)} (posts beyond the first of each cluster)` });
  };

  /** Claims matched in the region over the period, with the registry's text and verdict. */
  S.renderRegionClaims = function (table, sigs, claimsMeta) {
    const tot = {}, wins = {};
    for (const s of sigs) {
      if (s.suppressed) continue;
      for (const [id, c] of s.top_claims || []) { tot[id] = (tot[id] || 0) + (Number(c) || 0); wins[id] = (wins[id] || 0) + 1; }
    }
    const rows = Object.keys(tot).sort((a, b) => tot[b] - tot[a]).map((id) => {
      const meta = (claimsMeta || {})[id] || {};
      return [
        { v: S.el('span', { class: 'claim-text', lang: meta.lang || null, title: meta.source ? `Source: ${meta.source}` : null }, meta.text || id) },
        { v: S.verdictBadge(meta.verdict) }, S.fmtInt(tot[id]), S.fmtInt(wins[id]),
      ];
    });
    S.table(table, ['Claim', 'Verdict', { label: 'Matches', num: true }, { label: 'Windows', num: true }], rows,
      { empty: 'No verified-claim matches in the published windows of this period.' });
  };

  S.verdictBadge = function (verdict) {
    const v = verdict || 'unknown';
    return S.el('span', { class: `badge verdict verdict-${S.token(v)}` }, v);
  };
  S.stateBadge = function (state) {
    return S.el('span', { class: `badge state state-${S.token(state)}` }, String(state || ''));
  };

  /** A <dl> of label/value pairs; values are strings or Nodes. */
  S.facts = function (dl, pairs) {
    S.clear(dl);
    for (const [k, v, title] of pairs) {
      dl.appendChild(S.el('div', { class: 'fact', title },
        S.el('dt', null, k), S.el('dd', null, v == null ? '—' : v)));
    }
    return dl;
  };
})();
