// The infera dashboard: polls GET /v1/models/{model}/monitoring and draws it with Chart.js.
/* global Chart */

const REFRESH_MS = 2000;
const COLORS = ['#2e90fa', '#f79009', '#7a5af8', '#12b76a', '#f04438', '#667085'];
const state = { models: [], model: null, driftVersion: null, charts: {}, renders: 0 };

const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const pct = (v) => (v === null || v === undefined ? '–' : `${(v * 100).toFixed(v < 0.01 && v > 0 ? 2 : 1)}%`);
const num = (v, d = 3) => (v === null || v === undefined ? '–' : Number(v).toFixed(d));
const time = (t) =>
  new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const color = (i) => COLORS[i % COLORS.length];

Chart.defaults.animation = false;
Chart.defaults.maintainAspectRatio = false;
Chart.defaults.font.family = 'system-ui, sans-serif';

function chart(id, config) {
  if (!state.charts[id]) state.charts[id] = new Chart($(id), config);
  return state.charts[id];
}

function update(id, config) {
  const c = chart(id, config);
  c.data = config.data;
  if (config.options) c.options = config.options;
  c.update('none');
}

async function getJson(path) {
  const res = await fetch(path, { cache: 'no-store' });
  const body = await res.json();
  if (!res.ok) throw new Error(body.error || `${res.status} ${res.statusText}`);
  return body;
}

/** With many models the buttons show at most this many at once; the filter finds the rest. */
const MAX_MODEL_BUTTONS = 40;

async function loadModels() {
  const { models } = await getJson('/v1/models');
  state.models = models.map((m) => m.name);
  const wanted = decodeURIComponent(location.hash.slice(1));
  state.model = state.models.includes(wanted)
    ? wanted
    : state.models.includes('fraud-detector')
      ? 'fraud-detector'
      : state.models[0];
  const filter = $('model-filter');
  filter.hidden = state.models.length <= 8;
  filter.oninput = () => renderModelButtons(filter.value);
  renderModelButtons(filter.value);
}

/** The model buttons whose names contain the filter text (the selected model always stays). */
function renderModelButtons(text) {
  const needle = text.trim().toLowerCase();
  const matching = state.models.filter((m) => m.toLowerCase().includes(needle));
  const shown = matching.slice(0, MAX_MODEL_BUTTONS);
  if (state.model && !shown.includes(state.model) && !needle) shown.unshift(state.model);
  $('models').innerHTML = shown
    .map(
      (m) =>
        `<button type="button" data-model="${esc(m)}" aria-pressed="${m === state.model}">${esc(m)}</button>`,
    )
    .join('');
  $('models-shown').textContent =
    state.models.length > 8
      ? `${Math.min(matching.length, MAX_MODEL_BUTTONS)} of ${matching.length} matching, ${state.models.length} models`
      : '';
  for (const b of $('models').querySelectorAll('button')) {
    b.addEventListener('click', () => {
      state.model = b.dataset.model;
      state.driftVersion = null;
      location.hash = state.model;
      for (const x of $('models').querySelectorAll('button')) x.setAttribute('aria-pressed', String(x === b));
      refresh();
    });
  }
}

function roleOf(report, version) {
  const live = report.policy.live;
  if (live.length === 1 && live[0].version === version) return 'live';
  if (live.length > 1) {
    const w = live.find((x) => x.version === version);
    if (w) return w.version === report.policy.aliases.live ? 'live' : 'canary';
  }
  if (report.policy.shadow === version) return 'shadow';
  return 'idle';
}

function renderSplit(r) {
  const live = r.policy.live;
  const labels = live.map((w) => `v${w.version} ${Math.round(w.weight * 1000) / 10}%`);
  const data = live.map((w) => w.weight * 100);
  if (r.policy.shadow) {
    labels.push(`v${r.policy.shadow} shadow (copy)`);
    data.push(0);
  }
  update('split-chart', {
    type: 'doughnut',
    data: { labels, datasets: [{ data, backgroundColor: live.map((_, i) => color(i)).concat(['#c7d7fe']) }] },
    options: { plugins: { legend: { position: 'right' } } },
  });
}

