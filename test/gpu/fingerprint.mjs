#!/usr/bin/env node
// On a GPU machine: the host fingerprint the agent sends in its hello (probe --fingerprint), with
// the raw answers it was read from (systeminformation, nvidia-smi -q -x), saved for docs/gpu-run-*/.
// Also usable as --fingerprint-file for a replay of this host.
//   node fingerprint.mjs AGENT.mjs OUTDIR        (AGENT.mjs: the bundled agent, or agent/bin/stagewatch-agent.js)
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const [agent, out] = process.argv.slice(2);
if (!agent || !out) {
  console.error('usage: fingerprint.mjs AGENT.mjs OUTDIR');
  process.exit(2);
}
const text = execFileSync(process.execPath, [agent, 'probe', '--fingerprint'], { encoding: 'utf8', maxBuffer: 64 << 20 });
const r = JSON.parse(text);
mkdirSync(out, { recursive: true });
writeFileSync(path.join(out, 'fingerprint.json'), `${JSON.stringify({ fingerprint: r.fingerprint }, null, 2)}\n`);
writeFileSync(path.join(out, 'fingerprint-raw-si.json'), `${JSON.stringify(r.raw.si, null, 2)}\n`);
if (r.raw.queryXml) writeFileSync(path.join(out, 'fingerprint-raw-q.xml'), r.raw.queryXml);
const f = r.fingerprint;
console.log(`${f.cpu.model} · ${f.cpu.threads} threads · max ${f.cpu.maxGhz} GHz · ${f.gpus.length} GPU(s) · driver ${f.driverVersion} · CUDA ${f.cudaVersion}`);
if (f.notes.length) console.log(`notes: ${f.notes.join('; ')}`);
