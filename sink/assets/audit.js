/* Sarap auditor workbench: chain verification, decisions (filtered or a stratified sample),
 * decision detail with model cards, reviews, and agreement per language and label. */
(function () {
  'use strict';
  const S = window.Sarap;

  const PAGE = 50;
  const st = { offset: 0, total: 0, mode: 'list', selected: null, listSeq: 0, detailSeq: 0, sampleInfo: null };

  S.start({ role: 'auditor', onReady: init });

  async function init() {
    try {
      await S.loadGeo();
      const sel = S.$('#filter-region');
      const ids = Object.keys(S.regionNames).sort((a, b) => S.regionName(a).localeCompare(S.regionName(b)));
      for (const id of ids) sel.appendChild(S.el('option', { value: id }, S.regionName(id)));
      sel.appendChild(S.el('option', { value: 'unknown' }, 'Unknown region'));
    } catch (e) {
      S.fail(e);
    }
    S.$('#verify').addEventListener('click', () => verify());
    S.$('#filters').addEventListener('submit', (ev) => { ev.preventDefault(); st.mode = 'list'; st.offset = 0; loadList(); });
    S.$('#sample-form').addEventListener('submit', (ev) => { ev.preventDefault(); st.mode = 'sample'; loadSample(); });
    S.$('#page-prev').addEventListener('click', () => { st.offset = Math.max(0, st.offset - PAGE); loadList(); });
    S.$('#page-next').addEventListener('click', () => { st.offset += PAGE; loadList(); });
    S.$('#review-form').addEventListener('submit', (ev) => { ev.preventDefault(); submitReview(); });
    window.addEventListener('hashchange', fromHash);
    await Promise.all([
      verify(),
      loadList(),
      loadAgreement(),
    ]);
    fromHash();
  }

  function fromHash() {
    const m = /(?:^#|&)d=([^&]+)/.exec(location.hash || '');
    if (m) {
      const id = decodeURIComponent(m[1]);
      if (id !== st.selected) openDecision(id);
    }
  }

  // ------------------------------------------------------------------ chain

  async function verify() {
    const box = S.$('#chain-status');
    const btn = S.$('#verify');
    btn.disabled = true;
    box.dataset.ok = '';
    box.className = 'chain-status checking';
    box.textContent = 'Verifying the hash chains…';
    try {
      const v = await S.api('/api/audit/verify');
      const chains = v.chains || {};
      const nChains = Object.keys(chains).length;
      box.dataset.ok = v.ok ? 'true' : 'false';
      box.className = `chain-status ${v.ok ? 'ok' : 'broken'}`;
      if (v.ok) {
        box.textContent = `Chain verified: ${S.fmtInt(v.records)} records in ${nChains} chains`;
      } else {
        const b = v.break || {};
        box.textContent = `Chain BROKEN at chain ${b.chain == null ? '?' : b.chain} seq ${b.seq == null ? '?' : b.seq}: ${b.reason || 'unknown reason'}`;
      }
      const det = S.$('#chain-details');
      const items = Object.entries(chains).sort((a, b) => b[1] - a[1])
        .map(([id, n]) => S.el('li', null, S.el('code', null, id), `: ${S.fmtInt(n)} records`));
      const extra = [];
      extra.push(S.el('p', null, `Checked ${S.fmtTime(Date.now(), { seconds: true })}. ` +
        `Repeated decisions (the same decision recorded again after a redelivery): ${S.fmtInt(v.repeated_decisions || 0)}.`));
      if (!v.ok && v.break) {
        const b = v.break;
        const link = b.decision_id ? S.el('button', { type: 'button', class: 'linklike' }, `open decision ${b.decision_id}`) : null;
        if (link) link.addEventListener('click', () => openDecision(b.decision_id));
        extra.push(S.el('p', { class: 'break-detail' }, `Position ${b.position == null ? '?' : b.position} in the log. `, link));
      }
      if (items.length) extra.push(S.el('details', null, S.el('summary', null, `${nChains} chains`), S.el('ul', { class: 'chains' }, items)));
      extra.push(S.el('p', { class: 'hint' }, 'Verification detects changed, deleted, rewritten or duplicated records; ' +
        'records cut off the end of a chain need the chain ids from the analyzer logs (docs/AUDIT.md).'));
      S.put(det, extra);
    } catch (e) {
      box.dataset.ok = '';
      box.className = 'chain-status';
      box.textContent = 'Verification could not run.';
      S.fail(e, S.$('#chain-details'));
    } finally {
      btn.disabled = false;
    }
  }

  // ------------------------------------------------------------------ decision list

  async function loadList() {
    const seq = ++st.listSeq;
    const params = {
      lang: S.$('#filter-lang').value, region: S.$('#filter-region').value,
      label: S.$('#filter-label').value.trim(), limit: PAGE, offset: st.offset,
    };
    S.$('#list-status').textContent = 'Loading decisions…';
    try {
      const data = await S.api('/api/audit/decisions?' + S.qs(params));
      if (seq !== st.listSeq) return;
      st.total = Number(data.total) || 0;
      renderList(data.decisions || [], false);
      const n = (data.decisions || []).length;
      const filt = [params.lang && `language ${params.lang}`, params.region && `region ${S.regionName(params.region)}`,
        params.label && `label ${params.label}`].filter(Boolean).join(', ');
      S.$('#list-status').textContent = `${S.fmtInt(st.total)} decisions${filt ? ` with ${filt}` : ''}, newest first.`;
      S.$('#page-info').textContent = n ? `${S.fmtInt(st.offset + 1)}–${S.fmtInt(st.offset + n)} of ${S.fmtInt(st.total)}` : '';
      S.$('#page-prev').disabled = st.offset === 0;
      S.$('#page-next').disabled = st.offset + n >= st.total;
      S.$('.pager').hidden = false;
    } catch (e) {
      if (seq === st.listSeq) { S.$('#list-status').textContent = ''; S.fail(e, S.$('#list-status')); }
    }
  }

  async function loadSample() {
    const seq = ++st.listSeq;
    const n = Math.max(1, Math.min(500, parseInt(S.$('#sample-n').value, 10) || 20));
    const by = S.$('#sample-by').value || 'lang,region';
    const seed = parseInt(S.$('#sample-seed').value, 10);
    S.$('#list-status').textContent = 'Drawing a sample…';
    const btn = S.$('#sample-run');
    btn.disabled = true;
    try {
      const data = await S.api('/api/audit/sample?' + S.qs({ n, by, seed: Number.isFinite(seed) ? seed : 1 }));
      if (seq !== st.listSeq) return;
      renderList(data.decisions || [], true);
      S.$('#list-status').textContent = `Stratified sample: ${(data.decisions || []).length} decisions from ${S.fmtInt(data.strata)} strata ` +
        `by ${(data.by || by.split(',')).join(' × ')} (seed ${Number.isFinite(seed) ? seed : 1}). Use "Apply filters" to return to the full list.`;
      S.$('.pager').hidden = true;
    } catch (e) {
      if (seq === st.listSeq) { S.$('#list-status').textContent = ''; S.fail(e, S.$('#list-status')); }
    } finally {
      btn.disabled = false;
    }
  }

  function labelChips(labels) {
    return S.el('span', { class: 'chips' }, (labels || []).map((l) =>
      S.el('span', { class: `chip label-${S.token(String(l).split(':')[0])}` }, l)));
  }

  function renderList(list, sample) {
    const headers = ['Decision', `Time (${S.TZ})`, 'Lang', 'Region', 'Labels', { label: 'Hostility', num: true },
      { label: 'Neg.', num: true }, { label: 'Reviews', num: true }];
    if (sample) headers.splice(1, 0, 'Stratum');
    const rows = list.map((d) => {
      const btn = S.el('button', { type: 'button', class: 'linklike mono', title: d.decision_id }, S.truncate(d.decision_id, 13));
      btn.addEventListener('click', () => openDecision(d.decision_id));
      const scores = d.scores || {};
      const cells = [
        { v: btn, cls: 'nowrap' }, { v: `${S.fmtDay(d.at)} ${S.fmtClock(d.at, true)}`, cls: 'nowrap', title: S.fmtTime(d.at, { seconds: true }) },
        d.lang || '—', S.regionName(d.region), { v: labelChips(d.labels) },
        S.fmtNum(scores.hostility, 2), S.fmtNum(scores['sentiment.neg'] != null ? scores['sentiment.neg'] : scores.neg, 2),
        { v: String(d.reviews || 0), cls: d.reviews ? 'reviewed' : null },
      ];
      if (sample) cells.splice(1, 0, d.stratum || '—');
      return { attrs: { class: ['decision', d.decision_id === st.selected ? 'selected' : null], dataset: { decisionId: d.decision_id }, tabindex: -1 }, cells };
    });
    S.table(S.$('#decisions'), headers, rows, { empty: sample ? 'The sample is empty.' : 'No decisions match.' });
    for (const tr of S.$$('#decisions tr.decision')) {
      tr.addEventListener('click', (ev) => {
        if (ev.target.closest('button')) return;
        openDecision(tr.dataset.decisionId);
      });
    }
  }

  // ------------------------------------------------------------------ decision detail

  async function openDecision(id) {
    const seq = ++st.detailSeq;
    st.selected = id;
    for (const tr of S.$$('#decisions tr.decision')) tr.classList.toggle('selected', tr.dataset.decisionId === id);
    const panel = S.$('#decision');
    panel.dataset.decisionId = id;
    if (location.hash !== '#d=' + encodeURIComponent(id)) history.replaceState(null, '', `${location.pathname}${location.search}#d=${encodeURIComponent(id)}`);
    const body = S.$('#decision-body');
    S.put(body, S.el('p', { class: 'muted' }, 'Loading the decision…'));
    S.$('#review-box').hidden = true;
    try {
      const data = await S.api(`/api/audit/decisions/${encodeURIComponent(id)}`);
      if (seq !== st.detailSeq) return;
      renderDecision(data);
      S.$('#review-msg').textContent = '';
      S.$('#note').value = '';
      S.$('#verdict').value = 'agree';
      S.$('#review-box').hidden = false;
      renderReviews(data.reviews || []);
      if (window.innerWidth < 1100) panel.scrollIntoView({ behavior: 'smooth', block: 'start' });
    } catch (e) {
      if (seq === st.detailSeq) S.fail(e, body);
    }
  }

  const fmtScore = (v) => (S.isNum(v) ? v.toFixed(4) : v == null ? '—' : String(v));
  const yesNo = (v) => (v === true ? 'yes' : v === false ? 'no' : v == null ? '—' : String(v));

  /** Generic, depth-limited rendering of a JSON value as nested <dl>s (text only). */
  function kv(value, depth = 0) {
    if (value == null) return S.el('span', { class: 'muted' }, 'null');
    if (typeof value !== 'object') return String(value);
    if (Array.isArray(value)) {
      if (!value.length) return S.el('span', { class: 'muted' }, 'none');
      if (value.every((x) => x == null || typeof x !== 'object')) return value.map(String).join(', ');
      if (depth > 2) return JSON.stringify(value);
      return S.el('ol', { class: 'kv-list' }, value.map((x) => S.el('li', null, kv(x, depth + 1))));
    }
    const keys = Object.keys(value);
    if (!keys.length) return S.el('span', { class: 'muted' }, 'empty');
    if (depth > 2) return JSON.stringify(value);
    return S.el('dl', { class: 'kv' }, keys.map((k) => S.el('div', null, S.el('dt', null, k), S.el('dd', null, kv(value[k], depth + 1)))));
  }

  function renderDecision(data) {
    const rec = data.record || {};
    const ex = rec.explanation || {};
    const model = rec.model || {};
    const body = S.$('#decision-body');
    const parts = [];

    parts.push(S.el('div', { class: 'decision-head' },
      S.el('code', { class: 'decision-id' }, rec.decision_id || '—'), ' ',
      S.el('span', { class: `badge ${data.hash_ok ? 'ok' : 'bad'}`, id: 'hash-status', dataset: { ok: String(!!data.hash_ok) } },
        data.hash_ok ? 'hash verified' : 'HASH MISMATCH: the record does not match its hash')));

    parts.push(S.facts(S.el('dl', { class: 'facts wide' }), [
      ['Decided at', S.fmtTime(rec.at, { seconds: true })],
      ['Chain / seq', `${rec.chain || '—'} / ${rec.seq == null ? '—' : rec.seq}`],
      ['Language', `${ex.lang || '—'}${ex.script ? ` (${ex.script})` : ''}${S.isNum(ex.lang_confidence) ? `, confidence ${S.fmtPct(ex.lang_confidence)}` : ''}${ex.code_switched ? ', code-switched' : ''}`],
      ['Region', `${S.regionName(ex.region)}${ex.region_source ? ` (from ${ex.region_source})` : ''}`],
      ['Model', S.el('span', null, `${model.id || '—'} `, S.el('span', { class: 'muted' }, `version ${model.version || '—'}`))],
      ['Model sha256', S.el('code', { class: 'hash' }, model.sha256 || '—')],
      ['Policy hash', S.el('code', { class: 'hash' }, rec.policy_hash || '—')],
      ['Post key', S.el('code', { class: 'hash' }, rec.post_key || '—')],
      ['Input sha256', S.el('code', { class: 'hash' }, rec.input_sha256 || '—')],
      ['Hash', S.el('code', { class: 'hash' }, rec.hash || '—')],
      ['Previous hash', S.el('code', { class: 'hash' }, rec.prev_hash || '—')],
      ['Near-duplicate cluster', ex.dup_cluster ? S.el('code', null, ex.dup_cluster) : 'none'],
    ]));

    // Excerpt, only while retention allows.
    const exBox = S.el('div', { id: 'excerpt', class: 'excerpt' });
    if (rec.excerpt != null && rec.excerpt !== '') {
      exBox.appendChild(S.el('h3', null, 'Excerpt (redacted text, first 280 characters)'));
      exBox.appendChild(S.el('blockquote', { lang: ex.lang && ex.lang !== 'other' ? ex.lang : null }, rec.excerpt));
      if (data.excerpt_expires) exBox.appendChild(S.el('p', { class: 'muted' }, `The excerpt is deleted by the retention policy on ${S.fmtTime(data.excerpt_expires)}.`));
      exBox.dataset.present = 'true';
    } else {
      exBox.dataset.present = 'false';
      exBox.appendChild(S.el('p', { class: 'expired' }, 'excerpt expired by the retention policy'));
    }
    parts.push(exBox);

    // Labels, scores, thresholds.
    parts.push(S.el('h3', null, 'Labels'));
    parts.push(labelChips(rec.labels));
    const scores = rec.scores || {};
    const thr = rec.thresholds || {};
    const thrFor = (k) => (thr[k] != null ? thr[k] : null);
    const rows = Object.keys(scores).sort().map((k) => {
      const t = thrFor(k);
      const over = S.isNum(t) && S.isNum(scores[k]) ? scores[k] >= t : null;
      return [k, fmtScore(scores[k]), t == null ? '' : fmtScore(t), over == null ? '' : over ? 'at or above' : 'below'];
    });
    for (const k of Object.keys(thr)) if (!(k in scores)) rows.push([k, '—', fmtScore(thr[k]), '']);
    parts.push(S.table(S.el('table', { class: 'data compact scores' }), ['Score', { label: 'Value', num: true },
      { label: 'Threshold', num: true }, 'Against threshold'], rows, { empty: 'No scores recorded.' }));

    // Explanation.
    parts.push(S.el('h3', null, 'Explanation'));
    const groups = ex.groups || [];
    parts.push(S.el('p', null, S.el('span', { class: 'k' }, 'Groups mentioned (lexicon): '),
      groups.length ? groups.map((g) => `${g.group} (\u201c${g.form}\u201d)`).join(', ') : 'none'));
    const nc = ex.nearest_claim;
    if (nc) {
      parts.push(S.facts(S.el('dl', { class: 'facts' }), [
        ['Nearest claim', S.el('code', null, nc.claim_id || '—')],
        ['Verdict', S.verdictBadge(nc.verdict)],
        ['Matched', yesNo(nc.matched)],
        ['Raw cosine', fmtScore(nc.similarity)],
        ['Centred score', fmtScore(nc.score), 'cosine minus the post\'s mean cosine to the registry claims in that claim\'s language'],
        ['Claim language', nc.claim_lang || '—'],
      ]));
    } else {
      parts.push(S.el('p', null, S.el('span', { class: 'k' }, 'Nearest claim: '), 'none'));
    }
    const known = new Set(['groups', 'nearest_claim', 'lang', 'script', 'lang_confidence', 'code_switched', 'region', 'region_source', 'dup_cluster']);
    const rest = {};
    for (const [k, v] of Object.entries(ex)) if (!known.has(k)) rest[k] = v;
    if (Object.keys(rest).length) parts.push(S.el('div', { class: 'explanation-rest' }, kv(rest)));

    // Model cards.
    parts.push(S.el('h3', null, 'Model cards'));
    const cards = data.cards || {};
    const cardList = S.el('div', { class: 'cards' });
    for (const name of ['encoder', 'sentiment', 'hostility', ...Object.keys(cards).filter((k) => !['encoder', 'sentiment', 'hostility'].includes(k))]) {
      const c = cards[name];
      if (c === undefined && !['encoder', 'sentiment', 'hostility'].includes(name)) continue;
      cardList.appendChild(renderCard(name, c));
    }
    parts.push(cardList);

    parts.push(S.el('details', { class: 'raw' }, S.el('summary', null, 'Full stored record (JSON)'),
      S.el('pre', null, JSON.stringify(rec, null, 2))));
    S.put(body, parts);
  }

  function renderCard(name, c) {
    if (!c) return S.el('div', { class: 'card missing' }, S.el('strong', null, name), ': no card available.');
    const head = `${name}: ${c.id || c.model_id || ''} ${c.version ? `version ${c.version}` : ''}`.trim();
    const kids = [S.el('summary', null, head)];
    const pairs = [];
    if (c.sha256) pairs.push(['sha256', S.el('code', { class: 'hash' }, c.sha256)]);
    if (c.thresholds) pairs.push(['Thresholds', Object.entries(c.thresholds).map(([k, v]) => `${k} ${v}`).join(', ')]);
    if (c.intended_use) pairs.push(['Intended use', c.intended_use]);
    if (c.avoid) pairs.push(['Not for', c.avoid]);
    if (pairs.length) kids.push(S.facts(S.el('dl', { class: 'facts wide' }), pairs));
    if (c.eval && typeof c.eval === 'object') {
      const langs = Object.keys(c.eval).filter((k) => c.eval[k] && typeof c.eval[k] === 'object' && !Array.isArray(c.eval[k]));
      if (langs.length) {
        const metrics = Array.from(new Set(langs.flatMap((l) => Object.keys(c.eval[l]))));
        kids.push(S.table(S.el('table', { class: 'data compact' }), ['Evaluation', ...metrics.map((mm) => ({ label: mm, num: true }))],
          langs.map((l) => [{ v: l, th: true }, ...metrics.map((mm) => {
            const v = c.eval[l][mm];
            return S.isNum(v) ? (Number.isInteger(v) ? String(v) : v.toFixed(3)) : v == null ? '—' : String(v);
          })])));
      }
    }
    kids.push(S.el('details', { class: 'raw' }, S.el('summary', null, 'Card JSON'), S.el('pre', null, JSON.stringify(c, null, 2))));
    return S.el('details', { class: 'card' }, kids);
  }

  function reviewItem(r) {
    return S.el('li', { class: `review verdict-${S.token(r.verdict)}` },
      S.el('span', { class: `badge ${r.verdict === 'agree' ? 'ok' : 'bad'}` }, r.verdict), ' ',
      S.el('strong', null, r.auditor || 'unknown'), ' ', S.el('span', { class: 'muted' }, S.fmtTime(r.at)),
      r.note ? S.el('p', { class: 'review-note' }, r.note) : null);
  }

  function renderReviews(list) {
    const ul = S.$('#reviews');
    S.clear(ul);
    if (!list.length) { ul.appendChild(S.el('li', { class: 'muted empty' }, 'No reviews yet.')); return; }
    for (const r of list) ul.appendChild(reviewItem(r));
  }

  async function submitReview() {
    const id = st.selected;
    if (!id) return;
    const msg = S.$('#review-msg');
    const btn = S.$('#review-submit');
    const verdict = S.$('#verdict').value;
    const note = S.$('#note').value.trim();
    btn.disabled = true;
    msg.textContent = 'Saving…';
    try {
      const r = await S.api(`/api/audit/decisions/${encodeURIComponent(id)}/review`, { method: 'POST', body: { verdict, note } });
      msg.textContent = 'Review saved.';
      S.$('#note').value = '';
      const ul = S.$('#reviews');
      const empty = ul.querySelector('.empty');
      if (empty) empty.remove();
      const rv = r && r.verdict ? r : { verdict, note, auditor: S.session && S.session.name, at: new Date().toISOString() };
      ul.appendChild(reviewItem(rv));
      const row = S.$(`#decisions tr.decision[data-decision-id="${CSS.escape(id)}"]`);
      if (row) {
        const cell = row.lastElementChild;
        cell.textContent = String((parseInt(cell.textContent, 10) || 0) + 1);
        cell.classList.add('reviewed');
      }
      loadAgreement();
    } catch (e) {
      if (e.status !== 401) msg.textContent = e.message || String(e);
    } finally {
      btn.disabled = false;
    }
  }

  // ------------------------------------------------------------------ agreement

  async function loadAgreement() {
    try {
      const a = await S.api('/api/audit/agreement');
      const rows = a.rows || [];
      const langOrder = ['kk', 'ru', 'en', 'other'];
      const langs = Array.from(new Set(rows.map((r) => r.lang)))
        .sort((x, y) => (langOrder.indexOf(x) + 1 || 99) - (langOrder.indexOf(y) + 1 || 99) || String(x).localeCompare(String(y)));
      const labels = Array.from(new Set(rows.map((r) => r.label))).sort();
      const cell = (r) => (r && r.reviewed ? `${S.fmtPct(r.agreement)} (${r.agree}/${r.reviewed})` : '—');
      const out = labels.map((label) => {
        const per = langs.map((l) => rows.find((r) => r.lang === l && r.label === label));
        const rev = per.reduce((s, r) => s + ((r && r.reviewed) || 0), 0);
        const agr = per.reduce((s, r) => s + ((r && r.agree) || 0), 0);
        const shares = per.filter((r) => r && r.reviewed).map((r) => r.agreement);
        const gap = shares.length > 1 ? Math.max(...shares) - Math.min(...shares) : null;
        return {
          attrs: { dataset: { label } },
          cells: [{ v: label, th: true }, ...per.map((r, i) => ({ v: cell(r), num: true, cls: r && r.reviewed && r.agreement < 0.7 ? 'low' : null, title: `${langs[i]} · ${label}` })),
            { v: rev ? `${S.fmtPct(agr / rev)} (${agr}/${rev})` : '—', num: true },
            { v: gap == null ? '—' : `${(gap * 100).toFixed(1)} pts`, num: true, cls: gap != null && gap >= 0.1 ? 'low' : null }],
        };
      });
      S.table(S.$('#agreement'), ['Label', ...langs.map((l) => ({ label: l, num: true })), { label: 'All languages', num: true },
        { label: 'Gap between languages', num: true }], out, { empty: 'No reviews yet.' });
      const o = a.overall || {};
      S.$('#agreement-overall').textContent = o.reviewed
        ? `Overall: ${S.fmtPct(o.agreement)} agreement over ${S.fmtInt(o.reviewed)} reviewed decisions (${S.fmtInt(o.agree)} agreed).`
        : 'No decision has been reviewed yet.';
    } catch (e) {
      S.fail(e, S.$('#agreement-overall'));
    }
  }
})();