function renderVersions(r) {
  const total = r.versions.reduce((a, v) => a + v.window.requests, 0);
  const rows = r.versions.map((v) => {
    const role = roleOf(r, v.version);
    const w = v.window;
    return `<tr data-version="${esc(v.version)}">
      <td>v${esc(v.version)} <span class="pill ${role}">${role}</span></td>
      <td>${total ? pct(w.requests / total) : '–'}</td>
      <td>${num(w.perSecond, 2)}</td>
      <td>${num(w.latencyMs.p50, 2)} / ${num(w.latencyMs.p90, 2)} / ${num(w.latencyMs.p99, 2)}</td>
      <td class="${w.errorRate > 0 ? 'bad' : ''}">${pct(w.errorRate)}</td>
      <td>${pct(w.rejectedRate)}</td>
      <td>${pct(w.lowConfidenceRate)}</td>
      <td>${num(w.meanScore, 4)}</td>
      <td title="${esc(costOf(r, v.version)?.basis ?? '')}">${usd(costOf(r, v.version)?.perMillionUsd)}</td>
    </tr>`;
  });
  $('versions-table').innerHTML = rows.length
    ? `<table><thead><tr><th>version</th><th>share served</th><th>req/s</th><th>p50 / p90 / p99 ms</th><th>errors</th><th>rejected</th><th>low confidence</th><th>mean score</th><th>est. $ / 1M</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
    : '<div class="empty">No requests yet. Send some: npm run traffic</div>';
  $('versions-hint').textContent =
    `Last ${r.windowMinutes} min (counting since ${time(r.since)}). Latency is time inside the function. ` +
    "Est. $ / 1M: a million predictions on the version's route at list prices, from this p50 (hover for the basis; infera cost compares every route).";
}

function costOf(r, version) {
  return (r.costs ?? []).find((c) => c.version === version);
}

function usd(n) {
  if (n === null || n === undefined) return '–';
  return n < 0.01 ? `$${n.toPrecision(2)}` : `$${n.toFixed(2)}`;
}

function seriesLabels(r) {
  const ts = [...new Set(r.versions.flatMap((v) => v.series.map((s) => s.t)))].sort((a, b) => a - b);
  return ts;
}

function renderTimeSeries(r) {
  const ts = seriesLabels(r);
  const labels = ts.map(time);
  const at = (v, key, scale = 1) =>
    ts.map((t) => {
      const s = v.series.find((x) => x.t === t);
      return s ? s[key] * scale : null;
    });
  update('rate-chart', {
    type: 'line',
    data: {
      labels,
      datasets: r.versions.map((v, i) => ({
        label: `v${v.version}`,
        data: at(v, 'perSecond'),
        borderColor: color(i),
        backgroundColor: color(i),
        tension: 0.2,
        pointRadius: 0,
      })),
    },
    options: { scales: { y: { beginAtZero: true, title: { display: true, text: 'req/s' } } } },
  });
  const dashes = { p50: [], p90: [6, 3], p99: [2, 2] };
  update('latency-chart', {
    type: 'line',
    data: {
      labels,
      datasets: r.versions.flatMap((v, i) =>
        ['p50', 'p90', 'p99'].map((q) => ({
          label: `v${v.version} ${q}`,
          data: at(v, q),
          borderColor: color(i),
          backgroundColor: color(i),
          borderDash: dashes[q],
          pointRadius: 0,
          tension: 0.2,
        })),
      ),
    },
    options: { scales: { y: { beginAtZero: true, title: { display: true, text: 'ms' } } } },
  });
  const rate = (v, key) =>
    ts.map((t) => {
      const s = v.series.find((x) => x.t === t);
      return s?.requests ? (s[key] / s.requests) * 100 : null;
    });
  update('error-chart', {
    type: 'line',
    data: {
      labels,
      datasets: r.versions.flatMap((v, i) => [
        {
          label: `v${v.version} 5xx`,
          data: rate(v, 'errors'),
          borderColor: color(i),
          backgroundColor: color(i),
          pointRadius: 0,
        },
        {
          label: `v${v.version} 4xx`,
          data: rate(v, 'rejected'),
          borderColor: color(i),
          backgroundColor: color(i),
          borderDash: [4, 3],
          pointRadius: 0,
        },
      ]),
    },
    options: { scales: { y: { beginAtZero: true, suggestedMax: 5, title: { display: true, text: '%' } } } },
  });
}

function pickDriftVersion(r) {
  const versions = r.versions.map((v) => v.version);
  const sel = $('drift-version');
  if (!state.driftVersion || !versions.includes(state.driftVersion)) {
    const busiest = [...r.versions].sort((a, b) => b.window.instances - a.window.instances)[0];
    state.driftVersion = busiest ? busiest.version : null;
  }
  const html = versions
    .map((v) => `<option value="${esc(v)}"${v === state.driftVersion ? ' selected' : ''}>v${esc(v)}</option>`)
    .join('');
  if (sel.innerHTML !== html) sel.innerHTML = html;
  return r.versions.find((v) => v.version === state.driftVersion);
}

function renderDrift(r) {
  const v = pickDriftVersion(r);
  const features = v ? v.features.filter((f) => f.window.psi !== null || f.window.count > 0) : [];
  const psi = features.map((f) => f.window.psi ?? 0);
  const over = features.map((f) => f.window.judged && (f.window.psi ?? 0) >= r.psiThreshold);
  update('drift-chart', {
    type: 'bar',
    data: {
      labels: features.map((f) => f.name),
      datasets: [
        {
          type: 'bar',
          label: 'PSI (last window)',
          data: psi,
          backgroundColor: over.map((o) => (o ? '#f04438' : '#2e90fa')),
          order: 2,
        },
        {
          type: 'line',
          label: `threshold ${r.psiThreshold}`,
          data: features.map(() => r.psiThreshold),
          borderColor: '#d92d20',
          borderDash: [6, 4],
          pointRadius: 0,
          order: 1,
        },
      ],
    },
    options: {
      scales: {
        y: { beginAtZero: true, suggestedMax: r.psiThreshold * 1.5, title: { display: true, text: 'PSI' } },
      },
    },
  });
  const untrained =
    v &&
    (features.length > 0
      ? features.every((f) => f.window.bins === null)
      : (v.inputs ?? []).length > 0 && v.inputs.every((i) => i.training === null));
  // Tensor, image and text models have no named features to bin: their inputs' statistics instead.
  const tensors = features.length === 0 && (v?.inputs ?? []).length > 0;
  $('drift-title').textContent = tensors ? 'Input statistics' : 'Feature drift (PSI)';
  $('drift-chart').parentElement.hidden = tensors;
  $('drift-hint').textContent = untrained
    ? `v${v.version} has no trainingStats in its model.json, so there is no training distribution to measure drift against. Record them from training data: npx infera init <model.onnx> --sample <rows.csv | rows.jsonl | images folder> (docs/models.md).`
    : tensors
      ? `Each input (an image per channel, after pre-processing) over the last ${r.windowMinutes} min, training's in brackets: a mean or spread that moves away from training is drift.`
      : `PSI of each input against training over the last ${r.windowMinutes} min; judged from ${r.minSamples} values. Red bars cross the threshold (${r.psiThreshold}).`;
  $('features-table').innerHTML = features.length
    ? `<table><thead><tr><th>feature</th><th>values</th><th>PSI</th><th>KS / χ²</th><th>missing (training)</th><th>out of range</th><th>beyond training</th></tr></thead><tbody>${features
        .map((f) => {
          const w = f.window;
          const drifting = w.judged && (w.psi ?? 0) >= r.psiThreshold;
          return `<tr data-feature="${esc(f.name)}" data-drifting="${drifting}">
            <td>${esc(f.name)}</td><td>${w.count}</td>
            <td class="${drifting ? 'bad' : ''}">${num(w.psi)}${drifting ? ' drift' : ''}</td>
            <td>${w.ks !== null ? `KS ${num(w.ks)}` : w.chiSquare !== null ? `χ² ${num(w.chiSquare, 1)}` : '–'}</td>
            <td>${pct(w.missingRate)} (${pct(w.expectedMissingRate)})</td>
            <td class="${w.outOfRangeRate > 0 ? 'bad' : ''}">${pct(w.outOfRangeRate)}</td>
            <td>${pct(w.beyondTrainingRate)}</td></tr>`;
        })
        .join('')}</tbody></table>`
    : inputsTable(v);
}

