import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa, type ResultPromise } from 'execa';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCollector, type Collector } from '../collector/src/server.js';
import { tempDir } from './helpers/agent.js';
import { AGENT_BIN, FAKE_SMI, ROOT } from './helpers/fixtures.js';
import { waitFor } from './helpers/processes.js';

// Screenshots for people to look at (test-output/ is not committed).
const SHOTS = path.join(ROOT, 'test-output');
const CHROMIUM = process.env.STAGEWATCH_CHROMIUM ?? '/usr/bin/chromium';
const TOKEN = 'ui-test-token-1234';

let collector: Collector;
let browser: Browser;
let base: string;
const procs: ResultPromise[] = [];

function agentRun(runId: string, host: string, labels: string[], workload: string[], env: Record<string, string>): ResultPromise {
  const flags = labels.flatMap((l) => ['--label', l]);
  const p = execa(process.execPath, [AGENT_BIN, 'run', '--collector', `ws://127.0.0.1:${collector.port}`, '--token', TOKEN, '--run-id', runId, '--host', host, '--preset', 'wan', '--interval-ms', '200', '--spool-dir', tempDir(), ...flags, '--', ...workload], {
    reject: false,
    env: { STAGEWATCH_NVIDIA_SMI: FAKE_SMI, ...env },
  });
  procs.push(p);
  return p;
}

async function open(hash: string, token: string | null = TOKEN, viewport = { width: 1300, height: 1400 }): Promise<Page> {
  const page = await browser.newPage({ viewport });
  page.on('pageerror', (e) => {
    throw e;
  });
  await page.goto(`${base}/${token ? `?token=${token}` : ''}${hash}`);
  await page.waitForFunction(() => window.__stagewatch?.ready === true);
  return page;
}

