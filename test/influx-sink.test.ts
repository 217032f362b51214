import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { startCollector, type Collector } from '../collector/src/server.js';
import { tempDir } from './helpers/agent.js';
import { startAgentDaemon, waitFor, type AgentProc } from './helpers/processes.js';
import { startVictoria, type Victoria } from './helpers/victoria.js';

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function lag(c: Collector): Promise<number> {
  const text = await c.telemetry.metricsText();
  return Number(/^stagewatch_collector_influx_backlog (\S+)$/m.exec(text)?.[1]);
}

async function storedGpuUtil(c: Collector, runId: string): Promise<number> {
  return [...c.store.samples(runId)].filter((s) => s.source === 'gpu' && 'util_pct' in s.m).length;
}

describe('InfluxDB sink against a real VictoriaMetrics', () => {
  it('writes a streamed run with the documented names and tags, and loses nothing across a server outage', async () => {
    let vm: Victoria = await startVictoria();
    cleanup.push(() => vm.stop());
    const logs: string[] = [];
    const collector = await startCollector({
      host: '127.0.0.1', port: 0, dataDir: tempDir(), tokens: [], log: (m) => logs.push(m),
      influx: { url: vm.url, token: '', org: 'stagewatch', bucket: 'stagewatch', intervalMs: 200, backoffMaxMs: 1000 },
    });
    cleanup.push(() => collector.close());
    const agent: AgentProc = startAgentDaemon(`http://127.0.0.1:${collector.port}`, tempDir(), ['--run-id', 'influx-run', '--host', 'gpu-host-1']);
    cleanup.push(() => agent.proc.kill('SIGKILL'));
    await waitFor('samples in VictoriaMetrics', async () => {
      await vm.flush();
      return (await vm.export('stagewatch_gpu_util_pct')).length > 0;
    });
    // The server dies mid-run; the collector keeps storing and holds its cursor.
    // (SIGTERM: victoria-metrics flushes what it acknowledged; SIGKILL would lose its last second.)
    await vm.stop();
    await waitFor('a failed write', () => logs.some((l) => /InfluxDB write failed/.test(l)));
    await sleep(1500);
    expect(await lag(collector)).toBeGreaterThan(0);
    vm = await startVictoria(vm.port, vm.dataDir);
    await waitFor('the sink to catch up', () => logs.some((l) => /is back; catching up/.test(l)));
    await agent.stop();
    await waitFor('no lag', async () => (await lag(collector)) === 0);
    const want = await storedGpuUtil(collector, 'influx-run');
    // victoria-metrics makes accepted points searchable within a second or so.
    const series = await waitFor('every stored sample in VictoriaMetrics', async () => {
      await vm.flush();
      const s = await vm.export('stagewatch_gpu_util_pct{run="influx-run"}');
      return s.reduce((a, x) => a + x.values.length, 0) === want ? s : undefined;
    }, 10_000);
    expect(series.length).toBeGreaterThan(0);
    for (const s of series) {
      expect(s.metric).toMatchObject({ host: 'gpu-host-1', run: 'influx-run', gpu: '0', gpu_uuid: 'GPU-bb03eff7-a599-69a6-64aa-74575b6d1cba', gpu_name: 'NVIDIA H100 80GB HBM3' });
    }
    // The values are the stored ones, time for time. The fake nvidia-smi replays at 20x, so two
    // readings of a GPU can share a millisecond: both are stored and both written, in either order.
    const stored = new Map<number, number[]>();
    for (const s of collector.store.samples('influx-run')) if (s.source === 'gpu' && 'util_pct' in s.m) stored.set(s.t, [...(stored.get(s.t) ?? []), s.m.util_pct as number].sort());
    for (const s of series) {
      const written = new Map<number, number[]>();
      s.timestamps.forEach((t, i) => written.set(t, [...(written.get(t) ?? []), s.values[i] as number].sort()));
      for (const [t, values] of written) expect(values, `t ${t}`).toEqual(stored.get(t));
    }
    expect((await vm.export('stagewatch_gpu_sm_active_pct{run="influx-run"}')).length).toBeGreaterThan(0);
    expect((await vm.export('stagewatch_host_cpu_pct{run="influx-run",host="gpu-host-1"}')).length).toBe(1);
    expect(logs.join('\n')).toMatch(/keeping the cursor and retrying with backoff/);
  });

  it('writes stage tags and stage boundaries for annotations', async () => {
    const vm = await startVictoria();
    cleanup.push(() => vm.stop());
    const collector = await startCollector({
      host: '127.0.0.1', port: 0, dataDir: tempDir(), tokens: [], log: () => {},
      influx: { url: vm.url, token: '', org: 'o', bucket: 'b', intervalMs: 100 },
    });
    cleanup.push(() => collector.close());
    const { execa } = await import('execa');
    const { AGENT_BIN, ROOT } = await import('./helpers/fixtures.js');
    const r = await execa(process.execPath, [AGENT_BIN, 'run', '--collector', `ws://127.0.0.1:${collector.port}`, '--run-id', 'staged', '--host', 'h2', '--preset', 'wan', '--spool-dir', tempDir(), '--', process.execPath, `${ROOT}/test/fixtures/replay-workload.mjs`], {
      env: { SPEED: '20', STAGEWATCH_NVIDIA_SMI: '/nonexistent' },
    });
    expect(r.exitCode).toBe(0);
    await waitFor('no lag', async () => (await lag(collector)) === 0);
    const wanted = ['init', 't5_encode', 'denoise', 'vae_decode', 'save'].flatMap((st) => [`${st}:begin`, `${st}:end`]);
    await waitFor('every stage boundary in VictoriaMetrics', async () => {
      await vm.flush();
      const kinds = new Set((await vm.export('stagewatch_stage_value{run="staged"}')).map((b) => `${b.metric.stage}:${b.metric.kind}`));
      return wanted.every((k) => kinds.has(k));
    }, 10_000);
    const durations = await vm.export('stagewatch_stage_duration_s{run="staged",stage="denoise"}');
    expect(durations[0]?.values[0]).toBeGreaterThan(0.5);
    const t5cpu = await vm.export('stagewatch_proc_cpu_cores{run="staged",stage="t5_encode"}');
    expect(t5cpu.length).toBe(1);
    // Per-process samples sit in their own measurement, one series per pid, never mixed into the tree total.
    expect(t5cpu[0]?.metric.pid).toBeUndefined();
    const perPid = await vm.export('stagewatch_process_cpu_cores{run="staged",stage="t5_encode"}');
    expect(perPid.length).toBeGreaterThan(0);
    expect(perPid.every((b) => /^\d+$/.test(b.metric.pid ?? ''))).toBe(true);
    const steps = await vm.export('stagewatch_proc_cpu_cores{run="staged",stage="denoise"}');
    expect(new Set(steps.map((s) => s.metric.step)).size).toBeGreaterThan(5);
  });
});
