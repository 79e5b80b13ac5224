/* Sarap dashboard (analyst): map, region view, alert queue, claims spreading, coverage.
 * Polls every 5 s; a tick is skipped while one is in flight; the alert reason textareas are never
 * re-rendered (their text survives refreshes). */
(function () {
  'use strict';
  const S = window.Sarap;

  const st = {
    meta: null,
    geo: null,
    regions: [],          // /api/regions .regions, API order
    byRegion: {},
    dataEnd: null,        // ms
    resolution: '5m',     // /api/regions resolution
    paths: {},            // region id -> <path class="region">
    labels: {},           // region id -> <text>
    rows: {},             // region id -> {tr, cells}
    selected: null,
    rvSeq: 0,             // region-view request sequence (stale answers are dropped)
    rvLoadedFor: null,    // key of the data shown in the region view
    alertNodes: new Map(),   // alert id -> <li>
    drafts: new Map(),       // alert id -> reason text typed so far
    evidence: new Map(),     // alert id -> {key, signals}
    slowAt: 0,               // last refresh of claims / coverage
    slowFor: null,           // data_end the slow panels were loaded for
    poller: null,
  };

  const K = () => (st.meta && st.meta.min_authors_per_cell) || 'k';
  const PERIODS = { '6h': 6 * 3600e3, '24h': 24 * 3600e3, '7d': 7 * 86400e3 };

  S.start({ role: 'analyst', onReady: init });

  async function init() {
    const [meta, geo] = await Promise.all([S.api('/api/meta'), S.loadGeo()]);
    st.meta = meta;
    st.geo = geo;
    for (const n of S.$$('.k-value')) n.textContent = String(K());
    buildMap();
    buildLegend();
    buildRegionTable();
    setupRegionView();
    st.poller = S.poll(tick, 5000, { onOk: () => S.clearNotice('poll'), onError: pollError });
    window.addEventListener('hashchange', fromHash);
  }

  function pollError(e) {
    if (e && (e.status === 401 || (e.status === 403 && S.session && S.session.role !== 'analyst'))) { S.fail(e); return; }
    S.notify(`Refresh failed: ${e && e.message ? e.message : e}. The page keeps the last data and retries every 5 s.`, 'error', 'poll');
  }

  // ------------------------------------------------------------------ tick

  async function tick() {
    const regionsP = S.api('/api/regions');
    const alertsP = loadAlerts().then(() => S.put(S.$('#alerts-error')), (e) => {
      if (e.status === 401) throw e;
      if (e.status === 403 && S.session.role !== 'analyst') throw e;
      S.fail(e, S.$('#alerts-error'));
    });
    const reg = await regionsP;
    applyRegions(reg);
    await alertsP;

    // Slower panels: when new data arrived, else at most once a minute. Each has its own guard.
    const now = Date.now();
    if (st.slowFor !== st.dataEnd || now - st.slowAt > 60000) {
      st.slowFor = st.dataEnd;
      st.slowAt = now;
      S.once('claims', loadClaims).catch((e) => S.fail(e, S.$('#claims-error')));
      S.once('coverage', loadCoverage).catch((e) => S.fail(e, S.$('#coverage-error')));
      if (st.selected) S.once('region-poll', () => loadRegionView(false)).catch((e) => S.fail(e, S.$('#rv-status')));
    }
  }

  function applyRegions(reg) {
    st.regions = reg.regions || [];
    st.resolution = reg.resolution || st.resolution;
    st.byRegion = {};
    for (const r of st.regions) st.byRegion[r.region] = r;
    S.noteRegionNames(st.regions);
    const de = S.toMs(reg.data_end);
    st.dataEnd = Number.isFinite(de) ? de : null;
    updateMap();
    updateRegionTable();
    const withData = st.regions.filter((r) => r.latest).length;
    const supp = st.regions.filter((r) => r.latest && r.latest.suppressed).length;
    const u = S.$('#updated');
    S.put(u,
      S.el('span', { class: 'data-time' }, st.dataEnd ? `Data up to ${S.fmtTime(st.dataEnd)}` : 'No data received yet'),
      S.el('span', { class: 'sep' }, ' \u00b7 '),
      S.el('span', { class: 'refresh-time' }, `refreshed ${S.fmtClock(Date.now(), true)} ${S.TZ}`),
      S.el('span', { class: 'sep' }, ' \u00b7 '),
      `${withData} of ${st.regions.length} regions with data, ${supp} suppressed`);
    if (st.dataEnd) u.dataset.dataEnd = S.iso(st.dataEnd);
    S.$('#map-sub').textContent = `latest ${S.resAdj(st.resolution)} window of each region`;
  }

  // ------------------------------------------------------------------ map

  function buildMap() {
    const svg = S.$('#map');
    const feats = (st.geo.features || []).slice();
    const proj = S.projection(feats, { width: 1000, pad: 12 });
    svg.setAttribute('viewBox', `0 0 ${proj.width} ${proj.height}`);
    svg.appendChild(S.svg('defs', null, S.hatchPattern('map-hatch', { size: 7, bg: '#e6e6e6', fg: '#8c8c8c', width: 2 })));
    const g = S.svg('g', { class: 'regions' });
    const gl = S.svg('g', { class: 'map-labels', 'aria-hidden': 'true' });
    // Large regions first so the three cities are drawn on top and stay clickable.
    feats.sort((a, b) => proj.area(b.geometry) - proj.area(a.geometry));
    for (const f of feats) {
      const id = f.properties.region;
      const path = S.svg('path', {
        class: 'region', d: proj.path(f.geometry), tabindex: 0, role: 'button',
        // data-state is set only once /api/regions has answered (tests wait for it).
        dataset: { region: id }, fill: '#f7f7f7',
      }, S.svg('title', null, S.regionName(id)));
      path.addEventListener('click', () => selectRegion(id, true));
      path.addEventListener('keydown', (ev) => {
        if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); selectRegion(id, true); }
      });
      path.addEventListener('mouseenter', () => showMapInfo(id));
      path.addEventListener('focus', () => showMapInfo(id));
      g.appendChild(path);
      st.paths[id] = path;
      if (proj.area(f.geometry) > 1500) {
        const [cx, cy] = proj.centroid(f.geometry);
        const t = S.svg('text', { class: 'map-label', x: cx.toFixed(1), y: cy.toFixed(1), 'text-anchor': 'middle' }, '');
        gl.appendChild(t);
        st.labels[id] = t;
      }
    }
    svg.appendChild(g);
    svg.appendChild(gl);
    svg.addEventListener('mouseleave', () => showMapInfo(st.selected));
  }

  function regionState(r) {
    const sig = r && r.latest;
    if (!sig) return 'nodata';
    return sig.suppressed ? 'suppressed' : 'ok';
  }

  function regionSummaryText(id) {
    const r = st.byRegion[id];
    const sig = r && r.latest;
    const state = regionState(r);
    let s;
    if (state === 'nodata') s = 'no data';
    else if (state === 'suppressed') s = `suppressed (fewer than ${K()} authors), window ${S.fmtRange(sig.window.start, sig.window.end)}`;
    else {
      s = `risk ${S.fmtRisk(sig.risk)}, anomaly z ${S.fmtZ(sig.anomaly)}, ${S.fmtInt(sig.n_posts)} posts, ` +
        `hostility ${S.fmtPct(sig.hostility_rate)}, window ${S.fmtRange(sig.window.start, sig.window.end)}`;
    }
    if (r && r.active_alert) s += `; alert level ${r.active_alert.level} (${r.active_alert.state})`;
    if (r && r.open_alerts) s += `; ${r.open_alerts} open alert${r.open_alerts === 1 ? '' : 's'}`;
    return s;
  }

  function updateMap() {
    for (const [id, path] of Object.entries(st.paths)) {
      const r = st.byRegion[id];
      const state = regionState(r);
      const sig = r && r.latest;
      path.dataset.state = state;
      if (state === 'ok' && S.isNum(sig.risk)) {
        path.dataset.risk = String(sig.risk);
        path.setAttribute('fill', S.riskColor(sig.risk));
      } else {
        delete path.dataset.risk;
        path.setAttribute('fill', state === 'suppressed' ? 'url(#map-hatch)' : state === 'ok' ? '#d9d9d9' : '#fbfbfb');
      }
      path.classList.toggle('alerting', !!(r && r.active_alert));
      path.classList.toggle('selected', st.selected === id);
      const alt = S.regionAltNames(id);
      const title = `${S.regionName(id)}${alt ? ` (${alt})` : ''}: ${regionSummaryText(id)}`;
      path.querySelector('title').textContent = title;
      path.setAttribute('aria-label', title);
      const lab = st.labels[id];
      if (lab) {
        lab.textContent = state === 'ok' ? S.fmtRisk(sig.risk) : state === 'suppressed' ? 'suppr.' : 'no data';
        lab.setAttribute('class', `map-label label-${state}${state === 'ok' && sig.risk >= 0.4 ? ' on-dark' : ''}`);
      }
    }
    showMapInfo(st.hover || st.selected);
  }

  function showMapInfo(id) {
    st.hover = id;
    const box = S.$('#map-info');
    if (!id || !st.paths[id]) { S.put(box, S.el('span', { class: 'muted' }, 'Point at a region for details; click it to open the region view.')); return; }
    const alt = S.regionAltNames(id);
    S.put(box, S.el('strong', null, S.regionName(id)), alt ? S.el('span', { class: 'muted' }, ` ${alt}`) : null,
      S.el('br'), regionSummaryText(id));
  }

  function buildLegend() {
    const lg = S.$('#legend');
    S.clear(lg);
    const sw = (fill, extra) => {
      const svg = S.svg('svg', { class: 'swatch', width: 22, height: 14, viewBox: '0 0 22 14', 'aria-hidden': 'true' });
      if (extra) svg.appendChild(S.svg('defs', null, extra));
      svg.appendChild(S.svg('rect', { x: 0.5, y: 0.5, width: 21, height: 13, fill, stroke: '#888', 'stroke-width': 1 }));
      return svg;
    };
    lg.appendChild(S.el('span', { class: 'legend-title' }, 'Risk index (0–1) of the latest window:'));
    for (const b of S.riskBinLabels()) {
      lg.appendChild(S.el('span', { class: 'legend-item' }, sw(b.color), b.label));
    }
    lg.appendChild(S.el('span', { class: 'legend-item legend-suppressed' },
      sw('url(#legend-hatch)', S.hatchPattern('legend-hatch', { size: 7, bg: '#e6e6e6', fg: '#8c8c8c', width: 2 })),
      `suppressed: fewer than ${K()} distinct authors (not zero)`));
    const nd = sw('#fbfbfb');
    nd.querySelector('rect').setAttribute('stroke-dasharray', '2 2');
    lg.appendChild(S.el('span', { class: 'legend-item legend-nodata' }, nd, 'no data'));
    const al = sw('none');
    al.querySelector('rect').setAttribute('stroke', '#000');
    al.querySelector('rect').setAttribute('stroke-width', '2.5');
    lg.appendChild(S.el('span', { class: 'legend-item' }, al, 'black outline: active alert'));
  }

  // ------------------------------------------------------------------ region table

  function buildRegionTable() {
    const table = S.$('#region-table');
    S.table(table, ['Region', { label: 'Risk', num: true }, { label: 'Anomaly z', num: true },
      { label: 'Posts', num: true }, { label: 'Hostility', num: true }, { label: 'Open alerts', num: true }, 'Latest window'], []);
    const tbody = table.querySelector('tbody');
    S.clear(tbody);
    for (const f of st.geo.features || []) {
      const id = f.properties.region;
      const btn = S.el('button', { type: 'button', class: 'linklike', title: S.regionAltNames(id) }, S.regionName(id));
      btn.addEventListener('click', () => selectRegion(id, true));
      const cells = [S.el('td'), S.el('td', { class: 'num' }), S.el('td', { class: 'num' }), S.el('td', { class: 'num' }),
        S.el('td', { class: 'num' }), S.el('td', { class: 'num' }), S.el('td')];
      cells[0].appendChild(btn);
      const tr = S.el('tr', { dataset: { region: id } }, cells);
      tbody.appendChild(tr);
      st.rows[id] = { tr, cells };
    }
  }

  function updateRegionTable() {
    const tbody = S.$('#region-table tbody');
    // Keep the API's fixed order.
    for (const r of st.regions) if (st.rows[r.region]) tbody.appendChild(st.rows[r.region].tr);
    for (const [id, row] of Object.entries(st.rows)) {
      const r = st.byRegion[id];
      const state = regionState(r);
      const sig = r && r.latest;
      const c = row.cells;
      row.tr.dataset.state = state;
      row.tr.classList.toggle('selected', st.selected === id);
      const btn = c[0].querySelector('button');
      if (btn.textContent !== S.regionName(id)) btn.textContent = S.regionName(id);
      if (state === 'ok') {
        c[1].textContent = S.fmtRisk(sig.risk);
        c[1].style.setProperty('--swatch', S.riskColor(sig.risk));
        c[1].className = 'num risk-cell';
        c[2].textContent = S.fmtZ(sig.anomaly);
        c[3].textContent = S.fmtInt(sig.n_posts);
        c[4].textContent = S.fmtPct(sig.hostility_rate);
      } else {
        c[1].textContent = state === 'suppressed' ? 'suppressed' : 'no data';
        c[1].className = `num ${state}`;
        c[1].style.removeProperty('--swatch');
        for (const i of [2, 3, 4]) c[i].textContent = '—';
      }
      c[5].textContent = r ? String(r.open_alerts || 0) : '—';
      c[5].classList.toggle('has-alerts', !!(r && r.open_alerts));
      c[6].textContent = sig ? S.fmtRange(sig.window.start, sig.window.end) : '—';
    }
  }

  // ------------------------------------------------------------------ region view

  function setupRegionView() {
    const resSel = S.$('#resolution');
    S.clear(resSel);
    for (const r of st.meta.resolutions || ['5m', '1h', '1d']) {
      resSel.appendChild(S.el('option', { value: r }, `${r} (${S.resLabel(r)})`));
    }
    resSel.value = st.meta.base || (st.meta.resolutions || ['5m'])[0];
    S.$('#period').addEventListener('change', () => {
      // Pick the finest window size that keeps the chart readable (at most ~300 points).
      const span = PERIODS[S.$('#period').value];
      const opts = Array.from(resSel.options).map((o) => o.value).sort((a, b) => S.parseRes(a) - S.parseRes(b));
      const fit = opts.find((r) => span / S.parseRes(r) <= 300);
      if (fit) resSel.value = fit;
      loadRegionView(true);
    });
    resSel.addEventListener('change', () => loadRegionView(true));
    S.$('#region-close').addEventListener('click', () => {
      st.selected = null;
      S.$('#region-view').hidden = true;
      S.$('#region-view').dataset.region = '';
      if (location.hash) history.replaceState(null, '', location.pathname + location.search);
      updateMap();
      updateRegionTable();
    });
    fromHash();
  }

  function fromHash() {
    const m = /region=([a-z_]+)/.exec(location.hash || '');
    if (m && st.paths[m[1]] && st.selected !== m[1]) selectRegion(m[1], false);
  }

  function selectRegion(id, scroll) {
    st.selected = id;
    const view = S.$('#region-view');
    view.hidden = false;
    view.dataset.region = id;
    S.$('#rv-title').textContent = S.regionName(id);
    S.$('#rv-alt').textContent = S.regionAltNames(id);
    if (('#region=' + id) !== location.hash) history.replaceState(null, '', `${location.pathname}${location.search}#region=${id}`);
    st.rvLoadedFor = null;
    updateMap();
    updateRegionTable();
    renderLatest();
    loadRegionView(true);
    if (scroll) view.scrollIntoView({ behavior: 'smooth', block: 'start' });
  }

  function renderLatest() {
    const id = st.selected;
    if (!id) return;
    const r = st.byRegion[id];
    const sig = r && r.latest;
    const dl = S.$('#rv-latest');
    if (!sig) { S.facts(dl, [['Latest window', 'no data']]); return; }
    if (sig.suppressed) {
      S.facts(dl, [['Latest window', S.fmtRange(sig.window.start, sig.window.end)],
        ['Status', S.el('span', { class: 'suppressed-text' }, `suppressed (fewer than ${K()} authors)`)]]);
      return;
    }
    S.facts(dl, [
      ['Latest window', S.fmtRange(sig.window.start, sig.window.end)],
      ['Risk', riskChip(sig.risk)],
      ['Anomaly z', S.fmtZ(sig.anomaly), 'z-score against the region\'s own baseline; n/a during warm-up'],
      ['Posts', S.fmtInt(sig.n_posts)],
      ['Distinct authors', S.fmtInt(sig.n_authors)],
      ['Hostility', S.fmtPct(sig.hostility_rate)],
      ['Negative', S.fmtPct(sig.sentiment && sig.sentiment.neg)],
      ['Copies', S.fmtInt(sig.copies)],
      ['Alert', sig.alert && sig.alert !== 'none' ? S.stateBadge(sig.alert) : 'none'],
    ]);
  }

  /** A risk value with its colour swatch (set through CSSOM, which a strict CSP allows). */
  function riskChip(risk) {
    const chip = S.el('span', { class: 'risk-chip' }, S.fmtRisk(risk));
    chip.style.setProperty('--swatch', S.riskColor(risk));
    return chip;
  }

  function regionQuery() {
    const res = S.$('#resolution').value || 'base';
    const step = S.parseRes(res);
    const span = PERIODS[S.$('#period').value] || PERIODS['24h'];
    const end = st.dataEnd;
    const to = end;
    // Align to the window grid in local time (day windows start at midnight UTC+5).
    const tz = 5 * 3600e3;
    const from = Math.floor((end - span + tz) / step) * step - tz;
    return { res, step, from, to, key: `${st.selected}|${res}|${from}|${to}` };
  }

  /** Load the region view's signals. force: a user action (always runs, newest wins). */
  async function loadRegionView(force) {
    const id = st.selected;
    if (!id) return;
    renderLatest();
    const status = S.$('#rv-status');
    if (!st.dataEnd) {
      status.textContent = 'No data yet.';
      return;
    }
    const q = regionQuery();
    setRegionLinks(id, q);
    if (!force && st.rvLoadedFor === q.key) return;
    const seq = ++st.rvSeq;
    status.textContent = 'Loading…';
    const limit = Math.ceil((q.to - q.from) / q.step) + 2;
    const data = await S.api('/api/signals?' + S.qs({ region: id, from: S.iso(q.from), to: S.iso(q.to), resolution: q.res, limit }));
    if (seq !== st.rvSeq || st.selected !== id) return;   // a newer request or another region
    const sigs = S.normalizeSignals(data.signals);
    st.rvLoadedFor = q.key;
    const r = S.drawRegionCharts(sigs, { from: q.from, to: q.to, step: q.step, k: K() });
    S.renderTargets(S.$('#targets'), sigs);
    S.renderCampaigns(S.$('#campaigns'), sigs);
    S.renderRegionClaims(S.$('#region-claims'), sigs, st.meta.claims);
    const sum = S.summarize(sigs);
    status.textContent = `${S.fmtRange(q.from, q.to)}, ${S.resAdj(q.res)} windows: ${sigs.length} windows ` +
      `(${r.suppressed} suppressed, shown as gaps), ${S.fmtInt(sum.posts)} posts in published windows` +
      (data.count != null && data.count > sigs.length ? `; ${data.count} matched, first ${sigs.length} shown` : '') + '.';
  }

  function setRegionLinks(id, q) {
    const params = { region: id, from: S.iso(q.from), to: S.iso(q.to), resolution: q.res };
    S.$('#export-csv').setAttribute('href', '/api/export?' + S.qs(Object.assign({}, params, { format: 'csv' })));
    S.$('#export-json').setAttribute('href', '/api/export?' + S.qs(Object.assign({}, params, { format: 'json' })));
    S.$('#report-link').setAttribute('href', '/report?' + S.qs(params));
  }

  // ------------------------------------------------------------------ alerts

  async function loadAlerts() {
    const [open, conf, dism] = await Promise.all([
      S.api('/api/alerts?state=open&limit=200'),
      S.api('/api/alerts?state=confirmed&limit=10'),
      S.api('/api/alerts?state=dismissed&limit=10'),
    ]);
    const openList = open.alerts || [];
    const reviewed = [...(conf.alerts || []), ...(dism.alerts || [])]
      .sort((a, b) => S.toMs((b.review && b.review.at) || b.raised_at) - S.toMs((a.review && a.review.at) || a.raised_at))
      .slice(0, 10);
    renderAlerts(openList, reviewed);
  }

  function renderAlerts(openList, reviewed) {
    const ul = S.$('#alerts');
    const seen = new Set();
    const ordered = [];
    for (const a of [...openList, ...reviewed]) {
      if (seen.has(a.id)) continue;
      seen.add(a.id);
      let li = st.alertNodes.get(a.id);
      if (!li) { li = createAlertNode(a); st.alertNodes.set(a.id, li); }
      updateAlertNode(li, a);
      ordered.push(li);
    }
    // Remove items no longer listed (keep one the user is typing in).
    for (const [id, li] of st.alertNodes) {
      if (seen.has(id)) continue;
      if (li.contains(document.activeElement)) { ordered.push(li); continue; }
      li.remove();
      st.alertNodes.delete(id);
    }
    // Reorder only when the order changed, so a focused textarea is not moved.
    const current = Array.from(ul.children);
    const same = current.length === ordered.length && current.every((n, i) => n === ordered[i]);
    if (!same) for (const li of ordered) ul.appendChild(li);
    const active = openList.filter((a) => a.active).length;
    S.$('#alerts-summary').textContent = openList.length
      ? `${openList.length} open alert${openList.length === 1 ? '' : 's'} waiting for review (${active} still active)` +
        `${reviewed.length ? `; the last ${reviewed.length} reviewed below` : ''}.`
      : `No open alerts.${reviewed.length ? ` The last ${reviewed.length} reviewed below.` : ''}`;
  }

  function createAlertNode(a) {
    const li = S.el('li', { class: 'alert', dataset: { alertId: a.id, state: a.state } });
    li.appendChild(S.el('div', { class: 'alert-head' }));
    li.appendChild(S.el('dl', { class: 'alert-facts facts' }));
    const ev = S.el('details', { class: 'evidence' }, S.el('summary', null, 'Evidence (aggregates)'), S.el('div', { class: 'evidence-body' }));
    ev.addEventListener('toggle', () => { if (ev.open) ensureEvidence(li, li._alert); });
    li.appendChild(ev);
    li.appendChild(S.el('div', { class: 'review-slot' }));
    return li;
  }

  function updateAlertNode(li, a) {
    li._alert = a;
    li.dataset.state = a.state;
    li.classList.toggle('level-2', a.level >= 2);
    li.classList.toggle('inactive', !a.active);
    const name = S.el('button', { type: 'button', class: 'linklike region-name', title: S.regionAltNames(a.region) }, S.regionName(a.region));
    name.addEventListener('click', () => selectRegion(a.region, true));
    S.put(li.querySelector('.alert-head'),
      S.el('span', { class: `badge level level-${S.token(a.level)}` }, `Level ${a.level}`), ' ', name, ' ',
      S.stateBadge(a.state), ' ',
      S.el('span', { class: 'muted' }, a.active ? 'condition active' : 'condition cleared'));
    S.facts(li.querySelector('.alert-facts'), [
      ['Raised', S.fmtTime(a.raised_at)],
      ['Raising window', S.fmtRange(a.window_start, a.window_end)],
      ['Last window', S.fmtTime(a.last_window_end)],
      ['Risk', S.fmtRisk(a.risk)],
      ['Anomaly z', `${S.fmtZ(a.anomaly)} (peak ${S.fmtZ(a.peak_anomaly)})`],
      ['Max level', String(a.max_level == null ? '—' : a.max_level)],
    ]);
    const ev = li.querySelector('.evidence');
    if (a.state === 'open' && !ev.dataset.autoOpened) { ev.open = true; ev.dataset.autoOpened = '1'; }
    if (ev.open) ensureEvidence(li, a);
    const slot = li.querySelector('.review-slot');
    if (a.state === 'open') {
      if (!slot.querySelector('.review-form')) S.put(slot, reviewForm(li, a));
    } else {
      const r = a.review || {};
      const verb = a.state === 'confirmed' ? 'Confirmed' : a.state === 'dismissed' ? 'Dismissed' : a.state;
      const info = S.el('p', { class: 'review-info' }, S.el('strong', null, `${verb} by ${r.analyst || 'unknown'}`),
        ` at ${S.fmtTime(r.at)}: `, S.el('q', null, r.reason || ''));
      const old = slot.querySelector('.review-info');
      if (!old || old.textContent !== info.textContent) S.put(slot, info);
    }
  }

  function reviewForm(li, a) {
    const tid = `reason-${S.token(a.id)}-${Math.random().toString(36).slice(2, 7)}`;
    const ta = S.el('textarea', { class: 'reason', id: tid, rows: 2, placeholder: 'Why confirm or dismiss? (required, at least 3 characters)' });
    ta.value = st.drafts.get(a.id) || '';
    ta.addEventListener('input', () => {
      st.drafts.set(a.id, ta.value);
      ta.removeAttribute('aria-invalid');
    });
    const msg = S.el('p', { class: 'review-msg', role: 'alert' });
    // A shared analyst token (named after its role) does not say who reviews: ask, and
    // remember it for this browser session.
    const shared = !!S.session && S.session.name === S.session.role;
    let who = null;
    if (shared) {
      const wid = `${tid}-who`;
      const input = S.el('input', { class: 'reviewer', id: wid, type: 'text', maxlength: 200, autocomplete: 'name', placeholder: 'Your name (recorded with the review)' });
      input.value = sessionStorage.getItem('sarap.reviewer') || '';
      who = S.el('div', { class: 'review-who' }, S.el('label', { for: wid }, 'Reviewed by'), input);
    }
    const confirm = S.el('button', { type: 'button', class: 'confirm' }, 'Confirm');
    const dismiss = S.el('button', { type: 'button', class: 'dismiss' }, 'Dismiss');
    confirm.addEventListener('click', () => review(li, 'confirm'));
    dismiss.addEventListener('click', () => review(li, 'dismiss'));
    return S.el('div', { class: 'review-form' }, who,
      S.el('label', { for: tid }, 'Reason for the review'), ta,
      S.el('div', { class: 'review-buttons' }, confirm, dismiss), msg);
  }

  async function review(li, decision) {
    const a = li._alert;
    const ta = li.querySelector('textarea.reason');
    const msg = li.querySelector('.review-msg');
    const reason = ta.value.trim();
    if (reason.length < 3) {
      msg.textContent = reason.length === 0
        ? 'A reason is required: write why you confirm or dismiss this alert.'
        : 'A reason is required: at least 3 characters.';
      ta.setAttribute('aria-invalid', 'true');
      ta.focus();
      return;
    }
    const whoInput = li.querySelector('input.reviewer');
    const body = { decision, reason };
    if (whoInput) {
      const name = whoInput.value.trim();
      if (!name) {
        msg.textContent = 'Say who reviews: this sign-in token is shared, so the review records the name you give.';
        whoInput.setAttribute('aria-invalid', 'true');
        whoInput.focus();
        return;
      }
      sessionStorage.setItem('sarap.reviewer', name);
      body.analyst = name;
    }
    const buttons = S.$$('button', li.querySelector('.review-form'));
    buttons.forEach((b) => { b.disabled = true; });
    msg.textContent = decision === 'confirm' ? 'Confirming…' : 'Dismissing…';
    try {
      const updated = await S.api(`/api/alerts/${encodeURIComponent(a.id)}/review`, { method: 'POST', body });
      st.drafts.delete(a.id);
      updateAlertNode(li, updated && updated.id ? updated : Object.assign({}, a, { state: decision === 'confirm' ? 'confirmed' : 'dismissed' }));
      S.$('#alerts-summary').textContent = `Alert ${decision === 'confirm' ? 'confirmed' : 'dismissed'} for ${S.regionName(a.region)}.`;
    } catch (e) {
      if (e.status === 401) return;
      buttons.forEach((b) => { b.disabled = false; });
      msg.textContent = e.status === 409 ? `${e.message || 'Already reviewed.'} Refreshing the queue.` : (e.message || String(e));
      if (e.status === 409 && st.poller) st.poller.run();
    }
  }

  function ensureEvidence(li, a) {
    if (!a) return;
    const key = `${a.id}|${a.last_window_end}`;
    const have = st.evidence.get(a.id);
    if (have && have.key === key) {
      if (li.querySelector('.evidence-body').dataset.key !== key) renderEvidence(li, a, have.signals, key);
      return;
    }
    S.once(`evidence:${key}`, async () => {
      const body = li.querySelector('.evidence-body');
      if (!have) S.put(body, S.el('p', { class: 'muted' }, 'Loading evidence…'));
      const from = S.toMs(a.window_start) - 2 * 3600e3;
      const to = S.toMs(a.last_window_end);
      const base = (st.meta && st.meta.base) || st.resolution || '5m';
      const data = await S.api('/api/signals?' + S.qs({ region: a.region, from: S.iso(from), to: S.iso(to), resolution: base, limit: 2000 }));
      const sigs = S.normalizeSignals(data.signals);
      st.evidence.set(a.id, { key, signals: sigs });
      renderEvidence(li, li._alert || a, sigs, key);
    }).catch((e) => S.fail(e, li.querySelector('.evidence-body')));
  }

  function topList(obj, n, label) {
    const entries = Array.isArray(obj) ? obj.map(([k, v]) => [k, Number(v) || 0]) : Object.entries(obj || {}).map(([k, v]) => [k, Number(v) || 0]);
    entries.sort((x, y) => y[1] - x[1]);
    return entries.slice(0, n).map(([k, v]) => `${label ? label(k) : k} ${v}`).join(', ') || 'none';
  }

  function renderEvidence(li, a, sigs, key) {
    const body = li.querySelector('.evidence-body');
    body.dataset.key = key;
    const ws = S.toMs(a.window_start);
    const raising = sigs.find((s) => s._t === ws && !s.suppressed);
    const claimText = (id) => {
      const c = st.meta.claims && st.meta.claims[id];
      return c ? `\u201c${S.truncate(c.text, 60)}\u201d (${c.verdict})` : id;
    };
    const kids = [];
    if (raising) {
      kids.push(S.facts(S.el('dl', { class: 'facts evidence-facts' }), [
        ['Hostility', S.fmtPct(raising.hostility_rate)],
        ['Posts', S.fmtInt(raising.n_posts)],
        ['Authors', S.fmtInt(raising.n_authors)],
        ['Negative', S.fmtPct(raising.sentiment && raising.sentiment.neg)],
        ['Copies', S.fmtInt(raising.copies)],
      ]));
      kids.push(S.el('p', { class: 'evidence-line' }, S.el('span', { class: 'k' }, 'Top targets: '), topList(raising.targets, 4, (g) => g.replace(/_/g, ' '))));
      kids.push(S.el('p', { class: 'evidence-line' }, S.el('span', { class: 'k' }, 'Top claims: '), topList(raising.top_claims, 3, claimText)));
    } else {
      kids.push(S.el('p', { class: 'muted' }, 'The raising window is not in the store any more or is not published.'));
    }
    const step = S.parseRes((st.meta && st.meta.base) || '5m');
    const svg = S.svg('svg', { class: 'spark', role: 'img' });
    kids.push(S.el('div', { class: 'evidence-trend' }, S.el('span', { class: 'k' }, 'Risk trend, 2 h before to the last window:'), svg));
    S.put(body, kids);
    const from = S.toMs(a.window_start) - 2 * 3600e3;
    const to = S.toMs(a.last_window_end);
    S.chart(svg, {
      compact: true, width: 360, height: 74, from, to, step,
      series: [{ key: 'risk', label: 'risk', color: '#CC3311', points: sigs.map((s) => ({ t: s._t, v: s.suppressed ? null : s.risk })), fmt: S.fmtRisk }],
      suppressed: sigs.filter((s) => s.suppressed).map((s) => ({ start: s._t, end: s._e })),
      marks: [{ start: ws, end: S.toMs(a.window_end), label: 'raising window' }],
      yMinMax: 0.3, yFmt: (v) => v.toFixed(1), label: `Risk trend for ${S.regionName(a.region)}`,
    });
  }

  // ------------------------------------------------------------------ claims spreading

  async function loadClaims() {
    const data = await S.api('/api/claims/spread?hours=6');
    S.put(S.$('#claims-error'));
    S.$('#claims-sub').textContent = data.from && data.to ? S.fmtRange(data.from, data.to) : 'last 6 h of data';
    const rows = (data.claims || []).map((c) => {
      const spark = S.svg('svg', { class: 'spark mini', 'aria-hidden': 'true' });
      const series = (c.series || []).map((p) => ({ t: S.toMs(p.start), v: Number(p.count) || 0 }));
      const regions = (c.regions || []).slice(0, 3).map((r) => `${S.regionName(r.region)} ${S.fmtInt(r.count)}`).join(', ') || '—';
      const rising = S.isNum(c.growth) && c.growth >= 2 && c.last_hour >= 3;
      const row = {
        attrs: { class: ['claim', rising ? 'rising' : null], dataset: { claimId: c.claim_id } },
        cells: [
          { v: S.el('span', { class: 'claim-text', lang: c.lang || null, title: c.text || '' }, c.text || c.claim_id), cls: 'claim-cell' },
          { v: S.verdictBadge(c.verdict) },
          { v: S.fmtInt(c.total), num: true },
          { v: S.fmtInt(c.last_hour), num: true },
          { v: S.fmtInt(c.prev_hour), num: true },
          { v: S.el('span', { class: rising ? 'growth rising' : 'growth' }, S.fmtGrowth(c.growth)), num: true },
          { v: regions, cls: 'regions-cell' },
          { v: spark },
        ],
      };
      row._draw = () => {
        if (!series.length) return;
        const step = S.parseRes((st.meta && st.meta.base) || '5m');
        const from = S.toMs(data.from) || series[0].t;
        const to = S.toMs(data.to) || series[series.length - 1].t + step;
        S.chart(spark, { bare: true, noHover: true, width: 120, height: 28, from, to, step,
          series: [{ key: 'count', label: 'matches per window', color: '#E69F00', area: true, points: series }] });
      };
      return row;
    });
    S.table(S.$('#claims-table'), ['Claim', 'Verdict', { label: 'Total', num: true }, { label: 'Last hour', num: true },
      { label: 'Hour before', num: true }, { label: 'Growth', num: true, title: 'last hour / max(hour before, 1)' }, 'Top regions', 'Trend'],
    rows, { empty: 'No registry claims matched in this period.' });
    rows.forEach((r) => r._draw());
  }

  // ------------------------------------------------------------------ coverage

  async function loadCoverage() {
    const c = await S.api('/api/coverage');
    S.put(S.$('#coverage-error'));
    S.$('#coverage-sub').textContent = c.from && c.to ? S.fmtRange(c.from, c.to) : 'last 24 h of data';
    const share = S.$('#unknown-share');
    share.textContent = S.fmtPct(c.unknown_share);
    share.classList.toggle('warn', S.isNum(c.unknown_share) && c.unknown_share >= 0.1);
    S.$('#coverage-facts').textContent =
      `${S.fmtInt(c.unknown_region)} of ${S.fmtInt(c.total)} posts had no known region. ` +
      `${S.fmtInt(c.suppressed_cells)} of ${S.fmtInt(c.cells)} cells were suppressed (fewer than ${K()} authors); ` +
      'their posts are not counted in the table.';
    const order = ['kk', 'ru', 'en', 'other'];
    const langs = new Set(Object.keys(c.by_language || {}));
    for (const v of Object.values(c.by_region || {})) for (const l of Object.keys(v || {})) langs.add(l);
    const cols = [...order.filter((l) => langs.has(l)), ...[...langs].filter((l) => !order.includes(l)).sort()];
    const ids = [...st.regions.map((r) => r.region), ...Object.keys(c.by_region || {}).filter((id) => id !== 'unknown' && !st.byRegion[id])];
    if ((c.by_region || {}).unknown) ids.push('unknown');
    const rows = ids.filter((id) => (c.by_region || {})[id] || id !== 'unknown').map((id) => {
      const v = (c.by_region || {})[id] || {};
      const tot = cols.reduce((s, l) => s + (Number(v[l]) || 0), 0);
      return { attrs: { dataset: { region: id }, class: id === 'unknown' ? 'unknown-row' : null },
        cells: [{ v: S.regionName(id), th: true }, ...cols.map((l) => S.fmtInt(Number(v[l]) || 0)), S.fmtInt(tot)] };
    });
    const totAll = cols.reduce((s, l) => s + (Number((c.by_language || {})[l]) || 0), 0);
    rows.push({ attrs: { class: 'total-row' }, cells: [{ v: 'All posts', th: true }, ...cols.map((l) => S.fmtInt(Number((c.by_language || {})[l]) || 0)), S.fmtInt(totAll)] });
    S.table(S.$('#coverage-table'), ['Region', ...cols.map((l) => ({ label: l, num: true })), { label: 'Total', num: true }], rows,
      { caption: 'Posts per language and region (published cells)' });
  }
})();
