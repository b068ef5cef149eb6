// Opens a quorum report.html in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core) and checks it as a reader would get it:
//   - no console error, no uncaught exception, no request that leaves the file (offline);
//   - every chart rendered data marks, before and after switching the reduction;
//   - every chart exports as SVG and PNG (written to OUT_DIR as CHART.svg / CHART.png);
//   - the lookup finds a problem by its id and, clicked, lists its responses' verdicts;
//   - a screenshot of the whole page (OUT_DIR/report.png).
// Exits 0 when all holds, 1 with the reasons otherwise.
//   node web/check_report.cjs NODE_MODULES_DIR REPORT_HTML OUT_DIR
'use strict';

const fs = require('fs');
const path = require('path');
const { pathToFileURL } = require('url');

const [modules, reportPath, outDir] = process.argv.slice(2);
if (!modules || !reportPath || !outDir) {
  console.error('usage: node check_report.cjs NODE_MODULES_DIR REPORT_HTML OUT_DIR');
  process.exit(2);
}
const { chromium } = require(path.join(path.resolve(modules), 'playwright-core'));
const executablePath = process.env.QUORUM_CHROMIUM || '/usr/bin/chromium';

// The flags a sandboxed, offline machine needs: no GPU, no sandbox (root), and no background
// traffic to Google's services, which this machine refuses and Chromium would log.
const chromiumArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-default-apps', '--disable-extensions'];

// Data marks drawn by a view: items of non-group marks whose role is 'mark' (not axes, legends
// or titles), anywhere in the scenegraph (facets nest groups in groups).
function countMarksInPage() {
  const counts = {};
  for (const [id, view] of window.quorumReport.views) {
    let marks = 0;
    const visit = (node) => {
      if (node.marktype !== undefined) {
        if (node.marktype !== 'group' && node.role === 'mark') marks += node.items.length;
      }
      for (const child of node.items || []) visit(child);
    };
    visit(view.scenegraph().root);
    counts[id] = marks;
  }
  return counts;
}