let eight: ResultPromise;
beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  collector = await startCollector({ host: '127.0.0.1', port: 0, dataDir: tempDir(), tokens: [TOKEN], log: () => {} });
  base = `http://127.0.0.1:${collector.port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  // Eight GPUs on one host, the staged Wan workload replayed 4x faster.
  eight = agentRun('eight-gpus', 'gpu-node-8', ['config=eight', 'model=t2v'], [process.execPath, path.join(ROOT, 'test/fixtures/replay-workload.mjs')], { SPEED: '4', STAGEWATCH_FAKE_SMI_SPEED: '4', STAGEWATCH_FAKE_SMI_GPUS: '8' });
  // A run stopped with Ctrl-C.
  const stopped = agentRun('stopped-run', 'gpu-node-1', [], [process.execPath, '-e', 'console.log("Creating WanModel from /x"); setInterval(() => {}, 1000)'], { STAGEWATCH_FAKE_SMI_SPEED: '4' });
  await waitFor('the stopped run streaming', () => collector.store.run('stopped-run'));
  await sleep(1500);
  stopped.kill('SIGINT');
  await stopped;
}, 60_000);

afterAll(async () => {
  for (const p of procs) p.kill('SIGKILL');
  await browser?.close();
  await collector?.close();
});

describe('web UI for an operator (Chromium)', () => {
  it('asks for the token on a 401, and the token it is given opens the page', async () => {
    const page = await open('#/', null, { width: 900, height: 500 });
    expect(await page.locator('#auth-error').textContent()).toMatch(/this collector needs a token \(HTTP 401\)/i);
    await page.screenshot({ path: path.join(SHOTS, 'token-prompt.png') });
    await page.fill('#token-input', TOKEN);
    await Promise.all([page.waitForURL(/token=/), page.click('#token-form button')]);
    await page.waitForFunction(() => window.__stagewatch?.ready === true && window.__stagewatch.home !== undefined);
    expect(await page.locator('#runs').count()).toBe(1);
    await page.close();
  });

  it('serves a favicon', async () => {
    const res = await fetch(`${base}/favicon.ico`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
  });

  it('live view: host memory, disk and network, one time axis for stages and charts, a range choice, flat power looks flat', async () => {
    await waitFor('eight GPUs streaming', () => collector.store.hosts().find((h) => h.host === 'gpu-node-8' && h.gpus.length === 8));
    const page = await open('#/host/gpu-node-8');
    await page.waitForFunction(() => (window.__stagewatch.live?.bands ?? 0) >= 1 && (window.__stagewatch.live?.points ?? 0) > 5, undefined, { timeout: 30_000 });
    const titles = await page.locator('.chart').evaluateAll((els) => els.map((e) => e.getAttribute('data-title')));
    expect(titles).toEqual(expect.arrayContaining(['Host memory', 'Disk', 'Network', 'GPU power', 'Host CPU', 'Workload CPU']));
    // Eight GPUs: a small chart per GPU instead of sixteen lines on one.
    expect(await page.locator('.small-multiples .chart').count()).toBe(8);
    // The legend says what a series is, with no raw keys.
    const legend = (await page.locator('.chart[data-title="GPU 0: utilization and SM activity (dashed)"] .u-legend').textContent()) ?? '';
    expect(legend).toContain('GPU 0 SM activity');
    expect(legend).not.toContain('sm_active_pct');
    // The stage bar sits exactly over the first chart's plot area.
    const bar = await page.locator('#live-bar').boundingBox();
    const over = await page.locator('.charts > .chart').first().locator('.u-over').boundingBox();
    expect(Math.abs((bar?.x ?? 0) - (over?.x ?? 1))).toBeLessThan(1.5);
    expect(Math.abs((bar?.width ?? 0) - (over?.width ?? 1))).toBeLessThan(1.5);
    expect(await page.locator('text=times in UTC').count()).toBeGreaterThan(0);
    await page.waitForFunction(() => window.__stagewatch.live?.yRanges['GPU power'] !== undefined);
    const y = await page.evaluate(() => window.__stagewatch.live?.yRanges['GPU power'] ?? ([0, 0] as [number, number]));
    expect((y[1] as number) - (y[0] as number)).toBeGreaterThanOrEqual(50);
    await page.click('#live-ranges button[data-ms="60000"]');
    await page.waitForFunction(() => window.__stagewatch.live?.windowMs === 60_000);
    // The charts now show one minute, refilled from the collector's backfill.
    await page.waitForFunction(() => window.__stagewatch.live?.xSpanMs === 60_000 && (window.__stagewatch.live?.points ?? 0) > 5, undefined, { timeout: 20_000 });
    await page.screenshot({ path: path.join(SHOTS, 'live-8gpu.png'), fullPage: true });
    // When the run ends the host stops streaming, and the page says so instead of a current stage.
    await eight;
    await page.waitForFunction(() => window.__stagewatch.live?.stale === true, undefined, { timeout: 30_000 });
    expect(await page.locator('#live-status').textContent()).toMatch(/^no data for .* \(last sample .* UTC\): the agent stopped streaming/);
    expect(await page.locator('#current-stage').textContent()).toBe('– (no data)');
    await page.screenshot({ path: path.join(SHOTS, 'live-stale.png') });
    await page.close();
  });

  it('run list: durations, hosts, labels, how each run ended, and a picker that opens either comparison', async () => {
    await waitFor('the eight-GPU run ended', () => collector.store.run('eight-gpus')?.endedAt, 60_000);
    const page = await open('#/');
    const row = page.locator('#runs tr[data-run="stopped-run"]');
    expect(await row.locator('td').nth(2).textContent()).toBe('gpu-node-1');
    expect(await row.locator('td.duration').textContent()).toMatch(/^\d+(\.\d)? s$/);
    expect(await row.locator('td').last().textContent()).toBe('interrupted by SIGINT (exit 130)');
    expect(await page.locator('#runs tr[data-run="eight-gpus"] td').last().textContent()).toBe('exit 0');
    expect(await page.locator('#runs tr[data-run="eight-gpus"] td.labels').textContent()).toBe('config=eight, model=t2v');
    expect(await row.locator('td.labels').textContent()).toBe('–');
    expect(await page.locator('#compare').isDisabled()).toBe(true);
    expect(await page.locator('#compare-configs').isDisabled()).toBe(true);
    await page.check('input.pick[data-run="eight-gpus"]');
    expect(await page.locator('#compare-configs').isDisabled()).toBe(true);
    await page.check('input.pick[data-run="stopped-run"]');
    expect(await page.locator('#compare-hint').textContent()).toBe('eight-gpus against stopped-run');
    await page.screenshot({ path: path.join(SHOTS, 'run-list.png'), fullPage: true });
    await Promise.all([page.waitForFunction(() => window.__stagewatch.run !== undefined && window.__stagewatch.ready), page.click('#compare')]);
    expect(page.url()).toContain('#/run/eight-gpus?vs=stopped-run');
    await page.close();
    // The same two ticked the other way round: the configurations' comparison, the first ticked the baseline.
    const again = await open('#/');
    await again.check('input.pick[data-run="stopped-run"]');
    await again.check('input.pick[data-run="eight-gpus"]');
    expect(await again.locator('#compare-configs').isDisabled()).toBe(false);
    await Promise.all([again.waitForFunction(() => window.__stagewatch.compare !== undefined && window.__stagewatch.ready), again.click('#compare-configs')]);
    expect(again.url()).toContain('#/compare?baseline=stopped-run&runs=eight-gpus');
    expect(await again.evaluate(() => window.__stagewatch.error)).toBeNull();
    await again.close();
  });

  it('run page: the stage bar on the charts\' time axis, human legends, small multiples, the end of the run stated', async () => {
    const page = await open('#/run/eight-gpus');
    expect(await page.evaluate(() => window.__stagewatch.error)).toBeNull();
    expect(await page.locator('section.host .small-multiples .chart').count()).toBe(8);
    const bar = await page.locator('section.host .timeline').first().boundingBox();
    const over = await page.locator('section.host > .chart').first().locator('.u-over').boundingBox();
    expect(Math.abs((bar?.x ?? 0) - (over?.x ?? 1))).toBeLessThan(1.5);
    expect(Math.abs((bar?.width ?? 0) - (over?.width ?? 1))).toBeLessThan(1.5);
    expect(await page.locator('.timeline .segment').count()).toBeGreaterThanOrEqual(4);
    const legends = (await page.locator('.u-legend').allTextContents()).join(' ');
    expect(legends).toMatch(/GPU 3 power/);
    expect(legends).not.toMatch(/gpu\d\.|_pct|_mib/);
    expect(await page.locator('#run-summary').textContent()).toMatch(/took \d+(\.\d)? s · exit 0/);
    await page.screenshot({ path: path.join(SHOTS, 'run-8gpu.png'), fullPage: true });
    await page.close();
    const stopped = await open('#/run/stopped-run');
    expect(await stopped.locator('#run-summary').textContent()).toContain('interrupted by SIGINT (exit 130)');
    await stopped.close();
  });
});
