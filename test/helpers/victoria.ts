import net from 'node:net';
import { execa, type ResultPromise } from 'execa';
import { tempDir } from './agent.js';
import { waitFor } from './processes.js';

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface Victoria {
  url: string;
  port: number;
  dataDir: string;
  proc: ResultPromise;
  /** Makes just-written points visible to queries. */
  flush(): Promise<void>;
  /** Every series matching a selector, as {metric labels, values, timestamps}. */
  export(match: string): Promise<Array<{ metric: Record<string, string>; values: number[]; timestamps: number[] }>>;
  stop(): Promise<void>;
}

/** Debian's victoria-metrics, a real InfluxDB-protocol server, on loopback. */
export async function startVictoria(port?: number, dataDir?: string, extraArgs: string[] = []): Promise<Victoria> {
  const p = port ?? (await freePort());
  const dir = dataDir ?? tempDir('stagewatch-vm-');
  const bin = process.env.STAGEWATCH_VICTORIA_METRICS ?? 'victoria-metrics';
  const proc = execa(bin, [`-storageDataPath=${dir}`, `-httpListenAddr=127.0.0.1:${p}`, '-retentionPeriod=100y', '-search.latencyOffset=0s', ...extraArgs], { reject: false });
  const url = `http://127.0.0.1:${p}`;
  await waitFor('victoria-metrics to answer', async () => {
    if (proc.exitCode !== null && proc.exitCode !== undefined) throw new Error(`victoria-metrics exited (is the victoria-metrics package installed?): ${(await proc).stderr}`);
    try {
      return (await fetch(`${url}/health`)).ok;
    } catch {
      return false;
    }
  });
  return {
    url,
    port: p,
    dataDir: dir,
    proc,
    flush: async () => void (await fetch(`${url}/internal/force_flush`)),
    async export(match) {
      const res = await fetch(`${url}/api/v1/export`, { method: 'POST', body: new URLSearchParams({ 'match[]': match }) });
      const text = await res.text();
      return text.trim() === '' ? [] : text.trim().split('\n').map((l) => JSON.parse(l));
    },
    async stop() {
      proc.kill('SIGTERM');
      await proc;
    },
  };
}
