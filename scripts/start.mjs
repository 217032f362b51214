#!/usr/bin/env node
// `npm start`: a collector on 127.0.0.1:7711 with ./stagewatch-data, and this host's agent
// streaming into it as a daemon. Ctrl-C stops both, the agent first so it can send what it holds
// (the children have their own process groups, so the terminal's SIGINT reaches this script only).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const port = process.env.STAGEWATCH_PORT ?? '7711';
const collector = spawn(process.execPath, [path.join(root, 'collector/bin/stagewatch-collector.js'), 'serve', '--port', port, '--data', path.join(root, 'stagewatch-data')], { stdio: ['ignore', 'inherit', 'pipe'], detached: true });
let agent = null;
collector.stderr.on('data', (d) => {
  process.stderr.write(d);
  if (!agent && /listening on/.test(String(d))) {
    agent = spawn(process.execPath, [path.join(root, 'agent/bin/stagewatch-agent.js'), 'daemon', '--collector', `ws://127.0.0.1:${port}`, '--spool-dir', path.join(root, 'stagewatch-data', 'agent-spool')], { stdio: 'inherit', detached: true });
    agent.on('exit', () => collector.kill('SIGTERM'));
  }
});
collector.on('exit', (code) => process.exit(code ?? 0));
const stop = () => (agent && agent.exitCode === null ? agent.kill('SIGTERM') : collector.kill('SIGTERM'));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