async function main() {
  if (!fs.existsSync(executablePath)) {
    console.error(`check_report: no Chromium at ${executablePath} (install Debian's chromium package)`);
    process.exit(1);
  }
  fs.mkdirSync(outDir, { recursive: true });
  const failures = [];
  const browser = await chromium.launch({ executablePath, args: chromiumArgs, headless: true });
  try {
    const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    page.on('console', (message) => {
      if (message.type() === 'error') failures.push(`console error: ${message.text()}`);
    });
    page.on('pageerror', (error) => failures.push(`uncaught exception: ${error.message}`));
    page.on('request', (request) => {
      const url = request.url();
      if (!url.startsWith('file:') && !url.startsWith('data:') && !url.startsWith('blob:'))
        failures.push(`request leaving the file: ${url}`);
    });

    await page.goto(pathToFileURL(path.resolve(reportPath)).href, { waitUntil: 'load' });
    await page.evaluate(() => window.quorumReport.ready);
    const figures = await page.$$eval('figure[data-chart]', (nodes) => nodes.map((n) => n.dataset.chart));
    if (figures.length === 0) failures.push('no chart on the page');
    const marks = await page.evaluate(countMarksInPage);
    for (const id of figures) {
      if (!(id in marks)) failures.push(`chart ${id}: no view (it did not render)`);
      else if (marks[id] === 0) failures.push(`chart ${id}: rendered no marks`);
    }

    // One strategy legend per chart, however many facets it has.
    const legends = await page.$$eval('figure[data-chart]', (nodes) => nodes.map((n) => [n.dataset.chart,
      n.querySelectorAll(".role-legend[aria-label*=\"titled 'strategy\"]").length]));
    for (const [id, count] of legends) if (count > 1) failures.push(`chart ${id}: ${count} strategy legends, not one`);

    // Every export a reader can ask for, checked and kept.
    for (const id of figures.filter((f) => f in marks)) {
      const urls = await page.evaluate(async (chartId) => {
        const view = window.quorumReport.views.get(chartId);
        return { svg: await view.toSVG(), png: await view.toImageURL('png', 2) };
      }, id);
      const svgText = urls.svg;
      const png = Buffer.from(urls.png.split(',')[1], 'base64');
      if (!svgText.includes('<svg')) failures.push(`chart ${id}: SVG export is not SVG`);
      if (png.length < 1000 || png.readUInt32BE(0) !== 0x89504e47) failures.push(`chart ${id}: PNG export is not a PNG`);
      fs.writeFileSync(path.join(outDir, `${id}.svg`), svgText);
      fs.writeFileSync(path.join(outDir, `${id}.png`), png);
    }
    await page.screenshot({ path: path.join(outDir, 'report.png'), fullPage: true });

    // Interactive: a legend click picks a strategy; hovering a point shows its values.
    if (figures.includes('accuracy-pair')) {
      await page.evaluate(() => window.scrollTo(0, 0));  // the chart sits just under the sticky controls
      // By coordinates: Playwright's own scrolling would tuck the element under the sticky controls.
      const at = async (selector) => {
        const box = await page.locator(selector).first().boundingBox();
        return [box.x + box.width / 2, box.y + box.height / 2];
      };
      await page.mouse.click(...(await at('#chart-accuracy-pair .role-legend-symbol path >> nth=2')));
      const picked = await page.evaluate(() => window.quorumReport.views.get('accuracy-pair').data('pair_pick_store'));
      if (picked.length !== 1) failures.push(`legend click picked ${picked.length} strategies, not 1`);
      await page.mouse.move(...(await at('#chart-accuracy-pair .mark-symbol.role-mark path >> nth=-1')));
      const tooltip = await page.waitForSelector('#vg-tooltip-element.visible', { timeout: 5000 }).catch(() => null);
      if (!tooltip || !(await tooltip.textContent()).includes('accuracy')) failures.push('hovering a point shows no tooltip with its accuracy');
    }

    // Interactive: the lookup finds a problem by its id; a click shows one verdict row per response.
    const first = await page.evaluate(() => {
      const p = (window.quorumReport.data.problems || [])[0];
      return p ? { id: p.problem_id, responses: p.responses.length } : null;
    });
    if (first) {
      await page.fill('#lookup input[type=search]', first.id);
      await page.locator(`#lookup table.problems a[data-problem="${first.id}"]`).first().click();
      const rows = await page.$$eval(`#lookup .problem[data-problem="${first.id}"] table.verdicts tr`, (nodes) => nodes.length - 1);
      if (rows < first.responses) failures.push(`lookup of ${first.id}: ${rows} verdict rows, not ${first.responses}`);
    } else {
      failures.push('the page holds no problem to look up');
    }

    // The difficulty table: one row per level of the chosen pair, each naming an optimal choice.
    const difficulty = await page.evaluate(() => {
      const d = window.quorumReport.data.difficulty;
      const table = document.querySelector('#difficulty-table');
      return d && d.rows.length > 0 ? { levels: d.levels.length, rows: table ? table.querySelectorAll('tr').length - 1 : 0,
        chosen: table ? table.querySelectorAll('td[class^="method-"]').length : 0 } : null;
    });
    if (difficulty) {
      if (difficulty.rows === 0 || difficulty.rows > difficulty.levels)
        failures.push(`difficulty table: ${difficulty.rows} level rows for ${difficulty.levels} levels`);
      if (difficulty.chosen < difficulty.rows) failures.push(`difficulty table: ${difficulty.chosen} choices in ${difficulty.rows} rows`);
    }

    // Interactive: another reduction redraws every chart.
    const reductions = await page.$$eval('.controls select:first-of-type option', (nodes) => nodes.map((n) => n.value));
    const current = await page.$eval('.controls select', (node) => node.value);
    const other = reductions.find((r) => r !== current);
    let afterSwitch = {};
    if (other) {
      await page.selectOption('.controls select', other);
      await page.evaluate(() => window.quorumReport.ready);
      afterSwitch = await page.evaluate(countMarksInPage);
      for (const id of figures)
        if (!afterSwitch[id]) failures.push(`chart ${id}: no marks after switching the reduction to ${other}`);
    }

    console.log('chart'.padEnd(16) + 'marks'.padStart(8) + (other ? `  marks (${other})` : ''));
    for (const id of figures)
      console.log(id.padEnd(16) + String(marks[id] ?? '-').padStart(8) + (other ? String(afterSwitch[id] ?? '-').padStart(10) : ''));
  } finally {
    await browser.close();
  }
  if (failures.length) {
    for (const failure of failures) console.error(`FAIL ${failure}`);
    process.exit(1);
  }
  console.log(`report checked in ${executablePath}: screenshot and exports in ${outDir}`);
}

main().catch((error) => {
  console.error(`check_report: ${error.stack || error}`);
  process.exit(1);
});
