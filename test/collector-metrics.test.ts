import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION } from '@stagewatch/shared';
import { startCollector, type Collector } from '../collector/src/server.js';
import { tempDir } from './helpers/agent.js';
import { waitFor } from './helpers/processes.js';

let collector: Collector;
beforeAll(async () => {
  collector = await startCollector({ host: '127.0.0.1', port: 0, dataDir: tempDir(), tokens: [], log: () => {} });
});
afterAll(async () => collector.close());

describe('/metrics: latest GPU and host values', () => {
  it('uses dcgm-exporter names and units where they mean the same, stagewatch names elsewhere', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${collector.port}/agent`);
    await new Promise((r) => ws.on('open', r));
    const now = Date.now();
    ws.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, agentId: 'm1', host: 'gpu-node-7', runId: 'metrics-run', gpus: [{ index: 0, uuid: 'GPU-bb03eff7-a599-69a6-64aa-74575b6d1cba', name: 'NVIDIA H100 80GB HBM3', memTotalMib: 81559 }], capabilities: { gpm: true, fields: [] }, agentVersion: 't' }));
    ws.send(JSON.stringify({
      type: 'batch', seq: 1, runId: 'metrics-run', clock: null, loss: { batches: 0, samples: 0 }, health: [], marks: [],
      samples: [
        { t: now, host: 'gpu-node-7', source: 'gpu', gpu: 0, m: { util_pct: 100, mem_used_mib: 2925, power_w: 666.5, sm_clock_mhz: 1980, pstate: 0 } },
        { t: now + 1, host: 'gpu-node-7', source: 'gpu', gpu: 0, m: { sm_active_pct: 86, tensor_active_pct: 34, pcie_rx_mibps: 2 } },
        { t: now, host: 'gpu-node-7', source: 'host', m: { cpu_pct: 12.5, cpu_core_max_pct: 100, load1: 1.2 } },
        { t: now, host: 'gpu-node-7', source: 'proc', m: { cpu_cores: 1.01, rss_mib: 4000, threads: 12 } },
      ],
    }));
    const labels = 'gpu="0",UUID="GPU-bb03eff7-a599-69a6-64aa-74575b6d1cba",device="nvidia0",modelName="NVIDIA H100 80GB HBM3",Hostname="gpu-node-7"';
    const text = await waitFor('latest values', async () => {
      const t = await (await fetch(`http://127.0.0.1:${collector.port}/metrics`)).text();
      return t.includes('DCGM_FI_DEV_GPU_UTIL{') ? t : undefined;
    });
    ws.close();
    expect(text).toContain(`DCGM_FI_DEV_GPU_UTIL{${labels}} 100`);
    expect(text).toContain(`DCGM_FI_DEV_FB_USED{${labels}} 2925`);
    expect(text).toContain(`DCGM_FI_DEV_POWER_USAGE{${labels}} 666.5`);
    // GPM percentages become DCGM's ratios, MiB/s become bytes/s.
    expect(text).toContain(`DCGM_FI_PROF_SM_ACTIVE{${labels}} 0.86`);
    expect(text).toContain(`DCGM_FI_PROF_PIPE_TENSOR_ACTIVE{${labels}} 0.34`);
    expect(text).toContain(`DCGM_FI_PROF_PCIE_RX_BYTES{${labels}} 2097152`);
    expect(text).toContain(`stagewatch_gpu_pstate{${labels}} 0`);
    expect(text).toContain('stagewatch_host_cpu_core_max_pct{Hostname="gpu-node-7"} 100');
    expect(text).toContain('stagewatch_workload_cpu_cores{Hostname="gpu-node-7",run="metrics-run"} 1.01');
    // Utilization is never reported as SM activity: a GPU without GPM has no DCGM_FI_PROF_SM_ACTIVE.
    expect(text.match(/^DCGM_FI_PROF_SM_ACTIVE\{/gm)).toHaveLength(1);
  });
});
