import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Mark } from '@stagewatch/shared';
import { startCollector, type Collector } from '../collector/src/server.js';
import { pendingBatch } from '../collector/src/store/sqlite.js';
import { ROOT } from './helpers/fixtures.js';

const SHOTS = path.join(ROOT, 'test-output');
const CHROMIUM = process.env.STAGEWATCH_CHROMIUM ?? '/usr/bin/chromium';
let collector: Collector;
let browser: Browser;
let dir: string;

/** A run of 4 steps of `stepMs`, each with a compute span and a communication span inside. */
function store(runId: string, config: string, stepMs: number): void {
  const reg = collector.store.registerAgent(
    { type: 'hello', protocol: 1, agentId: `a-${runId}`, host: 'h', runId, gpus: [], capabilities: { gpm: false, fields: [] }, agentVersion: 't', labels: { config } },
    Date.now(),
  );
  const t0 = 1_800_000_000_000;
  const marks: Mark[] = [];
  for (let k = 0; k < 4; k++) {
    const b = t0 + k * stepMs + (k % 2) * 0.5;
    marks.push({ kind: 'begin', stage: 'denoise_step', step: k, t: b, source: 'http' }, { kind: 'end', stage: 'denoise_step', step: k, t: b + stepMs - 1, source: 'http' });
    // Each step also timed on the GPU (what stage(..., step=k) sends with CUDA up).
    for (const [name, category, s, e] of [['denoise_step', 'step', 0, stepMs - 1], ['attn', 'compute', 1, stepMs - 10], ['qkv_all_to_all', 'communication', stepMs - 12, stepMs - 4]] as const) {
      marks.push({ kind: 'begin', stage: name, step: k, t: b + s, source: 'http', timing: 'cuda', category }, { kind: 'end', stage: name, step: k, t: b + e, source: 'http', timing: 'cuda', category });
    }
  }
  collector.store.writeBatches([pendingBatch(`a-${runId}`, reg.hid, 'h', { type: 'batch', seq: 1, runId, samples: [], health: [], marks, clock: null, loss: { batches: 0, samples: 0, corrupt: 0, rejected: 0, quarantinedSamples: 0 } })], Date.now());
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  dir = mkdtempSync(path.join(os.tmpdir(), 'stagewatch-ui-compare-'));
  collector = await startCollector({ host: '127.0.0.1', port: 0, dataDir: dir, tokens: [], log: () => {} });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
  store('base-1', 'base', 50);
  store('base-2', 'base', 52);
  store('gate-1', 'gate', 60);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await collector?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('web UI: spans and compare', () => {
  it('shows the headline and the per-step breakdown on the run page', async () => {
    const page = await browser.newPage({ viewport: { width: 1300, height: 1200 } });
    await page.goto(`http://127.0.0.1:${collector.port}/#/run/base-1`);
    await page.waitForFunction(() => window.__stagewatch?.ready === true);
    expect(await page.evaluate(() => window.__stagewatch.error)).toBeNull();
    expect(await page.locator('table.headline').textContent()).toMatch(/qkv_all_to_all ms per step \(cuda\)8\.000/);
    expect(await page.locator('p.step-timing').first().textContent()).toMatch(/^Step timing: cuda clock, each rank's denoise_step timed as a span/);
    expect(await page.locator('table.spans tbody tr').count()).toBe(2);
    expect(await page.locator('table.categories').textContent()).toMatch(/communication/);
    await page.screenshot({ path: path.join(SHOTS, 'run-breakdown.png'), fullPage: true });
    await page.close();
  });

  it('shows the compare table the API gives', async () => {
    const page = await browser.newPage({ viewport: { width: 1300, height: 800 } });
    await page.goto(`http://127.0.0.1:${collector.port}/#/compare?baseline=base-1&runs=base-2,gate-1&metrics=step_mean_ms,span:attn`);
    await page.waitForFunction(() => window.__stagewatch?.ready === true);
    expect(await page.evaluate(() => window.__stagewatch.error)).toBeNull();
    expect(await page.evaluate(() => window.__stagewatch.compare)).toEqual({ page: 'compare', rows: 2, metrics: 2 });
    const head = await page.locator('table.compare-abs thead').textContent();
    expect(head).toBe('configrunsstep mean ms (cuda)attn ms/step (cuda)');
    // Steps of 49 and 51 ms in the base repeats, 59 in gate: about +18 % and slower.
    expect(await page.locator('table.compare-pct tbody tr').first().textContent()).toMatch(/^config=gate\+18\.\d\d % \[\+\d+\.\d\d, \+\d+\.\d\d\] slower \(steps\)/);
    await page.screenshot({ path: path.join(SHOTS, 'compare.png'), fullPage: true });
    await page.close();
  });
});
