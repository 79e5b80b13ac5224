/* Sarap printable report: /report?region=&from=&to=&resolution= (analyst). Same charts as the
 * dashboard's region view, a summary table and the alerts of the period. */
(function () {
  'use strict';
  const S = window.Sarap;

  S.start({ role: 'analyst', onReady: init });

  async function init() {
    S.$('#print').addEventListener('click', () => window.print());
    const q = new URLSearchParams(location.search);
    const region = q.get('region');
    const [meta] = await Promise.all([S.api('/api/meta'), S.loadGeo()]);
    for (const n of S.$$('.k-value')) n.textContent = String(meta.min_authors_per_cell || 'k');
    if (!region || !S.regionNames[region]) {
      S.$('#report-title').textContent = 'No region chosen';
      S.notify(S.el('span', null, region ? `Unknown region "${region}". ` : 'This report needs a region. ',
        'Open a region on the ', S.el('a', { href: '/' }, 'dashboard'), ' and follow its "Printable report" link.'), 'info');
      return;
    }
    const res = q.get('resolution') || meta.base || '5m';
    const step = S.parseRes(res);
    let to = S.toMs(q.get('to'));
    let from = S.toMs(q.get('from'));
    if (!Number.isFinite(to)) {
      const reg = await S.api('/api/regions');
      S.noteRegionNames(reg.regions);
      to = S.toMs(reg.data_end);
      if (!Number.isFinite(to)) to = Math.floor(Date.now() / step) * step;
    }
    if (!Number.isFinite(from)) from = to - 24 * 3600e3;
    if (from >= to) { S.notify('The period is empty: "from" is not before "to".'); return; }

    const name = S.regionName(region);
    document.title = `Sarap report — ${name} — ${S.fmtRange(from, to)}`;
    S.$('#report').dataset.region = region;
    S.$('#report-title').textContent = name;
    S.$('#report-alt').textContent = S.regionAltNames(region);
    const params = { region, from: S.iso(from), to: S.iso(to), resolution: res };
    S.$('#export-csv').setAttribute('href', '/api/export?' + S.qs(Object.assign({}, params, { format: 'csv' })));
    S.$('#export-json').setAttribute('href', '/api/export?' + S.qs(Object.assign({}, params, { format: 'json' })));

    const limit = Math.ceil((to - from) / step) + 2;
    const [data, alerts] = await Promise.all([
      S.api('/api/signals?' + S.qs(Object.assign({}, params, { limit }))),
      S.api('/api/alerts?' + S.qs({ region, limit: 200 })).catch((e) => ({ error: e })),
    ]);
    const sigs = S.normalizeSignals(data.signals);
    const sum = S.summarize(sigs);

    S.facts(S.$('#report-meta'), [
      ['Region', `${name} (${(S.regionNames[region] || {}).iso || region})`],
      ['Period', S.fmtRange(from, to)],
      ['Window size', `${res} (${S.resLabel(res)})`],
      ['Privacy floor', `k = ${meta.min_authors_per_cell} distinct authors per cell`],
      ['Policy hash', S.el('code', { class: 'hash' }, meta.policy_hash || '—')],
      ['Generated', `${S.fmtTime(Date.now())} by ${S.session.name}`],
    ]);

    const pctOf = (a, b) => (b ? ` (${S.fmtPct(a / b)})` : '');
    S.table(S.$('#summary'), ['Measure', { label: 'Value', num: true }, 'Note'], [
      [{ v: 'Windows', th: true }, S.fmtInt(sum.windows), `${S.resLabel(res)} windows with a signal in the period`],
      [{ v: 'Published windows', th: true }, S.fmtInt(sum.published), ''],
      [{ v: 'Suppressed windows', th: true }, `${S.fmtInt(sum.suppressed)}${pctOf(sum.suppressed, sum.windows)}`,
        `fewer than ${meta.min_authors_per_cell} authors: no numbers released`],
      [{ v: 'Posts', th: true }, S.fmtInt(sum.posts), 'in published windows'],
      [{ v: 'Most distinct authors in a window', th: true }, S.fmtInt(sum.maxAuthors), ''],
      [{ v: 'Hostility rate', th: true }, S.fmtPct(sum.hostilityRate), 'hostile posts / posts, published windows'],
      [{ v: 'Negative sentiment', th: true }, S.fmtPct(sum.negShare), 'mean probability, weighted by posts'],
      [{ v: 'Verified-claim matches', th: true }, `${S.fmtInt(sum.claimMatches)}${pctOf(sum.claimMatches, sum.posts)}`, 'share of posts'],
      [{ v: 'Near-duplicate copies', th: true }, `${S.fmtInt(sum.copies)}${pctOf(sum.copies, sum.posts)}`, 'share of posts'],
      [{ v: 'Mean risk index', th: true }, S.fmtRisk(sum.meanRisk), 'over published windows'],
      [{ v: 'Highest risk index', th: true }, S.fmtRisk(sum.maxRisk), sum.maxRiskAt ? `window starting ${S.fmtTime(sum.maxRiskAt)}` : ''],
      [{ v: 'Highest anomaly (z)', th: true }, S.fmtZ(sum.maxAnomaly), sum.maxAnomalyAt ? `window starting ${S.fmtTime(sum.maxAnomalyAt)}` : 'against the region\'s own baseline'],
      [{ v: 'Late posts (corrections)', th: true }, S.fmtInt(sum.late), ''],
    ]);

    S.drawRegionCharts(sigs, { from, to, step, k: meta.min_authors_per_cell });
    S.renderTargets(S.$('#targets'), sigs);
    S.renderCampaigns(S.$('#campaigns'), sigs);
    S.renderRegionClaims(S.$('#region-claims'), sigs, meta.claims);

    const at = S.$('#report-alerts');
    if (alerts.error) {
      S.fail(alerts.error, at.parentElement.appendChild(S.el('div')));
    } else {
      const inPeriod = (alerts.alerts || []).filter((a) => S.toMs(a.window_start) < to && S.toMs(a.last_window_end || a.window_end) > from);
      S.table(at, ['Raised', 'Raising window', { label: 'Level', num: true }, { label: 'Risk', num: true }, { label: 'Anomaly z (peak)', num: true }, 'State', 'Review'],
        inPeriod.map((a) => ({
          attrs: { class: 'alert-row', dataset: { alertId: a.id, state: a.state } },
          cells: [S.fmtTime(a.raised_at), S.fmtRange(a.window_start, a.window_end), `${a.level} (max ${a.max_level})`,
            S.fmtRisk(a.risk), `${S.fmtZ(a.anomaly)} (${S.fmtZ(a.peak_anomaly)})`, { v: S.stateBadge(a.state) },
            a.review ? `${a.review.decision} by ${a.review.analyst}, ${S.fmtTime(a.review.at)}: ${a.review.reason}` : 'not reviewed'],
        })), { empty: 'No alert in this period.' });
    }
    S.$('#report-footer').textContent = `Source: Sarap API /api/signals (${data.count == null ? sigs.length : data.count} windows). ` +
      'Risk index 0–1 is the weighted mean of the hostile, negative, claim, copy and target-mention shares; ' +
      'the anomaly is a z-score against the region\'s own baseline. Alerts stay open until an analyst reviews them.';
  }
})();
