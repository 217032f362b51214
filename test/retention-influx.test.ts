/**
 * Retention and the Influx sink against a real VictoriaMetrics: raw readings older than
 * --retain-raw wait while the server is down, the sink writes every one of them when it is back,
 * and only then are they rolled up.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { INFLUX_CURSOR_SAMPLES, InfluxSink } from '../collector/src/sinks/influx.js';
import { Pruner } from '../collector/src/store/retention/pruner.js';
import { CollectorTelemetry } from '../collector/src/telemetry.js';
import { tempDir } from './helpers/agent.js';
import { waitFor } from './helpers/processes.js';
import { storeWithBatches, T } from './helpers/retention-store.js';
import { freePort, startVictoria } from './helpers/victoria.js';

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

describe('retention waits for the Influx sink (real VictoriaMetrics)', () => {
  it('keeps raw readings the sink has not written, however old; the sink writes them all; then they are rolled up', async () => {
    // Two minutes of 2 GPUs and a host at 10 Hz, from long ago: all older than raw is kept.
    const { store } = storeWithBatches(tempDir(), 240);
    cleanup.push(() => store.close());
    const sink = store.sinkSource();
    const port = await freePort();
    const logs: string[] = [];
    const influx = new InfluxSink(sink, { url: `http://127.0.0.1:${port}`, token: '', org: 'o', bucket: 'b', intervalMs: 100, backoffMaxMs: 500 }, (m) => logs.push(m), new CollectorTelemetry());
    let passes = 0;
    const pruner = new Pruner(store.retentionTarget(), { rawMs: 60_000, oneSecondMs: 0, tenSecondMs: 0 }, {
      intervalMs: 50,
      exportedThrough: () => sink.cursor(INFLUX_CURSOR_SAMPLES),
      onIdle: () => passes++,
    });
    influx.start();
    pruner.start();
    cleanup.push(() => influx.close());
    cleanup.push(() => pruner.close());
    const rolled = (): number => [...store.samples('run')].filter((s) => s.dur_ms === 1000).length;
    // The server is down: passes go by and nothing is rolled up.
    await waitFor('a failed write and passes after it', () => logs.some((l) => /InfluxDB write failed/.test(l)) && passes >= 3);
    const after = passes;
    await waitFor('two more passes', () => passes >= after + 2);
    expect(rolled()).toBe(0);
    expect(sink.cursor(INFLUX_CURSOR_SAMPLES)).toBe(0);
    // Back: the sink writes every raw reading, then the pruner rolls them up.
    const vm = await startVictoria(port);
    cleanup.push(() => vm.stop());
    await waitFor('the sink to catch up', () => sink.cursor(INFLUX_CURSOR_SAMPLES) === sink.maxRowids().samples);
    await waitFor('roll-ups', () => rolled() > 0);
    const written = await waitFor('every raw GPU reading in VictoriaMetrics', async () => {
      await vm.flush();
      const s = await vm.export('stagewatch_gpu_util_pct');
      return s.reduce((a, x) => a + x.values.length, 0) === 240 * 5 * 2 ? s : undefined;
    }, 10_000);
    // At 10 Hz, as sent: 100 ms apart, from T.
    const times = written.flatMap((x) => x.timestamps).sort((a, b) => a - b);
    expect(times[0]).toBe(T + 100);
    expect(times[1]).toBe(T + 100);
    expect(times[2]).toBe(T + 200);
  });
});