/** Tensor, image and text models: live statistics per input, channel or text length, with training's. */
function inputsTable(v) {
  const inputs = (v?.inputs ?? []).filter((i) => i.window.count > 0);
  if (inputs.length === 0) return '<div class="empty">No input data yet for this model.</div>';
  const cell = (live, train) =>
    `${num(live)}${train !== undefined && train !== null ? ` <span class="muted">(${num(train)})</span>` : ''}`;
  return `<table><thead><tr><th>input</th><th>values</th><th>mean (training)</th><th>std (training)</th><th>min (training)</th><th>max (training)</th></tr></thead><tbody>${inputs
    .map((i) => {
      const w = i.window;
      const t = i.training ?? {};
      const label = i.kind === 'tokens' ? `${i.name} (tokens per text)` : i.name;
      return `<tr data-input="${esc(i.name)}"><td>${esc(label)}</td><td>${w.count}</td><td>${cell(w.mean, t.mean)}</td><td>${cell(w.std, t.std)}</td><td>${cell(w.min, t.min)}</td><td>${cell(w.max, t.max)}</td></tr>`;
    })
    .join('')}</tbody></table>`;
}

function renderScore(r) {
  const v = r.versions.find((x) => x.version === state.driftVersion);
  const s = v?.score;
  update('score-chart', {
    type: 'bar',
    data: {
      labels: s ? s.labels : [],
      datasets: s
        ? [
            { label: 'training', data: s.expected.map((x) => x * 100), backgroundColor: '#98a2b3' },
            {
              label: `live v${v.version} (last window)`,
              data: s.window.map((x) => x * 100),
              backgroundColor: s.drifting ? '#f04438' : '#2e90fa',
            },
          ]
        : [],
    },
    options: { scales: { y: { beginAtZero: true, title: { display: true, text: '% of predictions' } } } },
  });
  const scoreless = v && v.window.requests > 0 && v.window.meanScore === null;
  $('score-hint').textContent = s
    ? `Share of v${v.version}'s predictions per training-quantile bin. PSI ${num(s.psi)}, KS ${num(s.ks)} over ${s.samples} predictions.`
    : scoreless
      ? "This model's answers have no score (a tensor or embedding model), so there is no score distribution to compare; see its input statistics."
      : 'This version has no training score distribution (trainingStats.score in its model.json): npx infera init <model.onnx> --sample <data> records one for a classifier or regression.';
}

