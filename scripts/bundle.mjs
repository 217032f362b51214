#!/usr/bin/env node
// Builds the single-file agent: `node dist/bundle/agent.mjs` is all a GPU host needs besides Node.
import { build } from 'esbuild';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outfile = process.argv[2] ?? path.join(root, 'dist', 'bundle', 'agent.mjs');
await build({
  entryPoints: [path.join(root, 'agent', 'src', 'main.ts')],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outfile,
  // ws and execa's CommonJS dependencies call require(); give the ES module one.
  banner: { js: "import { createRequire as __swCreateRequire } from 'node:module'; const require = __swCreateRequire(import.meta.url);" },
  // ws loads these optional native speed-ups inside try/catch; without them it uses plain JS.
  // koffi (the NVML fast path) is a native module: `npm run release` puts node_modules/koffi
  // beside the bundle; without it the agent samples through nvidia-smi and says so.
  external: ['bufferutil', 'utf-8-validate', 'koffi'],
  legalComments: 'none',
  logLevel: 'warning',
});
console.log(outfile);
