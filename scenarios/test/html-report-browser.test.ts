import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import type { RunResult } from '../lib/results.ts';
import { writeResult } from '../runner/report.ts';
import { baselineRun, capacityRun, normalRun, soakRun } from './support/report-fixtures.ts';
import { REPO_ROOT, tempDir } from './support/processes.ts';

// The report as a person sees it: the page opened by a real headless Chromium from file://, with
// the network refused, so it proves the page is self-contained, its charts render, and its
// numbers are the JSON's. CI installs Debian's chromium (.ci/run); elsewhere CHROMIUM_BIN points
// at another build, and without one the tests are skipped saying so (in CI they fail instead).

// The page's globals, typed just enough here: the project's tsconfig has no DOM library.
interface Element_ {
  dataset: Record<string, string>;
  textContent: string | null;
  className: string;
  width: number;
  height: number;
  querySelector(selector: string): Element_ | null;
  querySelectorAll(selector: string): Iterable<Element_>;
  contains(other: unknown): boolean;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } };
}
interface UPlotInstance {
  root: unknown;
  setData: unknown;
  data: (number | null)[][];
  series: { label: string; spanGaps?: boolean }[];
}
declare const document: { querySelectorAll(selector: string): Iterable<Element_> };
declare const window: { chatstormCharts?: Record<string, UPlotInstance> };
type HTMLElement = Element_;

const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
const missing = existsSync(CHROMIUM) ? false : process.env.CI ? false : `no Chromium at ${CHROMIUM} (install Debian's chromium or set CHROMIUM_BIN)`;

interface Opened {
  page: Page;
  /** Console errors, page errors and any request that left file:// */
  problems: string[];
}

let browser: Browser;

async function open(file: string): Promise<Opened> {
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warn') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${(e as Error).message}`));
  await page.setRequestInterception(true);
  page.on('request', (request) => {
    if (request.url().startsWith('file:')) return void request.continue();
    problems.push(`request left the file: ${request.url()}`);
    void request.abort();
  });
  await page.setViewport({ width: 1000, height: 800 });
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load', timeout: 15_000 });
  await page
    .waitForFunction(() => window.chatstormCharts !== undefined, { timeout: 10_000 })
    .catch(() => {
      throw new Error(`timed out waiting for the page's charts to be built (${problems.join('; ') || 'no console error'})`);
    });
  return { page, problems };
}

interface ChartState {
  id: string;
  uplot: boolean;
  width: number;
  height: number;
  inked: boolean;
  points: number;
  series: string[];
}

/** Each chart section: its uPlot instance, the canvas's size and whether anything was drawn on it. */
async function charts(page: Page): Promise<ChartState[]> {
  return page.evaluate(() => {
    const instances = window.chatstormCharts!;
    return [...document.querySelectorAll('section[data-chart]')].map((section) => {
      const id = section.dataset.chart!;
      const canvas = section.querySelector('canvas');
      const u = instances[id];
      let inked = false;
      if (canvas && canvas.width > 0 && canvas.height > 0) {
        const pixels = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
        for (let k = 3; k < pixels.length && !inked; k += 4) inked = pixels[k]! > 0;
      }
      return {
        id,
        // uPlot's constructor returns a plain object: recognise it by its API and by its root element being in this section.
        uplot: u !== undefined && typeof u.setData === 'function' && section.contains(u.root),
        width: canvas?.width ?? 0,
        height: canvas?.height ?? 0,
        inked,
        points: u?.data[0]?.length ?? 0,
        series: u ? u.series.slice(1).map((s) => s.label) : [],
      };
    });
  });
}

async function assertChartsRendered(opened: Opened, expected: string[]): Promise<ChartState[]> {
  const states = await charts(opened.page);
  for (const id of expected) assert.ok(states.some((s) => s.id === id), `a "${id}" chart (charts: ${states.map((s) => s.id).join(', ')})`);
  for (const s of states) {
    assert.ok(s.uplot, `${s.id}: a uPlot instance`);
    assert.ok(s.width > 0 && s.height > 0, `${s.id}: canvas ${s.width}×${s.height}`);
    assert.ok(s.inked, `${s.id}: something drawn on the canvas`);
    assert.ok(s.points > 0, `${s.id}: data points`);
  }
  assert.deepEqual(opened.problems, [], 'no console errors, page errors or network requests');
  return states;
}

const cell = (page: Page, figure: string, run = 0) =>
  page.$eval(`#figures tr[data-figure="${figure}"] td[data-run="${run}"]`, (td) => td.textContent ?? '').catch(() => {
    throw new Error(`no headline cell for ${figure}, run ${run}`);
  });

