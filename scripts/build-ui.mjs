#!/usr/bin/env node
// Builds the collector's web UI (collector/ui, TypeScript + uPlot) into collector/dist/ui.
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'collector', 'dist', 'ui');
mkdirSync(path.join(out, 'assets'), { recursive: true });
await build({
  entryPoints: { app: path.join(root, 'collector', 'ui', 'app.ts') },
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  outdir: path.join(out, 'assets'),
  logLevel: 'warning',
  // The UI takes only pure modules of @stagewatch/shared (the metric catalogue); the package is
  // side-effect free, so its Node-only modules are dropped and their node: imports never load.
  external: ['node:*'],
});
const app = readFileSync(path.join(out, 'assets', 'app.js'), 'utf8');
if (/from\s*"node:|import\s*"node:/.test(app)) throw new Error('the UI bundle imports a node: module: a UI import reaches Node-only code');
for (const f of ['index.html', 'favicon.svg']) copyFileSync(path.join(root, 'collector', 'ui', f), path.join(out, f));
