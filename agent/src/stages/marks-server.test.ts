import { afterEach, describe, expect, it } from 'vitest';
import type { WorkloadRuntime } from '@stagewatch/shared';
import { startMarksServer, type MarksServer } from './marks-server.js';

const servers: MarksServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

describe('POST /fingerprint (STAGEWATCH_FINGERPRINT_URL)', () => {
  it('takes what the workload runs on, and refuses a bad field by name', async () => {
    const got: WorkloadRuntime[] = [];
    const logs: string[] = [];
    const s = await startMarksServer(() => {}, (m) => logs.push(m), (w) => got.push(w));
    servers.push(s);
    expect(s.fingerprintUrl).toBe(s.url.replace(/\/marks$/, '/fingerprint'));
    const post = (body: string): Promise<Response> => fetch(s.fingerprintUrl, { method: 'POST', body });
    const ok = await post(JSON.stringify({ python: '3.11.7', torch: '2.4.1+cu124', cuda_runtime: '12.4', torch_threads: 16, rank: 0 }));
    expect(ok.status).toBe(200);
    expect(got).toEqual([{ python: '3.11.7', torch: '2.4.1+cu124', cuda_runtime: '12.4', torch_threads: 16, rank: 0 }]);
    const bad = await post(JSON.stringify({ torch_threads: 'many' }));
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: expect.stringMatching(/^torch_threads: /) });
    const unknown = await post(JSON.stringify({ gpu: 'H100' }));
    expect(unknown.status).toBe(400);
    expect((await post('{')).status).toBe(400);
    expect(got).toHaveLength(1);
    expect(logs.some((l) => /^fingerprint endpoint: torch_threads: /.test(l))).toBe(true);
  });
});
