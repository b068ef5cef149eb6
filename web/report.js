// Draws quorum's HTML report from the JSON that runtime/report/page.cpp writes into
// #quorum-data, with Vega-Lite through vega-embed (inlined above this script). Every chart's
// view is kept in window.quorumReport.views so that a test, or a person at the console, can
// reach it; window.quorumReport.ready settles once every chart has rendered.
(function () {
  'use strict';

  const data = JSON.parse(document.getElementById('quorum-data').textContent);
  const A = data.analysis;
  const views = new Map();
  window.quorumReport = { data, views, ready: Promise.resolve() };

  const main = document.getElementById('report');

  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes || {})) {
      if (key === 'className') node.className = value;
      else node.setAttribute(key, value);
    }
    for (const child of children) node.append(child);
    return node;
  }

  const fixed = (value, digits = 3) => (value === null || value === undefined ? 'n/a' : value.toFixed(digits));
  const pairLabel = (row) => `${row.policy} × ${row.prm}`;

  function header() {
    let text;
    if (data.inputs) {
      main.append(el('h1', {}, 'quorum report: ' + data.sweep));
      text = `Analysed from files: ${data.inputs.evaluation.join(', ')}`;
      if (data.inputs.calibration.length) text += `; calibration split: ${data.inputs.calibration.join(', ')}`;
      text += `. Report written ${data.generated}.`;
      main.append(el('div', { className: 'status' }, text));
    } else {
      main.append(el('h1', {}, `quorum report: ${data.sweep}`));
      const p = data.progress;
      if (p.finished) {
        text = `Sweep finished: ${p.units_done}/${p.units_total} units. Report written ${data.generated}.`;
      } else {
        text = `Sweep running: ${p.units_done}/${p.units_total} units done when this report was written (${data.generated}).`;
        if (data.refresh_seconds > 0) text += ` This page reloads every ${data.refresh_seconds} s.`;
      }
      main.append(el('div', { className: p.finished ? 'status' : 'status running' }, text));
    }
    if (A) {
      main.append(el('p', { className: 'lead' },
        `${A.problems} problems, ${A.responses} responses; calibration: ${A.calibration}. Accuracy is the mean ` +
        `fractional credit over ${A.draws} draws per budget (a k-way tie that holds the right answer scores 1/k); ` +
        `bands are 95% bootstrap intervals over problems (${A.bootstrap_resamples} resamples).`));
    }
  }

  function footer() {
    const source = data.inputs ? `Files: ${data.inputs.evaluation.concat(data.inputs.calibration).join(', ')}` : `Store: ${data.store}`;
    main.append(el('footer', {},
      `${source}. Beside this page: summary.md, results.csv, savings.csv, calibration.json, verdicts.jsonl. ` +
      `Charts: ${data.libraries.join(', ')}, inlined; this file needs no network.`));
  }

  // ---- the lookup: any problem's responses, answers and verdicts -------------------------------

  // One problem in detail: its gold answer and, per response, what was extracted and by which
  // rule, the answer class, the verdict and the rule that decided it, the step scores, the text.
  function problemDetail(problem) {
    const box = el('div', { className: 'problem', 'data-problem': problem.problem_id });
    box.append(el('h3', {}, `${problem.problem_id} (${problem.policy})`));
    box.append(el('pre', { className: 'text' }, problem.problem));
    box.append(el('p', {}, `Gold answer: ${problem.gold}  (normalised: ${problem.normalized_gold ?? 'n/a'})`));
    const prms = [...new Set(problem.responses.flatMap((r) => Object.keys(r.scores)))];
    const table = el('table', { className: 'verdicts' }, el('tr', {},
      ...['#', 'answer', 'normalised', 'extracted by', 'class', 'verdict', 'decided by'].map((h) => el('th', { className: 'name' }, h)),
      ...prms.map((name) => el('th', { className: 'name' }, `${name} step scores`)),
      el('th', { className: 'name' }, 'response')));
    for (const r of problem.responses) {
      const text = el('details', {}, el('summary', {}, r.cut ? `last ${r.text.length} of ${r.cut} bytes` : `${r.text.length} bytes`),
        el('pre', { className: 'text' }, r.text));
      table.append(el('tr', {},
        el('td', { className: 'name' }, String(r.response)),
        el('td', { className: 'name' }, r.answer ?? '(none)'),
        el('td', { className: 'name' }, r.normalized_answer ?? ''),
        el('td', { className: 'name' }, r.extraction),
        el('td', {}, r['class'] < 0 ? '' : String(r['class'])),
        el('td', { className: r.correct ? 'name good' : 'name bad' }, r.correct ? 'correct' : 'wrong'),
        el('td', { className: 'name' }, r.rule),
        ...prms.map((name) => el('td', { className: 'name' }, (r.scores[name] || []).map((v) => v.toFixed(2)).join(' '))),
        el('td', { className: 'name' }, text)));
    }
    box.append(table);
    return box;
  }

  function lookup(parent) {
    const problems = data.problems || [];
    if (problems.length === 0) {
      parent.append(el('p', { className: 'note' }, 'No evaluated problem to look up.'));
      return;
    }
    const shown = 40;
    const query = el('input', { type: 'search', placeholder: 'problem id or words of its text', 'aria-label': 'Find a problem', size: '40' });
    const wrongOnly = el('input', { type: 'checkbox', 'aria-label': 'only problems with a wrong response' });
    const list = el('div', {});
    const detail = el('div', {});
    parent.append(el('div', { className: 'lookup-controls' }, el('label', {}, 'Find ', query),
      el('label', {}, wrongOnly, ' only problems with a wrong response')), list, detail);
    function update() {
      const words = query.value.toLowerCase().split(/\s+/).filter((w) => w);
      const matches = problems.filter((p) => {
        const haystack = `${p.problem_id} ${p.policy} ${p.problem}`.toLowerCase();
        return words.every((w) => haystack.includes(w)) && (!wrongOnly.checked || p.responses.some((r) => !r.correct));
      });
      const table = el('table', { className: 'problems' }, el('tr', {},
        ...['problem', 'policy', 'gold', 'responses', 'correct', 'answers (classes)'].map((h) => el('th', { className: 'name' }, h))));
      for (const p of matches.slice(0, shown)) {
        const correct = p.responses.filter((r) => r.correct).length;
        const classes = new Set(p.responses.filter((r) => r['class'] >= 0).map((r) => r['class'])).size;
        const link = el('a', { href: '#', 'data-problem': p.problem_id }, p.problem_id);
        link.addEventListener('click', (event) => {
          event.preventDefault();
          detail.replaceChildren(problemDetail(p));
        });
        table.append(el('tr', {}, el('td', { className: 'name' }, link), el('td', { className: 'name' }, p.policy),
          el('td', { className: 'name' }, p.gold), el('td', {}, String(p.responses.length)), el('td', {}, String(correct)),
          el('td', {}, String(classes))));
      }
      list.replaceChildren(el('p', { className: 'note' },
        `${matches.length} of ${problems.length} (problem, policy) rows match` + (matches.length > shown ? `; the first ${shown} are listed.` : '.')), table);
      detail.replaceChildren(matches.length === 1 ? problemDetail(matches[0]) : '');
    }
    query.addEventListener('input', update);
    wrongOnly.addEventListener('change', update);
    update();
  }

  // ---- controls: the reduction of step scores, and the pair of the detailed chart -------------

  function select(label, options, initial, onChange) {
    const box = el('select', { 'aria-label': label });
    for (const option of options) box.append(el('option', { value: option }, option));
    box.value = initial;
    box.addEventListener('change', onChange);
    return { box, label: el('label', {}, label, box) };
  }

  // ---- charts ---------------------------------------------------------------------------------

  const strategyNames = A ? A.strategies.map((s) => s.name) : [];
  const deployable = new Set(A ? A.strategies.filter((s) => s.deployable).map((s) => s.name) : []);
  // One colour per strategy on every chart, whichever strategies a chart shows.
  const palette = ['#4c78a8', '#f58518', '#e45756', '#72b7b2', '#54a24b', '#eeca3b', '#b279a2', '#ff9da6',
                   '#9d755d', '#bab0ac'];
  const colorOf = new Map(strategyNames.map((name, k) => [name, palette[k % palette.length]]));
  const strategyColor = (names = strategyNames) => ({
    field: 'strategy', type: 'nominal', title: 'strategy',
    scale: { domain: names, range: names.map((name) => colorOf.get(name)) },
    legend: { title: 'strategy (click to pick)', titleLimit: 260 } });

  // A band is painted with its strategy's colour taken as it is (no scale), so it adds nothing
  // to the colour legend: the legend stays the lines' own, which a click selects (Vega-Lite
  // leaves a legend merged from several layers unclickable).
  const painted = { field: 'paint', type: 'nominal', scale: null, legend: null };
  const withPaint = (rows) => rows.map((r) => Object.assign({ paint: colorOf.get(r.strategy) }, r));

  function download(view, name, type) {
    view.toImageURL(type, type === 'png' ? 2 : 1).then((url) => {
      const link = el('a', { href: url, download: `${name}.${type}` });
      document.body.append(link);
      link.click();
      link.remove();
    });
  }

  // A figure with a caption and SVG/PNG buttons; the chart renders into it asynchronously.
  function chart(parent, id, caption, spec, pending) {
    const target = el('div', { id: `chart-${id}` });
    const svgButton = el('button', { type: 'button' }, 'Download SVG');
    const pngButton = el('button', { type: 'button' }, 'Download PNG');
    parent.append(el('figure', { className: 'chart', 'data-chart': id }, el('figcaption', {}, caption), target,
                     el('div', { className: 'export' }, svgButton, pngButton)));
    spec.$schema = 'https://vega.github.io/schema/vega-lite/v6.json';
    spec.config = Object.assign({ font: 'system-ui, sans-serif', view: { stroke: '#ddd' } }, spec.config || {});
    const embedded = vegaEmbed(target, spec, {
      renderer: 'svg',
      actions: { export: true, source: false, compiled: false, editor: false },
      downloadFileName: id,
    }).then((result) => {
      views.set(id, result.view);
      svgButton.addEventListener('click', () => download(result.view, id, 'svg'));
      pngButton.addEventListener('click', () => download(result.view, id, 'png'));
    });
    pending.push(embedded);
  }

  // Accuracy against the budget: a 95% band and a line per strategy, upper bounds dashed.
  function accuracyLayers(pick) {
    const x = { field: 'budget', type: 'quantitative', scale: { type: 'log', base: 2 },
                axis: { values: A.budgets, format: 'd', title: 'budget N (samples per problem)' } };
    const y = { type: 'quantitative', title: 'accuracy', scale: { zero: false }, axis: { format: '.2f' } };
    const picked = { param: pick, empty: true };
    return [
      { mark: { type: 'area' },
        encoding: { x, y: Object.assign({ field: 'ci_low' }, y),
                    y2: { field: 'ci_high' }, fill: painted, detail: { field: 'strategy' },
                    opacity: { condition: Object.assign({ value: 0.16 }, picked), value: 0.02 } } },
      { params: [{ name: pick, select: { type: 'point', fields: ['strategy'] }, bind: 'legend' }],
        mark: { type: 'line', point: true, strokeWidth: 2 },
        encoding: { x, y: Object.assign({ field: 'accuracy' }, y), color: strategyColor(),
                    strokeDash: { field: 'kind', type: 'nominal', title: 'line',
                                  scale: { domain: ['deployable', 'upper bound'], range: [[1, 0], [5, 3]] } },
                    opacity: { condition: Object.assign({ value: 1 }, picked), value: 0.12 },
                    tooltip: [{ field: 'policy' }, { field: 'prm', title: 'PRM' }, { field: 'strategy' },
                              { field: 'budget', title: 'N' }, { field: 'accuracy', format: '.3f' },
                              { field: 'ci_low', title: '95% low', format: '.3f' },
                              { field: 'ci_high', title: '95% high', format: '.3f' }] } },
    ];
  }

  function accuracyRows(reduction) {
    return withPaint(A.accuracy.filter((r) => r.reduction === reduction))
      .map((r) => Object.assign({ kind: deployable.has(r.strategy) ? 'deployable' : 'upper bound' }, r));
  }

  function accuracyGrid(parent, reduction, pending) {
    chart(parent, 'accuracy-grid', `Accuracy against budget, every pair (rows: policy, columns: PRM; reduction ${reduction})`, {
      data: { values: accuracyRows(reduction) },
      facet: { row: { field: 'policy', title: 'policy' }, column: { field: 'prm', title: 'PRM' } },
      spec: { width: 210, height: 150, layer: accuracyLayers('grid_pick') },
    }, pending);
  }

  function accuracyPair(parent, reduction, pair, pending) {
    chart(parent, 'accuracy-pair', `Accuracy against budget: ${pair} (reduction ${reduction})`, {
      data: { values: accuracyRows(reduction).filter((r) => pairLabel(r) === pair) },
      width: 620, height: 340,
      layer: accuracyLayers('pair_pick'),
    }, pending);
  }

  // w(p) per calibrated strategy, the zero line, and the area where weights are negative.
  function weights(parent, reduction, pending) {
    const rows = withPaint(A.weights.filter((r) => r.reduction === reduction));
    if (rows.length === 0) {
      parent.append(el('p', { className: 'note' }, 'No calibrated strategy was evaluated.'));
      return;
    }
    const x = { field: 'p', type: 'quantitative', title: 'PRM score p', scale: { domain: [0, 1] } };
    const picked = { param: 'weight_pick', empty: true };
    const color = strategyColor([...new Set(rows.map((r) => r.strategy))]);
    chart(parent, 'weights', `Fitted weight w(p) of each calibrated strategy (mean over calibration folds; reduction ${reduction})`, {
      data: { values: rows },
      transform: [{ calculate: 'min(datum.w, 0)', as: 'negative' }, { calculate: '0', as: 'zero' }],
      facet: { row: { field: 'policy', title: 'policy' }, column: { field: 'prm', title: 'PRM' } },
      spec: {
        width: 210, height: 150,
        layer: [
          { mark: { type: 'area', opacity: 0.28 },
            encoding: { x, y: { field: 'negative', type: 'quantitative', title: 'weight w(p)' }, y2: { field: 'zero' },
                        fill: painted, detail: { field: 'strategy' }, opacity: { condition: Object.assign({ value: 0.3 }, picked), value: 0 } } },
          { mark: { type: 'rule', color: '#333', strokeDash: [3, 3] },
            encoding: { x: { aggregate: 'min', field: 'p' }, x2: { aggregate: 'max', field: 'p' }, y: { datum: 0 } } },
          { params: [{ name: 'weight_pick', select: { type: 'point', fields: ['strategy'] }, bind: 'legend' }],
            mark: { type: 'line', strokeWidth: 2 },
            encoding: { x, y: { field: 'w', type: 'quantitative' }, color,
                        opacity: { condition: Object.assign({ value: 1 }, picked), value: 0.12 },
                        tooltip: [{ field: 'strategy' }, { field: 'p', format: '.2f' }, { field: 'w', format: '.3f' }] } },
        ],
      },
    }, pending);
  }

  // The pair's searches beside best-of-N at the same n: accuracy against n, and against the
  // tokens spent per problem (policy and PRM), for three strategies.
  function searchCharts(parent, reduction, pair, pending) {
    const shown = ['majority', 'best_of_n', 'weighted'];
    const rows = (data.searches || [])
      .filter((r) => r.reduction === reduction && pairLabel(r) === pair && shown.includes(r.strategy))
      .map((r) => Object.assign({ variant: methodLabel(r) }, r));
    if (rows.length === 0) {
      parent.append(el('p', { className: 'note' }, 'No search of this pair.'));
      return;
    }
    const color = { field: 'variant', type: 'nominal', title: 'method' };
    const y = { field: 'accuracy', type: 'quantitative', title: 'accuracy', scale: { zero: false }, axis: { format: '.2f' } };
    const tooltip = [{ field: 'variant', title: 'method' }, { field: 'strategy' }, { field: 'n' },
                     { field: 'accuracy', format: '.3f' }, { field: 'ci_low', title: '95% low', format: '.3f' },
                     { field: 'ci_high', title: '95% high', format: '.3f' },
                     { field: 'policy_tokens', title: 'policy tokens / problem', format: '.0f' },
                     { field: 'verifier_tokens', title: 'PRM tokens / problem', format: '.0f' }];
    const facet = { column: { field: 'strategy', type: 'nominal', title: null, sort: shown } };
    const ns = [...new Set(rows.map((r) => r.n))].sort((a, b) => a - b);
    const byN = { field: 'n', type: 'quantitative', scale: { type: 'log', base: 2 },
                  axis: { values: ns, format: 'd', title: 'n (leaves or samples per problem)' } };
    chart(parent, 'search-n', `${pair}: accuracy against n by method (95% intervals as bars)`, {
      data: { values: rows }, facet,
      spec: { width: 240, height: 200, layer: [
        { mark: { type: 'rule', strokeWidth: 1.5, opacity: 0.5 },
          encoding: { x: byN, y: Object.assign({}, y, { field: 'ci_low' }), y2: { field: 'ci_high' }, color } },
        { mark: { type: 'line', point: true }, encoding: { x: byN, y, color, tooltip } },
      ] },
    }, pending);
    const tokens = rows.filter((r) => r.tokens !== null);
    if (tokens.length === 0) return;
    chart(parent, 'search-tokens', `${pair}: accuracy against tokens per problem (policy generated + PRM read)`, {
      data: { values: tokens }, facet,
      spec: { width: 240, height: 200, mark: { type: 'line', point: true },
              encoding: { x: { field: 'tokens', type: 'quantitative', scale: { type: 'log' }, title: 'tokens per problem' },
                          y, color, tooltip, order: { field: 'n' } } },
    }, pending);
  }

  const methodLabel = (r) => (r.method === 'best_of_n' ? 'best_of_n (sampled)'
    : `${r.method} (m=${r.m}${r.lookahead ? `, lookahead ${r.lookahead}` : ''})`);

  // Per difficulty level of the chosen pair: the compute-optimal method and strategy at each
  // budget (a table), and each method's best strategy against n, level by level (a chart).
  function difficultyView(parent, pair, pending) {
    const rows = data.difficulty.rows.filter((r) => pairLabel(r) === pair);
    if (rows.length === 0) {
      parent.append(el('p', { className: 'note' }, 'This pair has no problems with levels.'));
      return;
    }
    const levels = data.difficulty.levels.filter((level) => rows.some((r) => r.level === level));
    const ns = [...new Set(rows.map((r) => r.n))].sort((a, b) => a - b);
    const table = el('table', { id: 'difficulty-table' },
      el('tr', {}, el('th', { className: 'name' }, 'level'), el('th', {}, 'problems'), ...ns.map((n) => el('th', {}, `n = ${n}`))));
    for (const level of levels) {
      const optimal = rows.filter((r) => r.level === level && r.optimal);
      const line = el('tr', {}, el('td', { className: 'name' }, level),
        el('td', {}, String(Math.max(...rows.filter((r) => r.level === level).map((r) => r.problems)))));
      for (const n of ns) {
        const r = optimal.find((o) => o.n === n);
        line.append(r ? el('td', { className: `method-${r.method}`, title: `95% interval ${fixed(r.ci_low)} to ${fixed(r.ci_high)}` },
          `${methodLabel(r)}, ${r.strategy} (${r.reduction}): ${fixed(r.accuracy)}` +
          (r.tokens === null ? '' : `, ${Math.round(r.tokens)} tokens`)) : el('td', { className: 'missing' }, '-'));
      }
      table.append(line);
    }
    parent.append(table);
    for (const note of data.difficulty.skipped) parent.append(el('p', { className: 'note' }, `Not analysed: ${note}`));
    // Each method's most accurate deployable strategy (any reduction) per level and n; with one
    // method (quorum analyze's best-of-N pools) each strategy's instead.
    const byStrategy = new Set(rows.map(methodLabel)).size === 1;
    const variantOf = (r) => (byStrategy ? r.strategy : methodLabel(r));
    const best = new Map();
    for (const r of rows) {
      if (r.accuracy === null || r.strategy === 'oracle' || r.strategy === 'pass_at_n') continue;
      const key = `${r.level}|${variantOf(r)}|${r.n}`;
      if (!best.has(key) || best.get(key).accuracy < r.accuracy) best.set(key, r);
    }
    const values = [...best.values()].map((r) => Object.assign({ variant: variantOf(r) }, r));
    const byN = { field: 'n', type: 'quantitative', scale: { type: 'log', base: 2 },
                  axis: { values: ns, format: 'd', title: 'n' } };
    chart(parent, 'difficulty-n', byStrategy ? `${pair}: each strategy (its best reduction) against n, by level`
      : `${pair}: each method's best strategy against n, by level`, {
      data: { values },
      facet: { column: { field: 'level', type: 'ordinal', title: 'level', sort: levels } },
      spec: { width: 160, height: 170, mark: { type: 'line', point: true },
              encoding: { x: byN, y: { field: 'accuracy', type: 'quantitative', title: 'accuracy', scale: { zero: false } },
                          color: { field: 'variant', type: 'nominal', title: byStrategy ? 'strategy' : 'method' },
                          tooltip: [{ field: 'level' }, { field: 'method' }, { field: 'strategy' },
                                    { field: 'reduction' }, { field: 'n' }, { field: 'accuracy', format: '.3f' },
                                    { field: 'tokens', title: 'tokens / problem', format: '.0f' }] } },
    }, pending);
  }

  function histograms(parent, reduction, pending) {
    chart(parent, 'histograms', `PRM scores of correct and incorrect responses (reduction ${reduction})`, {
      data: { values: A.histograms.filter((r) => r.reduction === reduction) },
      transform: [{ calculate: '0', as: 'zero' }],
      facet: { row: { field: 'policy', title: 'policy' }, column: { field: 'prm', title: 'PRM' } },
      spec: {
        width: 210, height: 120,
        mark: { type: 'bar', opacity: 0.55, binSpacing: 0 },
        encoding: {
          x: { field: 'p_low', type: 'quantitative', title: 'PRM score p', scale: { domain: [0, 1] } },
          x2: { field: 'p_high' },
          y: { field: 'responses', type: 'quantitative', stack: null, title: 'responses' },
          y2: { field: 'zero' },
          color: { field: 'outcome', type: 'nominal', title: 'response',
                   scale: { domain: ['correct', 'incorrect'], range: ['#2e9e4f', '#d1453b'] } },
          tooltip: [{ field: 'outcome' }, { field: 'p_low', title: 'p from', format: '.1f' },
                    { field: 'p_high', title: 'p to', format: '.1f' }, { field: 'responses' }],
        },
      },
    }, pending);
  }

  function savingsTable(parent, reduction) {
    const rows = A.savings.filter((r) => r.reduction === reduction);
    if (rows.length === 0) {
      parent.append(el('p', { className: 'note' }, 'No compute saving was computed.'));
      return;
    }
    const largest = A.budgets[A.budgets.length - 1];
    parent.append(el('p', { className: 'note' },
      `Each cell: the smallest budget N at which the strategy reaches the accuracy of ${A.reference} at N = ${largest} ` +
      `(interpolated in log2 N): samples / tokens (sampled plus scored) it needs as a fraction of what ` +
      `${A.reference} spends at N = ${largest}. Green: a quarter of the samples or less.`));
    const strategies = [...new Set(rows.map((r) => r.strategy))];
    const table = el('table', {}, el('tr', {}, el('th', { className: 'name' }, 'policy'), el('th', { className: 'name' }, 'PRM'),
      el('th', {}, `${A.reference} at N=${largest}`), ...strategies.map((name) => el('th', {}, name))));
    for (const label of [...new Set(rows.map(pairLabel))]) {
      const cells = rows.filter((r) => pairLabel(r) === label);
      const line = el('tr', {}, el('td', { className: 'name' }, cells[0].policy), el('td', { className: 'name' }, cells[0].prm),
        el('td', {}, fixed(cells[0].reference_accuracy)));
      for (const name of strategies) {
        const r = cells.find((c) => c.strategy === name);
        if (!r || r.budget === null) {
          line.append(el('td', { className: 'missing' }, 'not reached'));
          continue;
        }
        line.append(el('td', { className: r.sample_fraction <= 0.25 ? 'good' : '' },
          `N=${fixed(r.budget, 1)}: ${fixed(r.sample_fraction, 2)} / ${fixed(r.token_fraction, 2)}`));
      }
      table.append(line);
    }
    parent.append(table);
  }

  function costs(parent, pending) {
    const rows = data.costs.sampling.concat(data.costs.scoring);
    if (rows.length === 0) {
      parent.append(el('p', { className: 'note' }, 'Nothing sampled or scored yet.'));
      return;
    }
    const tokens = [];
    for (const r of data.costs.sampling) {
      tokens.push({ name: r.name, part: 'prompt (sampling)', tokens: r.input_tokens_per_row });
      tokens.push({ name: r.name, part: 'completion (sampling)', tokens: r.output_tokens_per_row });
    }
    for (const r of data.costs.scoring) tokens.push({ name: r.name, part: 'read (scoring)', tokens: r.input_tokens_per_row });
    const y = { field: 'name', type: 'nominal', title: null, sort: null };
    chart(parent, 'costs', 'Cost per response: tokens and seconds, per policy (sampling) and per PRM (scoring)', {
      hconcat: [
        { data: { values: tokens }, width: 320, mark: 'bar',
          encoding: { y, x: { field: 'tokens', type: 'quantitative', title: 'tokens per response' },
                      color: { field: 'part', type: 'nominal', title: 'tokens' },
                      tooltip: [{ field: 'name' }, { field: 'part' }, { field: 'tokens', format: '.1f' }] } },
        { data: { values: rows }, width: 320, mark: 'bar',
          encoding: { y, x: { field: 'seconds_per_row', type: 'quantitative', title: 'seconds per response' },
                      color: { field: 'role', type: 'nominal', title: 'work', scale: { range: ['#4c78a8', '#f58518'] } },
                      tooltip: [{ field: 'name' }, { field: 'role' }, { field: 'rows', title: 'responses' },
                                { field: 'seconds_per_row', title: 's per response', format: '.4f' },
                                { field: 'seconds', title: 's in all', format: '.1f' }] } },
      ],
      resolve: { scale: { color: 'independent' } },
    }, pending);
    const table = el('table', {}, el('tr', {}, el('th', { className: 'name' }, 'name'), el('th', { className: 'name' }, 'work'),
      ...['responses', 'input tokens / response', 'output tokens / response', 's / response', 's in all'].map((h) => el('th', {}, h))));
    for (const r of rows)
      table.append(el('tr', {}, el('td', { className: 'name' }, r.name), el('td', { className: 'name' }, r.role),
        el('td', {}, String(r.rows)), el('td', {}, fixed(r.input_tokens_per_row, 1)), el('td', {}, fixed(r.output_tokens_per_row, 1)),
        el('td', {}, fixed(r.seconds_per_row, 4)), el('td', {}, fixed(r.seconds, 1))));
    parent.append(table);
    parent.append(el('p', { className: 'note' },
      'Seconds are each response\'s share of its batch\'s wall time on the worker that ran it.'));
  }

  // ---- the page -------------------------------------------------------------------------------

  header();
  if (!A) {
    main.append(el('p', { className: 'note' },
      'No (policy, problem) is complete yet: every sample stored and scored by every PRM. Charts appear once one is.'));
    const pending = [];
    costs(main, pending);
    window.quorumReport.ready = Promise.all(pending);
    footer();
    return;
  }


  const pairs = [...new Set(A.accuracy.map(pairLabel))];
  const reduction = select('Step scores reduced by', A.reductions, A.reductions.includes('min') ? 'min' : A.reductions[0], render);
  const pair = select('Pair', pairs, pairs[0], render);
  main.append(el('div', { className: 'controls' }, reduction.label, pair.label,
    el('span', { className: 'note' }, 'Hover for values; click a legend entry to pick strategies.')));
  const body = el('div', {});
  main.append(body);
  // The lookup does not depend on the reduction: drawn once, below the charts.
  main.append(el('h2', {}, 'Problems, answers and verdicts'));
  main.append(el('p', { className: 'note' },
    'Every evaluated response: the answer extracted and the rule that found it, its answer class, whether it matches ' +
    'the gold answer and the rule that decided it (verdicts.jsonl beside this page has the same rows).'));
  const lookupHolder = el('div', { id: 'lookup' });
  main.append(lookupHolder);
  lookup(lookupHolder);
  footer();

  function section(title, text) {
    body.append(el('h2', {}, title));
    if (text) body.append(el('p', { className: 'note' }, text));
    const holder = el('div', {});
    body.append(holder);
    return holder;
  }

  function render() {
    views.clear();
    body.replaceChildren();
    const pending = [];
    const r = reduction.box.value;
    accuracyPair(section('Accuracy against budget', 'One pair in detail: choose it above.'), r, pair.box.value, pending);
    accuracyGrid(section('All pairs at a glance'), r, pending);
    if ((data.searches || []).length > 0)
      searchCharts(section('Step-level search against best-of-N',
        'The pair chosen above: each search at its budgets n beside best-of-N with n sampled responses ' +
        '(search.csv has every strategy and reduction). Equal compute means equal tokens, not equal n.'), r, pair.box.value, pending);
    if (data.difficulty && data.difficulty.rows.length > 0)
      difficultyView(section('Compute-optimal choice by difficulty',
        'The pair chosen above, level by level: at each budget n, the most accurate method and strategy on that ' +
        'level\'s problems (difficulty.csv has every row). The choice is made on the problems it is measured on, ' +
        'so its accuracy is optimistic.'), pair.box.value, pending);
    weights(section('Fitted weight functions',
      'Responses whose score falls where w(p) < 0 (shaded) vote against their own answer.'), r, pending);
    histograms(section('PRM score distributions'), r, pending);
    savingsTable(section('Compute saving'), r);
    costs(section('Costs'), pending);
    window.quorumReport.ready = Promise.all(pending);
  }

  render();
})();
