/**
 * The browser half of the incident pages, shared by `replay --report` (data embedded in the page)
 * and `serve`'s /ui/ (data fetched with the token from sessionStorage, polled every 5 s). Plain
 * ES2020 in a string, not a TypeScript module: the project compiles for Node without the DOM
 * types, and a bundler for one small script is more machinery than the script. Everything from
 * the data goes into the page as text (textContent), never as HTML, so an incident's evidence
 * cannot inject markup. Times are formatted in the browser, hence in the viewer's time zone.
 * The page exposes what a test needs as data attributes: data-series-count, data-marker-kind.
 */
export const CLIENT_JS = String.raw`
'use strict';
(function () {
  const PEER_COLORS = ['#1f77b4', '#9467bd', '#8c564b', '#17becf', '#7f7f7f'];
  const MARKER_COLORS = { event: '#ff7f0e', opened: '#d62728', breach: '#b10026', predicted_breach: '#e377c2', recommendation: '#2ca02c', execution: '#006d2c', outcome: '#555' };
  const MITIGATIONS = ['shift_traffic', 'rollback', 'pause_rollout'];
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const fmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
  // Error ratios are 0.0004: the axis needs significant digits, not two decimals.
  const num = new Intl.NumberFormat(undefined, { maximumSignificantDigits: 3 });
  const time = (ms) => (ms === null || ms === undefined ? '—' : fmt.format(new Date(ms)));

  function el(tag, attrs, children) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) {
      if (k === 'text') e.textContent = attrs[k];
      else if (k === 'onclick') e.addEventListener('click', attrs[k]);
      else if (attrs[k] !== undefined && attrs[k] !== null) e.setAttribute(k, String(attrs[k]));
    }
    for (const c of children || []) if (c) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    return e;
  }
  const table = (head, rows, cls) =>
    el('table', { class: cls }, [el('thead', {}, [el('tr', {}, head.map((h) => el('th', { text: h })))]), el('tbody', {}, rows)]);

  /** Vertical markers of one metric's chart: what happened around the incident, in event time. */
  function markersOf(view, metric) {
    const inc = view.incident;
    const m = [{ kind: 'opened', ts: inc.openedAt, label: 'incident opened' }];
    for (const e of view.events) m.push({ kind: 'event', ts: e.ts, label: e.kind + (e.stack ? ' on ' + e.stack : '') + ' (' + e.id + ')' });
    if (inc.breaches[metric] !== undefined) m.push({ kind: 'breach', ts: inc.breaches[metric], label: 'SLO breached' });
    const p = inc.predictions[metric];
    if (p) m.push({ kind: 'predicted_breach', ts: p.breachAt, label: 'breach predicted (at ' + time(p.ts) + ')' });
    for (const r of view.recommendations) {
      if (!MITIGATIONS.includes(r.action)) continue;
      m.push({ kind: 'recommendation', ts: r.ts, label: r.action + (r.percent ? ' ' + r.percent + '%' : '') + ' proposed (now ' + r.status + ')' });
      // Executed at once (no approval): no outcome event marks it, the proposal's time does.
      if (r.status === 'executed' && !view.outcomes.some((o) => o.recommendationId === r.id && (o.outcome === 'executed' || o.outcome === 'approved')))
        m.push({ kind: 'execution', ts: r.ts, label: r.action + ' executed' });
    }
    for (const o of view.outcomes) m.push({ kind: o.outcome === 'executed' ? 'execution' : 'outcome', ts: o.ts, label: o.outcome + (o.by ? ' by ' + o.by : '') });
    return m.sort((a, b) => a.ts - b.ts);
  }

  /** One chart per metric: the culprit's value, expected and warn band, each peer's value, the SLO limit. */
  function chart(view, metric) {
    const inc = view.incident;
    const series = view.series.filter((s) => s.metric === metric);
    const culprit = series.find((s) => s.stack === inc.stack);
    const peers = series.filter((s) => s !== culprit);
    const xs = Array.from(new Set(series.flatMap((s) => s.ts))).sort((a, b) => a - b);
    const at = new Map(xs.map((t, i) => [t, i]));
    const col = (s, f) => {
      const out = new Array(xs.length).fill(null);
      s.ts.forEach((t, i) => (out[at.get(t)] = f(i)));
      return out;
    };
    const defs = [];
    const data = [xs.map((t) => t / 1000)];
    const add = (def, values) => {
      defs.push(def);
      data.push(values);
    };
    if (culprit) {
      add({ label: inc.stack + ' warn upper', stroke: 'rgba(214,39,40,0.35)', width: 1 }, col(culprit, (i) => culprit.upper[i]));
      add({ label: inc.stack + ' warn lower', stroke: 'rgba(214,39,40,0.35)', width: 1 }, col(culprit, (i) => culprit.lower[i]));
      add({ label: inc.stack + ' expected', stroke: '#d62728', dash: [6, 4], width: 1 }, col(culprit, (i) => culprit.expected[i]));
      add({ label: inc.stack + ' (culprit)', stroke: '#d62728', width: 2 }, col(culprit, (i) => culprit.value[i]));
    }
    peers.forEach((s, k) => add({ label: s.stack + ' (peer)', stroke: PEER_COLORS[k % PEER_COLORS.length], width: 1.5 }, col(s, (i) => s.value[i])));
    const gate = (culprit || series[0] || {}).gate;
    if (gate) {
      const limit = gate.relative ? culprit && col(culprit, (i) => culprit.expected[i] * gate.limit) : xs.map(() => gate.limit);
      if (limit) add({ label: 'SLO ' + gate.kind + ' ' + gate.comparator + ' ' + gate.limit + (gate.relative ? ' × expected' : ''), stroke: '#000', dash: [2, 3], width: 1 }, limit);
    }
    const first = xs.length ? xs[0] : inc.openedAt;
    const markers = markersOf(view, metric).filter((m) => m.ts >= first - 3600000);
    const box = el('div', { class: 'chart', 'data-metric': metric, 'data-series-count': defs.length, 'data-series-labels': defs.map((d) => d.label).join('|') });
    const legend = el('ul', { class: 'markers' }, markers.map((m) => el('li', { 'data-marker-kind': m.kind, style: 'border-color:' + MARKER_COLORS[m.kind] }, [el('time', { text: time(m.ts) }), ' ' + m.label])));
    const wrap = el('div', { class: 'metric' }, [el('h4', { text: metric + (culprit ? '' : ' (no points kept for ' + inc.stack + ')') }), box, legend]);
    if (xs.length === 0 || typeof uPlot === 'undefined') {
      box.appendChild(el('p', { class: 'muted', text: 'No recent points kept for this metric (the plot window is lost on restart, and kept for an hour after an incident resolves).' }));
      return wrap;
    }
    const mmin = Math.min(xs[0], ...markers.map((m) => m.ts)) / 1000;
    const mmax = Math.max(xs[xs.length - 1], ...markers.map((m) => m.ts)) / 1000;
    const opts = {
      width: 880,
      height: 240,
      scales: { x: { time: true, range: () => [mmin, mmax] } },
      axes: [{}, { size: 60, values: (u, splits) => splits.map((v) => (v === null ? '' : num.format(v))) }],
      series: [{}].concat(defs.map((d) => Object.assign({ spanGaps: true, points: { show: false } }, d))),
      bands: culprit ? [{ series: [1, 2], fill: 'rgba(214,39,40,0.08)' }] : [],
      hooks: { draw: [(u) => drawMarkers(u, markers)] },
    };
    requestAnimationFrame(() => new uPlot(opts, data, box));
    return wrap;
  }

  function drawMarkers(u, markers) {
    const ctx = u.ctx;
    const dpr = window.devicePixelRatio || 1;
    markers.forEach((m, k) => {
      const x = u.valToPos(m.ts / 1000, 'x', true);
      if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) return;
      ctx.save();
      ctx.strokeStyle = ctx.fillStyle = MARKER_COLORS[m.kind];
      ctx.setLineDash(m.kind === 'predicted_breach' ? [2, 2] : [5, 3]);
      ctx.beginPath();
      ctx.moveTo(x, u.bbox.top);
      ctx.lineTo(x, u.bbox.top + u.bbox.height);
      ctx.stroke();
      ctx.font = 10 * dpr + 'px sans-serif';
      // Staggered: markers minutes apart would print over each other.
      ctx.fillText(m.label.slice(0, 28), x + 3 * dpr, u.bbox.top + (12 + 12 * (k % 4)) * dpr);
      ctx.restore();
    });
  }

  function recommendationRows(view, decide) {
    return view.recommendations.map((r) => {
      const buttons =
        decide && r.status === 'awaiting_approval'
          ? el('td', {}, [
              el('button', { class: 'approve', 'data-rec': r.id, onclick: () => decide(r.id, 'approve'), text: 'Approve' }),
              el('button', { class: 'reject', 'data-rec': r.id, onclick: () => decide(r.id, 'reject'), text: 'Reject' }),
            ])
          : el('td', { text: r.approvedBy ? 'by ' + r.approvedBy : '' });
      return el('tr', { 'data-status': r.status }, [
        el('td', { text: time(r.ts) }),
        el('td', { text: r.action + (r.percent ? ' ' + r.percent + '%' : '') + (r.targets.length ? ' → ' + r.targets.join(', ') : '') }),
        el('td', { class: 'status-' + r.status, text: r.status + (r.blockedBy ? ' (' + r.blockedBy + ')' : '') }),
        el('td', { text: r.confidence.toFixed(2) }),
        el('td', { text: r.reason }),
        buttons,
      ]);
    });
  }

  /** The ten ITR phases of the incident's final recommendation (its latest mitigation, else its latest), with their evidence. */
  function phases(view) {
    const recs = view.recommendations.slice().sort((a, b) => a.ts - b.ts);
    const acts = recs.filter((r) => MITIGATIONS.includes(r.action));
    const last = acts.length ? acts[acts.length - 1] : recs[recs.length - 1];
    if (!last) return el('p', { class: 'muted', text: 'No decision yet.' });
    const rows = last.phases.map((p, i) =>
      el('tr', { class: 'phase-' + p.result }, [el('td', { text: String(i + 1) }), el('td', { text: p.name }), el('td', { text: p.result }), el('td', { text: p.code }), el('td', { text: p.evidence })]),
    );
    const ev = last.evidence;
    const facts = ['persistence', 'magnitude', 'separation', 'businessImpact', 'correlation', 'dataCompleteness', 'minutesToBreach'].map(
      (k) => k + ' ' + (ev[k] === null || ev[k] === undefined ? '—' : Number(ev[k]).toFixed(2)),
    );
    return el('div', { class: 'phases' }, [
      el('h4', { text: 'ITR phases of the final recommendation (' + last.action + ', ' + last.status + ', confidence ' + last.confidence.toFixed(2) + ')' }),
      el('p', { text: 'Cause: ' + last.cause.reason }),
      el('p', { class: 'muted', text: 'Evidence: ' + facts.join(' · ') }),
      table(['#', 'phase', 'result', 'code', 'evidence'], rows, 'phase-table'),
    ]);
  }

  function incidentSection(view, decide) {
    const inc = view.incident;
    const metrics = Array.from(new Set(Object.keys(inc.signals).concat(Object.keys(inc.predictions), Object.keys(inc.breaches), Object.keys(inc.deltas)))).sort();
    return el('section', { class: 'incident', id: inc.id, 'data-incident-id': inc.id }, [
      el('h2', { text: inc.service + ' on ' + inc.stack + ' — ' + inc.status }),
      el('p', { class: 'muted', text: inc.id + ' · opened ' + time(inc.openedAt) + ' · resolved ' + time(inc.resolvedAt) + ' · times in ' + tz }),
      el('h3', { text: 'Recommendations' }),
      view.recommendations.length ? table(['at', 'action', 'status', 'confidence', 'reason', ''], recommendationRows(view, decide), 'recs') : el('p', { class: 'muted', text: 'None.' }),
      phases(view),
      el('h3', { text: 'Series: ' + inc.stack + ' against its peers' }),
    ].concat(metrics.map((m) => chart(view, m))));
  }

  // ---- report: everything embedded --------------------------------------------------------------
  const root = document.getElementById('app');
  const embedded = window.__HARBINGER_REPORT__;
  if (embedded) {
    root.appendChild(el('p', { class: 'muted', text: embedded.views.length + ' incidents from ' + embedded.source + '; times in ' + tz }));
    root.appendChild(el('ul', { class: 'toc' }, embedded.views.map((v) => el('li', {}, [el('a', { href: '#' + v.incident.id, text: v.incident.id + ' (' + v.incident.status + ', ' + time(v.incident.openedAt) + ')' })]))));
    for (const v of embedded.views) root.appendChild(incidentSection(v));
    return;
  }

  // ---- live: /ui/ and /ui/incidents/<id>, the token in sessionStorage, never in a URL -------------
  const store = window.sessionStorage;
  let lastBody = '';
  async function api(path, init) {
    const headers = Object.assign({ authorization: 'Bearer ' + store.getItem('harbinger.token') }, (init && init.headers) || {});
    const r = await fetch(path, Object.assign({}, init, { headers }));
    // A refused read means the token is wrong: sign in again. A refused decision may only mean a
    // read-only token: say so and stay.
    if ((r.status === 401 || r.status === 403) && !(init && init.method === 'POST')) {
      store.removeItem('harbinger.token');
      login((await r.json()).error);
      throw new Error('unauthorized');
    }
    return { status: r.status, body: await r.json() };
  }
  function login(problem) {
    root.replaceChildren(
      el('form', { id: 'login' }, [
        el('h2', { text: 'Sign in' }),
        problem ? el('p', { class: 'error', text: problem }) : null,
        el('label', {}, ['API token ', el('input', { type: 'password', name: 'token', autocomplete: 'current-password', required: 'required' })]),
        el('label', {}, ['Your name, for the audit log ', el('input', { type: 'text', name: 'by', value: store.getItem('harbinger.by') || '' })]),
        el('button', { type: 'submit', text: 'Sign in' }),
      ]),
    );
    document.getElementById('login').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const f = ev.target;
      store.setItem('harbinger.token', f.token.value);
      store.setItem('harbinger.by', f.by.value || 'ui');
      lastBody = '';
      refresh();
    });
  }
  async function decide(id, verdict) {
    const r = await api('/v1/recommendations/' + encodeURIComponent(id) + '/' + verdict, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ by: store.getItem('harbinger.by') || 'ui' }),
    });
    flash(r.status === 200 ? verdict + 'd: ' + r.body.reason : 'refused (' + r.status + '): ' + (r.body.reason || r.body.error));
    lastBody = '';
    refresh();
  }
  function flash(text) {
    document.getElementById('flash').textContent = text;
  }
  async function listPage() {
    const [i, r] = await Promise.all([api('/v1/incidents'), api('/v1/recommendations')]);
    const body = JSON.stringify([i.body, r.body]);
    if (body === lastBody) return;
    lastBody = body;
    const waiting = new Map();
    for (const rec of r.body.recommendations) if (rec.status === 'awaiting_approval') waiting.set(rec.incidentId, (waiting.get(rec.incidentId) || 0) + 1);
    const incs = i.body.incidents.slice().sort((a, b) => (a.status === 'resolved') - (b.status === 'resolved') || b.updatedAt - a.updatedAt).slice(0, 100);
    const rows = incs.map((inc) =>
      el('tr', { 'data-incident-id': inc.id, class: 'status-' + inc.status }, [
        el('td', {}, [el('a', { href: '/ui/incidents/' + encodeURIComponent(inc.id), text: inc.id })]),
        el('td', { text: inc.status }),
        el('td', { text: inc.service + ' / ' + inc.stack }),
        el('td', { text: time(inc.openedAt) }),
        el('td', { text: Object.keys(inc.signals).join(', ') }),
        el('td', { class: waiting.get(inc.id) ? 'waiting' : '', text: waiting.get(inc.id) ? waiting.get(inc.id) + ' awaiting approval' : '' }),
      ]),
    );
    root.replaceChildren(
      el('h2', { text: 'Incidents (open first, then recent)' }),
      rows.length ? table(['incident', 'status', 'service / stack', 'opened', 'metrics', 'approval'], rows, 'incidents') : el('p', { class: 'muted', text: 'No incidents.' }),
    );
  }
  async function incidentPage(id) {
    const r = await api('/v1/incidents/' + encodeURIComponent(id) + '/series');
    const body = JSON.stringify(r.body);
    if (body === lastBody) return;
    lastBody = body;
    if (r.status !== 200) return root.replaceChildren(el('p', { class: 'error', text: r.body.error }));
    root.replaceChildren(el('p', {}, [el('a', { href: '/ui/', text: '← all incidents' })]), incidentSection(r.body, decide));
  }
  async function refresh() {
    // Signed out: the form stays as the user is filling it in (the poll must not redraw it).
    if (!store.getItem('harbinger.token')) return document.getElementById('login') ? undefined : login();
    const m = /^\/ui\/incidents\/([^/]+)$/.exec(location.pathname);
    try {
      await (m ? incidentPage(decodeURIComponent(m[1])) : listPage());
      document.getElementById('updated').textContent = 'updated ' + time(Date.now());
    } catch (e) {
      if (e.message !== 'unauthorized') flash('refresh failed: ' + e.message);
    }
  }
  refresh();
  setInterval(refresh, 5000);
})();
`;
