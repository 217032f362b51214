// Times the agent's durable spool append (temp file, fsync, rename, directory fsync) on the disk
// where a GPU node keeps its spool. Usage, from a built checkout (npx tsc -b):
//   node test/gpu/spool-append.mjs [DIR=$XDG_STATE_HOME/stagewatch/spool-bench] [APPENDS=200] [BYTES=20000]
// Prints one JSON line: ms per append p50/p99/max, and the same writes without fsync for scale.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Spool } from '../../agent/dist/transport/spool.js';

const base = process.argv[2] ?? path.join(process.env.XDG_STATE_HOME ?? path.join(os.homedir(), '.local', 'state'), 'stagewatch');
const appends = Number(process.argv[3] ?? 200);
const bytes = Number(process.argv[4] ?? 20_000);
const dir = mkdtempSync(path.join(base, 'spool-bench-'));
const body = (seq) => JSON.stringify({ type: 'batch', seq, pad: 'x'.repeat(bytes) });
const pct = (xs, q) => Math.round([...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] * 1000) / 1000;
try {
  const spool = Spool.open(path.join(dir, 'spool'), 1 << 30, () => {}, 'bench');
  const durable = [];
  for (let i = 0; i < appends; i++) {
    const t0 = performance.now();
    spool.append(1, body);
    durable.push(performance.now() - t0);
  }
  const plain = [];
  for (let i = 0; i < appends; i++) {
    const t0 = performance.now();
    writeFileSync(path.join(dir, `plain-${i}.json`), body(i));
    plain.push(performance.now() - t0);
  }
  console.log(JSON.stringify({ dir: base, appends, bytes, durableMs: { p50: pct(durable, 0.5), p99: pct(durable, 0.99), max: pct(durable, 1) }, withoutFsyncMs: { p50: pct(plain, 0.5), p99: pct(plain, 0.99) } }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
