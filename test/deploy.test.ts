import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { execa, execaSync } from 'execa';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { parseFlags } from '@stagewatch/shared';
import { STREAM_FLAGS } from '../agent/src/config/flags.js';
import { tempDir } from './helpers/agent.js';
import { ROOT } from './helpers/fixtures.js';
import { COLLECTOR_BIN, waitFor } from './helpers/processes.js';

const DEPLOY = path.join(ROOT, 'deploy');
const read = (f: string): string => readFileSync(path.join(DEPLOY, f), 'utf8');
const hasDockerCompose = (() => {
  try {
    return execaSync('docker', ['compose', 'version'], { reject: false }).exitCode === 0;
  } catch {
    return false;
  }
})();
const hasSystemdAnalyze = (() => {
  try {
    return execaSync('systemd-analyze', ['--version'], { reject: false }).exitCode === 0;
  } catch {
    return false;
  }
})();

/** The agent's own flag parser must accept a deployment's daemon command line. */
function daemonArgsAccepted(args: string[]): void {
  expect(args[0]).toBe('daemon');
  const { values } = parseFlags(args.slice(1), { ...STREAM_FLAGS, pid: { type: 'string' } });
  expect(values.collector).toBeDefined();
}

describe('docker compose', () => {
  const compose = yaml.load(read('docker-compose.yml')) as {
    services: Record<string, { image?: string; build?: { context: string; dockerfile: string }; environment?: Record<string, string>; volumes?: string[] }>;
  };

  it('runs InfluxDB 2, Grafana with the provisioned dashboards, and the collector', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['collector', 'grafana', 'influxdb']);
    expect(compose.services.influxdb?.image).toMatch(/^influxdb:2\./);
    const build = compose.services.collector?.build;
    expect(existsSync(path.join(DEPLOY, build?.context ?? '', build?.dockerfile ?? ''))).toBe(true);
    for (const v of compose.services.grafana?.volumes ?? []) {
      const src = v.split(':')[0] as string;
      if (src.startsWith('.')) expect(existsSync(path.join(DEPLOY, src)), src).toBe(true);
    }
  });

  it('configures the collector through variables the collector reads', async () => {
    const env = compose.services.collector?.environment ?? {};
    const vm = 'http://127.0.0.1:9'; // nothing listens; the collector retries and says so
    const proc = execa(process.execPath, [COLLECTOR_BIN, 'serve', '--port', '0', '--data', tempDir()], {
      reject: false,
      env: { ...Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.includes('${') ? 'x-from-compose-12345' : v])), STAGEWATCH_INFLUX_URL: vm },
    });
    let err = '';
    proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    await waitFor('the collector to start', () => /listening on/.test(err));
    proc.kill('SIGTERM');
    await proc;
    expect(err).toMatch(/writing to InfluxDB http:\/\/127\.0\.0\.1:9, org stagewatch, bucket stagewatch/);
    expect(err).toMatch(/token required/);
  });

  it.skipIf(!hasDockerCompose)('passes `docker compose config`', async () => {
    const r = await execa('docker', ['compose', '-f', path.join(DEPLOY, 'docker-compose.yml'), 'config', '--quiet'], { env: { INFLUX_TOKEN: 't', STAGEWATCH_TOKEN: 'token-123456' }, reject: false });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
  });
});

describe('Dockerfile', () => {
  it('copies paths that exist and starts the collector binary', () => {
    const text = read('Dockerfile');
    for (const m of text.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const src of (m[1] as string).split(/\s+/)) {
        if (!src.includes('*')) expect(existsSync(path.join(ROOT, src)), src).toBe(true);
      }
    }
    expect(text).toMatch(/ENTRYPOINT \["node", "\/opt\/stagewatch\/collector\/bin\/stagewatch-collector.js"\]/);
    expect(existsSync(path.join(ROOT, 'collector', 'bin', 'stagewatch-collector.js'))).toBe(true);
  });
});

describe('systemd unit', () => {
  const unit = read('systemd/stagewatch-agent.service');

  it('runs the bundled agent as a daemon with flags the agent accepts', () => {
    const exec = /^ExecStart=(\S+) (\S+) (.*)$/m.exec(unit);
    expect(exec?.[1]).toBe('/usr/bin/node');
    expect(exec?.[2]).toBe('/opt/stagewatch/agent.mjs');
    daemonArgsAccepted((exec?.[3] as string).split(/\s+/));
    expect(unit).toMatch(/^EnvironmentFile=\/etc\/stagewatch\/agent\.env$/m);
    expect(unit).toMatch(/^Restart=always$/m);
  });

  it.skipIf(!hasSystemdAnalyze)('passes systemd-analyze verify', async () => {
    const r = await execa('systemd-analyze', ['verify', path.join(DEPLOY, 'systemd', 'stagewatch-agent.service')], { reject: false });
    expect(r.stderr.split('\n').filter((l) => /stagewatch-agent/.test(l))).toEqual([]);
    expect(r.exitCode).toBe(0);
  });
});

describe('Kubernetes DaemonSet', () => {
  const docs = yaml.loadAll(read('k8s/agent-daemonset.yaml')) as Array<{ kind: string; spec?: { template: { spec: Record<string, unknown> & { containers: Array<{ command: string[]; args: string[]; env: Array<{ name: string }> }> } } } }>;

  it('puts the agent on GPU nodes, with the host\'s processes visible', () => {
    const ds = docs.find((d) => d.kind === 'DaemonSet');
    const spec = ds?.spec?.template.spec;
    expect(spec?.hostPID).toBe(true);
    expect(spec?.nodeSelector).toEqual({ 'nvidia.com/gpu.present': 'true' });
    const c = spec?.containers[0];
    expect(c?.command).toEqual(['node', '/opt/stagewatch/agent.mjs']);
    daemonArgsAccepted(c?.args ?? []);
    expect(c?.env.map((e) => e.name)).toEqual(expect.arrayContaining(['STAGEWATCH_TOKEN', 'NVIDIA_DRIVER_CAPABILITIES']));
  });
});