function renderEvents(r) {
  $('events-table').innerHTML = r.events.length
    ? `<table><thead><tr><th>time</th><th>version</th><th>feature</th><th>PSI</th><th>samples</th></tr></thead><tbody>${r.events
        .map(
          (e) =>
            `<tr data-event-feature="${esc(e.feature)}"><td>${time(e.time)}</td><td>v${esc(e.version)}</td><td class="bad">${esc(e.feature)}${e.kind === 'prediction' ? ' (prediction)' : ''}</td><td>${num(e.psi)}</td><td>${e.samples}</td></tr>`,
        )
        .join('')}</tbody></table>`
    : '<div class="empty ok">No drift events.</div>';
}

function renderShadow(r) {
  $('shadow-table').innerHTML = r.comparisons.length
    ? `<table><thead><tr><th>live → shadow</th><th>requests</th><th>agreement</th><th>mean |Δ score|</th><th>p99 ms live / shadow</th><th>skipped</th></tr></thead><tbody>${r.comparisons
        .map(
          (c) =>
            `<tr><td>v${esc(c.primary)} → v${esc(c.shadow)}</td><td>${c.requests}</td><td>${pct(c.agreement)}</td><td>${num(c.meanAbsDelta, 4)}</td><td>${num(c.latencyMs.primary.p99, 2)} / ${num(c.latencyMs.shadow.p99, 2)}</td><td>${c.skipped}</td></tr>`,
        )
        .join('')}</tbody></table>`
    : `<div class="empty">No shadow traffic. Start it with: npx infera shadow ${esc(r.model)} &lt;version&gt;</div>`;
}

