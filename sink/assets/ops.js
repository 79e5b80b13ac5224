/* Sarap operations page: health and the Prometheus metrics, refreshed every 5 s. */
(function () {
  'use strict';
  const S = window.Sarap;
  const st = { metrics: '', shown: null };

  S.start({ role: 'operator', onReady: init });

  function init() {
    S.$('#metrics-filter').addEventListener('input', renderMetrics);
    S.poll(async () => {
      if (S.$('#ops-pause').checked) return;
      await Promise.all([loadHealth(), loadMetrics()]);
      S.$('#ops-updated').textContent = `refreshed ${S.fmtClock(Date.now(), true)} ${S.TZ}`;
    }, 5000, {
      onOk: () => S.clearNotice('poll'),
      onError: (e) => {
        if (e.status === 401 || e.status === 403) { S.fail(e); return; }
        S.notify(`Refresh failed: ${e.message}. Retrying every 5 s.`, 'error', 'poll');
      },
    });
  }

  function value(v) {
    if (v == null) return S.el('span', { class: 'muted' }, '—');
    if (typeof v === 'boolean') return S.el('span', { class: `badge ${v ? 'ok' : 'bad'}` }, v ? 'ok' : 'not ok');
    if (typeof v === 'number') return Number.isInteger(v) ? S.fmtInt(v) : String(v);
    if (typeof v !== 'object') return String(v);
    const entries = Array.isArray(v) ? v.map((x, i) => [String(i), x]) : Object.entries(v);
    if (!entries.length) return S.el('span', { class: 'muted' }, 'none');
    return S.el('dl', { class: 'kv' }, entries.map(([k, x]) => S.el('div', null, S.el('dt', null, k), S.el('dd', null, value(x)))));
  }

  async function loadHealth() {
    const h = await S.api('/api/ops/health');
    const box = S.$('#health');
    const status = String(h.status || 'unknown');
    box.dataset.status = status;
    S.put(box, S.el('span', { class: `status-pill status-${S.token(status)}` }, status),
      S.el('span', { class: 'health-line' },
        ` version ${h.version || '—'} \u00b7 up ${S.fmtDuration(h.uptime_s)} \u00b7 store ${(h.store && h.store.backend) || '—'} ` +
        `${h.store ? (h.store.ok ? 'ok' : 'NOT OK') : ''}`));
    const pairs = [
      ['Status', status],
      ['Version', h.version || '—'],
      ['Policy hash', S.el('code', { class: 'hash' }, h.policy_hash || '—')],
      ['Uptime', S.fmtDuration(h.uptime_s)],
      ['Store', value(h.store)],
      ['Consumed', value(h.consumed)],
      ['Consumer lag', value(h.lag)],
    ];
    const known = new Set(['status', 'version', 'policy_hash', 'uptime_s', 'store', 'consumed', 'lag']);
    for (const [k, v] of Object.entries(h)) if (!known.has(k)) pairs.push([k, value(v)]);
    S.facts(S.$('#health-details').firstElementChild || S.$('#health-details').appendChild(S.el('dl', { class: 'facts wide' })), pairs);
  }

  async function loadMetrics() {
    st.metrics = await S.api('/api/ops/metrics', { text: true });
    renderMetrics();
  }

  function renderMetrics() {
    const f = S.$('#metrics-filter').value.trim().toLowerCase();
    const lines = st.metrics.split('\n');
    const shown = f ? lines.filter((l) => l.toLowerCase().includes(f)) : lines;
    const text = shown.join('\n');
    const pre = S.$('#metrics');
    // Replace the text only when it changed, so a selection in it survives quiet refreshes.
    if (text !== st.shown) { pre.textContent = text || (f ? 'No line matches the filter.' : 'No metrics.'); st.shown = text; }
    const samples = lines.filter((l) => l && !l.startsWith('#')).length;
    S.$('#metrics-count').textContent = f ? `${shown.length} of ${lines.length} lines` : `${samples} samples`;
  }
})();