/** The shown figure read back as a number: equal to the JSON's up to the decimals shown. */
async function assertFigure(page: Page, figure: string, expected: number, run = 0): Promise<void> {
  const text = await cell(page, figure, run);
  const shown = Number(text.replace(/,/g, ''));
  const decimals = text.includes('.') ? text.split('.')[1]!.length : 0;
  assert.ok(Number.isFinite(shown), `${figure}: "${text}" is a number`);
  assert.ok(Math.abs(shown - expected) <= 0.5 * 10 ** -decimals + 1e-9, `${figure}: page shows ${text}, JSON has ${expected}`);
}

async function assertHeadline(page: Page, r: RunResult, run = 0): Promise<void> {
  await assertFigure(page, 'deliveriesPerSecond', r.deliveries.perSecond, run);
  await assertFigure(page, 'peakPerSecond', r.deliveries.peakPerSecond, run);
  await assertFigure(page, 'p50', r.latencyMs.p50, run);
  await assertFigure(page, 'p99', r.latencyMs.p99, run);
  await assertFigure(page, 'max', r.latencyMs.max, run);
  await assertFigure(page, 'missing', r.deliveries.missing, run);
  await assertFigure(page, 'expected', r.deliveries.expected, run);
  await assertFigure(page, 'delivered', r.deliveries.delivered, run);
  await assertFigure(page, 'viewersPeak', r.viewers.peak, run);
  await assertFigure(page, 'messagesSent', r.messages.sent, run);
  await assertFigure(page, 'errors', Object.values(r.errors).reduce((a, b) => a + b, 0), run);
  assert.equal(await cell(page, 'verdict', run), r.verdict ?? (r.passed ? 'passed' : 'failed'));
}

function written(t: { after(fn: () => void): void }, name: string, r: RunResult): string {
  const file = path.join(tempDir(t), `${name}.json`);
  return writeResult(file, r);
}

