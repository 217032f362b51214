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
});
