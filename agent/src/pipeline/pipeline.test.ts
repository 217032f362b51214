import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/helpers/agent.js';
import { AgentPipeline, type SampleSource } from './pipeline.js';

describe('AgentPipeline', () => {
  it('shuts down once: samplers stopped first and once, what is left spooled, the same summary to every caller', async () => {
    const dir = tempDir();
    const logs: string[] = [];
    const pipeline = AgentPipeline.open({ collectors: ['ws://127.0.0.1:9'], runId: 'r', host: 'h', batchMs: 500, spoolDir: dir, spoolMaxBytes: 1 << 20, log: (m) => logs.push(m) });
    const events: string[] = [];
    const source: SampleSource = {
      watchPid: (pid) => void events.push(`watch ${pid}`),
      toggleDcgmPause: () => 'paused',
      stop: async () => {
        events.push('stop');
        // The samplers' last health lines arrive while they stop: they must still be spooled.
        pipeline.health({ t: 1, host: 'h', source: 'health', sampler: 'host', state: 'stopped', restarts: 0, lines: 1, badLines: 0, absent: {} });
      },
    };
    pipeline.attach(source);
    pipeline.watchPid(42);
    expect(pipeline.toggleDcgmPause()).toBe('paused');
    pipeline.sample({ t: 1, host: 'h', source: 'host', m: { cpu_pct: 1 } });
    pipeline.endRun({ t: 2, exitCode: 0 });
    const first = pipeline.shutdown(0);
    const second = pipeline.shutdown(10_000);
    expect(second).toBe(first);
    const summary = await first;
    expect(events).toEqual(['watch 42', 'stop']);
    // Never connected (no hello): the one batch stays spooled for the next start.
    expect(summary).toEqual({ samples: 1, batches: 1, unsent: 1, lost: { batches: 0, samples: 0, corrupt: 0, rejected: 0, quarantinedSamples: 0 } });
    expect(logs.join('\n')).toMatch(/1 batches not acknowledged; they stay in/);
  });

  it('--out with no collector: the file exporter writes header, hello and each batch (no clock) and empties the spool', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'r.swrun.gz');
    const pipeline = AgentPipeline.open({ collectors: [], out: file, runId: 'r', host: 'h', batchMs: 500, spoolDir: path.join(dir, 'spool'), spoolMaxBytes: 1 << 20, log: () => {} });
    pipeline.sample({ t: 1, host: 'h', source: 'host', m: { cpu_pct: 1 } });
    pipeline.flush();
    pipeline.connect({ gpus: [], capabilities: { gpm: false, fields: [] } });
    pipeline.sample({ t: 2, host: 'h', source: 'host', m: { cpu_pct: 2 } });
    pipeline.endRun({ t: 3, exitCode: 0 });
    const summary = await pipeline.shutdown(0);
    expect(summary).toMatchObject({ samples: 2, batches: 2, unsent: 0, out: { file, batches: 2, error: null } });
    const lines = gunzipSync(readFileSync(file)).toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.type ?? l.format)).toEqual(['stagewatch-run', 'hello', 'batch', 'batch']);
    expect(lines[0]).toMatchObject({ origin: 'agent', runId: 'r' });
    expect(lines.slice(2).map((l) => [l.clock, l.seq])).toEqual([[null, 1], [null, 2]]);
    expect(lines[3]).toMatchObject({ runEnd: { t: 3, exitCode: 0 } });
  });
});