describe('HTML report in a headless browser', { skip: missing }, () => {
  before(async () => {
    browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--allow-file-access-from-files'] });
  });
  after(async () => {
    await browser?.close();
  });

  it('renders a normal run offline: every chart drawn, no console error, the headline figures equal the JSON’s', async (t) => {
    const r = normalRun();
    const opened = await open(written(t, 'fanout', r));
    const states = await assertChartsRendered(opened, ['latency', 'deliveries', 'sent', 'errors']);
    await assertHeadline(opened.page, r);
    assert.equal(await opened.page.$eval('#headline', (h) => h.textContent), 'chatstorm fanout: PASSED');
    const latency = states.find((s) => s.id === 'latency')!;
    assert.equal(latency.points, r.timeline.length, 'a latency point per timeline interval');
    assert.deepEqual(latency.series, ['p50', 'p99']);
    const errors = await opened.page.evaluate(() => window.chatstormCharts!.errors!.data[1]!.filter((v) => v !== null));
    assert.deepEqual(errors, [3, 1, 2], 'one bar per code: CreateChatToken 500, ERROR 406, ERROR 429');
    await opened.page.close();
  });

  it('heads a capacity run whose sweep broke at the generator’s limit GENERATOR-BOUND, not PASSED, draws its empty interval as a gap and charts its steps with the knee', async (t) => {
    const r = capacityRun();
    const opened = await open(written(t, 'capacity', r));
    await assertChartsRendered(opened, ['latency', 'deliveries', 'capacity']);
    const headline = await opened.page.$eval('#headline', (h) => h.textContent ?? '');
    assert.doesNotMatch(headline, /PASSED/);
    assert.equal(headline, 'chatstorm capacity: GENERATOR-BOUND');
    assert.match(await opened.page.$eval('#verdict-detail', (p) => p.textContent ?? ''), /broke at step 3, bound by the generator/);
    assert.equal(await cell(opened.page, 'capacityBoundBy'), 'generator');
    await assertFigure(opened.page, 'breakingStep', 3);
    await assertFigure(opened.page, 'kneeDeliveries', r.capacity!.knee!.deliveriesPerSecond);
    await assertFigure(opened.page, 'kneeP99', r.capacity!.knee!.p99Ms);
    await assertHeadline(opened.page, r);
    // Interval 10 had no report: uPlot gets null (drawn as a gap, spanGaps off), never a zero.
    const gap = await opened.page.evaluate(() => {
      const c = window.chatstormCharts!;
      return { deliveries: c.deliveries!.data[1]![9], p99: c.latency!.data[2]![9], before: c.deliveries!.data[1]![8], spans: c.deliveries!.series[1]!.spanGaps };
    });
    assert.deepEqual(gap, { deliveries: null, p99: null, before: r.timeline[8]!.deliveriesPerSecond, spans: false });
    // The steps: load on x, p99 on y, the broken step marked, the knee a vertical line.
    const steps = await opened.page.evaluate(() => {
      const u = window.chatstormCharts!.capacity!;
      return u.data;
    });
    assert.deepEqual(steps[0], r.steps!.map((s) => s.deliveriesPerSecond));
    assert.deepEqual(steps[1], r.steps!.map((s) => s.latencyMs.p99));
    assert.deepEqual(steps[2], [null, null, r.steps![2]!.latencyMs.p99], 'only the broken step is marked');
    assert.deepEqual(steps[3], r.steps!.map((s) => s.viewers));
    const rows = await opened.page.$$eval('#steps-0 tr[data-step]', (trs) => trs.map((tr) => [tr.className, ...[...tr.querySelectorAll('td')].map((td) => td.textContent)]));
    assert.deepEqual(rows, [
      // Written before steps carried their message rate: those cells say n/a.
      ['', '1', '1,000', 'n/a', 'n/a', '20,000.5', '12.25', '0', '100,000'],
      ['', '2', '2,000', 'n/a', 'n/a', '40,100.3', '31.50', '0', '200,000'],
      ['fail', '3 ✗', '3,000', 'n/a', 'n/a', '44,000.8', '912.13', '12', '300,000'],
    ]);
    await opened.page.close();
  });

  it('labels a run stepped by message rate by its rate: the steps table’s msg/s per room and sent/s, and the chart’s right axis', async (t) => {
    const r = capacityRun();
    r.profile.stepBy = 'rate';
    r.steps = r.steps!.map((s, k) => ({ ...s, viewers: 2_000, ratePerRoom: 125 * (k + 1), sentPerSecond: 120.5 * (k + 1) }));
    const opened = await open(written(t, 'rate-steps', r));
    const states = await assertChartsRendered(opened, ['capacity']);
    assert.deepEqual(states.find((s) => s.id === 'capacity')!.series, ['p99 ms', 'broken step', 'msg/s per room']);
    const data = await opened.page.evaluate(() => window.chatstormCharts!.capacity!.data);
    assert.deepEqual(data[3], [125, 250, 375], 'the right axis is the offered rate, not the (constant) audience');
    const rows = await opened.page.$$eval('#steps-0 tr[data-step]', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].slice(0, 4).map((td) => td.textContent)));
    assert.deepEqual(rows, [
      ['1', '2,000', '125', '120.5'],
      ['2', '2,000', '250', '241'],
      ['3 ✗', '2,000', '375', '361.5'],
    ]);
    await opened.page.close();
  });

  it('charts a soak’s memory and fds with each fitted slope line from its intercept, and heads the leaking soak FAILED', async (t) => {
    const r = soakRun();
    const opened = await open(written(t, 'soak', r));
    const states = await assertChartsRendered(opened, ['server-rssMB', 'server-heapUsedMB', 'server-openFds']);
    assert.equal(await opened.page.$eval('#headline', (h) => h.textContent), 'chatstorm soak: FAILED');
    assert.match(await opened.page.$eval('#verdict-detail', (p) => p.textContent ?? ''), /^soak: rssMB grows 6\.01 MB\/min/);
    assert.equal(await cell(opened.page, 'soak'), 'failed');
    await assertHeadline(opened.page, r);
    const rss = states.find((s) => s.id === 'server-rssMB')!;
    assert.deepEqual(rss.series, ['rssMB', 'fit 6.013 MB/min [5.500, 6.500] growing']);
    const fit = await opened.page.evaluate(() => window.chatstormCharts!['server-rssMB']!.data);
    const slope = r.soak!.slopes[0]!;
    // Warm-up is 20 s: no fitted value before t = 20, then intercept + slope × minutes since.
    assert.equal(fit[2]![3], null);
    assert.equal(fit[2]![4], slope.intercept);
    assert.ok(Math.abs(fit[2]![19]! - (slope.intercept + (slope.slopePerMinute * (95 - 20)) / 60)) < 1e-9);
    assert.deepEqual(fit[1], r.serverSeries!.map((p) => p.rssMB));
    await opened.page.close();
  });

  it('shows a baseline comparison as a table equal to the JSON and a bar per figure with its confidence interval', async (t) => {
    const r = baselineRun();
    const opened = await open(written(t, 'baseline', r));
    await assertChartsRendered(opened, ['baseline-0']);
    assert.equal(await cell(opened.page, 'baseline'), 'regressed (tolerance 10 %)');
    for (const f of r.baseline!.figures) {
      const shown = await opened.page.$eval(`#baseline-0 tr[data-figure="${f.name}"]`, (tr) =>
        Object.fromEntries([...tr.querySelectorAll('td[data-col]')].map((td) => [td.dataset.col!, td.textContent!])),
      );
      const number = (text: string | undefined) => Number(text!.replace(/,/g, ''));
      assert.ok(Math.abs(number(shown.changePercent) - f.changePercent) <= 0.005, `${f.name}: change ${shown.changePercent} vs ${f.changePercent}`);
      assert.ok(Math.abs(number(shown.current) - f.current) <= 0.005, `${f.name}: current ${shown.current} vs ${f.current}`);
      assert.ok(Math.abs(number(shown.baseline) - f.baseline) <= 0.005, `${f.name}: baseline ${shown.baseline} vs ${f.baseline}`);
      assert.equal(shown.ci, `[${f.ciLowPercent.toFixed(2)}, ${f.ciHighPercent.toFixed(2)}]`);
    }
    const bars = await opened.page.evaluate(() => window.chatstormCharts!['baseline-0']!.data[1]);
    assert.deepEqual(bars, r.baseline!.figures.map((f) => f.changePercent));
    await opened.page.close();
  });

  it('renders a k6 result, which has no timeline, without empty time charts, saying why', async (t) => {
    const r = normalRun();
    r.engine = 'k6';
    r.timeline = [];
    r.generator.cpuPercent = null;
    const opened = await open(written(t, 'k6', r));
    const states = await assertChartsRendered(opened, ['errors']);
    assert.deepEqual(states.map((s) => s.id), ['errors']);
    assert.match(await opened.page.$eval('#no-timeline', (p) => p.textContent ?? ''), /no timeline in the results file/);
    assert.equal(await cell(opened.page, 'generatorCpu'), 'n/a');
    await assertHeadline(opened.page, r);
    await opened.page.close();
  });

  it('heads a capacity result written before capacity.boundBy was recorded by what bound it, inferred from the generator, and says it inferred it', async (t) => {
    const server = capacityRun();
    delete server.capacity!.boundBy;
    server.generator = { ...server.generator, bottleneck: false, warnings: [] };
    const opened = await open(written(t, 'old-capacity', server));
    await assertChartsRendered(opened, ['capacity']);
    assert.equal(await opened.page.$eval('#headline', (h) => h.textContent), 'chatstorm capacity: BROKE AT STEP 3');
    assert.equal(await cell(opened.page, 'capacityBoundBy'), 'server (inferred: no capacity.boundBy in the file)');
    assert.equal(await cell(opened.page, 'sweep'), 'broke at step 3');
    await opened.page.close();
  });

  it('renders two runs side by side with npm run report: one table column per run, series overlaid', async (t) => {
    const dir = tempDir(t);
    const a = normalRun();
    const b = capacityRun();
    writeFileSync(path.join(dir, 'a.json'), JSON.stringify(a));
    writeFileSync(path.join(dir, 'b.json'), JSON.stringify(b));
    const out = path.join(dir, 'both.html');
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'scenarios/runner/report-cli.ts', path.join(dir, 'a.json'), path.join(dir, 'b.json'), '--out', out], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /both\.html \(2 runs\)/);
    const opened = await open(out);
    const states = await assertChartsRendered(opened, ['latency', 'deliveries', 'errors', 'capacity']);
    assert.deepEqual(await opened.page.$$eval('#figures th[data-run]', (ths) => ths.map((th) => th.textContent)), ['a', 'b']);
    await assertHeadline(opened.page, a, 0);
    await assertHeadline(opened.page, b, 1);
    assert.deepEqual(states.find((s) => s.id === 'latency')!.series, ['p50 · a', 'p99 · a', 'p50 · b', 'p99 · b']);
    const verdicts = await opened.page.$$eval('#headline + ul li', (lis) => lis.map((li) => li.querySelector('span')!.textContent));
    assert.deepEqual(verdicts, ['PASSED', 'GENERATOR-BOUND']);
    assert.equal(await cell(opened.page, 'capacityBoundBy', 1), 'generator');
    assert.equal(await cell(opened.page, 'capacityBoundBy', 0), 'n/a');
    await opened.page.close();
  });
});
