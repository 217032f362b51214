import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { PROTOCOL_VERSION } from '@stagewatch/shared';
import { makeReport, renderReport } from '../collector/src/report/index.js';
import { startCollector, type Collector } from '../collector/src/server.js';
import { tempDir } from './helpers/agent.js';
import { AGENT_BIN, FAKE_SMI, ROOT } from './helpers/fixtures.js';
import { waitFor } from './helpers/processes.js';

// Screenshots for people to look at; test-output/ is not committed.
const SHOTS = path.join(ROOT, 'test-output');
const CHROMIUM = process.env.STAGEWATCH_CHROMIUM ?? '/usr/bin/chromium';
const EVIL = '<img src=x onerror="window.__xss=1">';

let collector: Collector;
let browser: Browser;
let base: string;
const runs: Array<ReturnType<typeof execa>> = [];

function staged(runId: string, host: string, speed: number) {
  return execa(process.execPath, [AGENT_BIN, 'run', '--collector', `ws://127.0.0.1:${collector.port}`, '--run-id', runId, '--host', host, '--preset', 'wan', '--spool-dir', tempDir(), '--', process.execPath, path.join(ROOT, 'test/fixtures/replay-workload.mjs')], {
    reject: false,
    env: { SPEED: String(speed), STAGEWATCH_NVIDIA_SMI: FAKE_SMI, STAGEWATCH_FAKE_SMI_SPEED: '4', STAGEWATCH_FAKE_SMI_GPUS: '2' },
  });
}

async function open(hash: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1300, height: 1400 } });
  page.on('pageerror', (e) => {
    throw e;
  });
  await page.goto(`${base}/${hash}`);
  await page.waitForFunction(() => window.__stagewatch?.ready === true);
  return page;
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  collector = await startCollector({ host: '127.0.0.1', port: 0, dataDir: tempDir(), tokens: [], log: () => {} });
  base = `http://127.0.0.1:${collector.port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  // Two hosts run the same staged workload, one twice as fast: a comparison with something in it.
  runs.push(staged('ui-a', 'gpu-live-1', 4), staged('ui-b', 'gpu-live-2', 8));
}, 60_000);

afterAll(async () => {
  for (const r of runs) r.kill('SIGKILL');
  await browser?.close();
  await collector?.close();
});

describe('web UI in Chromium', () => {
  it('shows a live host: charts that move, stage bands, the current stage', async () => {
    await waitFor('the host streaming', () => collector.store.hosts().some((h) => h.host === 'gpu-live-1'));
    const page = await open('#/host/gpu-live-1');
    await page.waitForFunction(() => (window.__stagewatch.live?.points ?? 0) > 5 && (window.__stagewatch.live?.bands ?? 0) >= 1, undefined, { timeout: 20_000 });
    const snapshot = () => page.evaluate(() => ({ updates: 0, lastT: 0, points: 0, ...window.__stagewatch.live }));
    const first = await snapshot();
    await sleep(2000);
    const later = await snapshot();
    expect(later.updates).toBeGreaterThan(first.updates);
    expect(later.lastT).toBeGreaterThan(first.lastT);
    expect(later.points).toBeGreaterThan(first.points);
    expect(await page.locator('.chart').count()).toBeGreaterThanOrEqual(4);
    expect(await page.locator('.chart canvas').count()).toBeGreaterThanOrEqual(4);
    await page.waitForFunction(() => ['t5_encode', 'denoise', 'vae_decode'].includes(window.__stagewatch.live?.stage ?? ''), undefined, { timeout: 20_000 });
    expect(await page.locator('#current-stage').textContent()).toMatch(/^(t5_encode|denoise|vae_decode)$/);
    await page.screenshot({ path: path.join(SHOTS, 'live-host.png'), fullPage: true });
    await page.close();
  });

  it('renders a run with its stage table, timeline and a comparison with ratio bars', async () => {
    await waitFor('both runs ended', () => ['ui-a', 'ui-b'].every((id) => collector.store.run(id)?.endedAt), 60_000);
    const page = await open('#/run/ui-a?vs=ui-b');
    const state = await page.evaluate(() => window.__stagewatch.run);
    expect(await page.evaluate(() => window.__stagewatch.error)).toBeNull();
    expect(state?.compareRows).toBeGreaterThanOrEqual(4);
    // One chart per unit (utilization and SM activity, memory, power, CPU, ...) on one time axis.
    expect(state?.charts).toBeGreaterThanOrEqual(4);
    expect(await page.locator('table.compare .ratio-bar').count()).toBe(state?.compareRows);
    const t5 = page.locator('table.compare tr', { hasText: 't5_encode' });
    expect(Number((await t5.locator('td.ratio span').last().textContent())?.replace('x', ''))).toBeGreaterThan(1.5);
    expect(await page.locator('.timeline .segment').count()).toBeGreaterThanOrEqual(4);
    expect(await page.locator('table.stages .badge').first().textContent()).toMatch(/^(compute|communication|waiting|host-bound|io|idle|mixed)$/);
    await page.screenshot({ path: path.join(SHOTS, 'run-compare.png'), fullPage: true });
    await page.close();
  });

  it('writes a self-contained HTML report with its charts, readable offline', async () => {
    const html = renderReport(makeReport(collector.store, 'ui-a', 'ui-b'), 'html', collector.store);
    expect(html).not.toMatch(/<script|<link|src=|href="http/i);
    expect(html.match(/<svg class="chart"/g)?.length).toBeGreaterThanOrEqual(2);
    expect(html.match(/<svg class="timeline"/g)?.length).toBe(1);
    const file = path.join(SHOTS, 'report.html');
    writeFileSync(file, html);
    const page = await browser.newPage({ viewport: { width: 1100, height: 1200 } });
    await page.goto(`file://${file}`);
    expect(await page.locator('svg.chart path').count()).toBeGreaterThan(1);
    await page.screenshot({ path: path.join(SHOTS, 'report.png'), fullPage: true });
    await page.close();
  });

  it('runs no script an agent sends: host names are shown as text', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${collector.port}/agent`);
    await new Promise((r) => ws.on('open', r));
    ws.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, agentId: 'evil', host: EVIL, runId: 'evil-run', gpus: [{ index: 0, uuid: 'GPU-1', name: `<script>window.__xss=2</script>`, memTotalMib: 1 }], capabilities: { gpm: false, fields: [] }, agentVersion: '<b>x</b>' }));
    ws.send(JSON.stringify({ type: 'batch', seq: 1, runId: 'evil-run', clock: null, loss: { batches: 0, samples: 0 }, health: [], marks: [{ t: Date.now() - 500, kind: 'begin', stage: 'init', source: 'http' }], samples: [{ t: Date.now(), host: EVIL, source: 'gpu', gpu: 0, m: { util_pct: 5 } }] }));
    await waitFor('the evil run stored', () => collector.store.run('evil-run'));
    ws.close();
    for (const hash of ['#/', `#/host/${encodeURIComponent(EVIL)}`, '#/run/evil-run']) {
      const page = await open(hash);
      await sleep(800);
      expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), hash).toBeUndefined();
      expect(await page.locator('img').count(), hash).toBe(0);
      await page.close();
    }
    const page = await open('#/');
    expect(await page.locator('#hosts').textContent()).toContain(EVIL);
    await page.close();
    const html = renderReport(makeReport(collector.store, 'evil-run'), 'html', collector.store);
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;img src=x onerror=&quot;window.__xss=1&quot;&gt;');
  });
});