/** The quality report of the model, or why there is none (no quality section: 404). */
async function renderQuality() {
  let q;
  state.qualityOn ??= {};
  state.qualityOn[state.model] ??=
    (await getJson(`/v1/models/${encodeURIComponent(state.model)}`)).quality !== undefined;
  if (!state.qualityOn[state.model]) {
    $('quality-table').innerHTML =
      `<div class="empty">${esc(state.model)} takes no labels: add a "quality" section to its model.json (docs/releases-and-monitoring.md).</div>`;
    update('quality-chart', { type: 'line', data: { labels: [], datasets: [] } });
    return;
  }
  try {
    const hours = $('quality-hours').value;
    q = await getJson(
      `/v1/models/${encodeURIComponent(state.model)}/quality${hours ? `?hours=${hours}` : ''}`,
    );
  } catch (err) {
    $('quality-table').innerHTML = `<div class="empty">${esc(err.message)}</div>`;
    update('quality-chart', { type: 'line', data: { labels: [], datasets: [] } });
    return;
  }
  const regression = q.task === 'regression';
  const alarm = (v) =>
    v.alarms.length === 0
      ? '–'
      : v.alarms
          .map(
            (a) =>
              `<span class="${a.state === 'alarm' ? 'bad' : a.state === 'ok' ? 'ok' : 'muted'}">${esc(a.figure)} ${a.state === 'insufficient-labels' ? `(${v.labelled}/${q.minLabels} labels)` : a.state}</span>`,
          )
          .join(' ');
  $('quality-hint').textContent =
    `${q.window.hours} h window; ${q.labels.ids} labels (${q.labels.received} received, ${q.labels.replaced} replaced, ${q.labels.unmatched} unmatched).`;
  $('quality-table').innerHTML = q.versions.length
    ? `<table><thead><tr><th>version</th><th>traffic</th><th>labelled</th>${
        regression ? '<th>MAE</th><th>RMSE</th>' : '<th>accuracy</th><th>F1</th><th>AUC</th><th>ECE</th>'
      }<th>delay s</th><th>alarms</th></tr></thead><tbody>${q.versions
        .map(
          (v) =>
            `<tr data-quality-version="${esc(v.version)}"><td>v${esc(v.version)}</td><td>${esc(Object.keys(v.traffic).join(', '))}</td><td>${v.labelled} / ${v.predictions}</td>${
              regression
                ? `<td>${num(v.mae)}</td><td>${num(v.rmse)}</td>`
                : `<td data-figure="accuracy">${num(v.accuracy)}</td><td data-figure="f1">${num(v.f1)}</td><td data-figure="auc">${num(v.auc)}</td><td>${num(v.ece)}</td>`
            }<td>${v.labelDelaySeconds ? num(v.labelDelaySeconds.mean, 0) : '–'}</td><td>${alarm(v)}</td></tr>`,
        )
        .join('')}</tbody></table>`
    : `<div class="empty">No predictions of ${esc(q.model)} logged in the window yet.</div>`;
  const points = [...new Set(q.versions.flatMap((v) => v.series.map((s) => s.at)))].sort();
  const s = q.seriesSeconds;
  const every = s >= 3600 ? `${s / 3600} h` : s >= 60 ? `${s / 60} min` : `${s} s`;
  $('quality-series-title').textContent = `${regression ? 'MAE' : 'Accuracy'} per ${every}`;
  update('quality-chart', {
    type: 'line',
    data: {
      labels: points.map((t) => time(t)),
      datasets: q.versions.map((v, i) => ({
        label: `v${v.version}`,
        data: points.map((t) => {
          const s = v.series.find((x) => x.at === t);
          return s ? (regression ? s.mae : s.accuracy) : null;
        }),
        borderColor: color(i),
        spanGaps: true,
      })),
    },
  });
}

async function refresh() {
  if (!state.model) return;
  // The join reads files: every 10 s is enough for labels that arrive over hours.
  if (state.qualityOf !== state.model || Date.now() - (state.qualityAt ?? 0) >= 10_000) {
    state.qualityOf = state.model;
    state.qualityAt = Date.now();
    renderQuality().catch(() => {});
  }
  try {
    const r = await getJson(`/v1/models/${encodeURIComponent(state.model)}/monitoring`);
    renderSplit(r);
    renderVersions(r);
    renderTimeSeries(r);
    renderDrift(r);
    renderScore(r);
    renderEvents(r);
    renderShadow(r);
    state.renders++;
    document.body.dataset.renders = String(state.renders);
    $('status').textContent =
      `${state.model} · updated ${time(r.generatedAt)} · refreshes every ${REFRESH_MS / 1000} s`;
  } catch (err) {
    $('status').textContent = `cannot load monitoring: ${err.message}`;
  }
}

$('quality-hours').addEventListener('change', () => {
  state.qualityAt = 0;
  refresh();
});

$('drift-version').addEventListener('change', (e) => {
  state.driftVersion = e.target.value;
  refresh();
});

loadModels()
  .then(refresh)
  .catch((err) => {
    $('status').textContent = `cannot reach the platform: ${err.message}`;
  });
setInterval(refresh, REFRESH_MS);
